"""The line `hpbench run` shows on the building of a load-based point."""

from __future__ import annotations

from bench.run.emulation import SUMMARY_WINDOW_S, Emulation, EmulationHost, Step
from bench.run.frame import Frame
from bench.run.points import HP_COMPRESSOR_ON, PointSpec
from bench.run.results import WaterSide
from benchmarks.emulation import POINT_D
from instruments.base import Reading
from instruments.clock import RealClock


def step(k: int, t: float, phi_hp: float, t_h: float) -> Step:
    return Step(0, k, t, 1.0, k, 30.0, 26.0, 0.97, 0.27, phi_hp, 0.0, 0.0, t_h, 20.0, t_h)


def test_the_building_line_shows_mass_temperature_recent_load_and_cycles() -> None:
    spec = PointSpec(
        index=0, id="D", air_c=12.0, rh_pct=88.9, wet_bulb_c=None, outlet_c=30.0,
        flow_m3h=POINT_D.flow_m3h(), load_based=POINT_D,
    )  # fmt: skip
    emulation = Emulation(
        spec,
        clock=RealClock(),
        hydraulic=None,  # type: ignore[arg-type]
        latest=lambda: None,
        store=None,  # type: ignore[arg-type]
        water_side=WaterSide(),
    )
    host = EmulationHost({}, RealClock(), None, WaterSide(), lambda m, d: None)  # type: ignore[arg-type]
    assert host.summary() is None  # no point running
    host.current = emulation
    assert host.summary() is None  # no step yet
    n = int(SUMMARY_WINDOW_S)
    # an hour at 5 kW, then the last window at 1 kW: the line shows the recent mean only
    emulation.steps = [step(k, float(k), 5000.0, 25.0) for k in range(3600)]
    emulation.steps += [step(k, float(k), 1000.0, 27.5) for k in range(3600, 3600 + n)]
    for seq, (t, on) in enumerate([(0.0, False), (10.0, True), (20.0, False), (30.0, True)]):
        host.on_frame(Frame(seq, t, {HP_COMPRESSOR_ON: Reading(float(on), "")}))
    demanded = POINT_D.sizing().load_w
    line = host.summary()
    assert line == (
        f"building D: t_H 27.50 °C  load 1.00 of {demanded / 1e3:.2f} kW "
        f"({100 * 1000 / demanded:.0f} %, last 10 min)  compressor on, 2 starts"
    )
