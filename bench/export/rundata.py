"""One run, read once from `run.sqlite`, in the shape every result file is made from.

Frames are turned into columns as they are read (a list of values per channel, None where a
reading was not OK): an overnight run is a few thousand frames of forty channels, and every
writer (points, samples, plots) then works on plain lists instead of `Reading` objects.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.export.settings import BenchSettings, ExportError, bench_settings
from bench.plan import Plan, PlanError, parse_plan
from bench.store import STORE_NAME, Event, PointRow, RunStore, Snapshot, StoreError
from instruments.base import Quality


@dataclass
class Series:
    """All frames of a run as columns, in seq order."""

    seq: list[int] = field(default_factory=list)
    t: list[float] = field(default_factory=list)
    values: dict[str, list[float | None]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # "channel:quality detail; …" or ""

    def span(self, first_seq: int, last_seq: int) -> range:
        """Row indices of frames first_seq..last_seq (inclusive)."""
        lo = bisect.bisect_left(self.seq, first_seq)
        hi = bisect.bisect_right(self.seq, last_seq)
        return range(lo, hi)

    def column(self, channel: str, rows: range) -> list[float | None]:
        col = self.values.get(channel)
        if col is None:
            return [None] * len(rows)
        return col[rows.start : rows.stop]


@dataclass
class RunData:
    """Everything the exports need, read from one run store."""

    run_dir: Path
    meta: dict[str, Any]
    channels: dict[str, str]
    series: Series
    points: list[PointRow]
    snapshots: list[Snapshot]
    events: list[Event]
    gaps: list[tuple[int, int]]
    settings: BenchSettings
    plan: Plan | None  # None when the plan cannot be resolved again (see plan_problem)
    plan_problem: str
    plan_doc: dict[str, Any]  # the plan file's own YAML, for what `plan` would give


def load_run(run_dir: Path) -> RunData:
    """Read a run directory's store; ExportError when there is no readable store."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ExportError(f"{run_dir}: no such run directory")
    if not (run_dir / STORE_NAME).is_file():
        raise ExportError(f"{run_dir}: no {STORE_NAME} in it: not a run directory")
    try:
        with RunStore.open(run_dir) as store:
            meta = store.meta()
            channels = store.channels()
            series = _read_series(store, channels)
            points = store.points()
            snapshots = store.snapshots()
            events = store.events()
            gaps = store.gaps()
    except StoreError as exc:
        raise ExportError(str(exc)) from None
    where = str(run_dir / STORE_NAME)
    for key in ("plan_text", "station_text", "run_id", "plan_name"):
        if key not in meta:
            raise ExportError(f"{where}: meta has no {key}")
    settings = bench_settings(meta["station_text"], where)
    plan, problem = _plan(meta)
    try:
        doc = yaml.safe_load(meta["plan_text"])
    except yaml.YAMLError:
        doc = None
    return RunData(
        run_dir=run_dir,
        meta=meta,
        channels=channels,
        series=series,
        points=points,
        snapshots=snapshots,
        events=events,
        gaps=gaps,
        settings=settings,
        plan=plan,
        plan_problem=problem,
        plan_doc=doc if isinstance(doc, dict) else {},
    )


def _plan(meta: dict[str, Any]) -> tuple[Plan | None, str]:
    """The plan as run. A plan that `extends` another is resolved against the files found
    now (as `--resume` does); if that fails the result still has every measured point, only
    the set values that are not in the point records are missing."""
    try:
        return parse_plan(meta["plan_text"], meta.get("plan_path", "<plan>")), ""
    except PlanError as exc:
        return None, f"the stored plan cannot be resolved again: {exc}"


def _read_series(store: RunStore, channels: dict[str, str]) -> Series:
    ids = list(channels)
    series = Series(values={cid: [] for cid in ids})
    columns = [series.values[cid] for cid in ids]
    ok = Quality.OK
    for frame in store.frames():
        series.seq.append(frame.seq)
        series.t.append(frame.t)
        readings = frame.readings
        notes = []
        for cid, col in zip(ids, columns, strict=True):
            reading = readings.get(cid)
            if reading is None:
                col.append(None)
                notes.append(f"{cid}:absent")
            elif reading.quality is ok:
                col.append(reading.value)
            else:
                col.append(None)
                detail = f" {reading.detail}" if reading.detail else ""
                notes.append(f"{cid}:{reading.quality.value}{detail}")
        series.notes.append("; ".join(notes))
    return series
