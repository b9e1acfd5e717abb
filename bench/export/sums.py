"""`SHA256SUMS` over a run's result files: written last, checked by `hpbench verify`.

The format is the one `sha256sum` writes and `sha256sum -c SHA256SUMS` checks: one line per
file, the hex digest, two spaces, the file name (relative to the run directory), sorted by
name. So a lab can check a run without hpbench.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.export import atomic

SUMS_NAME = "SHA256SUMS"
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](\S(?:.*\S)?)$")


@dataclass(frozen=True)
class SumProblem:
    """One file that does not check out; `file` is its name in the run directory."""

    file: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.problem}"


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def format_sums(run_dir: Path, names: Iterable[str]) -> str:
    return "".join(f"{digest(run_dir / name)}  {name}\n" for name in sorted(set(names)))


def write_sums(run_dir: Path, names: Iterable[str]) -> Path:
    """Write SHA256SUMS over `names` (files in `run_dir`), atomically."""
    path = run_dir / SUMS_NAME
    atomic.write_text(path, format_sums(run_dir, names))
    return path


def read_sums(run_dir: Path) -> tuple[dict[str, str], list[SumProblem]]:
    """The listed files (name -> digest), and what is wrong with the list itself."""
    path = run_dir / SUMS_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, [SumProblem(SUMS_NAME, "missing")]
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [SumProblem(SUMS_NAME, f"cannot read: {exc}")]
    listed: dict[str, str] = {}
    problems: list[SumProblem] = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _LINE.match(line)
        if match is None:
            problems.append(SumProblem(SUMS_NAME, f"line {number} is not 'digest  name'"))
            continue
        value, name = match.groups()
        if name in listed:
            problems.append(SumProblem(SUMS_NAME, f"line {number} lists {name} again"))
        elif "/" in name or name in (".", ".."):
            problems.append(SumProblem(SUMS_NAME, f"line {number}: {name!r} is not a file here"))
        else:
            listed[name] = value
    return listed, problems


def check_sums(run_dir: Path, required: Iterable[str] = ()) -> list[SumProblem]:
    """Every listed file present with its digest, and every `required` file listed.

    Each problem names the file: missing, changed (digest differs), unreadable, not listed.
    """
    listed, problems = read_sums(run_dir)
    if problems and not listed:
        return problems
    for name, expected in sorted(listed.items()):
        path = run_dir / name
        if not path.is_file():
            problems.append(SumProblem(name, "missing (listed in SHA256SUMS)"))
            continue
        try:
            actual = digest(path)
        except OSError as exc:
            problems.append(SumProblem(name, f"cannot read: {exc.strerror or exc}"))
            continue
        if actual != expected:
            problems.append(
                SumProblem(name, f"changed: SHA-256 {actual[:16]}… is not {expected[:16]}…")
            )
    for name in sorted(set(required) - set(listed)):
        present = (run_dir / name).is_file()
        what = "not listed in SHA256SUMS" if present else "missing, and not listed in SHA256SUMS"
        problems.append(SumProblem(name, what))
    return problems
