"""From a frame to the controlled quantities a point is judged on."""

from __future__ import annotations

from bench.metrology.psychro import wet_bulb
from bench.run.frame import Frame
from bench.run.points import AIR_RH, AIR_T, VOLTAGE, WATER_FLOW, WATER_IN, WATER_OUT, PointSpec
from bench.run.sequencer import Measure

BAROMETER = "hydraulic_module.barometric_pressure"


def make_measure(barometric_pa: float) -> Measure:
    """Wet bulb is computed from the chamber's dry bulb and RH at the barometric pressure the
    bench's barometer measures (the plan's value only as a fallback when it has none):
    chambers control RH, the standard states wet bulb (docs/standards.md §1)."""

    def measure(frame: Frame, spec: PointSpec) -> dict[str, float | None]:
        air, rh = frame.value(AIR_T), frame.value(AIR_RH)
        wb = None
        if spec.wet_bulb_c is not None and air is not None and rh is not None:
            p_pa = frame.value(BAROMETER) or barometric_pa
            wb = wet_bulb(air, min(rh, 100.0), p_pa=p_pa)
        return {
            "air_dry_bulb": air,
            "air_wet_bulb": wb,
            "water_inlet": frame.value(WATER_IN),
            "water_outlet": frame.value(WATER_OUT),
            "water_flow": frame.value(WATER_FLOW),
            "supply_voltage": frame.value(VOLTAGE),
        }

    return measure
