"""What a plan file may say: pydantic models of the YAML, checked field by field.

These models describe one file as written (a point may leave its flow or timing to
`defaults`, a child plan may leave its points to the plan it `extends`). Checks that need the
whole chain — defaults applied, `flow_from` order, the profile's timings, wet bulb → RH — are
in `resolve.py`, which turns the files into the flat list the sequencer runs.

Ranges are sanity limits of the bench and of physics, not of the standard: a value outside
them is a typo or an impossible set point, so the plan is refused before a night is spent.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bench.plan.errors import Loc, check, quoted

FLOW_FIELDS = ("inlet_c", "delta_t_k", "flow_m3h", "flow_from")
# Maximum bivalent temperature per climate, °C [R: Reg. (EU) 811/2013 Annex VII, STANDARDS §4]
TBIV_MAX_C = {"average": 2.0, "warmer": 7.0, "colder": -7.0}
DEFAULT_BAROMETRIC_PA = 101_325.0

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,31}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _between(lo: float, hi: float, unit: str, what: str) -> AfterValidator:
    def check_range(value: float) -> float:
        if not lo <= value <= hi:
            raise ValueError(f"{value:g} {unit} is outside {what} {lo:g}..{hi:g} {unit}")
        return value

    return AfterValidator(check_range)


def _positive(hi: float, unit: str) -> AfterValidator:
    def check_positive(value: float) -> float:
        if value <= 0:
            raise ValueError(f"must be positive, got {value:g} {unit}")
        if value > hi:
            raise ValueError(f"{value:g} {unit} is more than the sane maximum {hi:g} {unit}")
        return value

    return AfterValidator(check_positive)


def _identifier(pattern: re.Pattern[str], what: str, allowed: str) -> AfterValidator:
    def check_id(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{quoted(value)} is not a valid {what}: {allowed}")
        return value

    return AfterValidator(check_id)


# Strict: a number must be written as a number (a quoted "7" or `yes` is a mistake, not 7.0).
Number = Annotated[float, Strict()]
AirC = Annotated[Number, _between(-30, 50, "°C", "the chamber's range")]
OutletC = Annotated[Number, _between(15, 75, "°C", "the water outlet range")]
InletC = Annotated[Number, _between(10, 75, "°C", "the water inlet range")]
RhPct = Annotated[Number, _between(5, 100, "%", "the humidity range")]
DeltaK = Annotated[Number, _between(1, 20, "K", "the temperature-difference range")]
FlowM3h = Annotated[Number, _between(0.05, 20, "m³/h", "the flow range")]
Minutes = Annotated[Number, _positive(24 * 60, "min")]
Seconds = Annotated[Number, _positive(600, "s")]
PointId = Annotated[
    str, _identifier(_ID, "point id", "up to 32 letters, digits and _ . + - (e.g. A-7W35)")
]
OnUnstable = Literal["fail_and_continue", "abort"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _given(model: BaseModel, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if getattr(model, n) is not None]


class Air(_Strict):
    """Outdoor air: dry bulb and one humidity measure (the chamber is driven by RH)."""

    dry_bulb_c: AirC
    wet_bulb_c: AirC | None = None
    rh_pct: RhPct | None = None

    @model_validator(mode="after")
    def _one_humidity(self) -> Air:
        problems: list[tuple[Loc, str]] = []
        given = _given(self, ("wet_bulb_c", "rh_pct"))
        if len(given) != 1:
            which = "both are given" if given else "neither is given"
            problems.append(((), f"give exactly one of wet_bulb_c, rh_pct ({which})"))
        if self.wet_bulb_c is not None and self.wet_bulb_c > self.dry_bulb_c:
            problems.append(
                (
                    ("wet_bulb_c",),
                    f"wet bulb {self.wet_bulb_c:g} °C is above dry bulb {self.dry_bulb_c:g} °C",
                )
            )
        check(problems)
        return self


class Flow(_Strict):
    """How the water flow is set: at most one way (a point may leave it to defaults)."""

    inlet_c: InletC | None = None
    delta_t_k: DeltaK | None = None
    flow_m3h: FlowM3h | None = None
    flow_from: PointId | None = None

    @model_validator(mode="after")
    def _at_most_one(self) -> Flow:
        given = _given(self, FLOW_FIELDS)
        if len(given) > 1:
            check([((), f"give only one of {', '.join(FLOW_FIELDS)} (got {', '.join(given)})")])
        return self


class Water(Flow):
    outlet_c: OutletC


class DefaultFlow(Flow):
    @model_validator(mode="after")
    def _exactly_one(self) -> DefaultFlow:
        if not _given(self, FLOW_FIELDS):
            check([((), f"give one of {', '.join(FLOW_FIELDS)}")])
        return self


class PartLoad(_Strict):
    """A fixed modulation: a share of the unit's maximum capacity, or a compressor speed."""

    demand_pct: Annotated[Number, _between(1, 100, "%", "the demand range")] | None = None
    compressor_hz: Annotated[Number, _between(5, 200, "Hz", "the compressor range")] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PartLoad:
        given = _given(self, ("demand_pct", "compressor_hz"))
        if len(given) != 1:
            which = "both are given" if given else "neither is given"
            check([((), f"give exactly one of demand_pct, compressor_hz ({which})")])
        return self


class LoadBasedSpec(_Strict):
    """A load-based point (docs/standards.md §7): the unit on its own controls, the bench
    emulating a building. The point's `water.outlet_c` is its flow temperature t_F,plc."""

    plc: Annotated[Number, _between(0.02, 1.0, "", "the part-load ratio range")]
    building: Literal["one_mass", "two_mass"] = "one_mass"
    tau_h_s: Annotated[Number, _positive(200_000, "s")] | None = None  # §7 default by application
    tau_b_s: Annotated[Number, _positive(2_000_000, "s")] | None = None  # two_mass; §7 209 000 s
    warm_up_min: Minutes = 60.0
    duration_min: Minutes = 240.0  # the fixed time; with `cycles`, the most it may take
    cycles: Annotated[int, Strict(), _between(1, 50, "", "the cycle count range")] | None = 3
    step_s: Annotated[Number, _between(0.2, 10, "s", "the emulation step range")] = 1.0


class TimingSpec(_Strict):
    """Timing overrides; anything left out comes from defaults, then from the profile."""

    equilibrium_min: Minutes | None = None
    collection_min: Minutes | None = None
    stabilise_timeout_min: Minutes | None = None
    sample_s: Seconds | None = None


class PointSpec(_Strict):
    id: PointId
    mode: Literal["heating", "cooling"] = "heating"
    air: Air
    water: Water
    part_load: PartLoad | None = None
    timing: TimingSpec | None = None
    on_unstable: OnUnstable | None = None
    kind: Literal["steady", "load_based"] = "steady"
    load_based: LoadBasedSpec | None = None

    @model_validator(mode="after")
    def _load_based_section(self) -> PointSpec:
        problems: list[tuple[Loc, str]] = []
        if self.kind == "load_based" and self.load_based is None:
            problems.append((("load_based",), "required when kind is load_based"))
        if self.kind == "steady" and self.load_based is not None:
            problems.append((("kind",), "load_based is given: say kind: load_based"))
        if self.kind == "load_based" and self.part_load is not None:
            problems.append((("part_load",), "a load-based point leaves the load to the unit"))
        check(problems)
        return self

    @field_validator("mode")
    @classmethod
    def _heating_only(cls, value: str) -> str:
        if value == "cooling":
            raise ValueError("cooling is reserved: this version of hpbench runs heating only")
        return value


class Defaults(_Strict):
    water: DefaultFlow | None = None
    timing: TimingSpec | None = None
    barometric_pa: Annotated[Number, _between(50_000, 110_000, "Pa", "the range")] | None = None
    on_unstable: OnUnstable | None = None


class AuxPowers(_Strict):
    """EN 14825 auxiliary-mode powers of this unit (Keymark EN14825_023..026), as declared for
    it: a bench run does not measure them, so the SCOP needs them with their source."""

    poff: Annotated[Number, _between(0, 1000, "W", "the range")]
    pto: Annotated[Number, _between(0, 1000, "W", "the range")]
    psb: Annotated[Number, _between(0, 1000, "W", "the range")]
    pck: Annotated[Number, _between(0, 1000, "W", "the range")]
    source: str = Field(min_length=1, max_length=500)


class Unit(_Strict):
    """The heat pump under test; the EN 14825 design values are needed for part loads."""

    make: str = Field(min_length=1)
    model: str = Field(min_length=1)
    serial: str = Field(min_length=1)
    refrigerant: str = Field(min_length=1)
    pdesignh_kw: Annotated[Number, _between(0.5, 500, "kW", "the design-load range")] | None = None
    tbiv_c: Annotated[Number, _between(-30, 16, "°C", "the range")] | None = None
    tol_c: Annotated[Number, _between(-30, 16, "°C", "the range")] | None = None
    received: dt.date | None = None  # when the lab received the unit (the test report's date)
    aux_w: AuxPowers | None = None


class Customer(_Strict):
    """Who the test is for, as the test report names them."""

    name: str = Field(min_length=1)
    address: str = ""


class PlanFile(_Strict):
    """One plan file as written."""

    name: Annotated[
        str, _identifier(_NAME, "plan name", "up to 64 letters, digits and _ . - (a file name)")
    ]
    profile: str = Field(min_length=1, max_length=255)
    standard: Literal["en14511", "en14825"]
    climate: Literal["average", "warmer", "colder"] | None = Field(None, validate_default=True)
    application: Literal["low", "medium"] | None = Field(None, validate_default=True)
    operator: str = Field(min_length=1)
    unit: Unit
    customer: Customer | None = None
    extends: str | None = Field(None, min_length=1, max_length=255)
    only: list[PointId] | None = Field(None, validate_default=True)
    defaults: Defaults = Defaults()
    points: list[PointSpec] | None = Field(None, validate_default=True)

    @field_validator("climate", "application")
    @classmethod
    def _en14825_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        standard = info.data.get("standard")
        if standard == "en14825" and value is None:
            raise ValueError("required when standard is en14825")
        if standard == "en14511" and value is not None:
            raise ValueError("applies only when standard is en14825")
        return value

    @field_validator("unit")
    @classmethod
    def _design_values(cls, unit: Unit, info: ValidationInfo) -> Unit:
        if info.data.get("standard") != "en14825":
            return unit
        problems: list[tuple[Loc, str]] = []
        for name, what in (
            ("pdesignh_kw", "design heating load Pdesignh, kW"),
            ("tbiv_c", "bivalent temperature Tbiv, °C"),
            ("tol_c", "operation limit temperature TOL, °C"),
        ):
            if getattr(unit, name) is None:
                problems.append(((name,), f"required when standard is en14825 ({what})"))
        tbiv_max = TBIV_MAX_C.get(info.data.get("climate") or "")
        if unit.tbiv_c is not None and tbiv_max is not None and unit.tbiv_c > tbiv_max:
            problems.append(
                (
                    ("tbiv_c",),
                    f"{unit.tbiv_c:g} °C is above the {info.data['climate']} climate's "
                    f"maximum bivalent temperature {tbiv_max:g} °C",
                )
            )
        if unit.tbiv_c is not None and unit.tol_c is not None and unit.tol_c > unit.tbiv_c:
            problems.append((("tol_c",), f"TOL {unit.tol_c:g} °C is above Tbiv {unit.tbiv_c:g} °C"))
        check(problems)
        return unit

    @field_validator("only")
    @classmethod
    def _only_with_extends(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        # extends missing from info.data means it was itself invalid: say nothing more here.
        if value is not None and info.data.get("extends", "") is None:
            raise ValueError("only selects points of the plan named by extends; there is none")
        return value

    @field_validator("points")
    @classmethod
    def _some_points(
        cls, value: list[PointSpec] | None, info: ValidationInfo
    ) -> list[PointSpec] | None:
        if not value and info.data.get("extends", "") is None:
            raise ValueError("a plan needs at least one point (or extends another plan)")
        return value
