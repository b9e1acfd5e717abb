"""The shipped plans: the standard sets and the demo, found by name from anywhere.

`test_plans/` in the repository is the directory of record; `bench/plan/shipped` is a symlink
to it, so the same files are package data in a wheel and the checkout's files in an editable
install (docs/decisions/0100-shipped-plans-symlink.md).
"""

from __future__ import annotations

from pathlib import Path

# Resolved, so a checkout names test_plans/... in messages; a wheel names its own copy.
SHIPPED_PLANS = (Path(__file__).parent / "shipped").resolve()
_SUFFIXES = (".yaml", ".yml")


def shipped_plans() -> list[Path]:
    """Every shipped plan file, by name."""
    return sorted(p for p in SHIPPED_PLANS.iterdir() if p.suffix in _SUFFIXES and p.is_file())


def find_plan(argument: str) -> str:
    """A plan argument as given on the command line → the file to load.

    A path that exists wins; otherwise a bare name (`demo`, `demo.yaml`) is a shipped plan.
    Anything else is returned unchanged, so the loader's message names what the user typed.
    """
    given = Path(argument)
    if given.exists() or given.name != argument:
        return argument
    names = [argument] if given.suffix in _SUFFIXES else [argument + s for s in _SUFFIXES]
    for name in names:
        if (SHIPPED_PLANS / name).is_file():
            return str(SHIPPED_PLANS / name)
    return argument
