"""The station file (TOML): the bench's instruments, where they are, and what they are.

A station file describes one physical bench. Every instrument entry (any name; one named as a
role must drive that role) names its driver and address, and carries what a certification
result must trace: serial number, calibration due date, accuracy. `[commands]` and
`[quantities]` say which instrument commands what and where each quantity comes from
(`Station.layout`, bench/station_layout.py). Addresses of the form `sim:<endpoint>` point at
the simulated bench and are filled in when hpbench starts it (`--sim`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from bench import channels
from bench.interlocks import Interlock
from bench.lab.config import LabSettings
from bench.metrology import capacity
from bench.metrology.accuracy import accuracies_of
from bench.metrology.parts import FOUR_ROLES, Sensors
from bench.metrology.point import PointSettings, PumpSetting
from bench.metrology.station_uncertainty import StationUncertainty
from bench.permissives import Permissives
from bench.station_layout import NAME, Member, Problem, StationLayout
from bench.telemetry.config import TelemetrySettings
from bench.tomlpos import shown_key, toml_line, validation_messages
from instruments import registry
from instruments.base import ROLES, Instrument, InstrumentError
from instruments.modbus.regmap import RegisterMapError

SIM_PREFIX = "sim:"


class StationError(Exception):
    """A station file problem; str() is `file:line: field: message`, one per line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PumpCorrection(_Strict):
    """The water pump's share of the measured power, q·Δp/η (docs/standards.md §3: formula and η
    are [U]); off unless given. Result files report the raw and the corrected power."""

    mode: Literal["integrated", "external"] = "integrated"
    efficiency: float = Field(gt=0, le=1)
    dp_pa: float = Field(ge=0)
    enabled: bool = True

    def setting(self) -> PumpSetting | None:
        """The correction the point calculation applies; None when `enabled = false`."""
        if not self.enabled:
            return None
        return PumpSetting(
            capacity.PumpCorrection(efficiency=self.efficiency, mode=self.mode), self.dp_pa
        )


Range = tuple[float, float]


class BenchLimits(_Strict):
    """The bench's working range, narrower than what the drivers accept: manual set points
    (TUI) stay inside it, and a plan with a point outside it is refused before it starts."""

    air_temperature_c: Range | None = None  # the climate chamber (dry bulb)
    air_humidity_pct: Range | None = None
    water_inlet_c: Range | None = None  # the hydraulic module
    water_flow_m3h: Range | None = None
    hp_flow_temperature_c: Range | None = None  # the heat pump's flow set point
    hp_demand_pct: Range | None = None

    @field_validator("*")
    @classmethod
    def _ordered(cls, value: Range | None) -> Range | None:
        if value is not None:
            low, high = value
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(f"expected [low, high] with low < high, got [{low}, {high}]")
        return value


class Signing(_Strict):
    """Sign each run's SHA256SUMS with this Ed25519 private key (PEM), `hpbench keygen`."""

    key_file: str = Field(min_length=1)


class Laboratory(_Strict):
    """Who tests and where, as an ISO/IEC 17025 (7.8.2) test report names them."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    location: str = ""  # where the test was done, when not at `address`
    report_prefix: str = Field(default="HPB", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,15}$")


class StationInfo(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    lab: str = ""
    calibration_policy: Literal["warn", "block"] = "warn"
    # the unit's reported serial against the plan's (bench/run/identity.py)
    identity_policy: Literal["warn", "block"] = "warn"
    # the water side, as the capacity formula needs it (docs/standards.md §3)
    flow_meter: Literal["inlet", "outlet"] = "inlet"  # where the flow meter sits: rho there
    water_pressure_pa: float = Field(default=3.0e5, gt=0.5e5, lt=20e5)
    nominal_voltage_v: float = Field(default=230.0, gt=0)  # the supply the voltage is judged on
    initial_flow_m3h: float = Field(default=1.6, gt=0, le=20)  # first guess where flow is trimmed
    # an instrument silent this long holds the point (unless an interlock says otherwise)
    watchdog_s: float = Field(default=60.0, gt=0)
    # a results disk with less free space than this is refused before a run starts
    min_free_mb: float = Field(default=50.0, ge=0)
    # a value interlock trips on this many frames in a row (one flipped bit is not an alarm),
    # unless it is declared `immediate`
    interlock_frames: int = Field(default=2, ge=1, le=10)
    pump_correction: PumpCorrection | None = None
    # how a defrost is detected (bench/channels.py): "unit_signal", the unit's hp.defrost;
    # "none", accepted that points below 7 °C run without; omitted: the unit's, where it has one
    defrost_detection: Literal["unit_signal", "none"] | None = None


class BenchState(_Strict):
    """Where the bench is put: the heat pump always off; the chamber and the water as said."""

    chamber: Literal["standby", "off"] = "standby"
    water_pump: Literal["on", "off"] = "on"  # on: keeps the unit's water moving to run down
    water_flow_m3h: float = Field(default=0.8, ge=0, le=20)


class InstrumentEntry(_Strict):
    driver: str
    address: str = Field(min_length=1)
    serial: str = ""
    timeout_s: float = Field(default=2.0, gt=0, le=60)
    calibration_due: dt.date | None = None
    accuracy: dict[str, float] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    # issue 13: what the test report names per channel (ISO/IEC 17025 7.8.2.1)
    calibration_certificate: str = ""
    calibrated: dt.date | None = None
    accuracy_source: str = ""  # where the accuracy numbers come from (certificate, datasheet)

    @field_validator("driver")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if value not in registry.DRIVERS:
            raise ValueError(f"unknown driver {value!r}; one of {', '.join(registry.DRIVERS)}")
        return value

    def calibration_overdue(self, today: dt.date) -> bool:
        return self.calibration_due is not None and self.calibration_due < today


def _short(text: str, limit: int = 60) -> str:
    """A value from the file, quoted and cut: a message stays one readable line."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


class Station(_Strict):
    _source: tuple[str, str] | None = PrivateAttr(default=None)  # (path, text): file:line errors
    _layout: StationLayout | None = PrivateAttr(default=None)
    _layout_problems: list[Problem] = PrivateAttr(default_factory=list)
    station: StationInfo
    instruments: dict[str, InstrumentEntry]
    # which instrument commands the air, the water, the heat pump (bench/station_layout.py)
    commands: dict[str, Any] = Field(default_factory=dict)
    # contract quantity -> "instrument.channel" or a list of them (summed)
    quantities: dict[str, Any] = Field(default_factory=dict)
    safe_state: BenchState = Field(default_factory=BenchState)  # interlocks, abort, signals
    final_state: BenchState = Field(default_factory=BenchState)  # the end of a plan
    interlocks: list[Interlock] = Field(default_factory=list)
    telemetry: TelemetrySettings | None = None  # MQTT publishing (bench/telemetry)
    signing: Signing | None = None  # tamper evidence beyond SHA256SUMS (bench/export/signing)
    limits: BenchLimits = Field(default_factory=BenchLimits)
    lab: LabSettings | None = None  # sync each finished run to the lab database (bench/lab)
    laboratory: Laboratory | None = None  # the test report's lab, address, test location
    permissives: Permissives = Field(default_factory=Permissives)  # before the unit starts
    # "role.channel" = [low, high]: narrows what a driver accepts as a plausible reading
    plausibility: dict[str, tuple[float, float]] = Field(default_factory=dict)
    uncertainty: StationUncertainty | None = None  # budget inputs of the bench (issue 13)

    @model_validator(mode="after")
    def _interlock_roles(self) -> Station:
        names = [i.name for i in self.interlocks]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"interlock names must be unique: {_short(', '.join(twice))} twice")
        for lock in self.interlocks:
            role = lock.role or (lock.channel or "").split(".", 1)[0]
            if role in self.instruments:
                continue
            if lock.channel is None or lock.channel not in self.layout.provided():
                name, missing = _short(lock.name), _short(role)
                raise ValueError(f"interlock {name}: the station has no {missing}")
        return self

    @property
    def layout(self) -> StationLayout:
        """Which instrument commands what, and where each quantity comes from."""
        if self._layout is None:
            self._layout, self._layout_problems = _layout(self)
        return self._layout

    def all_interlocks(self) -> list[Interlock]:
        """The declared interlocks, plus a watchdog (silent -> hold) for every instrument
        that has no `silent` interlock of its own."""
        watched = {i.role for i in self.interlocks if i.kind == "silent"}
        watchdogs = [
            Interlock(
                name=f"watchdog {role}",
                kind="silent",
                role=role,
                after_s=self.station.watchdog_s,
                action="hold",
                hold_off_s=0.0,
            )
            for role in self.instruments
            if role not in watched
        ]
        return [*self.interlocks, *watchdogs]

    @field_validator("instruments")
    @classmethod
    def _roles(cls, value: dict[str, InstrumentEntry]) -> dict[str, InstrumentEntry]:
        if not value:
            raise ValueError("no instruments: name at least one of " + ", ".join(ROLES))
        for name, entry in value.items():
            if not NAME.fullmatch(name):
                raise ValueError(
                    f"instrument name {_short(name)}: lower case letters, digits and _, "
                    "starting with a letter, at most 32"
                )
            plays = registry.DRIVERS[entry.driver].role
            if name in ROLES and plays != name:
                raise ValueError(
                    f"{name}: driver {entry.driver!r} drives a {plays}, not a {name} "
                    "(an instrument named as a role must drive it)"
                )
        return value

    def point_settings(self) -> PointSettings:
        """What the point calculation takes from this station (bench.metrology.point): the
        engine's live record and result.json are computed with this one object."""
        info = self.station
        sensors = self.sensors()
        accuracies, problem = accuracies_of(self.instruments, self.uncertainty, sensors)
        return PointSettings(
            pressure_pa=info.water_pressure_pa,
            meter=info.flow_meter,
            pump=info.pump_correction.setting() if info.pump_correction else None,
            accuracies=accuracies,
            accuracy_problem=problem,
            sensors=sensors,
        )

    def sensors(self) -> Sensors:
        """The instrument behind each input of the point calculation, from the layout (a
        station without one of them keeps the four-role default, and its plans are refused
        by the channel contract before they start)."""
        layout, default = self.layout, FOUR_ROLES
        power = layout.power_parts()
        return Sensors(
            inlet=layout.instrument_of("water.inlet_c") or default.inlet,
            outlet=layout.instrument_of("water.outlet_c") or default.outlet,
            flow=layout.instrument_of("water.flow_m3h") or default.flow,
            power=power or default.power,
        )

    @property
    def uses_sim(self) -> bool:
        return any(e.address.startswith(SIM_PREFIX) for e in self.instruments.values())

    def where(self, loc: list[str]) -> str:
        """`file:line` of a key of the station file (`station` when it was not read from one)."""
        if self._source is None:
            return "station"
        path, text = self._source
        return f"{path}:{toml_line(text, loc)}"


def parse_station(text: str, path: str) -> Station:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StationError(toml_error(path, exc)) from None
    except RecursionError:  # tomllib recurses once per level of nested arrays / tables
        raise StationError(f"{path}: not valid TOML: nested too deeply") from None
    try:
        station = Station.model_validate(raw)
    except ValidationError as exc:
        raise StationError(validation_messages(path, text, exc, whole="station")) from None
    problems = _sim_address_problems(station, text, path)
    for role, entry in station.instruments.items():
        allowed = registry.driver_options(entry.driver) - {"timeout_s"}
        for option in entry.options:
            if option not in allowed:
                loc = ["instruments", role, "options", option]
                field = ".".join(shown_key(part) for part in loc)
                problems.append(
                    f"{path}:{toml_line(text, loc)}: {field}: driver {entry.driver!r} "
                    f"takes no option {option!r}; it takes {', '.join(sorted(allowed)) or 'none'}"
                )
    station._source = (path, text)
    station.layout  # noqa: B018 - built once (an interlock may have asked already)
    problems += [
        f"{path}:{toml_line(text, list(loc))}: {_key(loc)}: {why}"
        for loc, why in station._layout_problems
    ]
    problems += _contract_problems(station)
    if problems:
        raise StationError("\n".join(problems))
    return station


def _key(loc: tuple[str, ...]) -> str:
    """`quantities."water.inlet_c"`: a dotted key quoted, as the file writes it."""
    return ".".join(f'"{shown_key(p)}"' if "." in p else shown_key(p) for p in loc)


def _layout(station: Station) -> tuple[StationLayout, list[Problem]]:
    """The station's layout from what each driver declares and will read (no connection)."""
    members = {}
    for name, entry in station.instruments.items():
        role = registry.DRIVERS[entry.driver].role
        try:
            declared = registry.quantities(entry.driver, entry.options)
        except RegisterMapError:
            declared = {}  # building the instruments reports the map, with its line
        try:
            planned = registry.planned(entry.driver, entry.options)
        except (InstrumentError, ValueError, TypeError, OSError, RegisterMapError):
            members[name] = Member(entry.driver, role, declared)  # reported when built
            continue
        members[name] = Member(entry.driver, role, declared, planned.channels, planned.groups)
    return StationLayout.build(members, station.commands, station.quantities)


# -- the channel contract (bench/channels.py): what the drivers declare, checked on load -------
def _contract_problems(station: Station) -> list[str]:
    """Declarations that break the contract, and a `defrost_detection` the heat pump
    contradicts. What a plan needs is checked when a plan meets the station
    (bench/run/planning.py), and again on connect."""
    problems = []
    for name, entry in station.instruments.items():
        try:
            provides = registry.quantities(entry.driver, entry.options)
        except RegisterMapError:
            continue  # building the instruments reports the map, with its line
        where = f"{station.where(['instruments', name])}: instruments.{shown_key(name)}"
        role = registry.DRIVERS[entry.driver].role
        problems += [
            f"{where}: {p}" for p in channels.declaration_problems(entry.driver, role, provides)
        ]
    detection = station.station.defrost_detection
    if detection is None or problems:
        return problems
    where = f"{station.where(['station', 'defrost_detection'])}: station.defrost_detection"
    missing = channels.missing(station, channels.QUANTITIES["hp.defrost"])
    if detection == "unit_signal" and missing is not None:
        problems.append(f'{where}: "unit_signal", but {missing[1]}')
    if detection == "none" and missing is None:
        hp = station.layout.instrument_of("hp.defrost") or "heat_pump"
        driver = station.instruments[hp].driver
        problems.append(
            f'{where}: "none", but instruments.{hp} ({driver}) provides hp.defrost, which '
            'the engine acts on: remove the line, or say "unit_signal"'
        )
    return problems


def toml_error(path: str, exc: tomllib.TOMLDecodeError) -> str:
    """`file:line: not valid TOML: what` from tomllib's "what (at line N, column M)"."""
    found = re.search(r"^(.*) \(at line (\d+), column (\d+)\)$", str(exc))
    if found is None:
        return f"{path}: not valid TOML: {exc}"
    what, line, column = found.groups()
    return f"{path}:{line}: not valid TOML: {what} (column {column})"


def _sim_address_problems(station: Station, text: str, path: str) -> list[str]:
    """A `sim:` address must name an endpoint the simulated bench has: said here, with the
    file and line, rather than when the bench is built."""
    if not station.uses_sim:
        return []
    from instruments.sim.bench import Endpoints  # the simulator only when a station uses it

    known = [f.name for f in dataclasses.fields(Endpoints)]
    problems = []
    for role, entry in station.instruments.items():
        key = entry.address.removeprefix(SIM_PREFIX)
        if entry.address.startswith(SIM_PREFIX) and key not in known:
            loc = ["instruments", role, "address"]
            problems.append(
                f"{path}:{toml_line(text, loc)}: instruments.{shown_key(role)}.address: "
                f"{_short(entry.address)} is not on the simulated bench; it has "
                f"{', '.join(SIM_PREFIX + k for k in known)}"
            )
    return problems


def load_station(path: str | Path) -> Station:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StationError(f"{path}: cannot read station file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise StationError(f"{path}: not a text file (UTF-8 expected)") from None
    return parse_station(text, str(path))


def sim_station_path() -> Path:
    """The station file of the simulated bench, shipped with the package."""
    return Path(str(resources.files("bench").joinpath("stations/sim.toml")))


def resolve_address(address: str, sim_endpoints: dict[str, str] | None) -> str:
    if not address.startswith(SIM_PREFIX):
        return address
    key = address.removeprefix(SIM_PREFIX)
    if sim_endpoints is None:
        raise StationError(f"address {address!r} is on the simulated bench: run with --sim")
    if key not in sim_endpoints:
        known = ", ".join(sim_endpoints)
        raise StationError(f"address {address!r}: the simulated bench has only {known}")
    return sim_endpoints[key]


def build_instruments(
    station: Station, sim_endpoints: dict[str, str] | None = None
) -> dict[str, Instrument]:
    """One driver object per named instrument, not yet connected."""
    built: dict[str, Instrument] = {}
    for role, entry in station.instruments.items():
        address = resolve_address(entry.address, sim_endpoints)
        try:
            built[role] = registry.create(
                entry.driver, role, address, timeout_s=entry.timeout_s, **entry.options
            )
        except (InstrumentError, ValueError, TypeError, OSError) as exc:
            # a bad option value (a map that does not exist, a baud rate of "fast") is the
            # station file's mistake: say which entry, no traceback
            where = f"instruments.{shown_key(role)}"
            if station._source is not None:
                path, text = station._source
                where = f"{path}:{toml_line(text, ['instruments', role, 'options'])}: {where}"
            raise StationError(f"{where} ({entry.driver}): {exc}") from None
    return built
