"""The emulation loop's hold on the interpreter while it runs (docs/decisions/0250)."""

from __future__ import annotations

import asyncio
import contextlib
import sys

from bench.run.emulation import SWITCH_INTERVAL_S, Emulation
from bench.run.frame import Frame
from bench.run.points import WATER_FLOW, WATER_IN, WATER_OUT, PointSpec
from bench.run.results import WaterSide
from benchmarks.emulation import POINT_D
from instruments.base import Reading
from instruments.clock import ScaledClock


class Hydraulic:
    """Takes the loop's commands and notes the GIL switch interval each was sent under."""

    def __init__(self) -> None:
        self.intervals: list[float] = []
        self.sent = asyncio.Event()

    async def set_inlet_temperature(self, _celsius: float) -> None:
        self.intervals.append(sys.getswitchinterval())
        self.sent.set()


class Store:
    def put_emulation_step(self, _row: object) -> None:
        pass


async def test_while_a_building_is_emulated_a_thread_holds_the_gil_for_short_spells() -> None:
    """A thread holding the GIL (the store's writer) may keep the loop waiting for the whole
    switch interval: Python's 5 ms are 1.5 steps at 300 x time-warp."""
    before = sys.getswitchinterval()
    frame = Frame(0, 0.0, {WATER_OUT: Reading(30.0, "°C"), WATER_IN: Reading(26.0, "°C")})
    frame.readings[WATER_FLOW] = Reading(0.97, "m³/h")
    spec = PointSpec(
        index=0, id="D", air_c=12.0, rh_pct=88.9, wet_bulb_c=None, outlet_c=30.0,
        flow_m3h=POINT_D.flow_m3h(), load_based=POINT_D,
    )  # fmt: skip
    hydraulic = Hydraulic()
    emulation = Emulation(
        spec,
        clock=ScaledClock(100.0),
        hydraulic=hydraulic,  # type: ignore[arg-type]
        latest=lambda: frame,
        store=Store(),  # type: ignore[arg-type]
        water_side=WaterSide(),
    )
    task = asyncio.create_task(emulation.run())
    await asyncio.wait_for(hydraulic.sent.wait(), 60)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert hydraulic.intervals[0] == min(before, SWITCH_INTERVAL_S) < 0.005
    assert sys.getswitchinterval() == before  # given back when the point ends
