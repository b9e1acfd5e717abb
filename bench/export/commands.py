"""`hpbench report RUNDIR`, `hpbench verify RUNDIR`, and `export_run` for the engine.

`export_run` writes every result file of a run from its `run.sqlite`, each atomically, and
`SHA256SUMS` last: a crash part-way leaves the older files whole, and a sums file that does
not match them, which `verify` reports and `report` repairs.

Exit codes of both commands: 0 all well, 1 verification failed (each failure printed with the
file it concerns; for `report`: run.sqlite changed since it was sealed), 2 bad input (no such
directory, no readable run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from bench.export import atomic
from bench.export.approval import APPROVAL_NAME, approval_problems
from bench.export.csvfiles import POINTS_NAME, SAMPLES_NAME, points_csv, samples_csv
from bench.export.datasheet import DATASHEET_NAME, datasheet_csv
from bench.export.pdf import PDF_NAME, PrintError, print_pdf
from bench.export.report_html import REPORT_NAME, report_html
from bench.export.result import RESULT_NAME, build_result, dumps, schema_problems
from bench.export.rundata import load_run
from bench.export.seal import StoreChanged, check_sealed, checkpoint
from bench.export.settings import ExportError
from bench.export.signing import SIG_NAME, SigningError, sign_sums, signature_problems
from bench.export.sums import SUMS_NAME, check_sums, write_sums
from bench.store import STORE_NAME

RESULT_FILES = (RESULT_NAME, POINTS_NAME, SAMPLES_NAME, DATASHEET_NAME, REPORT_NAME)
SEALED_WHEN_PRESENT = (APPROVAL_NAME, PDF_NAME)  # `hpbench approve`, `hpbench report --pdf`
SEALED_FILES = (*RESULT_FILES, STORE_NAME)  # what SHA256SUMS lists: the raw data too
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class ResultInvalid(Exception):
    """The result document built from a run breaks its own schema: a bug, never a user's."""


def export_run(
    run_dir: Path,
    *,
    reseal: bool = True,
    key_file: Path | None = None,
    pdf: bool = False,
    beside: Path | None = None,
) -> list[Path]:
    """Write result.json, points.csv, samples.csv, datasheet.csv, report.html and SHA256SUMS
    (over those and the checkpointed run.sqlite). With `beside` (another run's directory) the
    report shows that run's bin-method SCOP beside this run's load-based SCOP.

    report.pdf too when `pdf` or when the run has one already (so it never shows an older
    report.html); SHA256SUMS lists it and approval.json when present. Signed with `key_file`,
    else with the station's signing key if it has one.

    Returns the paths written, SHA256SUMS last. Raises ExportError when `run_dir` holds no
    readable run (str() names it), StoreChanged when `reseal` is false and the store differs
    from the digest it was sealed with, ResultInvalid if the document fails its schema.
    """
    run_dir = Path(run_dir)
    if not reseal:
        check_sealed(run_dir)
    data = load_run(run_dir)
    doc = build_result(data)
    problems = schema_problems(doc)
    if problems:
        raise ResultInvalid(f"{run_dir / RESULT_NAME}: " + "; ".join(problems[:5]))
    contents = {
        RESULT_NAME: dumps(doc),
        POINTS_NAME: points_csv(doc),
        SAMPLES_NAME: samples_csv(data, doc),
        DATASHEET_NAME: datasheet_csv(doc),
        REPORT_NAME: report_html(data, doc, _result_of(beside) if beside else None),
    }
    written = []
    for name in RESULT_FILES:
        path = run_dir / name
        atomic.write_text(path, contents[name])
        written.append(path)
    checkpoint(run_dir)
    if pdf or (run_dir / PDF_NAME).exists():
        try:
            written.append(print_pdf(run_dir / REPORT_NAME, run_dir / PDF_NAME))
        except PrintError as exc:
            raise ExportError(f"{run_dir / PDF_NAME}: {exc}") from None
    extras = [name for name in SEALED_WHEN_PRESENT if (run_dir / name).is_file()]
    written.append(write_sums(run_dir, (*SEALED_FILES, *extras)))
    signing = data.settings.station.signing
    key = key_file or (Path(signing.key_file) if signing is not None else None)
    if key is not None:
        try:
            written.append(sign_sums(run_dir, key))
        except SigningError as exc:
            where = "--key" if key_file else "station signing.key_file"
            raise ExportError(f"{where}: {exc}") from None
    return written


def _result_of(run_dir: Path) -> dict[str, Any]:
    """Another run's result document (its sealed result.json)."""
    try:
        return json.loads((run_dir / RESULT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ExportError(f"{run_dir}: no readable {RESULT_NAME}: {exc}") from None


def report_command(
    run_dir: str, out: TextIO, err: TextIO, pdf: bool = False, beside: str | None = None
) -> int:
    """`hpbench report RUNDIR [--pdf] [--beside RUNDIR]`: regenerate every result file from
    run.sqlite."""
    try:
        written = export_run(
            Path(run_dir), reseal=False, pdf=pdf, beside=Path(beside) if beside else None
        )
    except StoreChanged as exc:
        print(f"hpbench report: {exc}", file=err)
        return EXIT_FAILED
    except ExportError as exc:
        print(f"hpbench report: {exc}", file=err)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"hpbench report: {run_dir}: cannot write: {exc}", file=err)
        return EXIT_BAD_INPUT
    for path in written:
        print(path, file=out)
    return EXIT_OK


def verify_command(run_dir: str, out: TextIO, err: TextIO, public_key: str | None = None) -> int:
    """`hpbench verify RUNDIR [--public-key FILE]`: every file against SHA256SUMS,
    result.json against its schema, and with a public key the signature of SHA256SUMS.

    Prints one line per failure, `file: what`, and a last line with the verdict.
    """
    directory = Path(run_dir)
    if not directory.is_dir():
        print(f"hpbench verify: {run_dir}: no such run directory", file=err)
        return EXIT_BAD_INPUT
    has_any = any((directory / n).exists() for n in (*RESULT_FILES, SUMS_NAME))
    if not has_any:
        print(
            f"hpbench verify: {run_dir}: no result files (make them with hpbench report)",
            file=err,
        )
        return EXIT_BAD_INPUT
    failures = [str(p) for p in check_sums(directory, SEALED_FILES)]
    failures += [f"{RESULT_NAME}: {p}" for p in _result_problems(directory / RESULT_NAME)]
    failures += approval_problems(directory, RESULT_NAME)
    signed = ""
    if public_key is not None:
        try:
            failures += signature_problems(directory, Path(public_key))
        except SigningError as exc:
            print(f"hpbench verify: {exc}", file=err)
            return EXIT_BAD_INPUT
        signed = ", signed by that key"
    elif (directory / SIG_NAME).exists():
        signed = f" ({SIG_NAME} present: give --public-key to check it)"
    for line in failures:
        print(line, file=out)
    if failures:
        print(f"{run_dir}: verification FAILED ({len(failures)} problem(s))", file=out)
        return EXIT_FAILED
    print(f"{run_dir}: OK, {len(SEALED_FILES)} files and the result schema{signed}", file=out)
    return EXIT_OK


def _result_problems(path: Path) -> list[str]:
    """The schema check of result.json (its presence is the sums' business)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        return [f"cannot read: {exc}"]
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return [f"not JSON: {exc}"]
    return [f"schema: {p}" for p in schema_problems(doc)]
