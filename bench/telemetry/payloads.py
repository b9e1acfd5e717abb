"""The JSON payloads of each telemetry topic, schema `hpbench.telemetry/1`.

Every payload is one JSON object with the same envelope - `schema`, `topic`, `station`,
`sent` (wall clock, epoch seconds) - and the topic's own fields; `schema/telemetry-1.schema.json`
is the contract. Bench times (`t`, `started`, `ended`) are the run's clock: on a time-warped
simulated run they run `speed` times faster than the wall clock.

Payloads are built from duck-typed engine objects (Status, Frame, Event, PointOutcome), so
this module imports nothing from the run engine. Non-finite numbers become null: JSON has no
NaN, and consumers in other languages would reject the message.
"""

from __future__ import annotations

import enum
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = "hpbench.telemetry/1"
SCHEMA_FILE = Path(__file__).with_name("schema") / "telemetry-1.schema.json"

RUNNING_PHASES = {"setting", "stabilising", "equilibrium", "collecting", "computing"}
FINAL_PHASES = {"done", "aborted", "failed"}


@dataclass(frozen=True)
class RunInfo:
    """What the telemetry says about the run itself."""

    run_id: str
    plan: str
    run_dir: str
    speed: float = 1.0
    sim: bool = False
    resumed: bool = False
    points: int = 0

    @classmethod
    def from_prepared(cls, prepared: Any) -> RunInfo:
        """From `bench.run.runner.Prepared` (duck-typed: telemetry does not import the run)."""
        run_dir = Path(prepared.run_dir)
        return cls(
            run_id=run_dir.name.rsplit("_", 1)[-1],
            plan=prepared.plan.spec.name,
            run_dir=str(run_dir.resolve()),
            speed=float(prepared.speed),
            sim=bool(prepared.sim),
            resumed=bool(prepared.resumed),
            points=len(prepared.plan.points),
        )


def json_safe(value: Any) -> Any:
    """A value JSON can carry: NaN and infinities as null, enums as their value, sets and
    tuples as lists, other objects as their str()."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


def encode(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, one line (a `mosquitto_sub` line per message)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def envelope(topic: str, station: str) -> dict[str, Any]:
    return {"schema": SCHEMA, "topic": topic, "station": station, "sent": round(time.time(), 3)}


def state_of(phase: str) -> str:
    """The coarse state a fleet view shows, from the sequencer's phase."""
    if phase == "idle":
        return "starting"
    if phase in RUNNING_PHASES:
        return "running"
    if phase in ("paused", "held"):
        return "paused"
    if phase in FINAL_PHASES:
        return phase
    return "running"


def outcome_of(phase: str | None) -> str:
    """How a run ended, as `hpbench run` records it: done, aborted, failed or interrupted."""
    return phase if phase in FINAL_PHASES else "interrupted"


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 3)


def status_payload(
    station: str,
    *,
    online: bool,
    status: Any | None = None,
    run: RunInfo | None = None,
    state: str | None = None,
    last_alarm: Mapping[str, Any] | None = None,
    interval_s: float | None = None,
    t: float | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """`<prefix>/<station>/status`, retained: where the bench is now.

    `status` is the engine's `Status`; `state` overrides the state derived from its phase
    (the run's outcome at the end, `offline` in the last will).
    """
    phase = str(status.phase) if status is not None else None
    point = None
    if status is not None and status.point_id:
        point = {"index": status.point_index, "count": status.point_count, "id": status.point_id}
    out = envelope("status", station)
    out.update(
        online=online,
        state=state or (state_of(phase) if phase and run else ("idle" if online else "offline")),
        phase=phase,
        run_id=run.run_id if run else None,
        plan=run.plan if run else None,
        run_dir=run.run_dir if run else None,
        speed=run.speed if run else None,
        point=point,
        points=status.point_count if status is not None else (run.points if run else None),
        time_in_phase_s=_num(status.time_in_phase_s) if phase not in (None, "idle") else None,
        eta_point_s=_num(status.eta_point_s) if status is not None else None,
        eta_plan_s=_num(status.eta_plan_s) if status is not None else None,
        frames=status.frames if status is not None else None,
        t=_num(t),
        last_alarm=json_safe(dict(last_alarm)) if last_alarm else None,
        interval_s=interval_s,
    )
    if reason:
        out["reason"] = reason
    return out


def frame_payload(station: str, run_id: str | None, frame: Any) -> dict[str, Any]:
    """`<prefix>/<station>/frame`: one instant of every channel, with unit and quality."""
    channels: dict[str, dict[str, Any]] = {}
    for cid, reading in frame.readings.items():
        value = reading.value
        entry: dict[str, Any] = {
            "value": value if value is None or math.isfinite(value) else None,
            "unit": reading.unit,
            "quality": str(reading.quality),
        }
        if reading.detail:
            entry["detail"] = reading.detail
        channels[cid] = entry
    out = envelope("frame", station)
    out.update(run_id=run_id, seq=frame.seq, t=_num(frame.t), channels=channels)
    return out


def point_payload(
    station: str, run: RunInfo | None, outcome: Any, results: Mapping[str, Any]
) -> dict[str, Any]:
    """`<prefix>/<station>/point`: a finished point, as the run store records it."""
    spec = outcome.spec
    out = envelope("point", station)
    out.update(
        run_id=run.run_id if run else None,
        plan=run.plan if run else None,
        index=spec.index,
        count=run.points if run else None,
        id=spec.id,
        status=outcome.status,
        reason=outcome.reason or "",
        started=_num(outcome.started),
        ended=_num(outcome.ended),
        transient=bool(outcome.transient),
        defrosts=int(outcome.defrosts),
        water_set=json_safe(outcome.water_set),
        quantities=json_safe(outcome.quantities),
        results=json_safe(results),
    )
    if getattr(outcome, "load_based", None) is not None:  # docs/standards.md §7
        out["load_based"] = json_safe(outcome.load_based)
    return out


def event_payload(station: str, run_id: str | None, event: Any) -> dict[str, Any]:
    """`<prefix>/<station>/event`: an alarm, operator action, instrument or defrost event."""
    out = envelope("event", station)
    out.update(
        run_id=run_id,
        t=_num(event.t),
        kind=event.kind,
        message=event.message,
        data=json_safe(event.data or {}),
    )
    return out


def run_payload(
    station: str,
    run: RunInfo,
    action: str,
    *,
    t: float | None,
    outcome: str | None = None,
    frames: int | None = None,
    point_statuses: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`<prefix>/<station>/run`: a run started (`start`) or ended (`end`, with its outcome)."""
    out = envelope("run", station)
    out.update(
        event=action,
        run_id=run.run_id,
        plan=run.plan,
        run_dir=run.run_dir,
        speed=run.speed,
        sim=run.sim,
        resumed=run.resumed,
        points=run.points,
        t=_num(t),
    )
    if action == "end":
        out.update(outcome=outcome, frames=frames, point_statuses=dict(point_statuses or {}))
    return out


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
