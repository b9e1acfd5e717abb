"""A point's numbers recomputed from the frames of its collection window in `run.sqlite`.

`hpbench report` must reproduce a run's results from the store alone, so nothing here reads
the numbers the engine wrote into the point record: the stored frames go through the same
calculation the engine ran on them live (`bench.metrology.point.calculate`, fed by
`bench.run.results.window_samples`), with the station as run, so result.json and the live
record agree to the last bit. Beside them: the measured conditions, and the heat pump's own
readings, averaged for comparison and never used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bench.metrology.point import PointSettings, calculate
from bench.metrology.psychro import wet_bulb
from bench.run.measure import BAROMETER
from bench.run.points import AIR_RH, AIR_T, HP_HEAT, POWER, VOLTAGE, WATER_FLOW, WATER_IN, WATER_OUT
from bench.run.results import Columns, sampled, window_samples

HP_SUPPLY = "heat_pump.supply_temp"
HP_RETURN = "heat_pump.return_temp"
HP_FLOW = "heat_pump.flow_rate"  # l/min on the simulated unit's map
HP_OUTDOOR = "heat_pump.outdoor_temp"
HP_ENERGY = "heat_pump.electrical_energy"  # Wh counter
CONDITIONS = (
    BAROMETER,
    AIR_T,
    AIR_RH,
    VOLTAGE,
    HP_HEAT,
    HP_SUPPLY,
    HP_RETURN,
    HP_FLOW,
    HP_OUTDOOR,
    HP_ENERGY,
)


def channels(settings: PointSettings) -> tuple[str, ...]:
    """Every channel a point's numbers read: the calculation's (with the power parts named by
    `settings.sensors`), the measured conditions and the heat pump's own."""
    return tuple(dict.fromkeys((*sampled(settings), *CONDITIONS)))


def point_numbers(
    t: Sequence[float],
    cols: Columns,
    *,
    transient: bool,
    settings: PointSettings,
    barometric_pa: float,
    deviations: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The `measured`, `results`, `uncertainty` and `heat_pump_reported` of one point: the
    numbers from `bench.metrology.point.calculate`, as the engine's record has them.

    `deviations`: the mean deviations from set of the outlet water and the air (K), for the
    condition terms of the budget."""
    n = len(t)
    measured_pa = _mean(cols.get(BAROMETER))
    numbers = calculate(
        window_samples(t, cols, settings),
        transient=transient,
        settings=settings,
        deviations=deviations,
    )
    return {
        "measured": measured_conditions(cols, measured_pa or barometric_pa),
        "heat_pump_reported": heat_pump_reported(t, cols),
        **numbers,
        "window": {
            "first_t": t[0] if n else None,
            "last_t": t[-1] if n else None,
            "frames": n,
            "frames_used": sum(numbers["usable"]),
        },
    }


def measured_conditions(cols: Columns, barometric_pa: float) -> dict[str, float | None]:
    """Means of the controlled quantities over the window (OK readings only); wet bulb at
    `barometric_pa` (the window's measured mean, or the plan's fallback)."""
    air, rh = _mean(cols.get(AIR_T)), _mean(cols.get(AIR_RH))
    wb = None
    if air is not None and rh is not None:
        try:
            wb = wet_bulb(air, min(max(rh, 0.0), 100.0), p_pa=barometric_pa)
        except ValueError:
            wb = None
    return {
        "air_dry_bulb_c": air,
        "air_rh_pct": rh,
        "air_wet_bulb_c": wb,
        "water_inlet_c": _mean(cols.get(WATER_IN)),
        "water_outlet_c": _mean(cols.get(WATER_OUT)),
        "water_flow_m3h": _mean(cols.get(WATER_FLOW)),
        "voltage_v": _mean(cols.get(VOLTAGE)),
        "power_w": _mean(cols.get(POWER)),
        "barometric_pa": barometric_pa,
    }


def heat_pump_reported(t: Sequence[float], cols: Columns) -> dict[str, float | None]:
    """The unit's own view of the same window: for comparison only, never used."""
    energy = [(ti, e) for ti, e in zip(t, cols.get(HP_ENERGY) or [], strict=False) if e is not None]
    power = None
    if len(energy) >= 2 and energy[-1][0] > energy[0][0] and energy[-1][1] > energy[0][1]:
        power = (energy[-1][1] - energy[0][1]) * 3600.0 / (energy[-1][0] - energy[0][0])
    heat = _mean(cols.get(HP_HEAT))
    return {
        "heat_output_w": heat,
        "electrical_power_w": power,
        "cop": heat / power if heat is not None and power else None,
        "supply_temp_c": _mean(cols.get(HP_SUPPLY)),
        "return_temp_c": _mean(cols.get(HP_RETURN)),
        "flow_rate": _mean(cols.get(HP_FLOW)),
        "outdoor_temp_c": _mean(cols.get(HP_OUTDOOR)),
    }


def _mean(values: Sequence[float | None] | None) -> float | None:
    if not values:
        return None
    good = [v for v in values if v is not None]
    return math.fsum(good) / len(good) if good else None
