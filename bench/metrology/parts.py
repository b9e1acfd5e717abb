"""Which instrument stands behind each input of the point calculation, and the power's Type B
uncertainty when it is the sum of parts measured by several analysers (decision 0281).

A station's electrical power may be a sum: a three-phase Σ on one analyser plus a single phase
on another. Each part keeps its own analyser's accuracy and its own measuring range, read back
per element (`Urange<n>`, `Irange<n>`) with its values. The combination follows GUM 5.1/5.2
(docs/standards.md §3): within one analyser the reading and range terms of every part are one
maker's limit on one instrument and are added linearly (fully correlated, the conservative
choice); the analysers themselves are independent, so their totals add in quadrature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

RANGE_READ_BACK = "read back from the power analyser during the collection window"
RANGE_DECLARED = "station declared range_w (the power analyser reported no range)"
_RECTANGULAR = math.sqrt(3.0)


@dataclass(frozen=True)
class PowerPart:
    """One summed part of the electrical power.

    `channel`: its frame channel id ("pa_odu.P_sigma"); `instrument`: the station instrument
    that measures it; `ranges`: the (Urange id, Irange id) of every element the part sums."""

    channel: str
    instrument: str
    ranges: tuple[tuple[str, str], ...]

    @property
    def label(self) -> str:
        """The part in a budget row's name: `pa_odu (P_sigma)`."""
        return f"{self.instrument} ({self.channel.rsplit('.', 1)[-1]})"


DEFAULT_POWER = PowerPart(
    "power_analyser.P", "power_analyser", (("power_analyser.Urange", "power_analyser.Irange"),)
)


@dataclass(frozen=True)
class Sensors:
    """The station instrument behind each input; the default is the four-role station's."""

    inlet: str = "hydraulic_module"
    outlet: str = "hydraulic_module"
    flow: str = "hydraulic_module"
    power: tuple[PowerPart, ...] = (DEFAULT_POWER,)

    def __post_init__(self) -> None:
        if not self.power:
            raise ValueError("the electrical power needs at least one part")
        channels = [p.channel for p in self.power]
        if len(set(channels)) != len(channels):
            raise ValueError(f"a power part is listed twice: {', '.join(channels)}")


FOUR_ROLES = Sensors()  # today's station: the hydraulic module and the power analyser's P


@dataclass(frozen=True, kw_only=True)
class PartAccuracy:
    """The limits of the analyser behind one power part, on the range the part was measured
    on: ± (pct_reading % of the part's reading + pct_range % of range_w), `divisor` to a
    standard uncertainty; drift a standard uncertainty, fraction of reading."""

    instrument: str = "power_analyser"
    label: str = ""  # in the budget rows' names; "" when the power is one part
    pct_reading: float
    pct_range: float = 0.0
    range_w: float = 0.0
    divisor: float = _RECTANGULAR
    u_drift_rel: float = 0.0
    sources: Mapping[str, str] = field(default_factory=dict)  # power_reading|_range|_drift

    def __post_init__(self) -> None:
        for name in ("pct_reading", "pct_range", "range_w", "u_drift_rel"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"power {name} = {value!r} must be a non-negative number")
        if not self.divisor > 0:
            raise ValueError(f"power divisor = {self.divisor!r} must be positive")

    def terms(self, mean_w: float) -> tuple[float, float, float]:
        """Standard uncertainties (W) of the reading, range and drift terms at `mean_w`."""
        reading = self.pct_reading / 100.0 * abs(mean_w) / self.divisor
        range_u = self.pct_range / 100.0 * self.range_w / self.divisor
        return reading, range_u, self.u_drift_rel * abs(mean_w)


@dataclass(frozen=True)
class ElementRange:
    """The largest Urange × Irange an element reported in the window."""

    voltage: str  # channel ids
    current: str
    voltage_v: float
    current_a: float

    @property
    def power_w(self) -> float:
        return self.voltage_v * self.current_a


@dataclass(frozen=True)
class PartRange:
    """The range a part was measured on: Σ over its elements of what they reported, or the
    station's declared range_w when any element reported none (`declared`)."""

    elements: tuple[ElementRange, ...]
    power_w: float | None

    @property
    def declared(self) -> bool:
        return not self.elements

    def text(self) -> str:
        return range_text(self.as_dict()["elements"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "elements": [
                {
                    "voltage": e.voltage,
                    "current": e.current,
                    "voltage_v": e.voltage_v,
                    "current_a": e.current_a,
                    "power_w": e.power_w,
                }
                for e in self.elements
            ],
            "power_w": self.power_w,
            "source": RANGE_DECLARED if self.declared else RANGE_READ_BACK,
            "declared": self.declared,
        }


def range_text(elements: Sequence[Mapping[str, Any]]) -> str:
    """`Urange 300 V × Irange 20 A` per element (`PartRange.as_dict`), joined by ` + `."""
    return " + ".join(
        f"{_short(e['voltage'])} {e['voltage_v']:g} V × {_short(e['current'])} {e['current_a']:g} A"
        for e in elements
    )


def part_range(
    part: PowerPart,
    columns: Mapping[str, Sequence[float | None]],
    usable: Sequence[int],
    declared_w: float | None,
) -> PartRange:
    """The part's range over the used samples: per element the largest Urange × Irange (auto
    range may switch within the window; the larger range is the conservative one), summed
    over the elements; `declared_w` (flagged) when an element reported no range."""
    elements = []
    for u_id, i_id in part.ranges:
        u_col, i_col = columns.get(u_id) or (), columns.get(i_id) or ()
        pairs = [
            (u_col[i], i_col[i])
            for i in usable
            if i < len(u_col) and i < len(i_col) and None not in (u_col[i], i_col[i])
        ]
        if not pairs:
            return PartRange((), declared_w)
        u, i = max(pairs, key=lambda pair: pair[0] * pair[1])  # type: ignore[operator]
        assert u is not None and i is not None
        elements.append(ElementRange(u_id, i_id, u, i))
    if not elements:  # a part whose driver names no range channels
        return PartRange((), declared_w)
    return PartRange(tuple(elements), sum(e.power_w for e in elements))


def part_uncertainties(
    parts: Sequence[PartAccuracy], means_w: Sequence[float]
) -> list[tuple[float, float]]:
    """(u, share) of each part: its own Type B standard uncertainty (reading + range linear,
    drift in quadrature), and the fraction of the analysers' combined variance it carries
    (within an analyser a part carries u_part·u_analyser of the linear sum's square; the
    shares sum to 1)."""
    totals: dict[str, tuple[float, float]] = {}
    for acc, mean in zip(parts, means_w, strict=True):
        reading, range_u, drift = acc.terms(mean)
        limit, drifts = totals.get(acc.instrument, (0.0, 0.0))
        totals[acc.instrument] = (limit + reading + range_u, drifts + drift)
    variance = math.fsum(a * a + d * d for a, d in totals.values())
    out = []
    for acc, mean in zip(parts, means_w, strict=True):
        reading, range_u, drift = acc.terms(mean)
        limit, drifts = totals[acc.instrument]
        carried = (reading + range_u) * limit + drift * drifts
        out.append((math.hypot(reading + range_u, drift), carried / variance if variance else 0.0))
    return out


def _short(channel: str) -> str:
    return channel.rsplit(".", 1)[-1]


def power_inputs(parts: Sequence[PartAccuracy]) -> tuple[dict[str, float], dict[str, float]]:
    """The analysers' limits as result.json's `uncertainty_model.inputs` names them: (limits,
    drift); the keys carry the part ("power_pct_reading pa_odu (P_sigma)") when there are
    several."""
    limits: dict[str, float] = {}
    drift: dict[str, float] = {}
    for p in parts:
        tag = f" {p.label}" if p.label else ""
        limits[f"power_pct_reading{tag}"] = p.pct_reading
        limits[f"power_pct_range{tag}"] = p.pct_range
        limits[f"power_range_w{tag}"] = p.range_w
        limits[f"power_divisor{tag}"] = p.divisor
        drift[f"u_power_drift_rel{tag}"] = p.u_drift_rel
    return limits, drift
