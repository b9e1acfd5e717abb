"""The plan as the sequencer runs it: a flat list of points with every default applied.

Nothing here is optional any more: each point carries its air set points (RH for the chamber,
converted from wet bulb where the plan gave wet bulb), water outlet, one flow setting, part
load, timing and what to do when the bench will not settle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bench.plan.estimate import estimate, format_minutes
from bench.plan.model import OnUnstable, PlanFile
from bench.profiles import Profile

if TYPE_CHECKING:
    from bench.plan.loadbased import LoadBasedSetting


@dataclass(frozen=True)
class InletTemperature:
    """The hydraulic module holds this water inlet temperature."""

    inlet_c: float

    def describe(self) -> str:
        return f"in {self.inlet_c:g} °C"


@dataclass(frozen=True)
class TemperatureDifference:
    """Flow adjusted until outlet − inlet is this difference (then held for the point)."""

    delta_t_k: float

    def describe(self) -> str:
        return f"ΔT {self.delta_t_k:g} K"


@dataclass(frozen=True)
class VolumeFlow:
    """The hydraulic module holds this volume flow."""

    flow_m3h: float

    def describe(self) -> str:
        return f"{self.flow_m3h:g} m³/h"


@dataclass(frozen=True)
class FlowFrom:
    """The volume flow measured (collection-period mean) at an earlier point of the run."""

    point_id: str

    def describe(self) -> str:
        return f"flow of {self.point_id}"


FlowSetting = InletTemperature | TemperatureDifference | VolumeFlow | FlowFrom


@dataclass(frozen=True)
class Timing:
    equilibrium_min: float
    collection_min: float
    stabilise_timeout_min: float  # from the end of the set phase, equilibrium included
    sample_s: float

    @property
    def equilibrium_s(self) -> float:
        return self.equilibrium_min * 60.0

    @property
    def collection_s(self) -> float:
        return self.collection_min * 60.0

    @property
    def stabilise_timeout_s(self) -> float:
        return self.stabilise_timeout_min * 60.0


@dataclass(frozen=True)
class PartLoadSetting:
    """Exactly one of the two is set."""

    demand_pct: float | None = None
    compressor_hz: float | None = None

    def describe(self) -> str:
        if self.demand_pct is not None:
            return f"{self.demand_pct:g} %"
        return f"{self.compressor_hz:g} Hz"


@dataclass(frozen=True)
class ResolvedPoint:
    id: str
    mode: Literal["heating"]
    air_dry_bulb_c: float
    air_rh_pct: float  # what the chamber is set to
    air_wet_bulb_c: float  # as given, or converted from RH
    humidity_given: Literal["wet_bulb", "rh"]
    water_outlet_c: float
    flow: FlowSetting
    part_load: PartLoadSetting | None
    timing: Timing
    on_unstable: OnUnstable
    barometric_pa: float  # the pressure RH and wet bulb were converted at
    source: str  # `file:line` of the point, for messages about it
    load_based: LoadBasedSetting | None = None  # kind: load_based (docs/standards.md §7)


@dataclass(frozen=True)
class Plan:
    """A loaded, valid plan: what the sequencer runs and what a run stores."""

    spec: PlanFile
    path: Path
    text: str  # this file's YAML as written
    profile: Profile
    points: tuple[ResolvedPoint, ...]
    sources: tuple[tuple[Path, str], ...] = ()  # every file of the extends chain, this one first
    warnings: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.spec.name

    def point(self, point_id: str) -> ResolvedPoint:
        for point in self.points:
            if point.id == point_id:
                return point
        raise KeyError(point_id)

    def summary(self) -> str:
        """One paragraph for a screen: what, on which unit, judged how, for how long."""
        spec = self.spec
        standard = spec.standard
        if spec.climate:
            standard += f" ({spec.climate} climate, {spec.application} temperature)"
        total = estimate(self.points).total_min
        ids = ", ".join(p.id for p in self.points)
        return (
            f"{spec.name}: {standard}, profile {self.profile.name} {self.profile.version}\n"
            f"unit {spec.unit.make} {spec.unit.model} #{spec.unit.serial} "
            f"({spec.unit.refrigerant}), operator {spec.operator}\n"
            f"{len(self.points)} points ({ids}), about {format_minutes(total)}"
        )
