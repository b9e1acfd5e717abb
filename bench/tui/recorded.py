"""Past runs under `results/`, read-only: the list, and one run loaded for replay.

Blocking (SQLite reads): the screens call these from thread workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.run.engine import Event
from bench.run.results import WaterSide
from bench.station import StationError, parse_station
from bench.store import STORE_NAME, RunStore, StoreError
from bench.tui.history import History
from bench.tui.session import PointResult


@dataclass(frozen=True)
class RunListing:
    path: Path
    plan: str
    created: str
    outcome: str
    points: str  # e.g. "2/2 valid"
    error: str = ""


def list_runs(results: Path) -> list[RunListing]:
    """Every run directory under `results`, newest first."""
    if not results.is_dir():
        return []
    found = [d for d in results.iterdir() if (d / STORE_NAME).is_file()]
    return [_listing(d) for d in sorted(found, key=lambda d: d.stat().st_mtime, reverse=True)]


def _listing(run_dir: Path) -> RunListing:
    try:
        store = RunStore.open(run_dir)
    except StoreError as exc:
        return RunListing(run_dir, "?", "", "unreadable", "", exc.reason)
    try:
        meta, rows = store.meta(), store.points()
    except StoreError as exc:
        return RunListing(run_dir, "?", "", "unreadable", "", exc.reason)
    finally:
        store.close()
    valid = sum(1 for r in rows if r.status == "valid")
    return RunListing(
        run_dir,
        str(meta.get("plan_name", "?")),
        str(meta.get("created", ""))[:16].replace("T", " "),
        str(meta.get("outcome", "unfinished")),
        f"{valid}/{len(rows)} valid" if rows else "-",
    )


@dataclass
class RecordedRun:
    path: Path
    meta: dict[str, Any]
    points: list[PointResult]
    events: list[Event]
    history: History
    frames: int


def _water_side(meta: dict[str, Any]) -> WaterSide:
    try:
        station = parse_station(meta.get("station_text", ""), "run.sqlite: station").station
    except StationError:
        return WaterSide()
    return WaterSide(station.water_pressure_pa, station.flow_meter)


def open_run(run_dir: Path) -> RecordedRun:
    """Load a run for replay: its points, events and every frame through the plot history.

    Raises StoreError when the run cannot be read."""
    store = RunStore.open(run_dir)
    try:
        meta = store.meta()
        rows = store.points()
        events = [Event(e.t, e.kind, e.message, e.data or {}) for e in store.events()]
        last = store.last_seq()
        first_t = last_t = 0.0
        if last >= 0:
            first_t = next(store.frames(0, last)).t
            last_t = next(store.frames(last, last)).t
        history = History.spanning(first_t, last_t, _water_side(meta))
        count = 0
        for frame in store.frames():
            history.add(frame)
            count += 1
    finally:
        store.close()
    points = [PointResult.from_record(r.point_id, r.status, r.record or {}) for r in rows]
    return RecordedRun(Path(run_dir), meta, points, events, history, count)
