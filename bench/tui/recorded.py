"""Past runs under `results/`, read-only: the list, and one run loaded for replay.

Blocking (SQLite reads): the screens call these from thread workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.plan import PlanError, parse_plan
from bench.run.engine import Event
from bench.run.results import WaterSide
from bench.run.runner import FINISHED_STATUSES, STOPPED
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
    points: str  # e.g. "3/7 done, 2 valid": finished points against the plan
    error: str = ""


def list_runs(results: Path) -> list[RunListing]:
    """Every run directory under `results`, the most recently created first."""
    if not results.is_dir():
        return []
    found = [_listing(d) for d in results.iterdir() if (d / STORE_NAME).is_file()]
    return sorted(found, key=lambda run: (run.created, run.path.name), reverse=True)


def _listing(run_dir: Path) -> RunListing:
    try:
        store = RunStore.open(run_dir)
    except StoreError as exc:
        return RunListing(run_dir, "?", "", "unreadable", "", exc.reason)
    try:
        meta, rows, events = store.meta(), store.points(), store.events({"run", "gap"})
    except StoreError as exc:
        return RunListing(run_dir, "?", "", "unreadable", "", exc.reason)
    finally:
        store.close()
    finished = [r for r in rows if r.status in FINISHED_STATUSES]
    valid = sum(1 for r in finished if r.status == "valid")
    total = _plan_points(meta)
    of = f"/{total}" if total is not None else ""
    return RunListing(
        run_dir,
        str(meta.get("plan_name", "?")),
        str(meta.get("created", ""))[:16].replace("T", " "),
        _outcome(meta, events),
        f"{len(finished)}{of} done, {valid} valid" if finished or total else "-",
    )


def _plan_points(meta: dict[str, Any]) -> int | None:
    """How many points the run's plan has (None: a manual session, or a plan unreadable)."""
    if not meta.get("plan_text"):
        return None
    try:
        return len(parse_plan(meta["plan_text"], "run.sqlite: plan").points)
    except PlanError:
        return None


def _outcome(meta: dict[str, Any], events: list[Any]) -> str:
    """The recorded outcome. An interrupted run continued since and not ended yet (it may be
    running elsewhere) is `resumed`: `--resume` writes a gap event for each interruption."""
    outcome = str(meta.get("outcome", "unfinished"))
    stops = sum(1 for e in events if e.kind == "run" and e.message.startswith(STOPPED))
    gaps = sum(1 for e in events if e.kind == "gap")
    return "resumed" if outcome == "interrupted" and stops and gaps >= stops else outcome


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
