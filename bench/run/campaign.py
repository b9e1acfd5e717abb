"""Fault campaigns: a seeded random schedule of every fault the simulator can inject, into every
instrument, over the span of a plan. `hpbench run PLAN --sim --fault-campaign SEED` reruns one
exactly: the same seed gives the same schedule, and the schedule is written to the run store.
"""

from __future__ import annotations

import random
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


def schedule(seed: int, span_s: float) -> list[ScheduledFault]:
    """Every fault kind of every instrument once, at a random time within the first 80 % of
    `span_s`, for 2 to 20 minutes of bench time (a chamber that cannot reach its set point
    lasts longer, so that it is noticed), in time order."""
    rng = random.Random(seed)
    faults = []
    for role in sorted(APPLICABLE):
        for kind in sorted(APPLICABLE[role]):
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
    """The morning's account of a campaign: faults injected, frames lost, times to safe."""
    scheduled = store.events({"campaign"})
    frames = [f.seq for f in store.frames()]
    lost = (frames[-1] + 1 - len(frames)) if frames else 0
    safety = [e.data for e in store.events({"safety"}) if e.data and "latency_s" in e.data]
    reached = [d["periods"] for d in safety if d["reached"]]
    largest = f"{max(reached):.2f} periods" if reached else "no trip"
    return (
        f"fault campaign: {len(scheduled)} faults injected; {len(frames)} frames stored, "
        f"{lost} lost; {len(safety)} safe stops, largest time to safe state {largest}, "
        f"{len(safety) - len(reached)} not confirmed (heat pump unreachable)"
    )
