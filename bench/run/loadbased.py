"""When a load-based point has been measured long enough (docs/standards.md §7).

The result is integrated over whole compressor cycles once the unit cycles: from one start of
the compressor to the start `cycles` cycles later. A unit that modulates without stopping is
measured for the point's fixed time instead; one that cycles too slowly to give `cycles` whole
cycles in that time is measured over the whole cycles it gave (at least one).

A unit that defrosts is measured over whole defrost cycles (from one defrost end to a later
one: `cycles` of them, or as many as fill the fixed time), as EN 14511-3 measures a transient
test (docs/standards.md §2): a defrost draws heat back from the building, so a window that
holds part of a defrost cycle misstates the load met. A defrost in the warm-up counts too: the
unit frosts at this point, and a window that starts in the recovery from it but ends before
the next defrost would credit it with heat it owes. If none comes for twice the fixed time,
the unit has stopped frosting and the last fixed time is measured; a unit that cycles on and
off too slowly for a whole cycle in the fixed time is waited for as long.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.metrology import capacity
from bench.run.frame import Frame
from bench.run.points import (
    HP_COMPRESSOR_ON,
    HP_DEFROST,
    POWER,
    WATER_FLOW,
    WATER_IN,
    WATER_OUT,
)

SLOW_LIMIT = 2.0  # × the fixed time: the longest wait for a whole compressor or defrost cycle

if TYPE_CHECKING:
    from bench.plan.loadbased import LoadBasedSetting
    from bench.run.emulation import EmulationHost
    from bench.run.results import WaterSide
    from bench.run.sequencer import PointOutcome


@dataclass
class CycleWatch:
    """Compressor starts and stops, as the unit's status bit reports them in the frames."""

    on: bool | None = None
    starts: list[float] = field(default_factory=list)
    stops: list[float] = field(default_factory=list)
    defrosting: bool = False
    defrost_ends: list[float] = field(default_factory=list)

    def update(self, frame: Frame) -> None:
        defrost = frame.value(HP_DEFROST)
        if defrost is not None:
            if self.defrosting and defrost < 0.5:
                self.defrost_ends.append(frame.t)
            self.defrosting = defrost >= 0.5
        value = frame.value(HP_COMPRESSOR_ON)
        if value is None:
            return
        on = value >= 0.5
        if self.on is not None and on != self.on:
            (self.starts if on else self.stops).append(frame.t)
        self.on = on

    def window(
        self, collect_from: float, t: float, setting: LoadBasedSetting
    ) -> tuple[float, float] | None:
        """The period to integrate over, once it is complete; None while measuring on."""
        if self.defrosting:
            return None  # never ends inside a defrost
        if self.defrost_ends:  # the unit frosts at this point (in its warm-up or since)
            return self._defrost_window(collect_from, t, setting)
        starts = [s for s in self.starts if s >= collect_from]
        if setting.cycles is not None and len(starts) > setting.cycles:
            return starts[0], starts[setting.cycles]
        if t - collect_from < setting.duration_s:
            return None
        if len(starts) >= 2:
            return starts[0], starts[-1]
        if self.stops and t - collect_from < SLOW_LIMIT * setting.duration_s:
            return None  # it cycles, slowly: at least one whole cycle
        return collect_from, t

    def _defrost_window(
        self, collect_from: float, t: float, setting: LoadBasedSetting
    ) -> tuple[float, float] | None:
        """Whole defrost cycles from the first defrost end of the collection; the fixed time
        after none came for twice that time (the unit stopped frosting)."""
        ends = [e for e in self.defrost_ends if e >= collect_from]
        wanted = setting.cycles or 1
        for k, end in enumerate(ends[1:], start=1):
            if k >= wanted or end - ends[0] >= setting.duration_s:
                return ends[0], end
        if t - max(collect_from, self.defrost_ends[-1]) >= SLOW_LIMIT * setting.duration_s:
            return t - setting.duration_s, t
        return None

    def cycling_between(self, start: float, end: float) -> bool:
        return any(start <= s <= end for s in self.stops)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    i = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[i]


def _runs(watch: CycleWatch, start: float, end: float) -> tuple[list[float], list[float]]:
    """Whole on and off periods inside the window, s."""
    edges = sorted([(t, True) for t in watch.starts] + [(t, False) for t in watch.stops])
    edges = [e for e in edges if start <= e[0] <= end]
    on: list[float] = []
    off: list[float] = []
    for (t0, was_on), (t1, _) in itertools.pairwise(edges):
        (on if was_on else off).append(t1 - t0)
    return on, off


def load_based_record(
    outcome: PointOutcome, host: EmulationHost, side: WaterSide
) -> dict[str, Any]:
    """The load-based results of one point (docs/standards.md §7): energies over the window
    (whole compressor cycles, or the fixed time), load achieved against demanded, cycling,
    defrosts and the emulation's quality."""
    spec = outcome.spec
    assert spec.load_based is not None
    emulation = host.finished.get(spec.index)
    frames = outcome.frames
    record: dict[str, Any] = {"setting": spec.load_based.as_dict()}
    if emulation is None or len(frames) < 2:
        record["error"] = "no emulation or fewer than two frames in the window"
        return record
    record["parameters"] = emulation.parameters
    start, end = frames[0].t, frames[-1].t
    usable = [
        f
        for f in frames
        if all(f.value(c) is not None for c in (WATER_FLOW, WATER_IN, WATER_OUT, POWER))
    ]
    heat = capacity.integrate(
        [f.t for f in usable],
        [f.value(WATER_FLOW) for f in usable],  # type: ignore[misc]
        [f.value(WATER_IN) for f in usable],  # type: ignore[misc]
        [f.value(WATER_OUT) for f in usable],  # type: ignore[misc]
        [f.value(POWER) for f in usable],  # type: ignore[misc]
        p_pa=side.pressure_pa,
        meter=side.meter,
    )
    demanded = spec.load_based.sizing().load_w
    watch = CycleWatch()
    for f in frames:
        watch.update(f)
    on, off = _runs(watch, start, end)
    steps = [s for s in emulation.steps if start < s.t <= end]
    errors = [  # a fresh frame's return against the last command acknowledged before it
        b.t_return - a.command
        for a, b in itertools.pairwise(steps)
        if a.command is not None and a.ack == 1 and b.seq != a.seq
    ]
    model_in = sum(s.phi_hp * s.dt for s in steps)
    model_out = sum(
        (s.phi_ba if spec.load_based.building == "two_mass" else s.phi_hb) * s.dt for s in steps
    )
    stored = 0.0
    if steps:
        first = steps[0]
        c_h = emulation.parameters["c_h_j_k"]
        c_b = emulation.parameters.get("c_b_j_k", 0.0)
        t_h_before = first.t_h - (first.phi_hp - first.phi_hb) * first.dt / c_h
        stored = c_h * (steps[-1].t_h - t_h_before)
        if c_b:
            t_b_before = first.t_b - (first.phi_hb - first.phi_ba) * first.dt / c_b
            stored += c_b * (steps[-1].t_b - t_b_before)
    defrosts = sum(
        1
        for a, b in itertools.pairwise(frames)
        if (a.value(HP_DEFROST) or 0.0) < 0.5 <= (b.value(HP_DEFROST) or 0.0)
    )
    hours = (end - start) / 3600.0
    starts = len([t for t in watch.starts if start < t <= end])  # whole cycles, if cycling
    record.update(
        window={"start": start, "end": end, "duration_s": end - start},
        cycling=bool(watch.stops),
        heat_kwh=heat.heat_j / 3.6e6,
        electric_kwh=heat.electric_j / 3.6e6,
        capacity_w=heat.phi_w,
        power_w=heat.p_e_w,
        cop=heat.cop,
        load_demanded_w=demanded,
        load_achieved_w=heat.phi_w,
        load_achieved_pct=100.0 * heat.phi_w / demanded,
        compressor_starts=starts,
        starts_per_hour=starts / hours if hours else None,
        on_times_s=on,
        off_times_s=off,
        defrosts=defrosts,
        emulation={
            "steps": len(steps),
            "missed_steps": emulation.missed,
            "unacknowledged": sum(1 for s in steps if s.ack != 1),
            "tracking_error_mean_k": statistics.fmean(errors) if errors else None,
            "tracking_error_p95_k": _percentile([abs(e) for e in errors], 0.95) if errors else None,
            "model_heat_kwh": model_in / 3.6e6,
            "model_balance_pct": 100.0 * (model_in - model_out - stored) / model_in
            if model_in
            else None,
            "heat_model_vs_measured_pct": 100.0 * (model_in - heat.heat_j) / heat.heat_j
            if heat.heat_j
            else None,
        },
    )
    return record
