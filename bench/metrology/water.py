"""Liquid water properties at (T, p) from IAPWS through CoolProp.

Heat output is qV·ρ·cp·ΔT, so ρ and cp enter Φh linearly: constants (ρ = 1000, cp = 4.2)
overstate Φh by about 0.9 % [X] (docs/standards.md §3). The default formulation is IAPWS-IF97,
the one the worked capacity check of §3 uses; IAPWS-95 is selectable for cross-checks. Why:
docs/decisions/0009-water-properties.md.

Temperatures are °C (what the bench sensors read), pressures Pa (absolute), results SI.
Calls are cached on their exact arguments: quantised sensor readings repeat a lot, and an
IF97 call costs a few microseconds anyway, so this is fast enough per sample.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

from CoolProp.CoolProp import PropsSI

Formulation = Literal["IF97", "IAPWS-95"]

_BACKENDS: dict[str, str] = {"IF97": "IF97::Water", "IAPWS-95": "HEOS::Water"}
_KELVIN = 273.15
# Validity of the liquid region we accept: IF97 region 1 is 273.15 K ≤ T ≤ 623.15 K,
# p ≤ 100 MPa, p ≥ psat(T); the triple point pressure bounds p from below.
_T_MIN_C = 0.0
_T_MAX_C = 350.0
_P_MAX_PA = 100e6
_P_TRIPLE_PA = 611.657


def density(t_c: float, p_pa: float, formulation: Formulation = "IF97") -> float:
    """Density of liquid water, kg/m³."""
    return _prop("D", t_c, p_pa, formulation)


def specific_heat(t_c: float, p_pa: float, formulation: Formulation = "IF97") -> float:
    """Isobaric specific heat capacity cp of liquid water, J/(kg·K)."""
    return _prop("C", t_c, p_pa, formulation)


def enthalpy(t_c: float, p_pa: float, formulation: Formulation = "IF97") -> float:
    """Specific enthalpy of liquid water, J/kg.

    Only differences are meaningful: IF97 and IAPWS-95 use slightly different reference
    states (about 9 J/kg apart at 25 °C), so never mix formulations in one difference.
    """
    return _prop("H", t_c, p_pa, formulation)


def saturation_temperature(p_pa: float, formulation: Formulation = "IF97") -> float:
    """Boiling temperature at p, °C: the upper end of the liquid range."""
    backend = _backend(formulation)
    if not (math.isfinite(p_pa) and _P_TRIPLE_PA <= p_pa <= _P_MAX_PA):
        raise ValueError(
            f"water pressure {p_pa!r} Pa is outside the liquid range "
            f"({_P_TRIPLE_PA} Pa to {_P_MAX_PA:.0f} Pa, absolute)"
        )
    return _tsat_c(float(p_pa), backend)


def check_liquid(t_c: float, p_pa: float, formulation: Formulation = "IF97") -> None:
    """Raise ValueError unless (t_c, p_pa) is compressed or saturated liquid water."""
    if not math.isfinite(t_c):
        raise ValueError(f"water temperature {t_c!r} °C is not a number")
    tsat = saturation_temperature(p_pa, formulation)
    if not _T_MIN_C <= t_c <= _T_MAX_C:
        raise ValueError(
            f"water temperature {t_c:g} °C is outside the liquid range "
            f"({_T_MIN_C:g} to {_T_MAX_C:g} °C)"
        )
    if t_c >= tsat:
        raise ValueError(
            f"water at {t_c:g} °C and {p_pa:g} Pa is not liquid: "
            f"it boils at {tsat:.2f} °C at that pressure"
        )


def _backend(formulation: str) -> str:
    try:
        return _BACKENDS[formulation]
    except KeyError:
        raise ValueError(
            f"unknown water formulation {formulation!r}; use one of {sorted(_BACKENDS)}"
        ) from None


def _prop(output: str, t_c: float, p_pa: float, formulation: Formulation) -> float:
    check_liquid(t_c, p_pa, formulation)
    return _propssi(output, float(t_c), float(p_pa), _backend(formulation))


@lru_cache(maxsize=8192)
def _propssi(output: str, t_c: float, p_pa: float, backend: str) -> float:
    return PropsSI(output, "T", t_c + _KELVIN, "P", p_pa, backend)


@lru_cache(maxsize=1024)
def _tsat_c(p_pa: float, backend: str) -> float:
    return PropsSI("T", "P", p_pa, "Q", 0, backend) - _KELVIN
