"""GUM propagation of the uncertainty of Φh, P_E and COP at one point (STANDARDS.md §3).

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
    u(ρ·cp)/(ρ·cp) = w  (formulation uncertainty, optional, 0 neglects it)

    u²(Φ)   = (∂Φ/∂qV)²·u²(qV) + (∂Φ/∂t)²·u²(ΔT) + (w·Φ)²
    u(P_E)  = u(P)
    u²(COP)/COP² = u²(Φ)/Φ² + u²(P_E)/P_E²

The divisors d convert a maker's ± limit to a standard uncertainty: √3 for a rectangular
limit (GUM 4.3.7), 2 for a k = 2 certificate, 1 if already standard. Φ and P_E come from
independent instruments, so their Type B errors are uncorrelated; the covariance of their
scatter is neglected, which overstates u(COP) when both follow the compressor's modulation.
s̄ = s/√n assumes independent samples; autocorrelated readings make it optimistic.
Expanded uncertainty U = k·u, k = 2 by default (≈95 % for a normal output).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bench.metrology import water
from bench.metrology.capacity import MeterPosition, PumpCorrection, steady_point

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
    power_pct_reading: float
    power_pct_range: float = 0.0
    power_range_w: float = 0.0
    power_divisor: float = _RECTANGULAR
    rho_cp_pct: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "u_t_in_k",
            "u_t_out_k",
            "flow_pct_reading",
            "power_pct_reading",
            "power_pct_range",
            "power_range_w",
            "rho_cp_pct",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} = {value!r} must be a non-negative number")
        if not -1.0 <= self.r_t <= 1.0:
            raise ValueError(f"r_t = {self.r_t!r} must be a correlation coefficient in [-1, 1]")
        for name in ("flow_divisor", "power_divisor"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} = {getattr(self, name)!r} must be positive")


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
        return cls(
            t_in_c=statistics.fmean(t_in_c),
            t_out_c=statistics.fmean(t_out_c),
            qv_m3h=statistics.fmean(qv_m3h),
            p_w=statistics.fmean(p_w),
            s_t_in=_sdm(t_in_c),
            s_t_out=_sdm(t_out_c),
            s_qv=_sdm(qv_m3h),
            s_p=_sdm(p_w),
            s_dt=_sdm(dt),
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
    rho_cp = water.density(t_meter, p_pa) * water.specific_heat(
        (stats.t_in_c + stats.t_out_c) / 2.0, p_pa
    )
    c_q = rho_cp * (stats.t_out_c - stats.t_in_c) / _S_PER_H  # W per m³/h
    c_t = stats.qv_m3h / _S_PER_H * rho_cp  # W per K

    u_in, u_out = acc.u_t_in_k, acc.u_t_out_k
    u_sensors_sq = max(0.0, u_in**2 + u_out**2 - 2.0 * acc.r_t * u_in * u_out)
    u_flow_b = acc.flow_pct_reading / 100.0 * abs(stats.qv_m3h) / acc.flow_divisor
    budget_phi = {
        "temperature sensors": abs(c_t) * math.sqrt(u_sensors_sq),
        "delta T scatter": abs(c_t) * stats.s_delta_t,
        "flow meter": abs(c_q) * u_flow_b,
        "flow scatter": abs(c_q) * stats.s_qv,
        "water properties": acc.rho_cp_pct / 100.0 * abs(point.phi_w),
    }
    u_p_b = (
        acc.power_pct_reading / 100.0 * abs(stats.p_w)
        + acc.power_pct_range / 100.0 * acc.power_range_w
    ) / acc.power_divisor
    budget_p = {"power analyser": u_p_b, "power scatter": stats.s_p}

    u_phi = _rss(budget_phi.values())
    u_p = _rss(budget_p.values())
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
    )


def _ratio(num: Estimate, den: Estimate, k: float) -> Estimate:
    # u²(Φ/P) = (u_Φ/P)² + (Φ·u_P/P²)²  — the relative form without dividing by Φ.
    value = num.value / den.value
    u = math.hypot(num.u / den.value, num.value * den.u / den.value**2)
    return Estimate(value, u, k)


def _sdm(values: Sequence[float]) -> float:
    """Standard deviation of the mean, s/√n."""
    return statistics.stdev(values) / math.sqrt(len(values))


def _rss(values: Iterable[float]) -> float:
    return math.sqrt(math.fsum(v * v for v in values))
