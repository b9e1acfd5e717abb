"""The whole simulated bench: one physics model behind its protocol servers on loopback.

Each server sits behind a `FaultProxy`, and the chamber is also reachable through a real pty, so
drivers see exactly the endpoints they would see in a lab: a SCPI socket, two Modbus TCP servers
(plus RTU framing over a socket), an ASCII chamber on TCP and on a tty.

A real lab's layout is served too, from the same model (bench/stations/sim_lab.toml): a DAQ970A
data logger with the water Pt100s on 101 / 102, a Kamstrup MULTICAL heat meter for the flow, and
two analysers splitting the unit's input (feeds.py): a WT333E on the outdoor unit's three-phase
supply, a WT310E on the indoor unit's. The vendor-map devices of a mixed lab are served as well
(stations/lab_wt333e_daq970a_f4t_nibe.toml): a Watlow F4T chamber, a NIBE S-series unit and
the Moxa digital-output module whose SG-Ready contacts start and stop that unit.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from instruments.clock import Clock
from instruments.power_analyser.yokogawa_wt import WT_MODELS
from instruments.sim.espec_server import EspecServer
from instruments.sim.faults import FaultInjector
from instruments.sim.feeds import indoor, outdoor
from instruments.sim.io_module import DigitalOutputSim
from instruments.sim.keysight_daq import DaqSim
from instruments.sim.line_server import LineServer
from instruments.sim.modbus_devices import KamstrupSim, NibeSim, WatlowF4TSim
from instruments.sim.modbus_servers import (
    HeatPumpSim,
    HydraulicModuleSim,
    ModbusDeviceSim,
    Write,
)
from instruments.sim.model import BenchModel
from instruments.sim.proxy import FaultProxy, Framing, PtyBridge
from instruments.sim.scpi_wt310 import Wt310Server
from instruments.sim.yokogawa_wt import WtSim

T = TypeVar("T")

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Endpoints:
    """Where each simulated instrument listens, in the address form its driver takes."""

    power_analyser: str
    heat_pump: str
    heat_pump_rtu: str
    hydraulic_module: str
    climate_chamber: str
    climate_chamber_tty: str
    data_logger: str
    heat_meter: str
    pa_odu: str
    pa_idu: str
    chamber_f4t: str
    heat_pump_nibe: str
    io_module: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class SimBench:
    """Start with `async with SimBench(clock) as sim:`; `sim.endpoints` says where to connect."""

    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 0,
        faults: FaultInjector | None = None,
        chamber_baud: int | None = None,
    ) -> None:
        self.clock = clock
        self.chamber_baud = chamber_baud  # line time on the chamber's tty; None: as fast as can be
        self.faults = faults or FaultInjector(clock)
        self.model = BenchModel(clock, self.faults, seed=seed)
        self._servers: list[Any] = []
        self.modbus: dict[str, ModbusDeviceSim] = {}  # role -> server (its `writes` log)
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self.endpoints: Endpoints | None = None
        self.heat_pump_sim: HeatPumpSim | None = None  # its `requests`: the Modbus traffic

    async def _proxied(self, role: str, port: int, framing: Framing) -> int:
        proxy = FaultProxy(role, (HOST, port), self.faults, framing=framing)
        self._closers.append(proxy.stop)
        return await proxy.start(HOST)

    async def start(self) -> Endpoints:
        scpi = Wt310Server(self.model, self.faults)
        espec = EspecServer(self.model, self.faults)
        heat_pump = self.heat_pump_sim = HeatPumpSim(self.model, self.faults)
        hydraulic = HydraulicModuleSim(self.model, self.faults)
        self.modbus = {"heat_pump": heat_pump, "hydraulic_module": hydraulic}
        for server in (scpi, espec, heat_pump, hydraulic):
            self._closers.append(server.stop)
        pa_port = await self._proxied("power_analyser", await scpi.start(HOST), "line")
        ch_port = await self._proxied("climate_chamber", await espec.start(HOST), "line")
        hp_port = await self._proxied("heat_pump", await heat_pump.start(HOST), "mbap")
        rtu_port = await self._proxied("heat_pump", await heat_pump.start_rtu(HOST), "raw")
        hm_port = await self._proxied("hydraulic_module", await hydraulic.start(HOST), "mbap")
        bridge = PtyBridge((HOST, ch_port), baud=self.chamber_baud)
        self._closers.append(bridge.stop)
        tty_path = await bridge.start()
        lab = await self._start_lab()
        self.endpoints = Endpoints(
            power_analyser=f"TCPIP::{HOST}::{pa_port}::SOCKET",
            heat_pump=f"tcp://{HOST}:{hp_port}",
            heat_pump_rtu=f"rtu+socket://{HOST}:{rtu_port}",
            hydraulic_module=f"tcp://{HOST}:{hm_port}",
            climate_chamber=f"socket://{HOST}:{ch_port}",
            climate_chamber_tty=tty_path,
            **lab,
        )
        return self.endpoints

    async def _start_lab(self) -> dict[str, str]:
        """The lab layout's endpoints; role = endpoint name, for faults as for the others."""
        m, f = self.model, self.faults
        line: dict[str, Any] = {
            "data_logger": LineServer(DaqSim(m)),
            "pa_odu": LineServer(
                WtSim(m, WT_MODELS["WT333E"], serial="C3SIM0001", feed=outdoor, role="pa_odu")
            ),
            "pa_idu": Wt310Server(m, f, serial="C2SIM0002", feed=indoor, role="pa_idu"),
        }
        modbus: dict[str, ModbusDeviceSim] = {
            "heat_meter": KamstrupSim(m, f),
            "chamber_f4t": WatlowF4TSim(m, faults=f),
            "heat_pump_nibe": NibeSim(m, faults=f),
            "io_module": DigitalOutputSim(m, faults=f, sg_ready=("do0", "do1")),
        }
        found: dict[str, str] = {}
        for name, server in line.items():
            self._closers.append(server.stop)
            port = await self._proxied(name, await server.start(HOST), "line")
            found[name] = f"TCPIP::{HOST}::{port}::SOCKET"
        for name, device in modbus.items():
            self._closers.append(device.stop)
            self.modbus[name] = device
            port = await self._proxied(name, await device.start(HOST), "mbap")
            found[name] = f"tcp://{HOST}:{port}"
        return found

    async def stop(self) -> None:
        for close in reversed(self._closers):
            # a server that failed to start must not keep the others from closing
            with contextlib.suppress(Exception):
                await close()
        self._closers.clear()

    async def __aenter__(self) -> SimBench:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class SimBenchThread:
    """The simulated bench on its own thread and event loop, like hardware beside the engine.

    Used by `hpbench probe --sim`, the benchmarks and tests that want the engine's loop free of
    simulator work. Fault injection (`self.faults`) is safe from any thread.
    """

    def __init__(self, clock: Clock, *, seed: int = 0) -> None:
        self.bench = SimBench(clock, seed=seed)
        self.faults = self.bench.faults
        self.model = self.bench.model
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sim-bench", daemon=True
        )

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return fut.result(timeout=30)

    def start(self) -> Endpoints:
        self._thread.start()
        try:
            return self._call(self.bench.start())
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self.bench.stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the simulator's loop (to touch the model consistently) and return."""

        async def run() -> T:
            return fn()

        return self._call(run())

    def writes(self, role: str, channel: str | None = None) -> list[Write]:
        """The Modbus write log of `role` (optionally one channel): what the bench commanded.
        Appends are atomic, so a copy is consistent from any thread, and after `stop()`."""
        log = list(self.bench.modbus[role].writes)
        return [w for w in log if channel is None or w.channel == channel]

    def __enter__(self) -> Endpoints:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
