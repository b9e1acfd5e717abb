"""How every run ends, whoever ran it: `hpbench run` and the TUI both call `finish_run`.

The store is closed, the result files (result.json, CSV, report, SHA256SUMS and, with a
station signing key, its signature) are written, and the exit code is decided. A failure to
write the result files never changes the run's outcome: the store holds everything and
`hpbench report RUNDIR` writes them again. A station with a lab database gets the run queued
for it (bench/lab/outbox.py: never waits on the database).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.export import ExportError, export_run
from bench.export.commands import ResultInvalid
from bench.lab import outbox as lab_outbox
from bench.run.runner import Prepared, exit_code, outcome_name
from bench.run.sequencer import Phase


@dataclass(frozen=True)
class Finished:
    """A run that has ended: what the summary (console table or TUI screen) shows."""

    run_dir: Path
    phase: Phase
    points: list[dict[str, Any]]  # each point's record, with its id and status
    written: list[Path]  # the result files, SHA256SUMS (and its signature) last
    export_error: str | None  # why the result files were not written
    unsafe: str | None = None  # the safe state that could not be confirmed (exit 4)

    @property
    def outcome(self) -> str:
        return outcome_name(self.phase, self.unsafe)

    @property
    def exit_code(self) -> int:
        return exit_code(self.phase, [p["status"] for p in self.points], unsafe=self.unsafe)

    @property
    def resumable(self) -> bool:
        return self.outcome == "interrupted"


def finish_run(prepared: Prepared, phase: Phase, unsafe: str | None = None) -> Finished:
    """Close the run's store and write its result files (blocking: call it in a thread from
    the event loop)."""
    store = prepared.store
    assert store is not None
    rows = store.points()
    store.close()
    points = [{"id": r.point_id, **(r.record or {}), "status": r.status} for r in rows]
    try:
        written, error = export_run(prepared.run_dir), None
    except (ExportError, ResultInvalid, OSError) as exc:
        written, error = [], str(exc)
    lab_outbox.after_run(prepared.run_dir, prepared.station.lab)
    return Finished(prepared.run_dir, phase, points, written, error, unsafe)
