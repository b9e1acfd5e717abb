"""The simulated unit's performance: a published map of a real heat pump, interpolated.

Source: NIBE S2125-12 maximum heating capacity and electrical power against outdoor air and
water outlet temperature, from the NIBE S2125 installer manual, digitised by the AixLib project
(RWTH-EBC/AixLib, record TableData2D.EN14511.NIBE_S2125_12, 2025), kept unchanged in
`instruments/sim/data/perfmap_nibe_s2125_12.json` (provenance: docs/standards.md).

Between grid points the map is interpolated bilinearly; outside it the outdoor temperature is
clamped to the map's axis and the outlet temperature is extrapolated linearly from the nearest
two outlet curves (down to 20 C, up to 65 C), which keeps the physical trend that a lower flow
temperature needs less compressor power.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from importlib import resources

OUTLET_LIMITS_C = (20.0, 65.0)


def _bracket(axis: list[float], x: float, *, extrapolate: bool) -> tuple[int, float]:
    """Index i and weight w so that value = v[i] * (1 - w) + v[i + 1] * w."""
    if not extrapolate:
        x = min(max(x, axis[0]), axis[-1])
    i = min(max(bisect.bisect_right(axis, x) - 1, 0), len(axis) - 2)
    return i, (x - axis[i]) / (axis[i + 1] - axis[i])


def _bilinear(
    air_axis: list[float],
    outlet_axis: list[float],
    table: list[list[float]],
    air_c: float,
    outlet_c: float,
) -> float:
    ia, wa = _bracket(air_axis, air_c, extrapolate=False)
    outlet_c = min(max(outlet_c, OUTLET_LIMITS_C[0]), OUTLET_LIMITS_C[1])
    io, wo = _bracket(outlet_axis, outlet_c, extrapolate=True)

    def along_air(row: list[float]) -> float:
        return row[ia] * (1 - wa) + row[ia + 1] * wa

    return along_air(table[io]) * (1 - wo) + along_air(table[io + 1]) * wo


@dataclass(frozen=True)
class PerformanceMap:
    capacity_air_c: list[float]
    power_air_c: list[float]
    outlet_c: list[float]
    capacity_w: list[list[float]]  # [outlet][air]
    power_w: list[list[float]]  # [outlet][air]
    source: str

    def max_capacity_w(self, air_c: float, outlet_c: float) -> float:
        return _bilinear(self.capacity_air_c, self.outlet_c, self.capacity_w, air_c, outlet_c)

    def max_power_w(self, air_c: float, outlet_c: float) -> float:
        return _bilinear(self.power_air_c, self.outlet_c, self.power_w, air_c, outlet_c)

    def cop_at_full_load(self, air_c: float, outlet_c: float) -> float:
        return self.max_capacity_w(air_c, outlet_c) / self.max_power_w(air_c, outlet_c)

    @classmethod
    def nibe_s2125_12(cls) -> PerformanceMap:
        text = (
            resources.files("instruments.sim")
            .joinpath("data/perfmap_nibe_s2125_12.json")
            .read_text(encoding="utf-8")
        )
        raw = json.loads(text)
        outlets = [str(t) for t in raw["water_outlet_c"]]
        return cls(
            capacity_air_c=[float(x) for x in raw["outdoor_air_c_capacity_axis"]],
            power_air_c=[float(x) for x in raw["outdoor_air_c_power_axis"]],
            outlet_c=[float(t) for t in raw["water_outlet_c"]],
            capacity_w=[[float(v) for v in raw["heating_capacity_w"][t]] for t in outlets],
            power_w=[[float(v) for v in raw["electrical_power_w"][t]] for t in outlets],
            source=raw["source"],
        )
