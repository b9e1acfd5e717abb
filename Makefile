# Two entry points for a fresh machine with Python 3.11 and pip: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PYTEST_ARGS ?=

.PHONY: demo test lint bench system-deps

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "need python3.11 on PATH (or make PYTHON=...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hpbench run test_plans/demo.yaml --sim --speed 200

# The Debian packages the tests talk to (scripts/system-deps: installs them as root, or prints
# the sudo line and stops before any test runs).
system-deps:
	scripts/system-deps

test: system-deps $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# mypy --strict over the paths in [tool.mypy] files of pyproject.toml (docs/decisions/0230)
lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench: $(STAMP)
	for b in instruments acquisition store timewarp point_end; do $(BIN)/python -m benchmarks.$$b || exit 1; done
