"""The building-in-the-loop: every step, the virtual building's return temperature to the bench.

During a load-based point (docs/standards.md §7) the unit runs on its own controls and this
loop, beside acquisition, every `step_s` of bench time: takes t_S (hydraulic module outlet),
t_R (inlet) and the volume flow from the latest frame (no reads of its own), advances the
building by the bench time elapsed since its last step, and commands the hydraulic module's
inlet set point to the building's return temperature. It waits only on the clock and on its
own write; the frame bus, UI, MQTT and the store's disk never hold it (rows are queued to the
store's writer thread).

Steps keep a fixed bench-time grid (the Clock, so time-warp too). A step that could not be
served in its slot is counted as missed and the building is advanced over the real elapsed
time, so no energy goes missing; the lateness of every step is stored. Every step is stored
(`RunStore.put_emulation_step`) with its inputs, its length, the building's state and heat
flows and the command and its acknowledgement: replaying the inputs through the same model
(`replay`) reproduces every command.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.metrology import water
from bench.metrology.building import Building, OneMass, TwoMass
from bench.plan.loadbased import LoadBasedSetting
from bench.run.frame import Frame
from bench.run.loadbased import CycleWatch
from bench.run.points import WATER_FLOW, WATER_IN, WATER_OUT, PointSpec
from bench.run.results import WaterSide
from bench.store import RunStore
from instruments.base import Instrument, InstrumentError, WriteRefused
from instruments.clock import Clock

HEATING_CURVE = {"low": 1, "medium": 2}  # the sim map's heating_curve register
WARN_EVERY_S = 600.0  # missed steps are said at most this often (bench time); all are counted
SUMMARY_WINDOW_S = 600.0  # the load delivered that `hpbench run` shows: a mean over this


@dataclass
class Step:
    """One emulation step, as stored (the columns of the run store's emulation_steps)."""

    point_idx: int
    k: int
    t: float
    dt: float
    seq: int | None
    t_supply: float
    t_return: float
    flow_m3h: float
    m_kg_s: float
    phi_hp: float
    phi_hb: float
    phi_ba: float
    t_h: float
    t_b: float
    command: float | None
    ack: int | None = None  # 1 acknowledged, 0 refused or failed, None not sent (busy)
    ack_s: float | None = None  # bench seconds from sending to the acknowledgement
    late_s: float = 0.0  # how far past its slot the step ran

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)


def building_from(parameters: dict[str, Any]) -> Building:
    """The building a point's stored parameters describe (for replay by anyone)."""
    one = OneMass(parameters["ua_hb_w_k"], parameters["c_h_j_k"], parameters["t_h0_c"])
    if parameters["building"] == "one_mass":
        return one
    return TwoMass(
        one.ua_hb_w_k,
        one.c_h_j_k,
        one.t_h_c,
        ua_ba_w_k=parameters["ua_ba_w_k"],
        c_b_j_k=parameters["c_b_j_k"],
        t_out_c=parameters["t_out_c"],
    )


def parameters_of(setting: LoadBasedSetting, building: Building) -> dict[str, Any]:
    """What a replay needs: the sizing and the model's own constants."""
    out = setting.as_dict()
    if isinstance(building, TwoMass):
        out.update(ua_ba_w_k=building.ua_ba_w_k, c_b_j_k=building.c_b_j_k)
    return out


def replay(parameters: dict[str, Any], steps: list[dict[str, Any]]) -> list[float]:
    """The return temperatures the stored steps' inputs command, recomputed from scratch."""
    building = building_from(parameters)
    commands = []
    for s in steps:
        building.step(s["t_supply"], s["t_return"], s["m_kg_s"], s["dt"])
        commands.append(building.return_c)
    return commands


class Emulation:
    """One load-based point's loop. `latest()` gives the newest frame (or None)."""

    def __init__(
        self,
        spec: PointSpec,
        *,
        clock: Clock,
        hydraulic: Instrument,
        latest: Callable[[], Frame | None],
        store: RunStore,
        water_side: WaterSide,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        assert spec.load_based is not None
        self.spec = spec
        self.setting = spec.load_based
        self.building = self.setting.make_building()
        self.parameters = parameters_of(self.setting, self.building)
        self.clock = clock
        self.hydraulic = hydraulic
        self.latest = latest
        self.store = store
        self.water_side = water_side
        self.on_warning = on_warning or (lambda _m: None)
        self.steps: list[Step] = []
        self.missed = 0
        self._write: asyncio.Task[None] | None = None

    # -- one step ------------------------------------------------------------------------
    def _inputs(self) -> tuple[int | None, float, float, float] | None:
        frame = self.latest()
        if frame is None:
            return None
        t_s, t_r, qv = frame.value(WATER_OUT), frame.value(WATER_IN), frame.value(WATER_FLOW)
        if t_s is None or t_r is None or qv is None:
            return None
        return frame.seq, t_s, t_r, qv

    def _mass_flow(self, qv_m3h: float, t_in: float, t_out: float) -> float:
        t_meter = t_in if self.water_side.meter == "inlet" else t_out
        return qv_m3h / 3600.0 * water.density(t_meter, self.water_side.pressure_pa)

    def advance(self, k: int, now: float, dt: float, late: float) -> Step | None:
        """Advance the building by `dt` on the latest inputs; None while there are none (the
        building then waits: no invented heat flow)."""
        inputs = self._inputs()
        if inputs is None:
            return None
        seq, t_s, t_r, qv = inputs
        m = self._mass_flow(qv, t_r, t_s)
        flows = self.building.step(t_s, t_r, m, dt)
        low, high = self.spec.inlet_range_c or (-math.inf, math.inf)
        command = min(max(self.building.return_c, low), high)
        step = Step(
            self.spec.index, k, now, dt, seq, t_s, t_r, qv, m,
            flows.phi_hp_w, flows.phi_hb_w, flows.phi_ba_w,
            self.building.t_h_c, self.building.t_b_c, command, late_s=late,
        )  # fmt: skip
        self.steps.append(step)
        return step

    # -- the loop ------------------------------------------------------------------------
    async def run(self) -> None:
        step_s = self.setting.step_s
        t0 = last = self.clock.now()
        warned = -math.inf
        k = 0
        try:
            while True:
                k += 1
                due = t0 + k * step_s
                await self.clock.sleep(due - self.clock.now())
                now = self.clock.now()
                late = now - due
                if late >= step_s:  # slots passed unserved: count them, keep the grid
                    skipped = int(late // step_s)
                    self.missed += skipped
                    k += skipped
                    late -= skipped * step_s
                    if now - warned >= WARN_EVERY_S:
                        warned = now
                        self.on_warning(f"building emulation: {self.missed} step(s) missed so far")
                step = self.advance(k, now, now - last, late)
                if step is None:
                    continue
                last = now
                self._command(step)
        finally:
            if self._write is not None:
                self._write.cancel()
                with contextlib.suppress(asyncio.CancelledError, InstrumentError):
                    await self._write

    def _command(self, step: Step) -> None:
        """Send the step's return temperature unless the previous write is still on the wire
        (then the step is stored as not sent: the loop never queues stale commands)."""
        if self._write is not None and not self._write.done():
            step.command, step.ack = None, None
            self.store.put_emulation_step(step.row())
            return
        self._write = asyncio.create_task(self._send(step), name="emulation-write")

    async def _send(self, step: Step) -> None:
        assert step.command is not None
        sent = self.clock.now()
        try:
            await self.hydraulic.set_inlet_temperature(step.command)  # type: ignore[attr-defined]
            step.ack = 1
        except InstrumentError as exc:
            step.ack = 0
            self.on_warning(f"building emulation: return temperature not set: {exc}")
        step.ack_s = self.clock.now() - sent
        self.store.put_emulation_step(step.row())


async def map_switch(instrument: Instrument, command: str, on: bool) -> None:
    """Write a register map's on/off `[commands]` entry (own_control, inlet_tracking)."""
    regmap = getattr(instrument, "regmap", None)
    spec = None if regmap is None else regmap.commands.get(command)
    if spec is None or (spec.on if on else spec.off) is None:
        raise WriteRefused(
            f"its register map has no {command!r} command with an "
            f"{'on' if on else 'off'} value: a load-based point cannot run on it",
            instrument=instrument.name,
            address=instrument.address,
        )
    await instrument.write(spec.channel, spec.on if on else spec.off)  # type: ignore[attr-defined]


@dataclass
class EmulationHost:
    """The engine's side: starts and stops a point's loop and keeps its steps for results."""

    instruments: dict[str, Instrument]
    clock: Clock
    store: RunStore
    water_side: WaterSide
    warn: Callable[[str, dict[str, Any]], None]
    latest: Frame | None = None
    current: Emulation | None = None
    finished: dict[int, Emulation] = field(default_factory=dict)
    watch: CycleWatch = field(default_factory=CycleWatch)  # the present point's compressor
    _task: asyncio.Task[None] | None = None

    def on_frame(self, frame: Frame) -> None:
        self.latest = frame
        if self.current is not None:
            self.watch.update(frame)

    def summary(self) -> str | None:
        """The building of the point running, in one line for `hpbench run`: its mass
        temperature, the load delivered (mean over the last `SUMMARY_WINDOW_S`) against the
        load demanded, the compressor's state and its starts in this point."""
        emulation = self.current
        if emulation is None or not emulation.steps:
            return None
        last = emulation.steps[-1]
        recent = list(
            itertools.takewhile(
                lambda s: s.t > last.t - SUMMARY_WINDOW_S, reversed(emulation.steps)
            )
        )
        delivered = sum(s.phi_hp * s.dt for s in recent) / sum(s.dt for s in recent)
        demanded = emulation.parameters["load_w"]
        state = {None: "?", True: "on", False: "off"}[self.watch.on]
        return (
            f"building {emulation.spec.id}: t_H {last.t_h:.2f} °C  load {delivered / 1e3:.2f} "
            f"of {demanded / 1e3:.2f} kW ({100 * delivered / demanded:.0f} %, last "
            f"{SUMMARY_WINDOW_S / 60:g} min)  compressor {state}, {len(self.watch.starts)} starts"
        )

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self, spec: PointSpec) -> None:
        """The unit on its own controls and the hydraulic module tracking, then the loop."""
        await self.stop(restore=False)
        assert spec.load_based is not None
        hp, hm = self.instruments["heat_pump"], self.instruments["hydraulic_module"]
        emulation = Emulation(
            spec,
            clock=self.clock,
            hydraulic=hm,
            latest=lambda: self.latest,
            store=self.store,
            water_side=self.water_side,
            on_warning=lambda message: self.warn(message, {"point": spec.id}),
        )
        await map_switch(hm, "inlet_tracking", True)
        regmap = getattr(hp, "regmap", None)
        if regmap is not None and "heating_curve" in {r.name for r in regmap.registers}:
            await hp.write("heating_curve", HEATING_CURVE[spec.load_based.application])  # type: ignore[attr-defined]
        await map_switch(hp, "own_control", True)
        await hp.set_running(True)  # type: ignore[attr-defined]
        self.current, self.watch = emulation, CycleWatch()
        self.finished[spec.index] = emulation
        self.warn(
            f"building emulation started for point {spec.id}",
            {"point": spec.id, "parameters": emulation.parameters},
        )
        self._task = asyncio.create_task(emulation.run(), name="emulation")

    def halt(self) -> None:
        """Stop commanding at once (a safe state is being reached); nothing is written."""
        if self._task is not None:
            self._task.cancel()

    async def stop(self, *, restore: bool = True) -> None:
        """End the loop; with `restore`, the unit back to the bench's set points and the
        hydraulic module back to conditioning (before an open-loop point or the end)."""
        task, self._task = self._task, None
        was = self.current
        self.current = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if was is None or not restore:
            return
        try:
            await map_switch(self.instruments["heat_pump"], "own_control", False)
            await map_switch(self.instruments["hydraulic_module"], "inlet_tracking", False)
        except InstrumentError as exc:  # never in the way of what comes next (a safe state)
            self.warn(f"building emulation: bench controls not restored: {exc}", {})
