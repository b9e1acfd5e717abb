"""Fault campaigns: a seeded random schedule of every fault the simulator can inject, into every
instrument, over the span of a plan. `hpbench run PLAN --sim --fault-campaign SEED` reruns one
exactly: the same seed gives the same schedule, and the schedule is written to the run store.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass, field

from bench.store import RunStore
from instruments.sim.faults import APPLICABLE, FaultInjector, FaultKind

DELAY_WALL_S = 3.0  # a held reply: longer than the drivers' 2 s timeout
ALARM_CODE = 17


@dataclass(frozen=True)
class ScheduledFault:
    role: str
    kind: FaultKind
    after_s: float  # bench seconds from the start of the run
    duration_s: float
    params: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        extra = "".join(f" {k}={v:g}" for k, v in self.params.items())
        return (
            f"{self.role}:{self.kind} from +{self.after_s:.0f} s for {self.duration_s:.0f} s{extra}"
        )


# Not drawn at random, so that a seed gives the same schedule it gave before these kinds
# existed (a campaign is rerun by its seed). Each is driven where its effect is known: flips
# in tests/instruments/test_plausibility.py, black holes and writes ignored in
# tests/bench/run/test_safe_state.py and test_safety.py.
NOT_IN_CAMPAIGNS = frozenset({FaultKind.FLIP, FaultKind.IGNORE_WRITES, FaultKind.BLACK_HOLE})


def schedule(seed: int, span_s: float) -> list[ScheduledFault]:
    """Every fault kind of every instrument once, at a random time within the first 80 % of
    `span_s`, for 2 to 20 minutes of bench time (a chamber that cannot reach its set point
    lasts longer, so that it is noticed), in time order."""
    rng = random.Random(seed)
    faults = []
    for role in sorted(APPLICABLE):
        for kind in sorted(APPLICABLE[role] - NOT_IN_CAMPAIGNS):
            duration = rng.uniform(120.0, 1200.0)
            params: dict[str, float] = {}
            match kind:
                case FaultKind.DELAY:
                    params = {"seconds": DELAY_WALL_S}
                case FaultKind.MODBUS_EXCEPTION:
                    params = {"code": float(rng.choice([4, 6]))}
                case FaultKind.HP_ALARM:
                    params = {"code": float(ALARM_CODE)}
                case FaultKind.CHAMBER_STUCK:
                    params = {"offset": 3.0}
                    duration = rng.uniform(3600.0, 5400.0)
            after = rng.uniform(0.0, max(0.0, 0.8 * span_s - duration))
            faults.append(ScheduledFault(role, kind, after, duration, params))
    return sorted(faults, key=lambda f: f.after_s)


def inject(faults: FaultInjector, planned: list[ScheduledFault]) -> None:
    for f in planned:
        faults.inject(f.role, f.kind, after=f.after_s, duration=f.duration_s, **f.params)


def campaign_summary(store: RunStore) -> str:
    """The morning's account of a campaign: faults injected, frames lost, safe states
    confirmed or not, and the time from each trip to the heat pump confirmed off (p50, max)
    and from each safe-state procedure's start to all of it confirmed, in acquisition periods."""
    scheduled = store.events({"campaign"})
    frames = [f.seq for f in store.frames()]
    lost = (frames[-1] + 1 - len(frames)) if frames else 0
    safety = [e.data for e in store.events({"safety"}) if e.data]
    trips = [d for d in safety if "latency_s" in d]
    reached = sorted(d["periods"] for d in trips if d["reached"])
    procedures = [d for d in safety if "confirm_periods" in d]
    confirmed = sorted(d["confirm_periods"] for d in procedures if d["confirmed"])
    unconfirmed = [e for e in store.events({"alarm"}) if e.data and e.data.get("unsafe")]
    return (
        f"fault campaign: {len(scheduled)} faults injected; {len(frames)} frames stored, "
        f"{lost} lost; {len(trips)} safe stops, heat pump off after {_spread(reached)}, "
        f"{len(trips) - len(reached)} not confirmed (heat pump unreachable); "
        f"{len(confirmed)} safe states confirmed in {_spread(confirmed)}, "
        f"{len(unconfirmed)} unconfirmed"
    )


def _spread(periods: list[float]) -> str:
    """p50 and max of sorted values, in acquisition periods."""
    if not periods:
        return "- (none)"
    return f"p50 {statistics.median(periods):.2f} / max {periods[-1]:.2f} periods"
