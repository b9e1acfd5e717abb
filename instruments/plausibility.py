"""Plausibility: a value an instrument cannot physically give becomes INVALID, with the reason.

A reply that parses is not yet a measurement: a flipped bit or a garbled digit can still make a
number (U = 2.3e22 V; a chamber at 92 °C; an inlet of 26 °C that was 30 °C five seconds ago).
Three checks, applied in one place (the acquisition, on every successful read):

- physical limits per channel: what the instrument can measure at all (declared by the driver
  as `PLAUSIBLE`; Modbus maps carry their own min/max, checked when decoding), narrowed by
  the station's `[plausibility]` table for what this bench can see;
- rate of change per channel (`MAX_RATE`, per bench second, against the last OK value): air and
  water cannot jump faster than the chamber and the loop can move them;
- redundancy on the power analyser: S = U·I and PF = P/S (docs/protocols.md §1.1; the
  analyser computes S and λ from the same U, I, P), |P| <= S. A reading that contradicts
  the others marks all of them invalid: which one is wrong cannot be told.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from instruments.base import Quality, Reading

Range = tuple[float, float]

S_REL_TOL = 0.01  # |S - U·I| within 1 % of S (+ 1 VA): the WT prints five significant digits
PF_TOL = 0.02  # |PF - P/S|
POWER_GROUP = ("U", "I", "P", "S", "PF")


def _invalid(reading: Reading, why: str) -> Reading:
    return Reading.invalid(reading.unit, why)


def redundancy_problem(values: Mapping[str, float]) -> str:
    """Why U, I, P, S, PF of one power-analyser reply contradict each other ("" if they do not)."""
    u, i, p, s, pf = (values.get(k) for k in POWER_GROUP)
    if u is not None and i is not None and s is not None and abs(s - u * i) > S_REL_TOL * s + 1:
        return f"S = {s:g} VA but U·I = {u * i:g} VA"
    if p is not None and s is not None and abs(p) > s * (1 + S_REL_TOL) + 1.0:
        return f"|P| = {abs(p):g} W above S = {s:g} VA"
    if p is not None and s is not None and pf is not None and s > 1 and abs(pf - p / s) > PF_TOL:
        return f"PF = {pf:g} but P/S = {p / s:.3f}"
    return ""


@dataclass
class Plausibility:
    """The checks for one instrument; remembers the last OK value of each rate-limited channel."""

    limits: Mapping[str, Range] = field(default_factory=dict)
    max_rate: Mapping[str, float] = field(default_factory=dict)  # units per bench second
    power_analyser: bool = False
    _last: dict[str, tuple[float, float]] = field(default_factory=dict)  # channel -> (t, value)

    def check(self, t: float, readings: Mapping[str, Reading]) -> dict[str, Reading]:
        out = dict(readings)
        for name, reading in readings.items():
            if reading.quality is not Quality.OK or reading.value is None:
                continue
            why = self._problem(name, t, reading.value)
            if why:
                out[name] = _invalid(reading, f"implausible: {why}")
        if self.power_analyser:
            ok = {
                k: r.value
                for k, r in out.items()
                if r.quality is Quality.OK and r.value is not None
            }
            why = redundancy_problem(ok)
            if why:
                for name in POWER_GROUP:
                    if name in out and out[name].quality is Quality.OK:
                        out[name] = _invalid(out[name], f"implausible: {why}")
        for name, reading in out.items():
            if (
                name in self.max_rate
                and reading.quality is Quality.OK
                and reading.value is not None
            ):
                self._last[name] = (t, reading.value)
        return out

    def _problem(self, name: str, t: float, value: float) -> str:
        if not math.isfinite(value):
            return f"{value!r}"
        lo, hi = self.limits.get(name, (-math.inf, math.inf))
        if not lo <= value <= hi:
            return f"{value:g} outside [{lo:g}, {hi:g}]"
        rate = self.max_rate.get(name)
        last = self._last.get(name)
        if rate is not None and last is not None and t > last[0]:
            dt = t - last[0]
            if abs(value - last[1]) > rate * dt:
                return f"{value:g} after {last[1]:g} {dt:g} s before (at most {rate:g}/s)"
        return ""


def for_instrument(
    role: str, instrument: object, station_limits: Mapping[str, Range] | None = None
) -> Plausibility:
    """The checks a driver declares (class attributes PLAUSIBLE, MAX_RATE), narrowed by the
    station's limits for `role.channel`."""
    limits: dict[str, Range] = dict(getattr(instrument, "PLAUSIBLE", {}))
    for key, (lo, hi) in (station_limits or {}).items():
        owner, _, channel = key.partition(".")
        if owner == role:
            base_lo, base_hi = limits.get(channel, (-math.inf, math.inf))
            limits[channel] = (max(lo, base_lo), min(hi, base_hi))
    return Plausibility(
        limits=limits,
        max_rate=dict(getattr(instrument, "MAX_RATE", {})),
        power_analyser=role == "power_analyser",
    )
