"""How long a plan takes on the bench, before it runs (bench time, not wall time).

Assumptions, kept simple so the number can be checked by hand:

- The chamber starts at lab ambient, `START_AIR_C` = 20 °C (the simulated bench's too), and
  ramps its air at `RAMP_K_PER_MIN` = 1 K/min, a typical psychrometric-room limit, from the
  previous point's dry bulb. That ramp is the point's set time.
- The water circuit reaches its set points within the air ramp, and the bench is in tolerance
  as soon as the ramp ends: no settling time, no time between points.
- Then the equilibrium period, then the data collection period, as the plan resolves them.
- No defrost: a point that turns into a transient test collects whole defrost cycles (up to
  the profile's 3 h) and takes longer. `worst_min` bounds steady points instead: each one
  waits until its stabilise timeout (which includes the equilibrium period), then collects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.plan.resolved import ResolvedPoint

START_AIR_C = 20.0
RAMP_K_PER_MIN = 1.0


@dataclass(frozen=True)
class PointEstimate:
    id: str
    start_min: float  # from the start of the run
    ramp_min: float
    equilibrium_min: float
    collection_min: float
    worst_min: float

    @property
    def total_min(self) -> float:
        return self.ramp_min + self.equilibrium_min + self.collection_min


@dataclass(frozen=True)
class Estimate:
    points: tuple[PointEstimate, ...]
    start_air_c: float
    ramp_k_per_min: float

    @property
    def total_min(self) -> float:
        return sum(p.total_min for p in self.points)

    @property
    def worst_min(self) -> float:
        return sum(p.worst_min for p in self.points)

    def part_min(self, name: str) -> float:
        """Sum of one phase over all points: `ramp`, `equilibrium` or `collection`."""
        return sum(getattr(p, f"{name}_min") for p in self.points)


def estimate(
    points: Sequence[ResolvedPoint],
    *,
    start_air_c: float = START_AIR_C,
    ramp_k_per_min: float = RAMP_K_PER_MIN,
) -> Estimate:
    rows = []
    air, start = start_air_c, 0.0
    for point in points:
        ramp = abs(point.air_dry_bulb_c - air) / ramp_k_per_min
        timing = point.timing
        worst = ramp + max(timing.stabilise_timeout_min, timing.equilibrium_min)
        worst += timing.collection_min
        row = PointEstimate(
            point.id, start, ramp, timing.equilibrium_min, timing.collection_min, worst
        )
        rows.append(row)
        start += row.total_min
        air = point.air_dry_bulb_c
    return Estimate(tuple(rows), start_air_c, ramp_k_per_min)


def format_minutes(minutes: float) -> str:
    """`48 min`, `10 h 44 min`."""
    whole = round(minutes)
    hours, rest = divmod(whole, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"
