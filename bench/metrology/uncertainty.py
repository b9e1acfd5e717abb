"""GUM propagation of the uncertainty of Φh, P_E and COP at one point (docs/standards.md §3).

Model (first-order GUM, JCGM 100 §5; CEN ISO/TS 16491 is the guide for these tests [R title]):

    Φh  = qV·ρ(t_meter)·cp(t_mean)·ΔT,     ΔT = t_out − t_in
    P_E = P + C_pump                        (C_pump = ∓q·Δp/η, a convention [U]: exact here)
    COP = Φh / P_E

Sensitivities, analytic, with ρ and cp held at their values (their temperature dependence
changes ∂Φ/∂t by < 0.2 % at ΔT = 5 K and is neglected):

    ∂Φ/∂qV = ρ·cp·ΔT          ∂Φ/∂t_out = −∂Φ/∂t_in = qV·ρ·cp
    ∂COP/∂Φ = 1/P_E           ∂COP/∂P_E = −Φ/P_E²

Standard uncertainties of the inputs (Type B from the station's accuracies, Type A the
standard deviation of the mean over the collection period, added in quadrature):

    u²(ΔT) = u_in² + u_out² − 2·r·u_in·u_out + s̄²(ΔT)
        u_in, u_out: sensor standard uncertainties; r: correlation of their *errors* (0 for
        independently calibrated sensors, towards 1 for a pair calibrated together against the
        same reference, whose common error then cancels in ΔT).
        s̄(ΔT): from a series, the deviation of the mean of the per-sample differences, which
        carries the correlation of inlet and outlet fluctuations; from means only,
        s̄²(ΔT) = s̄²(t_in) + s̄²(t_out) (fluctuations taken as independent).
    u²(qV) = (a_q·qV / d_q)² + s̄²(qV)              a_q: fraction of reading
    u²(P)  = ((a_rd·P + a_rg·R) / d_P)² + s̄²(P)      reading and range terms add linearly:
                                                    they are one maker's limit
        P a sum of parts (bench.metrology.parts, decision 0281): each part's terms from its
        own analyser at its own mean and range; parts on one analyser add linearly, the
        analysers in quadrature (GUM 5.2 with r = 1, and 5.1 with r = 0).
    u(ρ·cp)/(ρ·cp) = w  (formulation uncertainty, optional, 0 neglects it)

    u²(Φ)   = (∂Φ/∂qV)²·u²(qV) + (∂Φ/∂t)²·u²(ΔT) + (w·Φ)²
    u(P_E)  = u(P)
    u²(COP)/COP² = u²(Φ)/Φ² + u²(P_E)/P_E²

The divisors d convert a maker's ± limit to a standard uncertainty: √3 for a rectangular
limit (GUM 4.3.7), 2 for a k = 2 certificate, 1 if already standard. Φ and P_E come from
independent instruments, so their Type B errors are uncorrelated; the covariance of their
scatter is neglected, which overstates u(COP) when both follow the compressor's modulation.
Type A uses the effective number of samples of an autocorrelated series,
n_eff = n·(1 − r₁)/(1 + r₁) with r₁ the lag-1 autocorrelation (AR(1) model; Bayley &
Hammersley 1946, J. R. Stat. Soc. Suppl. 8:184; Zhang 2006, Metrologia 43 S276), never more
than n: s̄ = s/√n_eff. Readings every 5 s of a slowly swinging loop are far from independent.

The full budget (issue 13, `budget`) adds to the terms above, each as its own row:
    calibration certificate U/k and drift (rectangular) per temperature sensor, the pair's
    correlation as a signed row (−2·r·c²·u_in·u_out, GUM eq. 16), certificate and drift of the
    flow meter, ρ and cp from their formulation's stated uncertainty, the heat loss of the test
    section (station value, rectangular), and the effect of the conditions' mean deviations
    from set (outlet water, air): c·|d|/√3 with c the capacity's (power's) sensitivity per K,
    a station value, as the result is stated at the set conditions without correction.
    Power: reading and range terms of the analyser, its drift, Type A.
u² = Σ sign·contribution² over the rows; every row but the correlation is positive.
Expanded uncertainty U = k·u, k = 2 by default (≈95 % for a normal output).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.metrology import water
from bench.metrology.capacity import MeterPosition, PumpCorrection, steady_point
from bench.metrology.parts import PartAccuracy

_S_PER_H = 3600.0
_RECTANGULAR = math.sqrt(3.0)


@dataclass(frozen=True, kw_only=True)
class Accuracies:
    """Instrument accuracies of a station, as its file gives them.

    Temperatures are standard uncertainties in K; flow and power are ± limits in percent,
    turned into standard uncertainties by their divisor.
    """

    u_t_in_k: float
    u_t_out_k: float
    r_t: float = 0.0
    flow_pct_reading: float
    flow_divisor: float = _RECTANGULAR
    # the analyser behind each power part, in `Sensors.power` order (bench.metrology.parts)
    power_parts: tuple[PartAccuracy, ...]
    rho_cp_pct: float = 0.0
    # issue 13: the complete budget; all standard uncertainties (already divided), 0 = not given
    u_t_drift_k: float = 0.0  # each temperature sensor's drift since calibration, K
    u_flow_drift_rel: float = 0.0  # flow meter drift, fraction of reading
    u_rho_rel: float = 0.0  # density formulation, fraction
    u_cp_rel: float = 0.0  # isobaric heat capacity formulation, fraction
    u_heat_loss_w: float = 0.0  # heat exchanged by the test section with the room, W
    phi_per_k_outlet: float = 0.0  # capacity sensitivity to the outlet temperature, 1/K
    phi_per_k_air: float = 0.0  # capacity sensitivity to the air temperature, 1/K
    p_per_k_outlet: float = 0.0  # power sensitivity to the outlet temperature, 1/K
    p_per_k_air: float = 0.0  # power sensitivity to the air temperature, 1/K
    sources: Mapping[str, str] = field(default_factory=dict)  # budget row -> where from

    def __post_init__(self) -> None:
        for name in (
            "u_t_in_k",
            "u_t_out_k",
            "flow_pct_reading",
            "rho_cp_pct",
            "u_t_drift_k",
            "u_flow_drift_rel",
            "u_rho_rel",
            "u_cp_rel",
            "u_heat_loss_w",
            "phi_per_k_outlet",
            "phi_per_k_air",
            "p_per_k_outlet",
            "p_per_k_air",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} = {value!r} must be a non-negative number")
        if not -1.0 <= self.r_t <= 1.0:
            raise ValueError(f"r_t = {self.r_t!r} must be a correlation coefficient in [-1, 1]")
        if not self.flow_divisor > 0:
            raise ValueError(f"flow_divisor = {self.flow_divisor!r} must be positive")
        if not self.power_parts:
            raise ValueError("power_parts: the power needs the accuracy of at least one part")


@dataclass(frozen=True, kw_only=True)
class PointStats:
    """Means of a collection period and the standard deviations of those means (s/√n)."""

    t_in_c: float
    t_out_c: float
    qv_m3h: float
    p_w: float
    s_t_in: float = 0.0
    s_t_out: float = 0.0
    s_qv: float = 0.0
    s_p: float = 0.0
    s_dt: float | None = None
    """Deviation of the mean of ΔT itself; None: combine s_t_in and s_t_out as independent."""
    n: int = 0  # samples (0: given as means only)
    n_eff: Mapping[str, float] = field(default_factory=dict)  # series -> effective samples
    dev_outlet_k: float = 0.0  # mean deviation of the outlet from its set value, K
    dev_air_k: float = 0.0  # mean deviation of the air dry bulb from its set value, K
    p_parts_w: tuple[float, ...] = ()  # each power part's mean; () = p_w is the one part

    @property
    def s_delta_t(self) -> float:
        if self.s_dt is not None:
            return self.s_dt
        return math.hypot(self.s_t_in, self.s_t_out)

    @classmethod
    def from_series(
        cls,
        t_in_c: Sequence[float],
        t_out_c: Sequence[float],
        qv_m3h: Sequence[float],
        p_w: Sequence[float],
    ) -> PointStats:
        """Means and deviations of the mean from the samples of the collection period."""
        n = len(t_in_c)
        if n < 2:
            raise ValueError(f"need at least two samples for a standard deviation, got {n}")
        for name, seq in (("t_out_c", t_out_c), ("qv_m3h", qv_m3h), ("p_w", p_w)):
            if len(seq) != n:
                raise ValueError(f"{name} has {len(seq)} samples, t_in_c has {n}")
        dt = [b - a for a, b in zip(t_in_c, t_out_c, strict=True)]
        series = {"t_in": t_in_c, "t_out": t_out_c, "qv": qv_m3h, "p": p_w, "dt": dt}
        n_eff = {name: effective_samples(values) for name, values in series.items()}
        return cls(
            t_in_c=statistics.fmean(t_in_c),
            t_out_c=statistics.fmean(t_out_c),
            qv_m3h=statistics.fmean(qv_m3h),
            p_w=statistics.fmean(p_w),
            s_t_in=_sdm(t_in_c, n_eff["t_in"]),
            s_t_out=_sdm(t_out_c, n_eff["t_out"]),
            s_qv=_sdm(qv_m3h, n_eff["qv"]),
            s_p=_sdm(p_w, n_eff["p"]),
            s_dt=_sdm(dt, n_eff["dt"]),
            n=n,
            n_eff=n_eff,
        )


@dataclass(frozen=True)
class Estimate:
    """A value with its combined standard uncertainty u and coverage factor k."""

    value: float
    u: float
    k: float

    @property
    def expanded(self) -> float:
        """Expanded uncertainty U = k·u."""
        return self.k * self.u

    @property
    def u_rel(self) -> float:
        """Relative standard uncertainty u/|value| (inf for a zero value with u > 0)."""
        if self.value == 0:
            return 0.0 if self.u == 0 else math.inf
        return self.u / abs(self.value)


@dataclass(frozen=True)
class Contribution:
    """One row of an uncertainty budget (GUM): the input, its standard uncertainty, the
    sensitivity coefficient and the resulting contribution |c|·u in the output's unit (signed
    negative only for the correlation of the ΔT pair: u² = Σ sign·contribution²)."""

    name: str
    type: str  # "A" | "B"
    value: float | None  # the input's estimate
    value_unit: str
    u: float
    u_unit: str
    divisor: float | None
    sensitivity: float
    sensitivity_unit: str
    contribution: float
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "value": self.value,
            "value_unit": self.value_unit,
            "u": self.u,
            "u_unit": self.u_unit,
            "divisor": self.divisor,
            "sensitivity": self.sensitivity,
            "sensitivity_unit": self.sensitivity_unit,
            "contribution": self.contribution,
            "source": self.source,
        }


def combine(rows: Iterable[Contribution]) -> float:
    """u from a budget: √(Σ sign·contribution²)."""
    total = math.fsum(math.copysign(r.contribution**2, r.contribution) for r in rows)
    return math.sqrt(max(0.0, total))


@dataclass(frozen=True)
class PointUncertainty:
    """Φh, P (raw), P_E and COP (raw and effective) with their uncertainty budgets.

    ``budget_phi_w`` and ``budget_p_w`` give each contribution |c_i|·u_i (standard, W); their
    root sum of squares is u.
    """

    phi_w: Estimate
    p_raw_w: Estimate
    p_e_w: Estimate
    cop_raw: Estimate
    cop: Estimate
    budget_phi_w: dict[str, float] = field(default_factory=dict)
    budget_p_w: dict[str, float] = field(default_factory=dict)
    rows_phi: tuple[Contribution, ...] = ()
    rows_p: tuple[Contribution, ...] = ()


def point_uncertainty(
    stats: PointStats,
    acc: Accuracies,
    *,
    p_pa: float,
    meter: MeterPosition,
    dp_pa: float = 0.0,
    pump: PumpCorrection | None = None,
    k: float = 2.0,
) -> PointUncertainty:
    """Combined and expanded uncertainty of Φh, P_E and COP (model in the module docstring)."""
    if not k > 0:
        raise ValueError(f"coverage factor k = {k!r} must be positive")
    point = steady_point(
        stats.qv_m3h,
        stats.t_in_c,
        stats.t_out_c,
        stats.p_w,
        p_pa=p_pa,
        meter=meter,
        dp_pa=dp_pa,
        pump=pump,
    )
    t_meter = stats.t_in_c if meter == "inlet" else stats.t_out_c
    rho = water.density(t_meter, p_pa)
    cp = water.specific_heat((stats.t_in_c + stats.t_out_c) / 2.0, p_pa)
    rho_cp = rho * cp
    delta_t = stats.t_out_c - stats.t_in_c
    c_q = rho_cp * delta_t / _S_PER_H  # W per m³/h
    c_t = stats.qv_m3h / _S_PER_H * rho_cp  # W per K
    phi_w = point.phi_w
    rows_phi = _capacity_rows(stats, acc, c_t, c_q, rho, cp, delta_t, phi_w)
    rows_p = _power_rows(stats, acc)
    # the 1.0 summary by kind (every term of the full budget is in one of them)
    budget_phi = {
        "temperature sensors": combine(
            r for r in rows_phi if r.name.startswith(("t_in", "t_out", "ΔT pair"))
        ),
        "delta T scatter": abs(c_t) * stats.s_delta_t,
        "flow meter": combine(r for r in rows_phi if r.name.startswith("flow meter")),
        "flow scatter": abs(c_q) * stats.s_qv,
        "water properties": combine(
            r for r in rows_phi if r.name.startswith(("water properties", "ρ", "cp"))
        ),
        "heat loss and conditions": combine(
            r for r in rows_phi if r.name.startswith(("heat loss", "condition"))
        ),
    }
    budget_p = {
        "power analyser": combine(r for r in rows_p if r.type == "B"),
        "power scatter": stats.s_p,
    }
    u_phi = combine(rows_phi)
    u_p = combine(rows_p)
    phi = Estimate(point.phi_w, u_phi, k)
    p_raw = Estimate(point.power.raw_w, u_p, k)
    p_e = Estimate(point.power.effective_w, u_p, k)
    return PointUncertainty(
        phi_w=phi,
        p_raw_w=p_raw,
        p_e_w=p_e,
        cop_raw=_ratio(phi, p_raw, k),
        cop=_ratio(phi, p_e, k),
        budget_phi_w=budget_phi,
        budget_p_w=budget_p,
        rows_phi=tuple(rows_phi),
        rows_p=tuple(rows_p),
    )


def _capacity_rows(
    stats: PointStats,
    acc: Accuracies,
    c_t: float,
    c_q: float,
    rho: float,
    cp: float,
    delta_t: float,
    phi_w: float,
) -> list[Contribution]:
    src = acc.sources.get
    per_k = "W/K"
    rows = [
        Contribution(
            "t_in sensor",
            "B",
            stats.t_in_c,
            "°C",
            acc.u_t_in_k,
            "K",
            None,
            -c_t,
            per_k,
            abs(c_t) * acc.u_t_in_k,
            src("temperature", "station accuracy"),
        ),
        Contribution(
            "t_out sensor",
            "B",
            stats.t_out_c,
            "°C",
            acc.u_t_out_k,
            "K",
            None,
            c_t,
            per_k,
            abs(c_t) * acc.u_t_out_k,
            src("temperature", "station accuracy"),
        ),
    ]
    # the pair's correlation is always a row (0 when the sensors are calibrated separately)
    cov = 2.0 * acc.r_t * acc.u_t_in_k * acc.u_t_out_k * c_t * c_t
    rows.append(
        Contribution(
            f"ΔT pair correlation (r = {acc.r_t:g})",
            "B",
            acc.r_t,
            "1",
            acc.r_t,
            "1",
            None,
            c_t,
            per_k,
            -math.copysign(math.sqrt(abs(cov)), cov),
            src("temperature_correlation", "station accuracy temperature_correlation"),
        )
    )
    if acc.u_t_drift_k:
        for name, value in (("t_in drift", stats.t_in_c), ("t_out drift", stats.t_out_c)):
            rows.append(
                Contribution(
                    name,
                    "B",
                    value,
                    "°C",
                    acc.u_t_drift_k,
                    "K",
                    math.sqrt(3.0),
                    c_t,
                    per_k,
                    abs(c_t) * acc.u_t_drift_k,
                    src("temperature_drift", "station accuracy"),
                )
            )
    u_flow = acc.flow_pct_reading / 100.0 * abs(stats.qv_m3h) / acc.flow_divisor
    rows.append(
        Contribution(
            "flow meter",
            "B",
            stats.qv_m3h,
            "m³/h",
            u_flow,
            "m³/h",
            acc.flow_divisor,
            c_q,
            "W per m³/h",
            abs(c_q) * u_flow,
            src("flow", "station accuracy flow_pct"),
        )
    )
    if acc.u_flow_drift_rel:
        u = acc.u_flow_drift_rel * abs(stats.qv_m3h)
        rows.append(
            Contribution(
                "flow meter drift",
                "B",
                stats.qv_m3h,
                "m³/h",
                u,
                "m³/h",
                math.sqrt(3.0),
                c_q,
                "W per m³/h",
                abs(c_q) * u,
                src("flow_drift", "station accuracy"),
            )
        )
    if acc.rho_cp_pct:
        rows.append(
            Contribution(
                "water properties ρ·cp",
                "B",
                rho * cp,
                "J/(m³·K)",
                acc.rho_cp_pct / 100.0 * rho * cp,
                "J/(m³·K)",
                None,
                phi_w / (rho * cp),
                "W per J/(m³·K)",
                acc.rho_cp_pct / 100.0 * abs(phi_w),
                src("rho_cp", "station accuracy rho_cp_pct"),
            )
        )
    if acc.u_rho_rel:
        rows.append(
            Contribution(
                "ρ (IAPWS-IF97)",
                "B",
                rho,
                "kg/m³",
                acc.u_rho_rel * rho,
                "kg/m³",
                None,
                phi_w / rho,
                "W per kg/m³",
                acc.u_rho_rel * abs(phi_w),
                src("rho", ""),
            )
        )
    if acc.u_cp_rel:
        rows.append(
            Contribution(
                "cp (IAPWS-IF97)",
                "B",
                cp,
                "J/(kg·K)",
                acc.u_cp_rel * cp,
                "J/(kg·K)",
                None,
                phi_w / cp,
                "W per J/(kg·K)",
                acc.u_cp_rel * abs(phi_w),
                src("cp", ""),
            )
        )
    if acc.u_heat_loss_w:
        rows.append(
            Contribution(
                "heat loss of the test section",
                "B",
                0.0,
                "W",
                acc.u_heat_loss_w,
                "W",
                math.sqrt(3.0),
                1.0,
                "1",
                acc.u_heat_loss_w,
                src("heat_loss", ""),
            )
        )
    rows += _condition_rows(
        stats,
        output_w=phi_w,
        per_k=(acc.phi_per_k_outlet, acc.phi_per_k_air),
        sources=acc.sources,
        keys=("phi_per_k_outlet", "phi_per_k_air"),
    )
    n_dt, n_q = stats.n_eff.get("dt"), stats.n_eff.get("qv")
    rows += [
        Contribution(
            "ΔT scatter (Type A)",
            "A",
            delta_t,
            "K",
            stats.s_delta_t,
            "K",
            None,
            c_t,
            per_k,
            abs(c_t) * stats.s_delta_t,
            _type_a_source(stats.n, n_dt),
        ),
        Contribution(
            "flow scatter (Type A)",
            "A",
            stats.qv_m3h,
            "m³/h",
            stats.s_qv,
            "m³/h",
            None,
            c_q,
            "W per m³/h",
            abs(c_q) * stats.s_qv,
            _type_a_source(stats.n, n_q),
        ),
    ]
    return rows


def _power_rows(stats: PointStats, acc: Accuracies) -> list[Contribution]:
    p = stats.p_w
    means = stats.p_parts_w or (p,)
    if len(means) != len(acc.power_parts):
        raise ValueError(f"{len(means)} power part means for {len(acc.power_parts)} parts")
    limits, drifts = power_type_b_rows(acc.power_parts, means)
    rows = limits + drifts
    rows += _condition_rows(
        stats,
        output_w=p,
        per_k=(acc.p_per_k_outlet, acc.p_per_k_air),
        sources=acc.sources,
        keys=("p_per_k_outlet", "p_per_k_air"),
    )
    rows.append(
        Contribution(
            "power scatter (Type A)",
            "A",
            p,
            "W",
            stats.s_p,
            "W",
            None,
            1.0,
            "1",
            stats.s_p,
            _type_a_source(stats.n, stats.n_eff.get("p")),
        )
    )
    return rows


def power_type_b_rows(
    parts: Sequence[PartAccuracy], means_w: Sequence[float]
) -> tuple[list[Contribution], list[Contribution]]:
    """The analysers' budget rows: (reading and range rows, drift rows).

    Within one analyser the terms add linearly: each row's contribution is √(S_k² − S_(k−1)²)
    with S_k the running linear sum, so the rows' squares sum to the linear sum's square and
    the budget stays a root sum of squares; across analysers the rows simply add in squares."""
    limit_rows: list[Contribution] = []
    drift_rows: list[Contribution] = []
    for group in _by_instrument(parts, means_w):
        limits: list[tuple[str, float | None, float, float, str]] = []
        drifts: list[tuple[str, float | None, float, float, str]] = []
        for acc, mean in group:
            reading, range_u, drift = acc.terms(mean)
            name = f"power analyser {acc.label}" if acc.label else "power analyser"
            src = acc.sources.get
            range_src = src("power_range", "station accuracy range_pct, range_w")
            limits += [
                (f"{name}, % of reading", mean, reading, acc.divisor,
                 src("power_reading", "station accuracy reading_pct")),
                (f"{name}, % of range ({acc.range_w:g} W)", acc.range_w, range_u, acc.divisor,
                 range_src),
            ]  # fmt: skip
            if acc.u_drift_rel:
                drifts.append(
                    (
                        f"{name} drift",
                        mean,
                        drift,
                        _RECTANGULAR,
                        src("power_drift", "station accuracy"),
                    )
                )
        limit_rows += _linear(limits)
        drift_rows += _linear(drifts)
    return limit_rows, drift_rows


def _by_instrument(
    parts: Sequence[PartAccuracy], means_w: Sequence[float]
) -> list[list[tuple[PartAccuracy, float]]]:
    groups: dict[str, list[tuple[PartAccuracy, float]]] = {}
    for acc, mean in zip(parts, means_w, strict=True):
        groups.setdefault(acc.instrument, []).append((acc, mean))
    return list(groups.values())


def _linear(
    terms: Sequence[tuple[str, float | None, float, float, str]],
) -> list[Contribution]:
    rows = []
    running = 0.0
    for k, (name, value, u, divisor, source) in enumerate(terms):
        before, running = running, (running + u if k else u)
        contribution = u if k == 0 else math.sqrt(max(0.0, running**2 - before**2))
        rows.append(
            Contribution(name, "B", value, "W", u, "W", divisor, 1.0, "1", contribution, source)
        )
    return rows


def _condition_rows(
    stats: PointStats,
    *,
    output_w: float,
    per_k: tuple[float | None, float | None],
    sources: Mapping[str, str],
    keys: tuple[str, str],
) -> list[Contribution]:
    """The result's sensitivity to the mean deviations of the outlet water and the air from
    their set values (Type B, rectangular over ±|deviation|): `per_k` are the station's
    relative sensitivities per kelvin, each row naming its source."""
    rows = []
    for name, dev, coeff, key in (
        ("condition: outlet water mean deviation", stats.dev_outlet_k, per_k[0], keys[0]),
        ("condition: air mean deviation", stats.dev_air_k, per_k[1], keys[1]),
    ):
        if coeff:
            u = abs(dev) / math.sqrt(3.0)
            c = coeff * output_w
            rows.append(
                Contribution(
                    name,
                    "B",
                    dev,
                    "K",
                    u,
                    "K",
                    math.sqrt(3.0),
                    c,
                    "W/K",
                    abs(c) * u,
                    sources.get(key, ""),
                )
            )
    return rows


def _type_a_source(n: int, n_eff: float | None) -> str:
    if not n:
        return "standard deviation of the mean, as given"
    return (
        f"s/√n_eff over the collection: n = {n}, n_eff = {n_eff:.1f} from the lag-1 "
        "autocorrelation (Zhang 2006, Metrologia 43 S276)"
    )


def effective_samples(values: Sequence[float]) -> float:
    """n_eff = n·(1 − r₁)/(1 + r₁), r₁ the lag-1 autocorrelation; n when r₁ ≤ 0, ≥ 1."""
    n = len(values)
    if n < 3:
        return float(n)
    mean = statistics.fmean(values)
    dev = [v - mean for v in values]
    var = math.fsum(d * d for d in dev)
    if var == 0:
        return float(n)
    r1 = math.fsum(a * b for a, b in itertools.pairwise(dev)) / var
    if r1 <= 0:
        return float(n)
    return max(1.0, n * (1.0 - r1) / (1.0 + r1))


def _ratio(num: Estimate, den: Estimate, k: float) -> Estimate:
    # u²(Φ/P) = (u_Φ/P)² + (Φ·u_P/P²)²  — the relative form without dividing by Φ.
    value = num.value / den.value
    u = math.hypot(num.u / den.value, num.value * den.u / den.value**2)
    return Estimate(value, u, k)


def _sdm(values: Sequence[float], n_eff: float | None = None) -> float:
    """Standard deviation of the mean, s/√n (s/√n_eff for an autocorrelated series)."""
    return statistics.stdev(values) / math.sqrt(n_eff or len(values))
