"""A finished point's numbers: channel means, capacity, power and COP from the bench's sensors.

Steady points use the means of the collection period; transient points integrate heat and
electrical energy over the complete defrost cycles the sequencer kept. Frames where any of the
four inputs is not OK are left out and counted, never filled in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.metrology.capacity import MeterPosition, integrate, steady_point
from bench.run.frame import Frame
from bench.run.points import HP_HEAT, POWER, WATER_FLOW, WATER_IN, WATER_OUT
from bench.run.sequencer import PointOutcome

INPUTS = (WATER_FLOW, WATER_IN, WATER_OUT, POWER)


@dataclass(frozen=True)
class WaterSide:
    """Station settings the capacity depends on."""

    pressure_pa: float = 3.0e5
    meter: MeterPosition = "inlet"


def channel_means(frames: list[Frame]) -> dict[str, float | None]:
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


def point_results(outcome: PointOutcome, water: WaterSide) -> dict[str, Any]:
    """The `results` block of a point record; empty when the point has no collection."""
    frames = outcome.frames
    if not frames:
        return {}
    usable = [f for f in frames if all(f.value(c) is not None for c in INPUTS)]
    means = channel_means(frames)
    out: dict[str, Any] = {
        "frames": len(frames),
        "frames_without_inputs": len(frames) - len(usable),
        "means": means,
        "heat_pump_reported": {"heat_output_w": means.get(HP_HEAT)},
    }
    if len(usable) < 2:
        out["error"] = "fewer than two frames with valid flow, temperatures and power"
        return out

    def series(channel: str) -> list[float]:
        return [f.value(channel) for f in usable]  # type: ignore[misc]

    if outcome.transient:
        r = integrate(
            [f.t for f in usable],
            series(WATER_FLOW),
            series(WATER_IN),
            series(WATER_OUT),
            series(POWER),
            p_pa=water.pressure_pa,
            meter=water.meter,
        )
        out.update(
            method="integrated over complete defrost cycles",
            capacity_w=r.phi_w,
            power_w=r.p_e_w,
            power_raw_w=r.p_raw_w,
            cop=r.cop,
            heat_kwh=r.heat_j / 3.6e6,
            electric_kwh=r.electric_j / 3.6e6,
            duration_s=r.duration_s,
        )
        return out

    def mean(channel: str) -> float:
        return math.fsum(series(channel)) / len(usable)

    r = steady_point(
        mean(WATER_FLOW),
        mean(WATER_IN),
        mean(WATER_OUT),
        mean(POWER),
        p_pa=water.pressure_pa,
        meter=water.meter,
    )
    out.update(
        method="means of the steady-state collection period",
        capacity_w=r.phi_w,
        power_w=r.power.effective_w,
        power_raw_w=r.power.raw_w,
        cop=r.cop,
    )
    return out
