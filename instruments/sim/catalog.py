"""One simulator per driver: start a device's simulator alone, on the real transport.

`hpbench probe --sim --driver NAME` and the tests use this to reach any driver the way a lab
reaches the instrument: a TCP socket speaking the device's own protocol, fed by the bench
physics model. Each entry also gives the station options that fit the simulator's wiring.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from instruments.power_analyser.yokogawa_wt import WT_MODELS
from instruments.sim.hioki_pw3390 import HiokiSim
from instruments.sim.io_module import DigitalOutputSim
from instruments.sim.keysight_daq import DaqSim
from instruments.sim.line_server import LineDevice, LineServer
from instruments.sim.modbus_devices import DaikinSim, KamstrupSim, NibeSim, WatlowF4TSim
from instruments.sim.modbus_servers import ModbusDeviceSim
from instruments.sim.model import BenchModel
from instruments.sim.weiss_simserv import SimservSim
from instruments.sim.yokogawa_wt import WtSim
from instruments.sim.zes_lmg670 import LmgSim

DAQ_CHANNELS: dict[str, dict[str, Any]] = {
    "water_in": {"channel": 101, "sensor": "frtd"},
    "water_out": {"channel": 102, "sensor": "frtd"},
    "air_in": {"channel": 103, "sensor": "tc", "tc_type": "K"},
    "air_rh": {"channel": 121, "sensor": "current", "low": 0, "high": 100, "unit": "%RH"},
    "water_flow": {"channel": 122, "sensor": "current", "low": 0, "high": 5, "unit": "m³/h"},
}


@dataclass(frozen=True)
class Simulated:
    """How to serve one driver's device: a line device or a Modbus map simulator."""

    line: Callable[[BenchModel], LineDevice] | None = None
    modbus: Callable[[BenchModel], ModbusDeviceSim] | None = None
    request_end: bytes = b"\n"
    reply_end: bytes = b"\n"
    encoding: str = "ascii"
    options: dict[str, Any] = field(default_factory=dict)


def _wt(model: str) -> Callable[[BenchModel], LineDevice]:
    return lambda m: WtSim(m, WT_MODELS[model])


CATALOG: dict[str, Simulated] = {
    "yokogawa_wt332e": Simulated(_wt("WT332E"), options={"wiring": "1P3W"}),
    "yokogawa_wt333e": Simulated(_wt("WT333E"), options={"wiring": "3P4W"}),
    "yokogawa_wt1800e": Simulated(_wt("WT1800E"), options={"wiring": "3P4W,1P2W,1P2W,1P2W"}),
    "yokogawa_wt5000": Simulated(_wt("WT5000"), options={"wiring": "3P4W,3P4W,1P2W"}),
    "hioki_pw3390": Simulated(
        HiokiSim, request_end=b"\r\n", reply_end=b"\r\n", options={"wiring": "3P4W"}
    ),
    "zes_lmg670": Simulated(LmgSim, options={"channels": 3}),
    "keysight_daq970a": Simulated(DaqSim, options={"channels": DAQ_CHANNELS}),
    "keysight_34970a": Simulated(
        lambda m: DaqSim(m, identity="HEWLETT-PACKARD,34970A,0,13-2-2"),
        options={"channels": DAQ_CHANNELS},
    ),
    "weiss_simserv": Simulated(
        SimservSim, request_end=b"\r", reply_end=b"\r\n", encoding="latin-1"
    ),
    "watlow_f4t": Simulated(modbus=WatlowF4TSim),
    "nibe_s_series": Simulated(modbus=NibeSim),
    "daikin_altherma": Simulated(modbus=DaikinSim),
    "kamstrup_multical": Simulated(modbus=KamstrupSim),
    "moxa_iologik_e1211": Simulated(modbus=DigitalOutputSim),
}


async def start_simulator(
    driver: str, model: BenchModel
) -> tuple[str, dict[str, Any], Callable[[], Awaitable[None]]]:
    """Serve `driver`'s device on loopback: (address for the driver, options, stop)."""
    sim = CATALOG[driver]
    if sim.modbus is not None:
        device = sim.modbus(model)
        port = await device.start()
        return f"tcp://127.0.0.1:{port}", dict(sim.options), device.stop
    assert sim.line is not None
    server = LineServer(
        sim.line(model),
        request_end=sim.request_end,
        reply_end=sim.reply_end,
        encoding=sim.encoding,
    )
    port = await server.start()
    return f"TCPIP::127.0.0.1::{port}::SOCKET", dict(sim.options), server.stop
