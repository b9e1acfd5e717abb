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

Each key is read from the instrument behind its input (`bench.metrology.parts.Sensors`; the
four-role station: the hydraulic module and the power analyser above): the temperature keys
from the instrument(s) behind the inlet and outlet (`temperature_in_k` from the inlet's,
`temperature_out_k` from the outlet's; a correlation only for a pair on one instrument; the
larger drift of two), the flow keys and `rho_cp_pct` from the flow instrument, the power keys
from each power part's analyser (`range_w`: the range of one part on it).

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

from bench.metrology.parts import FOUR_ROLES, PartAccuracy, PowerPart, Sensors
from bench.metrology.station_uncertainty import StationUncertainty
from bench.metrology.uncertainty import Accuracies

COVERAGE_K = 2.0  # expanded uncertainty U = k·u (issue 4: k = 2)
RECTANGULAR = math.sqrt(3.0)
TEMPERATURE_KEYS = frozenset(
    {
        "temperature_k",
        "temperature_in_k",
        "temperature_out_k",
        "temperature_divisor",
        "temperature_correlation",
        "temperature_drift_k",
    }
)
FLOW_KEYS = frozenset({"flow_pct", "flow_divisor", "rho_cp_pct", "flow_drift_pct"})
HYDRAULIC_KEYS = TEMPERATURE_KEYS | FLOW_KEYS
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
    instruments: Mapping[str, Traced],
    uncertainty: StationUncertainty | None,
    sensors: Sensors = FOUR_ROLES,
) -> tuple[Accuracies | None, str]:
    """The GUM inputs from the accuracy keys of the instruments behind each input (`sensors`)
    and the station's `[uncertainty]`, or None and the reason."""
    problems: list[str] = []
    allowed: dict[str, frozenset[str]] = {}
    for name, keys in (
        (sensors.inlet, TEMPERATURE_KEYS),
        (sensors.outlet, TEMPERATURE_KEYS),
        (sensors.flow, FLOW_KEYS),
        *((part.instrument, POWER_KEYS) for part in sensors.power),
    ):
        allowed[name] = allowed.get(name, frozenset()) | keys
    given = {name: _accuracy(instruments, name, keys, problems) for name, keys in allowed.items()}
    t_in, t_out, flow = given[sensors.inlet], given[sensors.outlet], given[sensors.flow]
    if flow is not None and "flow_pct" not in flow:
        problems.append(f"{sensors.flow} accuracy has no flow_pct")
    own = (("temperature_in_k", sensors.inlet), ("temperature_out_k", sensors.outlet))
    for name in dict.fromkeys((sensors.inlet, sensors.outlet)):
        found = given[name]
        each = [k for k, n in own if n == name and found is not None and k not in found]
        if found is not None and each and "temperature_k" not in found:
            problems.append(f"{name} accuracy has no temperature_k (nor {each[0]})")
    split = sensors.inlet != sensors.outlet
    if split and any(k is not None and "temperature_correlation" in k for k in (t_in, t_out)):
        problems.append(
            f"temperature_correlation needs both water temperature sensors on one instrument "
            f"(inlet on {sensors.inlet}, outlet on {sensors.outlet})"
        )
    for name in dict.fromkeys(part.instrument for part in sensors.power):
        power = given[name]
        if power is None:
            continue
        if "reading_pct" not in power:
            problems.append(f"{name} accuracy has no reading_pct")
        if power.get("range_pct", 0.0) and "range_w" not in power:
            problems.append(
                f"{name} accuracy has range_pct but no range_w (the range in W it "
                "is a percentage of)"
            )
    if problems or any(v is None for v in given.values()):
        return None, "; ".join(problems)
    assert t_in is not None and t_out is not None and flow is not None
    try:
        accuracies = Accuracies(
            u_t_in_k=_limit(t_in, "temperature_in_k") / _t_div(t_in),
            u_t_out_k=_limit(t_out, "temperature_out_k") / _t_div(t_out),
            r_t=t_in.get("temperature_correlation", 0.0),
            flow_pct_reading=flow["flow_pct"],
            flow_divisor=flow.get("flow_divisor", RECTANGULAR),
            power_parts=tuple(_part(instruments, given, p, sensors) for p in sensors.power),
            rho_cp_pct=flow.get("rho_cp_pct", 0.0),
            u_t_drift_k=max(k.get("temperature_drift_k", 0.0) for k in (t_in, t_out)) / RECTANGULAR,
            u_flow_drift_rel=flow.get("flow_drift_pct", 0.0) / 100.0 / RECTANGULAR,
            **_station_terms(uncertainty),
            sources=_sources(instruments, uncertainty, sensors, given),
        )
    except (ValueError, ZeroDivisionError) as exc:
        return None, f"station accuracies: {exc}"
    return accuracies, ""


def _limit(keys: Mapping[str, float], own: str) -> float:
    """The sensor's own limit, else the common `temperature_k` (one of them is there)."""
    return keys[own] if own in keys else keys["temperature_k"]


def _t_div(keys: Mapping[str, float]) -> float:
    return keys.get("temperature_divisor", RECTANGULAR)


def _part(
    instruments: Mapping[str, Traced],
    given: Mapping[str, dict[str, float] | None],
    part: PowerPart,
    sensors: Sensors,
) -> PartAccuracy:
    """A power part's analyser limits; its budget rows name the part when there are several."""
    power = given[part.instrument]
    assert power is not None
    pa = _who(instruments, part.instrument)
    return PartAccuracy(
        instrument=part.instrument,
        label=part.label if len(sensors.power) > 1 else "",
        pct_reading=power["reading_pct"],
        pct_range=power.get("range_pct", 0.0),
        range_w=power.get("range_w", 0.0),
        divisor=power.get("divisor", RECTANGULAR),
        u_drift_rel=power.get("drift_pct", 0.0) / 100.0 / RECTANGULAR,
        sources={
            "power_reading": f"{pa}: reading_pct ±{power.get('reading_pct')} % of reading",
            "power_range": (
                f"{pa}: range_pct ±{power.get('range_pct', 0)} % of the range range_w = "
                f"{power.get('range_w', 0):g} W: the station's declared range (used where the "
                "analyser reported none; a point's read-back range replaces it)"
            ),
            "power_drift": f"{pa}: drift_pct, rectangular",
        },
    )


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
    sensors: Sensors,
    given: Mapping[str, dict[str, float] | None],
) -> dict[str, str]:
    """Where each budget row's number comes from: the station key, and the instrument's
    serial, calibration certificate and accuracy source."""

    def temperature(name: str) -> str:
        keys = given[name] or {}
        return (
            f"{_who(instruments, name)}: temperature_k ±{keys.get('temperature_k')} K "
            f"÷ {_t_div(keys):.3g}"
        )

    thermo = "; ".join(temperature(n) for n in dict.fromkeys((sensors.inlet, sensors.outlet)))
    hm = "; ".join(_who(instruments, n) for n in dict.fromkeys((sensors.inlet, sensors.outlet)))
    fm = _who(instruments, sensors.flow)
    flow = given[sensors.flow] or {}
    out = {
        "temperature": thermo,
        "temperature_correlation": f"{hm}: temperature_correlation",
        "temperature_drift": f"{hm}: temperature_drift_k, rectangular",
        "flow": f"{fm}: flow_pct ±{flow.get('flow_pct')} % of reading",
        "flow_drift": f"{fm}: flow_drift_pct, rectangular",
        "rho_cp": f"{fm}: rho_cp_pct",
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


def _who(instruments: Mapping[str, Traced], name: str) -> str:
    e = instruments[name]
    parts = [f"{name} {e.serial}".strip()]
    if e.calibration_certificate:
        parts.append(f"certificate {e.calibration_certificate}")
    if e.accuracy_source:
        parts.append(e.accuracy_source)
    return ", ".join(parts)


def _accuracy(
    instruments: Mapping[str, Traced], role: str, allowed: frozenset[str], problems: list[str]
) -> dict[str, float] | None:
    """The instrument's accuracy keys, or None with the problem (absent, unknown keys, none)."""
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
