"""Humidity as the controller takes it: relative humidity or dew point (CoolProp HAPropsSI).

Psychrometric rooms on PLC-class controllers often hold a dew point, chamber controllers a
relative humidity (docs/protocols.md §2.7). The bench speaks RH; a driver whose controller
takes dew point converts at the station's barometric pressure (default 101 325 Pa: the
dependence is the small enhancement factor, far below a chamber's control band).
"""

from __future__ import annotations

import math

from instruments.base import Quality, Reading

_K = 273.15
MODES = ("rh", "dew_point")


def _haprops(out: str, k1: str, v1: float, k2: str, v2: float, k3: str, v3: float) -> float:
    # imported on first use: CoolProp takes seconds to load, and only dew-point rooms need it
    from CoolProp.CoolProp import HAPropsSI

    return float(HAPropsSI(out, k1, v1, k2, v2, k3, v3))


def dew_point_c(t_c: float, rh_pct: float, pressure_pa: float = 101325.0) -> float:
    return _haprops("D", "T", t_c + _K, "R", rh_pct / 100.0, "P", pressure_pa) - _K


def rh_pct(t_c: float, dew_point: float, pressure_pa: float = 101325.0) -> float:
    if dew_point >= t_c:
        return 100.0
    return 100.0 * _haprops("R", "T", t_c + _K, "D", dew_point + _K, "P", pressure_pa)


def checked_mode(mode: str, model: str) -> str:
    if mode not in MODES:
        raise ValueError(f"{model}: humidity_by must be 'rh' or 'dew_point', not {mode!r}")
    return mode


def rh_from_dew_point(temperature: Reading, dew_point: Reading, pressure_pa: float) -> Reading:
    """The RH a dew-point controller's readings imply; INVALID when either input is."""
    if (
        temperature.quality is not Quality.OK
        or dew_point.quality is not Quality.OK
        or temperature.value is None
        or dew_point.value is None
    ):
        return Reading.invalid("%RH", "derived from an invalid temperature or dew point")
    value = rh_pct(temperature.value, dew_point.value, pressure_pa)
    if not math.isfinite(value):
        return Reading.invalid("%RH", "no humid-air state for these readings")
    return Reading.ok(value, "%RH")
