"""What the result files need from the station file and from the EN 14825 defaults file.

The station file as run is in `run.sqlite`, so a report made later uses the bench as it was,
not as it is now. Three things are read here beyond what `bench.station` validates:

Accuracy keys (docs/result-files.md, "Uncertainty"). Each ± limit becomes a standard
uncertainty through its divisor: √3 for a maker's rectangular limit (GUM 4.3.7, the default),
2 for a k = 2 calibration certificate, 1 for a value that already is a standard uncertainty.

    [instruments.hydraulic_module] accuracy = {
        temperature_k,                        required: ± limit of each water sensor, K
        temperature_in_k, temperature_out_k,  optional: per sensor, instead of temperature_k
        temperature_divisor,                  optional, default √3
        temperature_correlation,              optional r of the two sensors' errors, default 0
        flow_pct,                             required: ± % of reading
        flow_divisor,                         optional, default √3
        rho_cp_pct,                           optional: uncertainty of ρ·cp, %, default 0
        temperature_drift_k,                  optional: ± drift of each sensor since its
                                              calibration, K, rectangular
        flow_drift_pct }                      optional: ± drift of the flow meter, %, rect.
    [instruments.power_analyser] accuracy = {
        reading_pct,                          required: ± % of reading
        range_pct, range_w,                   ± % of the range, and that range in W
                                              (both, or range_pct = 0)
        divisor,                              optional, default √3
        drift_pct }                           optional: ± drift, % of reading, rectangular

Beside them the budget takes the station's `[uncertainty]` table (heat loss, ρ and cp,
sensitivities to the conditions: bench.metrology.station_uncertainty) and names, for each row,
the instrument's serial, `calibration_certificate` and `accuracy_source` as its source.

A key not in these lists makes the uncertainty "not available": a misspelt key silently
ignored would understate it.

Pump correction, off unless the station has it (docs/standards.md §3: formula and η [U]):

    [station.pump_correction]
    mode = "integrated"     # or "external"
    efficiency = 0.3        # η
    dp_pa = 25000           # external static pressure (integrated) / internal drop (external)

`bench.station.StationInfo` does not know this table yet, so it is taken out before the
station is validated (and read the same way once the model has it).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pydantic import ValidationError

from bench.metrology.capacity import MeterPosition, PumpCorrection
from bench.metrology.uncertainty import Accuracies
from bench.station import Station

COVERAGE_K = 2.0  # expanded uncertainty U = k·u (issue 4: k = 2)
RECTANGULAR = math.sqrt(3.0)
HYDRAULIC_KEYS = frozenset(
    {
        "temperature_k",
        "temperature_in_k",
        "temperature_out_k",
        "temperature_divisor",
        "temperature_correlation",
        "flow_pct",
        "flow_divisor",
        "rho_cp_pct",
        "temperature_drift_k",
        "flow_drift_pct",
    }
)
POWER_KEYS = frozenset({"reading_pct", "range_pct", "range_w", "divisor", "drift_pct"})
PUMP_KEYS = frozenset({"mode", "efficiency", "dp_pa", "enabled"})
DEFAULTS_RESOURCE = "en14825_defaults.toml"


class ExportError(Exception):
    """A run cannot be exported; str() names the run directory or file and the reason."""


@dataclass(frozen=True)
class PumpSetting:
    """The station's pump correction: how, η, and the pressure it works against."""

    correction: PumpCorrection
    dp_pa: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.correction.mode,
            "efficiency": self.correction.efficiency,
            "dp_pa": self.dp_pa,
        }


@dataclass(frozen=True)
class BenchSettings:
    """The station as run, and what the point calculation takes from it."""

    station: Station
    meter: MeterPosition
    pressure_pa: float
    pump: PumpSetting | None
    accuracies: Accuracies | None
    accuracy_problem: str  # why `accuracies` is None; "" when it is not
    k: float = COVERAGE_K


def bench_settings(station_text: str, where: str) -> BenchSettings:
    """Parse the station text stored with a run; ExportError if it is not a station file."""
    try:
        raw = tomllib.loads(station_text)
    except tomllib.TOMLDecodeError as exc:
        raise ExportError(f"{where}: the stored station file is not TOML: {exc}") from None
    info = raw.get("station")
    pump_raw = info.pop("pump_correction", None) if isinstance(info, dict) else None
    try:
        station = Station.model_validate(raw)
    except ValidationError as exc:
        raise ExportError(f"{where}: the stored station file is not valid: {exc}") from None
    pump = pump_setting(pump_raw, where)
    accuracies, problem = accuracies_of(station)
    return BenchSettings(
        station=station,
        meter=station.station.flow_meter,
        pressure_pa=station.station.water_pressure_pa,
        pump=pump,
        accuracies=accuracies,
        accuracy_problem=problem,
    )


def pump_setting(raw: Any, where: str) -> PumpSetting | None:
    """`[station.pump_correction]`, or None when absent or `enabled = false`."""
    if raw is None:
        return None
    name = f"{where}: station.pump_correction"
    if not isinstance(raw, dict):
        raise ExportError(f"{name}: expected a table")
    unknown = sorted(set(raw) - PUMP_KEYS)
    if unknown:
        raise ExportError(f"{name}: unknown keys {unknown}; allowed {sorted(PUMP_KEYS)}")
    if raw.get("enabled", True) is False:
        return None
    try:
        correction = PumpCorrection(
            efficiency=float(raw["efficiency"]), mode=raw.get("mode", "integrated")
        )
        dp_pa = float(raw["dp_pa"])
    except KeyError as exc:
        raise ExportError(f"{name}: {exc.args[0]} is required") from None
    except (TypeError, ValueError) as exc:
        raise ExportError(f"{name}: {exc}") from None
    if not (math.isfinite(dp_pa) and dp_pa >= 0):
        raise ExportError(f"{name}: dp_pa {dp_pa!r} must be a pressure ≥ 0 Pa")
    return PumpSetting(correction, dp_pa)


def accuracies_of(station: Station) -> tuple[Accuracies | None, str]:
    """The GUM inputs from the station's accuracy keys, or None and the reason."""
    problems: list[str] = []
    hydraulic = _accuracy(station, "hydraulic_module", HYDRAULIC_KEYS, problems)
    power = _accuracy(station, "power_analyser", POWER_KEYS, problems)
    if hydraulic is not None:
        for key in ("flow_pct",):
            if key not in hydraulic:
                problems.append(f"hydraulic_module accuracy has no {key}")
        each = [k for k in ("temperature_in_k", "temperature_out_k") if k not in hydraulic]
        if each and "temperature_k" not in hydraulic:
            problems.append(f"hydraulic_module accuracy has no temperature_k (nor {each[0]})")
    if power is not None:
        if "reading_pct" not in power:
            problems.append("power_analyser accuracy has no reading_pct")
        if power.get("range_pct", 0.0) and "range_w" not in power:
            problems.append(
                "power_analyser accuracy has range_pct but no range_w (the range in W it "
                "is a percentage of)"
            )
    if problems or hydraulic is None or power is None:
        return None, "; ".join(problems)
    t_div = hydraulic.get("temperature_divisor", RECTANGULAR)
    t_all = hydraulic.get("temperature_k")
    try:
        accuracies = Accuracies(
            u_t_in_k=hydraulic.get("temperature_in_k", t_all) / t_div,  # type: ignore[operator]
            u_t_out_k=hydraulic.get("temperature_out_k", t_all) / t_div,  # type: ignore[operator]
            r_t=hydraulic.get("temperature_correlation", 0.0),
            flow_pct_reading=hydraulic["flow_pct"],
            flow_divisor=hydraulic.get("flow_divisor", RECTANGULAR),
            power_pct_reading=power["reading_pct"],
            power_pct_range=power.get("range_pct", 0.0),
            power_range_w=power.get("range_w", 0.0),
            power_divisor=power.get("divisor", RECTANGULAR),
            rho_cp_pct=hydraulic.get("rho_cp_pct", 0.0),
            u_t_drift_k=hydraulic.get("temperature_drift_k", 0.0) / RECTANGULAR,
            u_flow_drift_rel=hydraulic.get("flow_drift_pct", 0.0) / 100.0 / RECTANGULAR,
            u_power_drift_rel=power.get("drift_pct", 0.0) / 100.0 / RECTANGULAR,
            **_station_terms(station),
            sources=_sources(station, hydraulic, power),
        )
    except (ValueError, ZeroDivisionError) as exc:
        return None, f"station accuracies: {exc}"
    return accuracies, ""


def _station_terms(station: Station) -> dict[str, float]:
    """The `[uncertainty]` table as standard uncertainties and coefficients (fractions)."""
    u = station.uncertainty
    if u is None:
        return {}
    out: dict[str, float] = {}
    if u.heat_loss_w:
        out["u_heat_loss_w"] = u.heat_loss_w.standard
    if u.rho_pct:
        out["u_rho_rel"] = u.rho_pct.standard / 100.0
    if u.cp_pct:
        out["u_cp_rel"] = u.cp_pct.standard / 100.0
    for key, name in (
        ("phi_per_k_outlet", "capacity_per_k_outlet_pct"),
        ("phi_per_k_air", "capacity_per_k_air_pct"),
        ("p_per_k_outlet", "power_per_k_outlet_pct"),
        ("p_per_k_air", "power_per_k_air_pct"),
    ):
        limit = getattr(u, name)
        if limit is not None:
            out[key] = abs(limit.value) / 100.0
    return out


def _sources(
    station: Station, hydraulic: dict[str, float], power: dict[str, float]
) -> dict[str, str]:
    """Where each budget row's number comes from: the station key, and the instrument's
    serial, calibration certificate and accuracy source."""

    def who(role: str) -> str:
        e = station.instruments[role]
        parts = [f"{role} {e.serial}".strip()]
        if e.calibration_certificate:
            parts.append(f"certificate {e.calibration_certificate}")
        if e.accuracy_source:
            parts.append(e.accuracy_source)
        return ", ".join(parts)

    hm, pa = who("hydraulic_module"), who("power_analyser")
    t_div = hydraulic.get("temperature_divisor", RECTANGULAR)
    out = {
        "temperature": f"{hm}: temperature_k ±{hydraulic.get('temperature_k')} K ÷ {t_div:.3g}",
        "temperature_correlation": f"{hm}: temperature_correlation",
        "temperature_drift": f"{hm}: temperature_drift_k, rectangular",
        "flow": f"{hm}: flow_pct ±{hydraulic.get('flow_pct')} % of reading",
        "flow_drift": f"{hm}: flow_drift_pct, rectangular",
        "rho_cp": f"{hm}: rho_cp_pct",
        "power_reading": f"{pa}: reading_pct ±{power.get('reading_pct')} % of reading",
        "power_range": (
            f"{pa}: range_pct ±{power.get('range_pct', 0)} % of the range range_w = "
            f"{power.get('range_w', 0):g} W: the station's declared range (used where the "
            "analyser reported none; a point's read-back range replaces it)"
        ),
        "power_drift": f"{pa}: drift_pct, rectangular",
    }
    u = station.uncertainty
    if u is not None:
        for key, name in (
            ("heat_loss", "heat_loss_w"),
            ("rho", "rho_pct"),
            ("cp", "cp_pct"),
            ("phi_per_k_outlet", "capacity_per_k_outlet_pct"),
            ("phi_per_k_air", "capacity_per_k_air_pct"),
            ("p_per_k_outlet", "power_per_k_outlet_pct"),
            ("p_per_k_air", "power_per_k_air_pct"),
        ):
            limit = getattr(u, name)
            if limit is not None:
                out[key] = f"station uncertainty.{name} = {limit.value:g}: {limit.source}"
    return out


def _accuracy(
    station: Station, role: str, allowed: frozenset[str], problems: list[str]
) -> dict[str, float] | None:
    entry = station.instruments.get(role)
    if entry is None:
        problems.append(f"the station has no {role}")
        return None
    unknown = sorted(set(entry.accuracy) - allowed)
    if unknown:
        problems.append(
            f"{role} accuracy: unknown keys {', '.join(unknown)} "
            f"(known: {', '.join(sorted(allowed))})"
        )
        return None
    if not entry.accuracy:
        problems.append(f"{role} has no accuracy in the station file")
        return None
    return dict(entry.accuracy)


def accuracy_summary(acc: Accuracies) -> dict[str, float]:
    """The standard uncertainties and limits the propagation used, for the result file."""
    return {
        "u_t_in_k": acc.u_t_in_k,
        "u_t_out_k": acc.u_t_out_k,
        "r_t": acc.r_t,
        "flow_pct_reading": acc.flow_pct_reading,
        "flow_divisor": acc.flow_divisor,
        "power_pct_reading": acc.power_pct_reading,
        "power_pct_range": acc.power_pct_range,
        "power_range_w": acc.power_range_w,
        "power_divisor": acc.power_divisor,
        "rho_cp_pct": acc.rho_cp_pct,
        "u_t_drift_k": acc.u_t_drift_k,
        "u_flow_drift_rel": acc.u_flow_drift_rel,
        "u_power_drift_rel": acc.u_power_drift_rel,
        "u_rho_rel": acc.u_rho_rel,
        "u_cp_rel": acc.u_cp_rel,
        "u_heat_loss_w": acc.u_heat_loss_w,
        "phi_per_k_outlet": acc.phi_per_k_outlet,
        "phi_per_k_air": acc.phi_per_k_air,
        "p_per_k_outlet": acc.p_per_k_outlet,
        "p_per_k_air": acc.p_per_k_air,
    }


@dataclass(frozen=True)
class Tagged:
    value: float
    source: str


@dataclass(frozen=True)
class En14825Defaults:
    """Values the SCOP block uses when the plan does not give them: each with its source."""

    name: str
    version: str
    cdh: Tagged


@cache
def en14825_defaults() -> En14825Defaults:
    """The shipped `bench/export/en14825_defaults.toml` (a settings file, not constants)."""
    text = resources.files("bench.export").joinpath(DEFAULTS_RESOURCE).read_text("utf-8")
    raw = tomllib.loads(text)

    def tagged(item: dict[str, Any]) -> Tagged:
        return Tagged(float(item["value"]), str(item["source"]))

    return En14825Defaults(
        name=str(raw["name"]),
        version=str(raw["version"]),
        cdh=tagged(raw["cdh"]),
    )
