"""A plan point as the sequencer needs it: every default applied, times in seconds.

Also which bench channel measures each controlled quantity (named in bench/channels.py):
results are computed from the bench's calibrated sensors (chamber, hydraulic module, power
analyser), never from the heat pump's own, which are kept for comparison only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.channels import channel

if TYPE_CHECKING:
    from bench.plan.loadbased import LoadBasedSetting

# the channel ids the engine reads, from the channel contract (bench/channels.py)
AIR_T = channel("air.dry_bulb_c")
AIR_RH = channel("air.rh_pct")
WATER_IN = channel("water.inlet_c")
WATER_OUT = channel("water.outlet_c")
WATER_FLOW = channel("water.flow_m3h")
POWER = channel("electrical.power_w")
VOLTAGE = channel("electrical.voltage_v")
HP_DEFROST = channel("hp.defrost")
HP_HEAT = channel("hp.heat_output_w")  # self-reported: compared, never used
HP_COMPRESSOR_ON = channel("hp.compressor_on")


@dataclass(frozen=True)
class PointSpec:
    index: int
    id: str
    air_c: float
    rh_pct: float  # what the chamber is set to
    wet_bulb_c: float | None  # when the plan gave it: judged in K against the wet bulb
    outlet_c: float
    # exactly one way to define the water side
    inlet_c: float | None = None
    delta_t_k: float | None = None
    flow_m3h: float | None = None
    flow_from: str | None = None
    demand_pct: float | None = None  # part load: share of the unit's maximum capacity
    equilibrium_s: float = 3600.0
    collection_s: float = 2100.0
    stabilise_timeout_s: float = 7200.0
    sample_s: float = 5.0
    on_unstable: str = "fail_and_continue"  # or "abort"
    initial_flow_m3h: float = 1.6  # first guess where the flow is adjusted to a temperature rise
    # the station's [limits]: the water-side trim never sets the hydraulic module beyond them
    inlet_range_c: tuple[float, float] | None = None
    flow_range_m3h: tuple[float, float] | None = None
    load_based: LoadBasedSetting | None = None  # the bench emulates a building (§7)

    @property
    def flow_is_free(self) -> bool:
        """True when the flow is adjusted to reach the water temperatures (inlet or delta T)."""
        return self.flow_m3h is None and self.flow_from is None

    @property
    def target_rise_k(self) -> float | None:
        if self.inlet_c is not None:
            return self.outlet_c - self.inlet_c
        return self.delta_t_k

    @property
    def first_inlet_c(self) -> float:
        rise = self.target_rise_k
        return self.outlet_c - (rise if rise is not None else 5.0)
