"""The sequencer: an explicit state machine that walks a plan's points.

    idle → setting → stabilising → equilibrium → collecting → computing → (next point) … → done
    any active phase → paused | held → (resume) → setting or stabilising
    any phase → aborted;  a run that cannot go on → failed

It is pure: it consumes frames (bench time comes from them) and operator actions and returns
`Command`s for the engine to carry out, and it reports events through `emit`. Every allowed
transition is listed in `TRANSITIONS`; anything else is a bug and raises.

Per point: *setting* sends the set points and trims the water side (flow to the temperature
rise, or inlet to the outlet when the flow is fixed); *stabilising* waits until every controlled
quantity is inside its individual limit; *equilibrium* holds that for the profile's time (any
excursion goes back to stabilising); *collecting* records the data collection period, judged on
individual and mean deviations; *computing* makes the point's record. A defrost seen by the heat
pump's status turns the point into the profile's transient test: collection then runs over
whole defrost cycles (defrost end to defrost end).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bench.run.commands import Command, EmulateBuilding, SafeState, SetAir, SetHeatPump, SetWater
from bench.run.frame import Frame
from bench.run.loadbased import CycleWatch
from bench.run.points import (
    AIR_T,
    HP_DEFROST,
    POWER,
    WATER_FLOW,
    WATER_IN,
    WATER_OUT,
    PointSpec,
)
from bench.run.stability import Controlled, GapMeter, Judge, Tolerance


class Phase(StrEnum):
    IDLE = "idle"
    SETTING = "setting"
    STABILISING = "stabilising"
    EQUILIBRIUM = "equilibrium"
    COLLECTING = "collecting"
    COMPUTING = "computing"
    PAUSED = "paused"
    HELD = "held"
    DONE = "done"
    ABORTED = "aborted"
    FAILED = "failed"


STALE_GRACE = 0.1  # of a load-based warm-up: the longest stale spell that does not reset it
ACTIVE = {Phase.SETTING, Phase.STABILISING, Phase.EQUILIBRIUM, Phase.COLLECTING}
FINAL = {Phase.DONE, Phase.ABORTED, Phase.FAILED}

TRANSITIONS: dict[Phase, set[Phase]] = {
    Phase.IDLE: {Phase.SETTING, Phase.DONE, Phase.ABORTED},
    Phase.SETTING: {Phase.STABILISING, Phase.SETTING, Phase.COMPUTING, Phase.PAUSED}
    | {Phase.HELD, Phase.ABORTED, Phase.FAILED, Phase.DONE},
    Phase.STABILISING: {Phase.EQUILIBRIUM, Phase.COLLECTING, Phase.SETTING, Phase.COMPUTING}
    | {Phase.PAUSED, Phase.HELD, Phase.ABORTED, Phase.FAILED, Phase.DONE},
    Phase.EQUILIBRIUM: {Phase.STABILISING, Phase.COLLECTING, Phase.SETTING, Phase.COMPUTING}
    | {Phase.PAUSED, Phase.HELD, Phase.ABORTED, Phase.FAILED, Phase.DONE},
    Phase.COLLECTING: {Phase.COMPUTING, Phase.STABILISING, Phase.SETTING, Phase.PAUSED}
    | {Phase.HELD, Phase.ABORTED, Phase.FAILED, Phase.DONE}
    | {Phase.COLLECTING, Phase.EQUILIBRIUM},  # a sampling gap restarts the collection
    Phase.COMPUTING: {Phase.SETTING, Phase.DONE, Phase.ABORTED, Phase.FAILED},
    Phase.PAUSED: {Phase.SETTING, Phase.STABILISING, Phase.HELD, Phase.ABORTED, Phase.DONE},
    Phase.HELD: {Phase.SETTING, Phase.STABILISING, Phase.PAUSED, Phase.ABORTED, Phase.DONE},
    Phase.DONE: set(),
    Phase.ABORTED: set(),
    Phase.FAILED: set(),
}


class TransitionError(RuntimeError):
    """A transition the state machine does not allow: a bug, never a user error."""


@dataclass(frozen=True)
class Judgement:
    """The tolerance profile as the sequencer uses it."""

    tolerances: dict[str, Tolerance]  # air_temperature, air_wet_bulb, water_inlet, ...
    transient_tolerances: dict[str, Tolerance]
    transient_cycles: int = 3
    transient_max_s: float = 3 * 3600.0
    exclude_after_defrost_s: float = 300.0
    adjust_every_s: float = 180.0  # water-side trim period until collection starts
    nominal_voltage_v: float = 230.0
    sample_max_s: float = 10.0  # the longest interval between usable frames in a collection
    collection_restarts_max: int = 3  # gaps that restart a collection before it is invalid
    excuse_skipped_periods: bool = False  # simulated bench under time-warp: see GapMeter


Emit = Callable[[float, str, str, dict[str, Any]], None]
Measure = Callable[[Frame, PointSpec], dict[str, float | None]]


@dataclass
class PointState:
    spec: PointSpec
    started: float
    inlet_sp: float
    flow_sp: float
    judge: Judge
    last_adjust: float
    timeout_from: float = 0.0  # the stabilisation limit counts from here (set again by resume)
    transient: bool = False
    in_defrost: bool = False
    defrost_ends: list[float] = field(default_factory=list)
    defrosts: int = 0
    collect_from: float | None = None
    ready_since: float | None = None  # transient: equilibrium held, waiting for a defrost end
    slow_noted: bool = False  # the "still setting" notice was given
    collection_frames: list[Frame] = field(default_factory=list)
    setting_done: bool = False
    recent_water: list[tuple[float, float]] = field(default_factory=list)  # (in, out) to trim
    restarts: int = 0  # collections restarted by a sampling gap
    gap_in_cycle: bool = False  # transient: the running cycle holds a sampling gap
    gaps: GapMeter | None = None  # of the running collection
    first_collect_from: float | None = None  # the transient collection's first start
    cycles: CycleWatch = field(default_factory=CycleWatch)  # load-based points


@dataclass
class PointOutcome:
    spec: PointSpec
    status: str  # valid | invalid | failed | skipped
    reason: str
    started: float
    ended: float
    transient: bool = False
    frames: list[Frame] = field(default_factory=list)  # the collection period
    quantities: dict[str, dict[str, Any]] = field(default_factory=dict)
    defrosts: int = 0
    water_set: dict[str, float] = field(default_factory=dict)
    load_based: dict[str, Any] | None = None  # the engine's load-based record (§7)


class Sequencer:
    def __init__(
        self,
        points: list[PointSpec],
        judgement: Judgement,
        measure: Measure,
        emit: Emit,
        *,
        done_ids: set[str] | None = None,
        flows_seen: dict[str, float] | None = None,
    ) -> None:
        self.points = points
        self.judgement = judgement
        self.measure = measure
        self.emit = emit
        self.phase = Phase.IDLE
        self.phase_since = 0.0
        self.index = -1
        self.point: PointState | None = None
        self.outcomes: list[PointOutcome] = []
        self.done_ids = set(done_ids or ())
        self.flows_seen = dict(flows_seen or {})  # point id -> mean flow, for `flow_from`
        self._paused_from: Phase | None = None
        self.now = 0.0

    # -- state -----------------------------------------------------------------------------
    def _go(self, phase: Phase, t: float, why: str = "") -> None:
        if phase not in TRANSITIONS[self.phase]:
            raise TransitionError(f"{self.phase} -> {phase} is not a transition of the sequencer")
        old, self.phase, self.phase_since = self.phase, phase, t
        point = self.point.spec.id if self.point else None
        message = f"{old} -> {phase}" + (f": {why}" if why else "")
        self.emit(t, "state", message, {"from": old, "to": phase, "point": point})

    @property
    def finished(self) -> bool:
        return self.phase in FINAL

    # -- operator actions ------------------------------------------------------------------
    def pause(self, t: float, why: str = "operator") -> list[Command]:
        return self._suspend(Phase.PAUSED, t, why)

    def hold(self, t: float, why: str) -> list[Command]:
        return self._suspend(Phase.HELD, t, why)

    def _suspend(self, phase: Phase, t: float, why: str) -> list[Command]:
        if self.phase not in ACTIVE and self.phase not in (Phase.PAUSED, Phase.HELD):
            return []
        if self.phase in ACTIVE:
            self._paused_from = self.phase
        if self.phase != phase:
            self._go(phase, t, why)
        return []

    def resume(self, t: float, why: str = "operator", *, resend: bool = False) -> list[Command]:
        """Back to setting if the pause came while setting, else to stabilising: a collection
        period that was interrupted is started again from the equilibrium, and the point gets
        its whole stabilisation time again. After a safe stop (`resend`) the bench was switched
        off: the point's set points are sent again and it starts from setting."""
        if self.phase not in (Phase.PAUSED, Phase.HELD) or self.point is None:
            return []
        p = self.point
        target = (
            Phase.SETTING if resend or self._paused_from == Phase.SETTING else Phase.STABILISING
        )
        p.timeout_from = p.last_adjust = t
        self._restart_judging(t)
        self._go(target, t, why)
        return self._set_points(p) if resend else []

    def skip(self, t: float, why: str = "operator") -> list[Command]:
        if self.point is None or self.finished or self.phase == Phase.IDLE:
            return []
        self._finish_point(t, "skipped", why)
        return self._next_point(t)

    def abort(self, t: float, why: str = "operator") -> list[Command]:
        if self.finished:
            return []
        if self.point is not None:
            self._finish_point(t, "failed", f"aborted: {why}")
        self._go(Phase.ABORTED, t, why)
        return [SafeState(f"aborted: {why}")]

    # -- frames ----------------------------------------------------------------------------
    def start(self, t: float) -> list[Command]:
        self.now = t
        self.phase_since = t
        return self._next_point(t)

    def on_frame(self, frame: Frame) -> list[Command]:
        t = self.now = frame.t
        if self.point is None or self.phase not in ACTIVE:
            return []
        p = self.point
        measured = self.measure(frame, p.spec)
        self._track_defrost(frame, p, t)
        excused = p.transient and self._after_defrost(p, t)
        inside = p.judge.add(t, measured, defrost=p.in_defrost, excused=excused)
        if t - p.timeout_from > p.spec.stabilise_timeout_s and self.phase != Phase.COLLECTING:
            return self._unstable(t, p)
        if p.spec.load_based is not None:
            p.cycles.update(frame)
        match self.phase:
            case Phase.SETTING if p.spec.load_based is not None:
                self._go(Phase.STABILISING, t, "set points sent, building emulated")
            case Phase.SETTING:
                return self._on_setting(frame, p, t)
            case Phase.STABILISING | Phase.EQUILIBRIUM if kept := self._keep_water(frame, p, t):
                return kept
            case Phase.STABILISING:
                self._on_stabilising(p, t, inside)
            case Phase.EQUILIBRIUM:
                self._on_equilibrium(frame, p, t, inside)
            case Phase.COLLECTING:
                return self._on_collecting(frame, p, t, inside)
        return []

    def _on_setting(self, frame: Frame, p: PointState, t: float) -> list[Command]:
        if not p.slow_noted and t - p.timeout_from > p.spec.stabilise_timeout_s / 2:
            p.slow_noted = True  # say once, at half time, what keeps the point from settling
            why = p.judge.last_out or "the water side is still being trimmed"
            minutes = (t - p.timeout_from) / 60
            self.emit(
                t, "progress", f"point {p.spec.id} still setting after {minutes:.0f} min: {why}", {}
            )
        if t - p.last_adjust < self.judgement.adjust_every_s:
            return []
        p.last_adjust = t
        if not self._near_set_points(frame, p):
            return []  # still on the way: trimming now would chase the transient
        t_in, t_out = frame.value(WATER_IN), frame.value(WATER_OUT)
        assert t_in is not None and t_out is not None
        threshold = self.judgement.tolerances["water_outlet"].individual / 2
        trimmed = self._trim_water(p, t_in, t_out, threshold)
        if trimmed is not None:
            self._restart_judging(t)  # new set values: judge against them from now on
            return [trimmed]
        p.timeout_from = t  # the stabilisation limit counts from the end of the set phase
        p.recent_water = []
        self._go(Phase.STABILISING, t, "water side trimmed")
        return []

    def _keep_water(self, frame: Frame, p: PointState, t: float) -> list[Command]:
        """Keep the water side on target while stabilising and in equilibrium (never while
        collecting): every adjust period, the median outlet (or rise) of that period is compared
        with its target and trimmed when it is off by more than half the mean limit, and once
        more as the equilibrium completes, so the collection starts on target. A transient
        point waiting for its defrost end is left alone (its outlet swings with the cycle), as
        are defrosts and the readings after. Only the last third of the period is looked at:
        the water is still settling from the previous trim before it."""
        if p.spec.load_based is not None:  # the building emulation owns the return temperature
            return []
        t_in, t_out = frame.value(WATER_IN), frame.value(WATER_OUT)
        if p.ready_since is not None or p.in_defrost or (p.transient and self._after_defrost(p, t)):
            return []
        if t_in is not None and t_out is not None:
            p.recent_water.append((t_in, t_out))
        closing = (  # the equilibrium is complete: a last look before collection starts
            self.phase == Phase.EQUILIBRIUM
            and not p.transient
            and p.judge.held_for(t) >= p.spec.equilibrium_s
        )
        if t - p.last_adjust < self.judgement.adjust_every_s and not closing:
            return []
        p.last_adjust = t
        recent, p.recent_water = p.recent_water, []
        recent = recent[-max(5, len(recent) // 3) :]
        if len(recent) < 2:
            return []
        # medians: a single excursion (which the judge deals with) does not move the set point
        mid_in = statistics.median(a for a, _ in recent)
        mid_out = statistics.median(b for _, b in recent)
        threshold = self.judgement.tolerances["water_outlet"].mean / 2
        trimmed = self._trim_water(p, mid_in, mid_out, threshold)
        if trimmed is None:
            return []
        self._restart_judging(t)
        if self.phase == Phase.EQUILIBRIUM:
            self._go(Phase.STABILISING, t, "water side trimmed: equilibrium starts again")
        return [trimmed]

    def _near_set_points(self, frame: Frame, p: PointState) -> bool:
        """Air and water inlet within their individual limits of where they are sent, and the
        unit heating, not defrosting."""
        tol = self.judgement.tolerances
        air, t_in, t_out = frame.value(AIR_T), frame.value(WATER_IN), frame.value(WATER_OUT)
        return (
            air is not None
            and t_in is not None
            and t_out is not None
            and defrosting(frame) is False
            and t_out - t_in >= 0.5  # the unit is heating: its rise can be trimmed
            and abs(air - p.spec.air_c) <= tol["air_dry_bulb"].individual
            and abs(t_in - p.inlet_sp) <= tol["water_inlet"].individual
        )

    def _trim_water(
        self, p: PointState, t_in: float, t_out: float, threshold: float
    ) -> SetWater | None:
        """One step of the water-side trim, or None when within `threshold` (K) of target or
        at the station's limit (the point then stabilises or times out)."""
        if p.spec.flow_is_free:
            rise, target = t_out - t_in, p.spec.target_rise_k
            assert target is not None
            if abs(rise - target) <= threshold:
                return None
            wanted = max(0.05, p.flow_sp * min(1.3, max(0.7, rise / target)))
            flow = _within(wanted, p.spec.flow_range_m3h)
            if flow == p.flow_sp:  # at the station's limit: the point stabilises or times out
                return None
            p.flow_sp = flow
        else:
            error = p.spec.outlet_c - t_out
            if abs(error) <= threshold:
                return None
            inlet = _within(p.inlet_sp + max(-3.0, min(3.0, error)), p.spec.inlet_range_c)
            if inlet == p.inlet_sp:
                return None
            p.inlet_sp = inlet
        return SetWater(p.inlet_sp, p.flow_sp)

    def _on_stabilising(self, p: PointState, t: float, inside: bool) -> None:
        if inside:
            self._go(Phase.EQUILIBRIUM, t, "all quantities within their individual limits")

    def _on_equilibrium(self, frame: Frame, p: PointState, t: float, inside: bool) -> None:
        if not inside:
            self._go(Phase.STABILISING, t, f"out of tolerance: {p.judge.last_out}")
            return
        if p.judge.held_for(t) < p.spec.equilibrium_s:
            return
        if not p.transient:
            self._start_collecting(p, frame, "equilibrium held")
            return
        # a transient point collects from the next defrost end; if the unit stops frosting,
        # it is a steady-state point again
        p.ready_since = p.ready_since or t
        last_change = max([p.ready_since, *p.defrost_ends])
        if not p.in_defrost and t - last_change >= self.judgement.transient_max_s:
            self._back_to_steady(p, t)
            self._start_collecting(p, frame, "equilibrium held, no further defrost")

    def _start_collecting(self, p: PointState, frame: Frame, why: str) -> None:
        """The frame that completes the equilibrium is the first of the collection period."""
        t = frame.t
        p.collect_from, p.collection_frames = t, [frame]
        p.gaps = GapMeter(
            self.judgement.sample_max_s,
            p.spec.sample_s if self.judgement.excuse_skipped_periods else None,
        )
        p.gaps.add(t, True)
        p.first_collect_from = t  # a new collection (a gap only moves `collect_from`)
        self._go(Phase.COLLECTING, t, why)

    def _on_collecting(self, frame: Frame, p: PointState, t: float, inside: bool) -> list[Command]:
        if p.collection_frames[-1] is not frame:  # the first one was added on entering
            assert p.gaps is not None
            gap = p.gaps.add(t, _usable(frame))
            if gap is not None and p.gaps.over(gap):
                return self._sample_gap(frame, p, t, gap)
            p.collection_frames.append(frame)
        assert p.collect_from is not None
        if p.transient:
            return self._on_transient_collecting(p, t)
        if p.spec.load_based is not None:
            window = p.cycles.window(p.collect_from, t, p.spec.load_based)
            if window is None:
                return []
            p.collect_from = window[0]
            p.collection_frames = [f for f in p.collection_frames if window[0] <= f.t <= window[1]]
            return self._compute(t, p)
        if t - p.collect_from >= p.spec.collection_s:
            return self._compute(t, p)
        return []

    def _on_transient_collecting(self, p: PointState, t: float) -> list[Command]:
        """Whole cycles only (docs/standards.md §2): stop at a defrost end once there are the
        profile's number of cycles or its time of whole cycles; with fewer cycles than that the
        collection goes on (extends) up to twice the time, then is judged as it stands."""
        assert p.collect_from is not None
        j = self.judgement
        if p.gap_in_cycle and p.defrost_ends and p.defrost_ends[-1] == t:
            # the cycle with a gap ends here: whole gap-free cycles are counted from now
            p.gap_in_cycle = False
            p.collect_from, p.collection_frames = t, p.collection_frames[-1:]
            self.emit(
                t,
                "transient",
                f"point {p.spec.id}: cycle with a sampling gap not "
                "counted; whole cycles from this defrost end",
                {"point": p.spec.id},
            )
            return []
        ends = [end for end in p.defrost_ends if end > p.collect_from]
        elapsed = t - (p.first_collect_from or p.collect_from)
        if not ends and t - p.collect_from >= j.transient_max_s and not p.in_defrost:
            self._back_to_steady(p, t)  # a whole transient period without a defrost
            return self._compute(t, p)
        at_end = bool(ends) and ends[-1] == t
        whole_s = ends[-1] - p.collect_from if ends else 0.0
        complete = len(ends) >= j.transient_cycles or whole_s >= j.transient_max_s
        if at_end and complete and not p.gap_in_cycle:
            return self._compute(t, p)
        if elapsed >= 2 * j.transient_max_s and not p.in_defrost:
            return self._compute(t, p)  # judged in _compute: too few cycles, not valid
        return []

    def _sample_gap(self, frame: Frame, p: PointState, t: float, gap: float) -> list[Command]:
        """A sampling interval above the profile's limit inside a collection: the collection
        starts again after it (a steady point from this frame, a transient one from the next
        defrost end); after the profile's number of restarts the point is invalid."""
        limit = self.judgement.sample_max_s
        p.restarts += 1
        what = f"sample gap of {gap:.0f} s (limit {limit:g} s) in the collection of {p.spec.id}"
        self.emit(t, "gap", what, {"point": p.spec.id, "gap_s": gap, "restarts": p.restarts})
        if not p.transient and p.restarts > self.judgement.collection_restarts_max:
            reason = f"{what}: {p.restarts} gaps, collection restarted too often"
            self._finish_point(t, "invalid", reason)
            return self._next_point(t)
        if p.transient:  # the running cycle does not count: whole cycles from its end
            p.collection_frames.append(frame)
            p.gap_in_cycle = True
            return self._on_transient_collecting(p, t)
        self._start_collecting(p, frame, f"{what}: collection restarted")
        return []

    def _back_to_steady(self, p: PointState, t: float) -> None:
        """A whole transient period without a defrost: the unit has stopped frosting."""
        p.transient = False
        message = f"point {p.spec.id}: no defrost within the transient test, steady test again"
        self.emit(t, "transient", message, {"point": p.spec.id})

    def _after_defrost(self, p: PointState, t: float) -> bool:
        """Within a defrost or the readings just after it, which a transient test excuses."""
        after = self.judgement.exclude_after_defrost_s
        return p.in_defrost or any(end <= t < end + after for end in p.defrost_ends[-1:])

    def _track_defrost(self, frame: Frame, p: PointState, t: float) -> None:
        """A defrost while the point is being held or measured makes it a transient test; one
        while the set points are still moving (frost left from the previous point) does not."""
        defrost = defrosting(frame)
        if defrost is None:
            return  # not known this frame: neither a start nor an end
        if defrost and not p.in_defrost:
            p.defrosts += 1
            self.emit(t, "defrost", f"defrost started at point {p.spec.id}", {"point": p.spec.id})
            if not p.transient and self.phase != Phase.SETTING and p.spec.load_based is None:
                p.transient = True
                self.emit(
                    t,
                    "transient",
                    f"point {p.spec.id} becomes a transient test (defrost)",
                    {"point": p.spec.id},
                )
                if self.phase == Phase.COLLECTING:
                    self._go(Phase.STABILISING, t, "defrost: collect over whole cycles instead")
        if p.in_defrost and not defrost:
            p.defrost_ends.append(t)
            self.emit(t, "defrost", f"defrost ended at point {p.spec.id}", {"point": p.spec.id})
            if p.transient and self.phase == Phase.EQUILIBRIUM and p.ready_since is not None:
                self._start_collecting(p, frame, "transient test: collection from a defrost end")
        p.in_defrost = defrost

    def _defrost_windows(self, p: PointState) -> list[tuple[float, float]]:
        """Defrosts and the readings just after them are left out of the tolerance check."""
        after = self.judgement.exclude_after_defrost_s
        windows, start = [], None
        for t, flag in zip(p.judge.times, p.judge.defrost_flags, strict=True):
            if flag and start is None:
                start = t
            if not flag and start is not None:
                windows.append((start, t + after))
                start = None
        if start is not None:
            windows.append((start, math.inf))
        return windows

    def _unstable(self, t: float, p: PointState) -> list[Command]:
        why = p.judge.last_out or f"still {self.phase}"
        reason = f"not stable within {p.spec.stabilise_timeout_s / 60:g} min: {why}"
        self._finish_point(t, "failed", reason)
        if p.spec.on_unstable == "abort":
            self._go(Phase.FAILED, t, reason)
            return [SafeState(reason)]
        return self._next_point(t)

    def _compute(self, t: float, p: PointState) -> list[Command]:
        self._go(Phase.COMPUTING, t)
        assert p.collect_from is not None
        end = t
        if p.transient:  # integrate over complete gap-free cycles: up to the last defrost end
            ends = [e for e in p.defrost_ends if e > p.collect_from]
            if ends:
                end = ends[-1]
                p.collection_frames = [f for f in p.collection_frames if f.t <= end]
        excluded = self._defrost_windows(p) if p.transient else []
        records = p.judge.records(p.collect_from, end, exclude=excluded)
        short = self._too_few_cycles(p, end) if p.transient else ""
        if p.transient:  # a transient point is judged on the profile's transient limits
            for name, rec in records.items():
                if name in self.judgement.transient_tolerances:
                    rec.individual_limit = self.judgement.transient_tolerances[name].individual
                    rec.mean_limit = self.judgement.transient_tolerances[name].mean
        bad = [r.reason() for r in records.values() if not r.ok] + ([short] if short else [])
        status = "invalid" if bad else "valid"
        as_dicts = {name: rec.as_dict() for name, rec in records.items()}
        self._finish_point(t, status, "; ".join(bad), records=as_dicts)
        return self._next_point(t)

    def _too_few_cycles(self, p: PointState, end: float) -> str:
        """Why a transient collection does not meet the rule, or "" when it does."""
        assert p.collect_from is not None
        j = self.judgement
        cycles = sum(1 for e in p.defrost_ends if p.collect_from < e <= end)
        whole_s = end - p.collect_from if cycles else 0.0
        if cycles >= j.transient_cycles or (cycles and whole_s >= j.transient_max_s):
            return ""
        return (
            f"transient test: {cycles} complete defrost cycle(s) over {whole_s / 60:.0f} min; "
            f"the profile needs >= {j.transient_cycles} cycles or "
            f"{j.transient_max_s / 60:g} min of whole cycles"
        )

    def _finish_point(
        self, t: float, status: str, reason: str, records: dict[str, dict[str, Any]] | None = None
    ) -> None:
        p = self.point
        assert p is not None
        flows = [f.value(WATER_FLOW) for f in p.collection_frames]
        valid_flows = [f for f in flows if f is not None]
        if valid_flows and status in ("valid", "invalid"):  # for the points `flow_from` it
            self.flows_seen[p.spec.id] = sum(valid_flows) / len(valid_flows)
        outcome = PointOutcome(
            spec=p.spec,
            status=status,
            reason=reason,
            started=p.started,
            ended=t,
            transient=p.transient,
            frames=list(p.collection_frames) if status in ("valid", "invalid") else [],
            quantities=records or {},
            defrosts=p.defrosts,
            water_set={"inlet_c": p.inlet_sp, "flow_m3h": p.flow_sp},
        )
        self.outcomes.append(outcome)
        self.emit(
            t,
            "point",
            f"point {p.spec.id} {status}" + (f": {reason}" if reason else ""),
            {"point": p.spec.id, "status": status, "reason": reason},
        )
        self.point = None

    def _next_point(self, t: float) -> list[Command]:
        self.index += 1
        while self.index < len(self.points) and self.points[self.index].id in self.done_ids:
            self.index += 1
        if self.index >= len(self.points):
            self._go(Phase.DONE, t, "plan complete")
            return [SafeState("plan complete", final=True)]
        spec = self.points[self.index]
        flow = self._first_flow(spec)
        if flow is None:
            self.emit(
                t,
                "point",
                f"point {spec.id} failed: flow_from {spec.flow_from} has no measured flow",
                {"point": spec.id, "status": "failed"},
            )
            self.outcomes.append(
                PointOutcome(spec, "failed", f"flow_from {spec.flow_from}: no measured flow", t, t)
            )
            return self._next_point(t)
        inlet, flow = (
            _within(spec.first_inlet_c, spec.inlet_range_c),
            _within(flow, spec.flow_range_m3h),
        )
        self.point = PointState(
            spec=spec,
            started=t,
            inlet_sp=inlet,
            flow_sp=flow,
            judge=self._judge(spec, inlet, flow),
            last_adjust=t,
            timeout_from=t,
        )
        self._go(Phase.SETTING, t, f"point {spec.id} ({self.index + 1}/{len(self.points)})")
        return self._set_points(self.point)

    def _set_points(self, p: PointState) -> list[Command]:
        spec = p.spec
        if spec.load_based is not None:  # never the unit's flow temperature or demand
            start = spec.load_based.sizing().t_h0_c
            return [
                SetAir(spec.air_c, spec.rh_pct),
                SetWater(start, p.flow_sp),
                EmulateBuilding(spec),
            ]
        return [
            SetAir(spec.air_c, spec.rh_pct),
            SetWater(p.inlet_sp, p.flow_sp),
            SetHeatPump(True, spec.outlet_c, spec.demand_pct),
        ]

    def _first_flow(self, spec: PointSpec) -> float | None:
        if spec.flow_m3h is not None:
            return spec.flow_m3h
        if spec.flow_from is not None:
            return self.flows_seen.get(spec.flow_from)
        return spec.initial_flow_m3h

    def _judge(self, spec: PointSpec, inlet: float, flow: float) -> Judge:
        """A load-based warm-up is not reset by a short spell of stale readings (a tenth of the
        warm-up): a reading that did not arrive in time is no evidence that the conditions
        were lost (decision 0150); one out of tolerance still resets it."""
        grace = None if spec.load_based is None else spec.load_based.warm_up_s * STALE_GRACE
        return Judge(self._controlled(spec, inlet, flow), stale_grace_s=grace)

    def _controlled(self, spec: PointSpec, inlet: float, flow: float) -> list[Controlled]:
        tol = self.judgement.tolerances
        if spec.load_based is not None:  # the water is the building's: judged by the emulation
            out = [
                Controlled("air_dry_bulb", spec.air_c, tol["air_dry_bulb"]),
                Controlled(
                    "supply_voltage", self.judgement.nominal_voltage_v, tol["supply_voltage"]
                ),
            ]
            if spec.wet_bulb_c is not None:
                out.append(Controlled("air_wet_bulb", spec.wet_bulb_c, tol["air_wet_bulb"]))
            return out
        out = [
            Controlled("air_dry_bulb", spec.air_c, tol["air_dry_bulb"]),
            Controlled("water_outlet", spec.outlet_c, tol["water_outlet"]),
            Controlled("water_flow", flow, tol["water_flow"]),
            Controlled("supply_voltage", self.judgement.nominal_voltage_v, tol["supply_voltage"]),
        ]
        if spec.wet_bulb_c is not None:
            out.append(Controlled("air_wet_bulb", spec.wet_bulb_c, tol["air_wet_bulb"]))
        if not spec.flow_is_free or spec.target_rise_k is not None:
            out.append(Controlled("water_inlet", inlet, tol["water_inlet"]))
        return out

    def _restart_judging(self, t: float) -> None:
        """New set values (after a trim or a pause): judge the point afresh from now."""
        p = self.point
        assert p is not None
        p.judge = self._judge(p.spec, p.inlet_sp, p.flow_sp)
        p.collect_from, p.collection_frames = None, []


def _usable(frame: Frame) -> bool:
    """All of the result's inputs (flow, both water temperatures, power) read OK."""
    return all(frame.value(c) is not None for c in (WATER_FLOW, WATER_IN, WATER_OUT, POWER))


def _within(value: float, bounds: tuple[float, float] | None) -> float:
    """`value`, brought inside the station's range for it (if it names one)."""
    return value if bounds is None else min(max(value, bounds[0]), bounds[1])


def defrosting(frame: Frame) -> bool | None:
    """The unit's defrost flag; None while its reading is not OK (a link hiccup is not a
    defrost end). A bench without the channel has declared that it detects no defrost
    (`defrost_detection = "none"`, bench/channels.py): never defrosting."""
    if HP_DEFROST not in frame.readings:
        return False
    value = frame.value(HP_DEFROST)
    return None if value is None else value >= 0.5
