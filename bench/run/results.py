"""A finished point's numbers for its record: channel means, and capacity, power, COP and
their uncertainty from `bench.metrology.point.calculate`, the calculation `hpbench report`
runs again on the stored frames (so the live COP, the TUI's and MQTT's, is the certified one).

Frames where any of the four inputs is not OK are left out and counted, never filled in.

The engine takes a point's `PointWindow` on the loop as the point ends and computes
`window_results` from it in a worker thread: the calculation is pure, so acquisition goes on
meanwhile (docs/decisions/0220-one-point-calculation.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.metrology.point import PointSettings, Samples, WaterSide, calculate
from bench.run.frame import Frame
from bench.run.points import HP_DEFROST, HP_HEAT, POWER, WATER_FLOW, WATER_IN, WATER_OUT
from bench.run.sequencer import PointOutcome

__all__ = [
    "PointSettings",
    "PointWindow",
    "WaterSide",
    "missing_results",
    "point_results",
    "point_window",
    "sampled",
    "window_results",
    "window_samples",
]

SAMPLED = (WATER_FLOW, WATER_IN, WATER_OUT, POWER, HP_DEFROST)  # and the power parts' channels
# the uncertainty a record keeps: the estimates; the budget rows are result.json's
RECORDED_UNCERTAINTY = ("available", "reason", "k", "type_a", "capacity_w", "power_w", "cop")

Columns = Mapping[str, Sequence[float | None]]


def sampled(settings: PointSettings) -> tuple[str, ...]:
    """The channels the point calculation reads: the contract's, and each power part's column
    and range columns (`settings.sensors`)."""
    return tuple(dict.fromkeys((*SAMPLED, *settings.channels())))


def window_samples(t: Sequence[float], cols: Columns, settings: PointSettings) -> Samples:
    """The calculation's inputs from a window's channel columns (a missing channel: all None)."""

    def col(channel: str) -> Sequence[float | None]:
        return cols.get(channel) or [None] * len(t)

    parts = settings.sensors.power
    return Samples(
        t=t,
        flow_m3h=col(WATER_FLOW),
        inlet_c=col(WATER_IN),
        outlet_c=col(WATER_OUT),
        power={p.channel: col(p.channel) for p in parts},
        defrost=col(HP_DEFROST),
        ranges={c: col(c) for p in parts for pair in p.ranges for c in pair},
    )


def channel_means(frames: Sequence[Frame]) -> dict[str, float | None]:
    sums: dict[str, list[float]] = {}
    for frame in frames:
        for name in frame.readings:
            value = frame.value(name)
            bucket = sums.setdefault(name, [])
            if value is not None:
                bucket.append(value)
    return {name: (math.fsum(v) / len(v) if v else None) for name, v in sums.items()}


def missing_results(results: dict[str, Any]) -> str | None:
    """Why a point judged stable still cannot be valid: it has no capacity or no power (the
    inputs were invalid or missing throughout), or a non-finite one. None when it has both."""
    if results.get("error"):
        return f"no valid result: {results['error']}"
    for key, name in (("capacity_w", "capacity"), ("power_w", "electrical power")):
        value = results.get(key)
        if value is None or not math.isfinite(value):
            return f"no valid result: no {name} from the bench's measurements"
    return None


@dataclass(frozen=True)
class PointWindow:
    """What a finished point's numbers come from, taken when it ends. Frames are frozen and
    their readings never change once published, so a thread may read them while the loop
    goes on acquiring."""

    frames: tuple[Frame, ...]
    transient: bool
    deviations: Mapping[str, float]  # the set points' mean deviations, for the uncertainty


def point_window(outcome: PointOutcome) -> PointWindow:
    return PointWindow(
        frames=tuple(outcome.frames),
        transient=outcome.transient,
        deviations={
            name: float((outcome.quantities.get(name) or {}).get("mean_deviation") or 0.0)
            for name in ("water_outlet", "air_dry_bulb")
        },
    )


def window_results(window: PointWindow, settings: PointSettings) -> dict[str, Any]:
    """The `results` block of a point record; empty when the point has no collection. Pure:
    it touches nothing but its arguments (the engine runs it in a worker thread)."""
    frames = window.frames
    if not frames:
        return {}
    cols = {c: [f.value(c) for f in frames] for c in sampled(settings)}
    numbers = calculate(
        window_samples([f.t for f in frames], cols, settings),
        transient=window.transient,
        settings=settings,
        deviations=window.deviations,
    )
    means = channel_means(frames)
    uncertainty = numbers["uncertainty"]
    return {
        "frames": len(frames),
        "frames_without_inputs": len(frames) - sum(numbers["usable"]),
        "means": means,
        "heat_pump_reported": {"heat_output_w": means.get(HP_HEAT)},
        **numbers["results"],
        "uncertainty": {k: uncertainty[k] for k in RECORDED_UNCERTAINTY if k in uncertainty},
    }


def point_results(outcome: PointOutcome, settings: PointSettings) -> dict[str, Any]:
    """`window_results` of the outcome's window, in one call (nothing to overlap with)."""
    return window_results(point_window(outcome), settings)
