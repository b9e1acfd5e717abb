"""`hpbench approve RUNDIR --name … --role … [--key FILE]`: who authorised the test report.

ISO/IEC 17025 7.8.2.1 (o) asks for the identification of the person(s) authorising the report.
The approval is a small file in the run directory, `approval.json` (name, role, UTC time, and
the SHA-256 of the result.json approved), so it is part of the package like every result
file: listed in SHA256SUMS (signed again when a key is given), and shown in report.html, which
is made again with its approval block. `verify` checks that the approved result.json is the
one in the package. An approved report is not approved twice: a changed report is a new report
(17025 7.8.8), so approving an approved run is refused.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bench.export import atomic
from bench.export.sums import check_sums, digest

APPROVAL_NAME = "approval.json"
FORMAT = "hpbench-approval"
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class ApprovalError(Exception):
    """approval.json cannot be read; str() names the file."""


@dataclass(frozen=True)
class Approval:
    name: str
    role: str
    approved_utc: str  # ISO 8601, seconds, "Z"
    result_sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "role": self.role,
            "approved_utc": self.approved_utc,
            "result_sha256": self.result_sha256,
        }


def read_approval(run_dir: Path) -> Approval | None:
    """The run's approval, None when it has none; ApprovalError when the file is unreadable."""
    path = Path(run_dir) / APPROVAL_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApprovalError(f"{path}: cannot read: {exc}") from None
    try:
        if raw["format"] != FORMAT:
            raise ApprovalError(f"{path}: not an {FORMAT} file")
        fields = {k: raw[k] for k in ("name", "role", "approved_utc", "result_sha256")}
    except (KeyError, TypeError) as exc:
        raise ApprovalError(f"{path}: missing field {exc}") from None
    if not all(isinstance(v, str) and v for v in fields.values()):
        raise ApprovalError(f"{path}: every field must be a non-empty text")
    return Approval(**fields)


def approval_problems(run_dir: Path, result_name: str) -> list[str]:
    """For `verify`: the approval readable and made for the result.json in the package."""
    try:
        approval = read_approval(run_dir)
    except ApprovalError as exc:
        return [f"{APPROVAL_NAME}: {str(exc).split(': ', 1)[1]}"]
    if approval is None:
        return []
    path = Path(run_dir) / result_name
    if not path.is_file():
        return []  # the sums report a missing result.json
    if digest(path) != approval.result_sha256:
        return [f"{APPROVAL_NAME}: approves another {result_name} (SHA-256 differs)"]
    return []


def approve_command(
    run_dir: str,
    name: str,
    role: str,
    key_file: str | None,
    out: TextIO,
    err: TextIO,
    now: dt.datetime | None = None,
) -> int:
    """Record the approval, then make the report again (with it) and seal and sign the package.

    Only a package that verifies is approved: the person approves what is there.
    """
    from bench.export.commands import SEALED_FILES, export_run
    from bench.export.result import RESULT_NAME
    from bench.export.settings import ExportError

    directory = Path(run_dir)
    name, role = name.strip(), role.strip()
    if not name or not role:
        print("hpbench approve: --name and --role must not be empty", file=err)
        return EXIT_BAD_INPUT
    if not directory.is_dir():
        print(f"hpbench approve: {run_dir}: no such run directory", file=err)
        return EXIT_BAD_INPUT
    try:
        existing = read_approval(directory)
    except ApprovalError as exc:
        print(f"hpbench approve: {exc}", file=err)
        return EXIT_BAD_INPUT
    if existing is not None:
        print(
            f"hpbench approve: {run_dir}: already approved by {existing.name} "
            f"({existing.role}) at {existing.approved_utc}; a changed report is a new report",
            file=err,
        )
        return EXIT_BAD_INPUT
    problems = check_sums(directory, SEALED_FILES)
    if problems:
        for p in problems:
            print(f"{p}", file=out)
        print(f"hpbench approve: {run_dir}: the package does not verify: not approved", file=err)
        return EXIT_FAILED
    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    approval = Approval(
        name=name,
        role=role,
        approved_utc=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        result_sha256=digest(directory / RESULT_NAME),
    )
    path = directory / APPROVAL_NAME
    atomic.write_text(path, json.dumps(approval.as_dict(), indent=2, ensure_ascii=False) + "\n")
    try:
        written = export_run(directory, reseal=False, key_file=Path(key_file) if key_file else None)
        if digest(directory / RESULT_NAME) != approval.result_sha256:
            raise ExportError(
                f"{directory / RESULT_NAME}: made again it differs from the one checked "
                "(another hpbench version?): run hpbench report, check it, then approve"
            )
    except ExportError as exc:
        path.unlink()
        with contextlib.suppress(ExportError):
            export_run(directory, reseal=False)  # the package as it was, without the approval
        print(f"hpbench approve: {exc}", file=err)
        return EXIT_BAD_INPUT
    for p in [path, *written]:
        print(p, file=out)
    return EXIT_OK
