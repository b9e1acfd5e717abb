"""A station's layout: which instrument commands what, and where each quantity comes from.

The station file names its instruments freely; `[commands]` says which one commands the air,
the water and the heat pump, `[quantities]` maps contract quantities (bench/channels.py) to
`instrument.channel`, a list being summed (the electrical input of an outdoor and an indoor
unit). Without them an instrument named as a role commands that role and provides its role's
quantities, as the four-role station always did. The engine, export and TUI keep reading the
contract's channel ids; where a quantity comes from elsewhere the acquisition adds that id as a
derived channel (`derived()`), so nothing downstream knows the layout
(docs/decisions/0280-stations-with-any-instruments.md).

Pure: the station file's parser (bench/station.py) hands in what the drivers declare and turns
each problem's key path into `file:line`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bench import channels
from bench.channels import convert_factor
from bench.metrology.parts import PowerPart

COMMANDS: dict[str, str] = {
    "air": "climate_chamber",
    "water": "hydraulic_module",
    "heat_pump": "heat_pump",
    "heat_pump_switch": "io_module",
}
"""`[commands]` keys and the role whose driver each must have. `heat_pump_switch`: the
digital-output module whose SG-Ready contacts start and stop the unit, for a unit whose map
has no on/off register (bench/run/actuation.py, docs/decisions/0283)."""
SWITCH = "heat_pump_switch"

NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_SOURCE = re.compile(r"^([a-z][a-z0-9_]{0,31})\.([A-Za-z0-9_]+)$")

Problem = tuple[tuple[str, ...], str]  # (key path in the station file, message)


@dataclass(frozen=True)
class Member:
    """What the layout knows of one instrument before it is connected."""

    driver: str
    role: str  # the driver's role
    declared: Mapping[str, str] = field(default_factory=dict)  # quantity -> channel
    channels: Mapping[str, str] | None = None  # channel -> unit; None: known on connect
    groups: tuple[tuple[int, ...], ...] = ()  # Σ groups of a multi-element power analyser


@dataclass(frozen=True)
class Derived:
    """A contract channel the acquisition computes: the sum of `sources` times `factor`."""

    channel: str
    unit: str
    sources: tuple[str, ...]
    factor: float = 1.0


@dataclass(frozen=True)
class StationLayout:
    members: Mapping[str, Member]
    commands: Mapping[str, str]  # role (or SWITCH) -> instrument name
    mapped: Mapping[str, tuple[str, ...]]  # quantity -> source channel ids, from [quantities]
    factors: Mapping[str, float]  # quantity -> unit factor (mapped quantities, where not 1)

    @classmethod
    def build(
        cls,
        members: Mapping[str, Member],
        commands: Mapping[str, object] | None = None,
        quantities: Mapping[str, object] | None = None,
    ) -> tuple[StationLayout, list[Problem]]:
        """The layout and every problem of `[commands]` and `[quantities]` (raw TOML values)."""
        problems: list[Problem] = []
        # an instrument named as a role commands it unless [commands] says otherwise
        chosen = {name: name for name in members if name in COMMANDS.values()}
        for key, value in (commands or {}).items():
            loc = ("commands", key)
            role = COMMANDS.get(key)
            if role is None:
                problems.append((loc, f"unknown command {key!r}; one of {', '.join(COMMANDS)}"))
            elif not isinstance(value, str) or value not in members:
                problems.append((loc, f"{value!r}: the station has no such instrument"))
            elif members[value].role != role:
                plays = members[value].role
                problems.append(
                    (loc, f"{value} ({members[value].driver}) drives a {plays}, not a {role}")
                )
            else:
                chosen[key if key == SWITCH else role] = value
        if SWITCH in chosen and "heat_pump" not in chosen:
            problems.append((("commands", SWITCH), "switches no heat pump: the station has none"))
        mapped: dict[str, tuple[str, ...]] = {}
        factors: dict[str, float] = {}
        for name, value in (quantities or {}).items():
            found = _mapping(members, name, value)
            if isinstance(found, str):
                problems.append((("quantities", name), found))
                continue
            sources, factor = found
            mapped[name] = sources
            if factor != 1.0:
                factors[name] = factor
        layout = cls(members, chosen, mapped, factors)
        return layout, problems + layout._collisions()

    def _collisions(self) -> list[Problem]:
        """A derived channel must not take the id of a raw channel it is not made of."""
        found: list[Problem] = []
        for name, d in self._derived_by_quantity().items():
            role, local = d.channel.split(".", 1)
            member = self.members.get(role)
            if member is not None and (member.channels is None or local in member.channels):
                loc = ("quantities", name) if name in self.mapped else ("commands",)
                why = (
                    f"{name} would be derived as {d.channel}, a channel instruments.{role} has: "
                    f"give that instrument another name (and name it in [commands])"
                )
                found.append((loc, why))
        return found

    # -- what the rest of the code asks -------------------------------------------------------
    def command_instruments(self) -> dict[str, str]:
        """Role -> the instrument that commands it (only the roles the station commands)."""
        return dict(self.commands)

    def sources(self, quantity: str) -> tuple[str, ...]:
        """The channel ids `quantity` is read from (several: summed); () when none. Unmapped,
        it comes from the instrument commanding its role (else named as it), as declared."""
        if quantity in self.mapped:
            return self.mapped[quantity]
        q = channels.QUANTITIES[quantity]
        provider = self.commands.get(q.role, q.role)
        member = self.members.get(provider)
        local = member.declared.get(quantity) if member is not None else None
        return (f"{provider}.{local}",) if local is not None else ()

    def provided(self) -> set[str]:
        """The contract channel ids this station's frames carry."""
        return {q.channel for q in channels.QUANTITIES.values() if self.sources(q.name)}

    def derived(self) -> dict[str, Derived]:
        """Contract channel id -> how it is computed, where it is not a raw channel itself."""
        return {d.channel: d for d in self._derived_by_quantity().values()}

    def _derived_by_quantity(self) -> dict[str, Derived]:
        found = {}
        for q in channels.QUANTITIES.values():
            sources = self.sources(q.name)
            if not sources or (q.name not in self.mapped and sources[0].startswith(f"{q.role}.")):
                continue  # the instrument named as the role is read as it is (channels.missing)
            factor = self.factors.get(q.name, 1.0)
            if sources != (q.channel,) or factor != 1.0:
                found[q.name] = Derived(q.channel, q.unit, sources, factor)
        return found

    def instrument_of(self, quantity: str) -> str | None:
        """The instrument behind a single-source quantity (None: none, or a sum)."""
        sources = self.sources(quantity)
        return sources[0].split(".", 1)[0] if len(sources) == 1 else None

    def reading_of(self, quantity: str) -> tuple[str, str, float] | None:
        """(instrument, channel, unit factor) of a quantity mapped to one channel, where a
        fresh reading of it is taken (the water flow permissive); None otherwise."""
        sources = self.mapped.get(quantity, ())
        if len(sources) != 1:
            return None
        name, channel = sources[0].split(".", 1)
        return name, channel, self.factors.get(quantity, 1.0)

    def power_parts(self) -> tuple[PowerPart, ...]:
        """The parts of `electrical.power_w`, each with the ranges of the elements it sums."""
        parts = []
        for source in self.sources("electrical.power_w"):
            name, channel = source.split(".", 1)
            member = self.members[name]
            ranges = tuple(
                (f"{name}.Urange{e}", f"{name}.Irange{e}") for e in _elements(channel, member)
            )
            if not ranges and (member.channels is None or "Urange" in member.channels):
                ranges = ((f"{name}.Urange", f"{name}.Irange"),)
            parts.append(PowerPart(source, name, ranges))
        return tuple(parts)


def _elements(channel: str, member: Member) -> tuple[int, ...]:
    """The elements a power channel sums: `P_sigma` (`P_sigmaB`) its Σ group, `P3` element 3."""
    sigma = re.fullmatch(r"P_sigma([ABC]?)", channel)
    if sigma is not None:
        group = "ABC".index(sigma.group(1)) if sigma.group(1) else 0
        return member.groups[group] if group < len(member.groups) else ()
    element = re.fullmatch(r"P(\d+)", channel)
    return (int(element.group(1)),) if element is not None else ()


def _mapping(
    members: Mapping[str, Member], name: str, value: object
) -> tuple[tuple[str, ...], float] | str:
    """The source ids and unit factor of one `[quantities]` entry, or why it is refused."""
    q = channels.QUANTITIES.get(name)
    if q is None:
        return f"{name!r} is not a quantity of the channel contract (bench/channels.py)"
    parts = value if isinstance(value, list) else [value]
    if not parts or not all(isinstance(p, str) for p in parts):
        return 'expected "instrument.channel" or a list of them'
    units: list[str] = []
    for part in parts:
        assert isinstance(part, str)
        found = _SOURCE.fullmatch(part)
        if found is None:
            return f"{part!r}: expected instrument.channel"
        instrument, local = found.groups()
        member = members.get(instrument)
        if member is None:
            return f"{part!r}: the station has no instrument {instrument!r}"
        if member.channels is not None:
            if local not in member.channels:
                known = ", ".join(list(member.channels)[:12]) or "none"
                more = ", ..." if len(member.channels) > 12 else ""
                return (
                    f"{part!r}: {instrument} ({member.driver}) has no channel {local!r}; "
                    f"it has {known}{more}"
                )
            units.append(member.channels[local])
    if len(set(parts)) != len(parts):
        return "a channel is listed twice"
    if len(set(units)) > 1:
        return f"the parts have different units ({', '.join(units)}): they cannot be summed"
    factor = convert_factor(units[0], q.unit) if units else 1.0
    if factor is None:
        return f"unit {units[0]!r} is not {name}'s {q.unit!r}, and does not convert to it"
    return tuple(str(p) for p in parts), factor
