"""The simulated unit's own controls, and the hydraulic module's fast inlet tracking.

Used by load-based points (docs/standards.md §7), where the bench leaves the unit alone: the
unit follows its heating curve (or its own fixed flow set point), modulates its compressor
toward it down to a minimum modulation, and below that cycles on and off with minimum on and
off times. Start and stop follow a degree-minute integral of (supply − set point), the scheme
of common inverter units (NIBE's "degree minutes"): over a whole cycle the integral returns to
where it began, so the mean supply temperature equals the set point. Thresholds and times are
the simulator's own choices (docs/decisions/0150-load-based-emulation.md), not from a source.

The heating curves are the EN 14825 variable-outlet temperatures of the average climate
(docs/standards.md §4, §7), interpolated linearly in the outdoor temperature: the curve a
manufacturer sets on a unit for a declared test.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

BENCH, OWN_CURVE, OWN_FIXED = 0, 1, 2  # the unit's `control_mode` register
CURVES_C: dict[int, tuple[tuple[float, ...], tuple[float, ...]]] = {
    # `heating_curve` register -> (outdoor °C, flow °C): EN 14825 average climate [S: §4, §7]
    1: ((-10.0, -7.0, 2.0, 7.0, 12.0), (35.0, 34.0, 30.0, 27.0, 24.0)),  # low temperature
    2: ((-10.0, -7.0, 2.0, 7.0, 12.0), (55.0, 52.0, 42.0, 36.0, 30.0)),  # medium temperature
}
DM_START_K_MIN = -30.0  # start the compressor when the degree-minutes fall to this
DM_STOP_K_MIN = 30.0  # stop it (at minimum modulation) when they rise to this
DM_LIMIT_K_MIN = 600.0  # the integral is clamped, as units clamp theirs
INTEGRAL_MIN = 10.0  # integral time of the modulation, min
MIN_ON_S = 300.0
MIN_OFF_S = 300.0
TRACK_TAU_S = 8.0  # the hydraulic module's mixing loop while it tracks a commanded inlet
TRACK_RATE_K_PER_S = 0.25  # and its slew limit (valve travel and heater power)


def curve_flow_c(curve: int, outdoor_c: float) -> float:
    """The unit's flow set point on heating curve `curve` at `outdoor_c` (clamped ends)."""
    xs, ys = CURVES_C.get(curve, CURVES_C[2])
    x = min(max(outdoor_c, xs[0]), xs[-1])
    i = min(max(bisect.bisect_right(xs, x) - 1, 0), len(xs) - 2)
    w = (x - xs[i]) / (xs[i + 1] - xs[i])
    return ys[i] * (1 - w) + ys[i + 1] * w


@dataclass
class OwnControl:
    """The unit's controller state while it runs on its own controls."""

    compressor_on: bool = False
    since_s: float = MIN_OFF_S  # time in the present on/off state
    degree_minutes: float = 0.0
    starts: int = 0

    def reset(self) -> None:
        self.compressor_on, self.since_s, self.degree_minutes = False, MIN_OFF_S, 0.0

    def count(self, dt: float, *, supply_c: float, set_point_c: float) -> None:
        """Time in the present state and the degree-minutes, also while the unit defrosts:
        the supply a defrost pulls down is a deficit the unit makes up afterwards, so over
        whole defrost cycles the mean supply is the set point (a simulator choice, decision
        0250)."""
        self.since_s += dt
        dm = self.degree_minutes + (supply_c - set_point_c) * dt / 60.0
        self.degree_minutes = max(-DM_LIMIT_K_MIN, min(dm, DM_LIMIT_K_MIN))

    def target_w(
        self,
        dt: float,
        *,
        supply_c: float,
        set_point_c: float,
        needed_w: float,
        gain_w_k: float,
        q_max_w: float,
        min_share: float,
    ) -> float:
        """The heat the compressor aims for this step: the feed-forward `needed_w` that holds
        the supply at the set point from the present return, plus the degree-minutes' integral
        action (`gain_w_k` = ṁ·cp: a deficit of 1 K·min for `INTEGRAL_MIN` minutes asks 1 K
        more), between the minimum modulation and full capacity; zero while cycled off."""
        before = self.degree_minutes
        self.count(dt, supply_c=supply_c, set_point_c=set_point_c)
        wanted = needed_w - gain_w_k * self.degree_minutes / INTEGRAL_MIN
        if self.compressor_on and needed_w >= q_max_w and self.degree_minutes < before:
            # anti-windup: where even the feed-forward asks more than full capacity, a deficit
            # the unit cannot make up is not stored (stored, the unit ran the next point flat
            # out far above its set point until it was paid back: decision 0250)
            self.degree_minutes = before
            wanted = needed_w - gain_w_k * before / INTEGRAL_MIN
        floor = min_share * q_max_w
        if self.compressor_on:
            if wanted < floor and self.degree_minutes >= DM_STOP_K_MIN and self.since_s >= MIN_ON_S:
                self.compressor_on, self.since_s = False, 0.0
        elif self.degree_minutes <= DM_START_K_MIN and self.since_s >= MIN_OFF_S:
            self.compressor_on, self.since_s = True, 0.0
            self.starts += 1
        if not self.compressor_on:
            return 0.0
        return max(floor, min(wanted, q_max_w))


def track_inlet(inlet_c: float, set_point_c: float, dt: float) -> float:
    """The inlet temperature one step on, while the module tracks a commanded inlet: a
    first-order lag, slew-limited."""
    lagged = inlet_c + (set_point_c - inlet_c) * (1.0 - math.exp(-dt / TRACK_TAU_S))
    step = TRACK_RATE_K_PER_S * dt
    return min(max(lagged, inlet_c - step), inlet_c + step)
