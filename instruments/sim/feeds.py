"""What each simulated power analyser sees of the unit's electrical input (its *feed*).

The bench's one analyser (`power_analyser`) reads the whole input. A lab with an outdoor unit
and an indoor unit / hydro box wires one analyser per supply, so the lab layout splits the
whole in two: the indoor unit's share is the model's `INDOOR_UNIT_W`, a fixed 40 W (its
controls, about 10 W, plus a circulator at the speed a 1.6 m³/h loop needs, about 30 W - the
simulator's own figures, like the model's other constants), capped at the whole; the outdoor
unit (compressor drive, fan) takes the rest. A fixed share rather than a fraction because those
loads do not follow the compressor. In standby the whole is the model's 12 W, all of it indoor,
so the outdoor analyser reads 0 W.

Both parts carry the whole's measurement noise as the same relative error, so at one instant
outdoor + indoor equals the whole exactly; energy is integrated per part by the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from instruments.sim.model import BenchModel, ElectricalState, power_factor

Feed = Callable[[BenchModel], ElectricalState]


def whole(model: BenchModel) -> ElectricalState:
    return model.electrical


def indoor(model: BenchModel) -> ElectricalState:
    e = model.electrical
    return _part(e, e.indoor_w, e.indoor_energy_wh)


def outdoor(model: BenchModel) -> ElectricalState:
    e = model.electrical
    return _part(e, e.power_w - e.indoor_w, e.energy_wh - e.indoor_energy_wh)


def _part(e: ElectricalState, true_w: float, energy_wh: float) -> ElectricalState:
    """The part drawing `true_w` of the whole, on the same mains, measured like the whole."""
    measured = true_w * (e.power_meas_w / e.power_w) if e.power_w else 0.0
    pf = power_factor(true_w)
    current = measured / (e.voltage_v * pf)
    apparent = e.voltage_v * current
    return ElectricalState(
        voltage_v=e.voltage_v,
        current_a=current,
        power_w=true_w,
        apparent_va=apparent,
        reactive_var=math.sqrt(max(0.0, apparent**2 - measured**2)),
        power_factor=pf,
        frequency_hz=e.frequency_hz,
        energy_wh=energy_wh,
        power_meas_w=measured,
        indoor_w=0.0,
        indoor_energy_wh=0.0,
    )
