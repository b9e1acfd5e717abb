"""The channel contract: the quantities the engine and metrology use, their units, and which
kind of point needs which (docs/decisions/0210-channel-contract.md).

Drivers name their channels (`P`, `inlet_temp`, `defrost`); the engine, export and TUI read
`role.channel` ids. This table is the one place where a quantity meets the channel id read for
it today. Each driver declares, by quantity name, what it provides (a map file's
`[quantities]`, a message-based driver's class attribute `quantities`; instruments/ does not
import bench/), and a station is checked against what a plan's points need before the plan
starts and again against the channels the connected instruments really have. A quantity a
point needs and the bench does not provide is a refusal naming the station's file:line, never a
reading that is silently missing (a missing defrost signal used to read as "no defrost").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from bench.tomlpos import shown_key
from instruments import registry
from instruments.modbus.regmap import RegisterMapError

if TYPE_CHECKING:
    from bench.plan.resolved import ResolvedPoint
    from bench.station import Station

DEFROST_BELOW_C = 7.0
"""Outdoor dry bulb below which a unit may frost and defrost: A7 and above are run as steady
tests without one (docs/decisions/0210-channel-contract.md; the threshold is [U])."""


class Need(StrEnum):
    """Which kind of point needs a quantity."""

    EVERY = "every point"
    DEFROST = f"points below {DEFROST_BELOW_C:g} °C outdoor dry bulb"
    LOAD_BASED = "load-based points"


@dataclass(frozen=True)
class Quantity:
    name: str  # group.name, as drivers declare it
    unit: str
    channel: str  # the `role.channel` id the engine reads it from (today's fixed layout)
    need: Need | None  # None: used where present, needed by no point
    what: str

    @property
    def role(self) -> str:
        return self.channel.split(".", 1)[0]

    @property
    def local(self) -> str:
        """The channel's name on its instrument."""
        return self.channel.split(".", 1)[1]


_EVERY, _DEFROST, _LOAD = Need.EVERY, Need.DEFROST, Need.LOAD_BASED
QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in (
        Quantity("air.dry_bulb_c", "°C", "climate_chamber.temperature", _EVERY, "judged"),
        # every point is judged on its wet bulb, computed from dry bulb, RH and pressure
        Quantity("air.rh_pct", "%RH", "climate_chamber.humidity", _EVERY, "wet bulb"),
        Quantity("air.pressure_pa", "Pa", "hydraulic_module.barometric_pressure", None, "wet bulb"),
        Quantity("air.dry_bulb_sp_c", "°C", "climate_chamber.temperature_sp", None, "read-back"),
        Quantity("air.rh_sp_pct", "%RH", "climate_chamber.humidity_sp", None, "read-back"),
        Quantity("water.inlet_c", "°C", "hydraulic_module.inlet_temp", _EVERY, "capacity"),
        Quantity("water.outlet_c", "°C", "hydraulic_module.outlet_temp", _EVERY, "capacity"),
        Quantity("water.flow_m3h", "m³/h", "hydraulic_module.volume_flow", _EVERY, "capacity"),
        Quantity("electrical.power_w", "W", "power_analyser.P", _EVERY, "COP"),
        Quantity("electrical.voltage_v", "V", "power_analyser.U", _EVERY, "judged"),
        Quantity("electrical.u_range_v", "V", "power_analyser.Urange", None, "uncertainty"),
        Quantity("electrical.i_range_a", "A", "power_analyser.Irange", None, "uncertainty"),
        Quantity("hp.defrost", "", "heat_pump.defrost", _DEFROST, "transient tests"),
        Quantity("hp.compressor_on", "", "heat_pump.compressor_on", _LOAD, "cycles"),
        Quantity("hp.alarm", "", "heat_pump.alarm", None, "interlocks name channels"),
        # the unit's own sensors: compared with the bench's, never used for a result
        Quantity("hp.outdoor_c", "°C", "heat_pump.outdoor_temp", None, "compared"),
        Quantity("hp.supply_c", "°C", "heat_pump.supply_temp", None, "compared"),
        Quantity("hp.return_c", "°C", "heat_pump.return_temp", None, "compared"),
        Quantity("hp.flow_l_min", "l/min", "heat_pump.flow_rate", None, "compared"),
        Quantity("hp.heat_output_w", "W", "heat_pump.heat_output", None, "compared"),
        Quantity("hp.electrical_energy_wh", "Wh", "heat_pump.electrical_energy", None, "compared"),
    )
}
UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("l/h", "m³/h"): 0.001,
    ("l/min", "m³/h"): 0.06,
    ("kW", "W"): 1000.0,
}
"""(source unit, contract unit) -> factor, for a station mapping a quantity to another
instrument's channel. Nothing else is converted: a mA loop is scaled by the logger reading it."""


def convert_factor(unit: str, contract_unit: str) -> float | None:
    """The factor from `unit` to the contract's, None when they do not convert."""
    return 1.0 if unit == contract_unit else UNIT_FACTORS.get((unit, contract_unit))


DEFROST_DETECTION = ("unit_signal", "none")
"""How a station detects a defrost: the unit's `hp.defrost` signal, or not at all (accepted:
points below 7 °C run as steady tests, and a defrost shows as an unstable point)."""


def channel(quantity: str) -> str:
    """The `role.channel` id the engine reads `quantity` from."""
    return QUANTITIES[quantity].channel


def needs(air_dry_bulb_c: float, *, load_based: bool) -> set[Need]:
    """What kind of point this is, as far as the contract is concerned."""
    found = {Need.EVERY}
    if air_dry_bulb_c < DEFROST_BELOW_C:
        found.add(Need.DEFROST)
    if load_based:
        found.add(Need.LOAD_BASED)
    return found


def declaration_problems(driver: str, role: str, provides: Mapping[str, str]) -> list[str]:
    """A declaration that breaks the contract: an unknown name, or another role's quantity."""
    problems = []
    for name in provides:
        q = QUANTITIES.get(name)
        if q is None:
            problems.append(f"driver {driver!r} declares {name!r}, not a quantity of the contract")
        elif q.role != role:
            problems.append(f"driver {driver!r} declares {name}, a {q.role} quantity")
    return problems


@dataclass(frozen=True)
class PointNeed:
    """One plan point as the contract sees it."""

    id: str
    source: str  # file:line of the point
    needs: frozenset[Need]

    @classmethod
    def of(cls, point: ResolvedPoint) -> PointNeed:
        kinds = needs(point.air_dry_bulb_c, load_based=point.load_based is not None)
        return cls(point.id, point.source, frozenset(kinds))


def unmet(
    station: Station,
    points: Iterable[PointNeed],
    live: Mapping[str, str] | None = None,
) -> list[str]:
    """Every quantity a point needs that the station does not provide, as `file:line` lines.

    `live`: the connected instruments' channels (`role.channel` -> unit); a declared quantity
    counts only if its channel is among them with the contract's unit."""
    wanted: dict[str, list[PointNeed]] = {}
    for point in points:
        for q in QUANTITIES.values():
            if q.need in point.needs:
                wanted.setdefault(q.name, []).append(point)
    skip = {"hp.defrost"} if station.station.defrost_detection == "none" else set()
    problems = []
    for name, pts in wanted.items():
        if name in skip:
            continue
        why = missing(station, QUANTITIES[name], live)
        if why is not None:
            where, reason = why
            problems.append(f"{where}: {reason}, and {_points(name, pts)}")
    return problems


def _points(name: str, pts: list[PointNeed]) -> str:
    ids = ", ".join(p.id for p in pts[:4]) + (", ..." if len(pts) > 4 else "")
    kind = QUANTITIES[name].need
    which = "every point needs it" if kind is Need.EVERY else f"{kind} need it"
    fix = ""
    if name == "hp.defrost":
        fix = (
            "; give the heat pump's map a defrost channel ([quantities] hp.defrost), or declare "
            '[station] defrost_detection = "none" to run them as steady tests without detection'
        )
    return f"{which}: {ids} ({pts[0].source}){fix}"


def missing(
    station: Station, q: Quantity, live: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """(where, why) the station does not provide `q`, or None when it does."""
    layout = station.layout
    if q.name in layout.mapped:
        return _mapped_missing(station, q, live)
    provider = layout.commands.get(q.role, q.role)
    entry = station.instruments.get(provider)
    if entry is None:
        return station.where(["station"]), f"{q.name}: the station has no {q.role}"
    where = station.where(["instruments", provider, *(["options"] if entry.options else [])])
    try:
        provides = registry.quantities(entry.driver, entry.options)
    except RegisterMapError as exc:
        return where, f"{q.name}: {exc.problems[0]}"
    shown_map = f", map {shown_key(str(entry.options['map']))}" if "map" in entry.options else ""
    what = f"instruments.{provider} ({entry.driver}{shown_map})"
    local = provides.get(q.name)
    if local is None:
        return where, f"{what} provides no {q.name} ({q.what})"
    if local != q.local and provider == q.role:
        return where, (
            f"{what} provides {q.name} as {local!r}, but the engine reads {q.channel} "
            "(bench/channels.py)"
        )
    source = f"{provider}.{local}"
    if live is not None and live.get(source) != q.unit:
        found = "no such channel" if source not in live else f"unit {live[source]!r}"
        return where, f"{what} connected: {source} ({q.name}, {q.unit}): {found}"
    return None


def _mapped_missing(
    station: Station, q: Quantity, live: Mapping[str, str] | None
) -> tuple[str, str] | None:
    """A `[quantities]` entry checked against the connected instruments' channels (on load,
    the parser checked what the drivers declare)."""
    if live is None:
        return None
    where = station.where(["quantities", q.name])
    for source in station.layout.mapped[q.name]:
        unit = live.get(source)
        if unit is None:
            return where, f"{q.name}: connected, the bench has no channel {source}"
        if convert_factor(unit, q.unit) is None:
            return where, f"{q.name}: connected, {source} reads {unit!r}, not {q.unit!r}"
    return None
