"""The GUM inputs of a station: its instruments' accuracy keys and its `[uncertainty]` table.

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
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

from bench.metrology.station_uncertainty import StationUncertainty
from bench.metrology.uncertainty import Accuracies

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
# budget coefficient <- `[uncertainty]` key: the result's sensitivity to the conditions, %/K
SENSITIVITIES = (
    ("phi_per_k_outlet", "capacity_per_k_outlet_pct"),
    ("phi_per_k_air", "capacity_per_k_air_pct"),
    ("p_per_k_outlet", "power_per_k_outlet_pct"),
    ("p_per_k_air", "power_per_k_air_pct"),
)


class Traced(Protocol):
    """A station's instrument entry, as far as the budget names and reads it."""

    @property
    def serial(self) -> str: ...
    @property
    def calibration_certificate(self) -> str: ...
    @property
    def accuracy_source(self) -> str: ...
    @property
    def accuracy(self) -> Mapping[str, float]: ...


def accuracies_of(
    instruments: Mapping[str, Traced], uncertainty: StationUncertainty | None
) -> tuple[Accuracies | None, str]:
    """The GUM inputs from the instruments' accuracy keys and the station's `[uncertainty]`,
    or None and the reason."""
    problems: list[str] = []
    hydraulic = _accuracy(instruments, "hydraulic_module", HYDRAULIC_KEYS, problems)
    power = _accuracy(instruments, "power_analyser", POWER_KEYS, problems)
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
            **_station_terms(uncertainty),
            sources=_sources(instruments, uncertainty, hydraulic, power),
        )
    except (ValueError, ZeroDivisionError) as exc:
        return None, f"station accuracies: {exc}"
    return accuracies, ""


def _station_terms(u: StationUncertainty | None) -> dict[str, float]:
    """The `[uncertainty]` table as standard uncertainties and coefficients (fractions)."""
    if u is None:
        return {}
    out: dict[str, float] = {}
    if u.heat_loss_w:
        out["u_heat_loss_w"] = u.heat_loss_w.standard
    if u.rho_pct:
        out["u_rho_rel"] = u.rho_pct.standard / 100.0
    if u.cp_pct:
        out["u_cp_rel"] = u.cp_pct.standard / 100.0
    for key, name in SENSITIVITIES:
        limit = getattr(u, name)
        if limit is not None:
            out[key] = abs(limit.value) / 100.0
    return out


def _sources(
    instruments: Mapping[str, Traced],
    u: StationUncertainty | None,
    hydraulic: dict[str, float],
    power: dict[str, float],
) -> dict[str, str]:
    """Where each budget row's number comes from: the station key, and the instrument's
    serial, calibration certificate and accuracy source."""

    def who(role: str) -> str:
        e = instruments[role]
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
    if u is not None:
        for key, name in (
            ("heat_loss", "heat_loss_w"),
            ("rho", "rho_pct"),
            ("cp", "cp_pct"),
            *SENSITIVITIES,
        ):
            limit = getattr(u, name)
            if limit is not None:
                out[key] = f"station uncertainty.{name} = {limit.value:g}: {limit.source}"
    return out


def _accuracy(
    instruments: Mapping[str, Traced], role: str, allowed: frozenset[str], problems: list[str]
) -> dict[str, float] | None:
    entry = instruments.get(role)
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
