"""Heating capacity, effective power input and COP, steady and over defrost cycles.

docs/standards.md §3: Φh = qV·ρ·cp·(t_out − t_in) [S], ρ at the flow meter's temperature (inlet or
outlet: a station setting) and cp at the mean water temperature, from IAPWS (never constants).
COP = Φh / P_E. The pump correction of P_E (q·Δp/η) has an unverified formula and η [U], so it
is a parameter object, off unless given, and both raw and corrected values are reported.

Transient (defrost) points integrate over complete defrost cycles (§2): heat and electrical
energy by the trapezoid rule, then average Φh, P and COP as energy ratios. During a defrost
Φh is negative (heat is drawn from the water) and is kept so.

Units: qV m³/h (what flow meters display), temperatures °C, pressures Pa, power W, time s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bench.metrology import water

MeterPosition = Literal["inlet", "outlet"]

_S_PER_H = 3600.0


def heating_capacity(
    qv_m3h: float, t_in_c: float, t_out_c: float, *, p_pa: float, meter: MeterPosition
) -> float:
    """Water-side heating capacity Φh, W: qV·ρ(t_meter, p)·cp(t_mean, p)·(t_out − t_in)."""
    if not math.isfinite(qv_m3h) or qv_m3h < 0:
        raise ValueError(f"volume flow {qv_m3h!r} m³/h must be a non-negative number")
    t_meter = _meter_temperature(meter, t_in_c, t_out_c)
    rho = water.density(t_meter, p_pa)
    cp = water.specific_heat((t_in_c + t_out_c) / 2.0, p_pa)
    return qv_m3h / _S_PER_H * rho * cp * (t_out_c - t_in_c)


@dataclass(frozen=True, kw_only=True)
class PumpCorrection:
    """Pump share of the electrical input, q·Δp/η — formula and η are [U] (§3).

    ``mode="integrated"``: the unit's own pump; the share spent against the *external* static
    pressure is subtracted. ``mode="external"``: the unit has no pump; the share needed against
    its *internal* pressure drop is added. ``efficiency`` is η, a profile setting.
    """

    efficiency: float
    mode: Literal["integrated", "external"] = "integrated"

    def __post_init__(self) -> None:
        if not 0.0 < self.efficiency <= 1.0:
            raise ValueError(f"pump efficiency {self.efficiency!r} must be in (0, 1]")
        if self.mode not in ("integrated", "external"):
            raise ValueError(f"pump mode {self.mode!r} must be 'integrated' or 'external'")

    def power_w(self, qv_m3h: float, dp_pa: float) -> float:
        """Signed correction to add to the measured power, W."""
        share = qv_m3h / _S_PER_H * dp_pa / self.efficiency
        return -share if self.mode == "integrated" else share


@dataclass(frozen=True)
class PowerInput:
    """Electrical input, W: as measured, the pump correction applied, and the result P_E."""

    raw_w: float
    pump_w: float
    effective_w: float


def effective_power(
    p_w: float,
    *,
    qv_m3h: float = 0.0,
    dp_pa: float = 0.0,
    pump: PumpCorrection | None = None,
) -> PowerInput:
    """Effective power input P_E; without ``pump`` it equals the measured power."""
    if not math.isfinite(p_w):
        raise ValueError(f"power {p_w!r} W is not a finite number")
    pump_w = 0.0 if pump is None else pump.power_w(qv_m3h, dp_pa)
    return PowerInput(raw_w=p_w, pump_w=pump_w, effective_w=p_w + pump_w)


def cop(phi_w: float, p_e_w: float) -> float:
    """Coefficient of performance Φh / P_E."""
    if not p_e_w > 0:
        raise ValueError(f"power input {p_e_w!r} W must be positive for a COP")
    return phi_w / p_e_w


@dataclass(frozen=True)
class PointResult:
    """One point's capacity, power and COP (raw and with the pump correction)."""

    phi_w: float
    power: PowerInput
    cop_raw: float
    cop: float


def steady_point(
    qv_m3h: float,
    t_in_c: float,
    t_out_c: float,
    p_w: float,
    *,
    p_pa: float,
    meter: MeterPosition,
    dp_pa: float = 0.0,
    pump: PumpCorrection | None = None,
) -> PointResult:
    """Capacity, power and COP from the means of a steady-state collection period."""
    phi = heating_capacity(qv_m3h, t_in_c, t_out_c, p_pa=p_pa, meter=meter)
    power = effective_power(p_w, qv_m3h=qv_m3h, dp_pa=dp_pa, pump=pump)
    return PointResult(
        phi_w=phi, power=power, cop_raw=cop(phi, power.raw_w), cop=cop(phi, power.effective_w)
    )


@dataclass(frozen=True)
class IntegratedResult:
    """Energies over a transient collection window and the averages they imply."""

    duration_s: float
    heat_j: float
    electric_raw_j: float
    electric_j: float
    phi_w: float
    p_raw_w: float
    p_e_w: float
    cop_raw: float
    cop: float


def integrate(
    t_s: Sequence[float],
    qv_m3h: Sequence[float],
    t_in_c: Sequence[float],
    t_out_c: Sequence[float],
    p_w: Sequence[float],
    *,
    p_pa: float,
    meter: MeterPosition,
    dp_pa: float = 0.0,
    pump: PumpCorrection | None = None,
) -> IntegratedResult:
    """Trapezoid-integrated heat and electrical energy over the samples given.

    Pass the window of complete defrost cycles (see :func:`whole_cycles`); the averages are
    energy / duration and COP = heat / electrical energy.
    """
    n = len(t_s)
    if n < 2:
        raise ValueError(f"need at least two samples to integrate, got {n}")
    for name, seq in (("qv_m3h", qv_m3h), ("t_in_c", t_in_c), ("t_out_c", t_out_c), ("p_w", p_w)):
        if len(seq) != n:
            raise ValueError(f"{name} has {len(seq)} samples, timestamps have {n}")
    for i in range(1, n):
        if not t_s[i] > t_s[i - 1]:
            raise ValueError(f"timestamps must increase: t[{i}] = {t_s[i]!r} after {t_s[i - 1]!r}")
    phi = [
        heating_capacity(q, a, b, p_pa=p_pa, meter=meter)
        for q, a, b in zip(qv_m3h, t_in_c, t_out_c, strict=True)
    ]
    p_eff = [
        effective_power(p, qv_m3h=q, dp_pa=dp_pa, pump=pump).effective_w
        for p, q in zip(p_w, qv_m3h, strict=True)
    ]
    duration = t_s[-1] - t_s[0]
    heat = trapezoid(t_s, phi)
    e_raw = trapezoid(t_s, p_w)
    e_eff = trapezoid(t_s, p_eff)
    return IntegratedResult(
        duration_s=duration,
        heat_j=heat,
        electric_raw_j=e_raw,
        electric_j=e_eff,
        phi_w=heat / duration,
        p_raw_w=e_raw / duration,
        p_e_w=e_eff / duration,
        cop_raw=cop(heat, e_raw),
        cop=cop(heat, e_eff),
    )


def trapezoid(x: Sequence[float], y: Sequence[float]) -> float:
    """∫ y dx by the trapezoid rule over paired samples."""
    if len(x) != len(y):
        raise ValueError(f"{len(x)} abscissae for {len(y)} values")
    return math.fsum((x[i + 1] - x[i]) * (y[i] + y[i + 1]) / 2.0 for i in range(len(x) - 1))


def whole_cycles(defrost: Sequence[bool]) -> tuple[slice, int]:
    """Sample window spanning complete defrost cycles, and how many cycles it holds.

    A cycle is heating followed by a defrost; it runs from the first sample after one defrost
    ends to the first sample after the next defrost ends. Samples before the first defrost end
    and after the last one are partial cycles and are left out.
    """
    ends = [i for i in range(1, len(defrost)) if defrost[i - 1] and not defrost[i]]
    if len(ends) < 2:
        raise ValueError(
            f"need at least one complete defrost cycle (two defrost ends), found {len(ends)}"
        )
    return slice(ends[0], ends[-1] + 1), len(ends) - 1


def _meter_temperature(meter: str, t_in_c: float, t_out_c: float) -> float:
    if meter == "inlet":
        return t_in_c
    if meter == "outlet":
        return t_out_c
    raise ValueError(f"flow meter position {meter!r} must be 'inlet' or 'outlet'")
