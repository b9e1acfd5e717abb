"""The package works outside the checkout: a wheel in a fresh venv, run from another directory.

The wheel is built from a copy of this checkout's sources (`pip wheel --no-deps`), installed
with its dependencies into a new venv under tmp, and every command below runs with that venv's
`hpbench` from a directory that is not the checkout, so any data file missing from the package
data fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LORIA = """\
climate: average            # Loria 6010 (Heat Pump Keymark): SCOP 4.47, docs/standards.md §4
pdesignh_kw: 9.0
tbiv_c: -7
tol_c: -10
points:
  - {tj_c: 12, pdh_kw: 4.20, cop: 9.02}
  - {tj_c: -10, pdh_kw: 7.51, cop: 2.37, cdh: 0.9}
  - {tj_c: -7, pdh_kw: 8.05, cop: 2.54, cdh: 0.9}
  - {tj_c: 2, pdh_kw: 4.90, cop: 4.46}
  - {tj_c: 7, pdh_kw: 3.15, cop: 6.20}
aux_w: {poff: 7, pto: 52, psb: 7, pck: 0}
"""


_NOT_SOURCES = (
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    "results",
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PYTHONNOUSERSITE": "1"}


def _run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )


class Installed:
    def __init__(self, root: Path) -> None:
        self.venv = root / "venv"
        self.work = root / "elsewhere"  # the cwd of every command: not the checkout
        self.work.mkdir()

    def hpbench(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return _run([str(self.venv / "bin" / "hpbench"), *args], self.work, timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    steps = {}
    t = time.monotonic()
    # A copy of the sources, so a stale build/ in the checkout cannot slip into the wheel.
    source = root / "src"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_SOURCES))
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root / "dist"), "."],
        source,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (root / "dist").glob("hpbench-*.whl")
    steps["build"] = time.monotonic() - t
    inst = Installed(root)
    t = time.monotonic()
    made = _run([sys.executable, "-m", "venv", str(inst.venv)], root)
    assert made.returncode == 0, made.stderr
    pip = _run([str(inst.venv / "bin" / "pip"), "install", "-q", str(wheel)], root)
    assert pip.returncode == 0, pip.stderr
    steps["venv + install"] = time.monotonic() - t
    print("wheel test: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
    return inst


def test_the_package_is_imported_from_the_venv_not_the_checkout(installed):
    probe = _run(
        [
            str(installed.venv / "bin" / "python"),
            "-c",
            "import bench, instruments; print(bench.__file__); print(instruments.__file__)",
        ],
        installed.work,
    )
    assert probe.returncode == 0, probe.stderr
    site = installed.venv / "lib"
    for line in probe.stdout.split():
        assert Path(line).is_relative_to(site), line
        assert not Path(line).resolve().is_relative_to(REPO), line


def test_the_demo_plan_runs_by_name_from_the_wheel(installed):
    (installed.work / "out").mkdir()  # hpbench creates run dirs, not the results disk
    done = installed.hpbench("run", "demo", "--sim", "--speed", "200", "--results", "out")

    assert done.returncode == 0, done.stdout + done.stderr
    (run_dir,) = (installed.work / "out").iterdir()
    result = json.loads((run_dir / "result.json").read_text())
    assert [p["id"] for p in result["points"]] == ["A7W35", "A2W35"]
    assert done.stdout.strip().splitlines()[-1].endswith(run_dir.name)


def test_plans_lists_the_shipped_plans_from_the_wheel(installed):
    done = installed.hpbench("plans")

    assert done.returncode == 0, done.stderr
    names = {line.split()[0] for line in done.stdout.splitlines() if line.strip()}
    assert {p.stem for p in (REPO / "test_plans").glob("*.yaml")} <= names


def test_scop_from_the_wheel_reproduces_the_published_value(installed):
    (installed.work / "loria.yaml").write_text(LORIA)
    done = installed.hpbench("scop", "loria.yaml", "--json")

    assert done.returncode == 0, done.stderr
    assert abs(json.loads(done.stdout)["scop"] - 4.47) <= 0.01


def test_version_from_the_wheel(installed):
    done = installed.hpbench("--version")

    assert (done.returncode, done.stdout) == (0, "hpbench 0.1.0\n")


def test_the_tui_starts_from_the_wheel_in_a_real_terminal(installed):
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: make test installs it (scripts/system-deps)")
    session = f"hpbench-wheel-{os.getpid()}"
    (installed.work / "tui-results").mkdir()  # as `hpbench run`, the TUI refuses a missing one
    hpbench = installed.venv / "bin" / "hpbench"
    command = f"{hpbench} tui --sim --speed 20 --results tui-results; sleep 0.1"
    tmux = ["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24"]
    started = _run([*tmux, "-c", str(installed.work), "-e", "TERM=xterm-256color", command], REPO)
    assert started.returncode == 0, started.stderr
    try:
        screen, deadline = "", time.monotonic() + 60
        while "IDLE" not in screen and time.monotonic() < deadline:
            time.sleep(0.2)
            screen = _run(["tmux", "capture-pane", "-p", "-t", session], REPO).stdout
        assert "IDLE" in screen, f"the TUI never showed the idle bench:\n{screen}"
        _run(["tmux", "send-keys", "-t", session, "q"], REPO)
        deadline = time.monotonic() + 30
        while _run(["tmux", "has-session", "-t", session], REPO).returncode == 0:
            assert time.monotonic() < deadline, "the TUI did not quit on q"
            time.sleep(0.2)
    finally:
        _run(["tmux", "kill-session", "-t", session], REPO)
