"""Humid air: relative humidity ↔ wet bulb through CoolProp ``HAPropsSI``.

EN 14511 rates air points by dry and wet bulb [S], but climate chambers control dry bulb and
relative humidity, so the plan's wet bulb is converted at the *measured* barometric pressure
(docs/standards.md §1). That is why ``p_pa`` has no default. Below 0 °C CoolProp's wet bulb is the
ice bulb, which reproduces the §1 value −7/−8 °C → 74.7 % RH.

Temperatures °C, pressure Pa, relative humidity in percent (what a chamber displays).
"""

from __future__ import annotations

import math

from CoolProp.CoolProp import HAPropsSI

_KELVIN = 273.15
_SATURATED_K = 1e-6  # wet bulb this close to dry bulb is saturated air (far below any sensor)


def relative_humidity(t_db_c: float, t_wb_c: float, *, p_pa: float) -> float:
    """Relative humidity, %, of air at dry bulb ``t_db_c`` and wet bulb ``t_wb_c``."""
    _check_finite(t_db_c=t_db_c, t_wb_c=t_wb_c, p_pa=p_pa)
    if p_pa <= 0:
        raise ValueError(f"barometric pressure {p_pa:g} Pa must be positive")
    if t_wb_c > t_db_c:
        raise ValueError(f"wet bulb {t_wb_c:g} °C is above dry bulb {t_db_c:g} °C")
    if t_db_c - t_wb_c < _SATURATED_K:
        # Saturated. CoolProp's solver can land a hair above RH 1 here and refuse.
        return 100.0
    try:
        rh = HAPropsSI("R", "T", t_db_c + _KELVIN, "B", t_wb_c + _KELVIN, "P", p_pa)
    except ValueError as exc:
        raise ValueError(
            f"no humid-air state with dry bulb {t_db_c:g} °C, wet bulb {t_wb_c:g} °C "
            f"at {p_pa:g} Pa ({exc})"
        ) from None
    return 100.0 * rh


def wet_bulb(t_db_c: float, rh_percent: float, *, p_pa: float) -> float:
    """Wet bulb, °C, of air at dry bulb ``t_db_c`` and relative humidity ``rh_percent``."""
    _check_finite(t_db_c=t_db_c, rh_percent=rh_percent, p_pa=p_pa)
    if p_pa <= 0:
        raise ValueError(f"barometric pressure {p_pa:g} Pa must be positive")
    if not 0.0 <= rh_percent <= 100.0:
        raise ValueError(f"relative humidity {rh_percent:g} % is outside 0 to 100 %")
    try:
        t_wb_k = HAPropsSI("B", "T", t_db_c + _KELVIN, "R", rh_percent / 100.0, "P", p_pa)
    except ValueError as exc:
        raise ValueError(
            f"no humid-air state with dry bulb {t_db_c:g} °C, {rh_percent:g} % RH "
            f"at {p_pa:g} Pa ({exc})"
        ) from None
    # Wet bulb never exceeds dry bulb; CoolProp overshoots by < 0.001 K near 0.01 °C at 100 %.
    return min(t_wb_k - _KELVIN, t_db_c)


def _check_finite(**values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"{name} {value!r} is not a finite number")
