"""Modbus servers for the simulated heat pump and hydraulic module, fed from the BenchModel.

Each simulator builds its register space from the same map file the driver reads
(`instruments/maps/*.toml`), with separate holding / input / coil / discrete memory (the
pymodbus 3.16 SimDevice 4-tuple: a single block list would make FC3 and FC4 read the same
registers). Unused addresses inside a read block of the map (gaps of at most `max_read_gap`)
read 0 and refuse writes, as on devices whose documented blocks have holes; anything else is
undefined and answers exception 2, as a real device would.

Values are never stale: a `SimDevice` action hook runs on every request, advances the physics
to the clock's now and writes fresh values into the registers the request is about to read.
Client writes go through the same hook: each written channel is range-checked against the map
(exception 3 when outside, exception 2 for read-only or undefined registers or for half of a
32-bit value) and lands in the model (`flow_temp_sp`, `running`, `inlet_sp`, ...). Channels
of a map that no binding below knows (e.g. a Stiebel comfort temperature) are plain memory:
they read their "not available" sentinel until written, then what was written.

Value faults are applied here (transport faults are the `FaultProxy`'s):
- `modbus_exception` (param `code`, default 4): every request is answered with that exception.
- `over_range`: every polled register that has a sentinel reads it (0x8000 / 0xFFFF / NaN).
- `ignore_writes`: writes are acknowledged as valid but not applied (a unit whose controller
  ignores the bus): only a read-back shows it.
Every write that reached the device is in `sim.writes` (bench time, address, channel, value,
applied) - what tests assert the unit was commanded to do.
The heat pump's alarm comes from the physics model (`model.heat_pump.alarm_code`).

Usage: `sim = HeatPumpSim(model)`; `port = await sim.start()` (Modbus TCP, port 0 = any free
port); `rtu_port = await sim.start_rtu()` (RTU framing over a TCP socket, for
`rtu+socket://`); `await sim.stop()`. `sim.requests` is the transcript of every request served.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from instruments.base import Quality
from instruments.modbus.regmap import (
    BIT_TABLES,
    Register,
    RegisterMap,
    decode,
    encode,
    load_map,
    sentinel_words,
)
from instruments.sim.faults import FaultInjector, FaultKind
from instruments.sim.model import BenchModel

_FC_TABLE = {1: "coil", 5: "coil", 15: "coil", 2: "discrete", 4: "input"}
_FC_TABLE.update({fc: "holding" for fc in (3, 6, 16, 22, 23)})
_WRITE_FCS = frozenset({5, 6, 15, 16, 22, 23})


@dataclass(frozen=True)
class Write:
    """One channel written by a client, as the device saw it: the simulator's write log."""

    t: float  # bench time
    address: int
    channel: str
    value: float
    applied: bool  # False under the `ignore_writes` fault


@dataclass(frozen=True)
class Binding:
    """How one channel reads from (and, if writable, writes to) the physics model."""

    get: Callable[[BenchModel], float | None]
    set: Callable[[BenchModel, float], None] | None = None


@dataclass(frozen=True)
class Request:
    """One request as the server received it (the transcript tests pin exchanges with)."""

    device_id: int
    function_code: int
    address: int
    count: int
    values: tuple[int, ...] = ()

    @property
    def is_write(self) -> bool:
        return self.function_code in _WRITE_FCS


def _set_attr(
    path: str, convert: Callable[[float], Any] = float
) -> Callable[[BenchModel, float], None]:
    section, attr = path.split(".")

    def setter(model: BenchModel, value: float) -> None:
        setattr(getattr(model, section), attr, convert(value))

    return setter


def _reset_alarm(model: BenchModel, value: float) -> None:
    if value:
        model.heat_pump.alarm_code = 0


def _set_demand(model: BenchModel, value: float) -> None:
    model.heat_pump.demand_pct = None if value == 0 else float(value)


def _set_stiebel_mode(model: BenchModel, value: float) -> None:
    # 0 emergency, 1 standby: the compressor stays off; 2..5 (program, comfort, eco, DHW) run
    model.heat_pump.running = value >= 2


HEAT_PUMP_BINDINGS: Mapping[str, Binding] = {
    # hpbench_sim_hp (and the channels other heat-pump maps share by name)
    "outdoor_temp": Binding(lambda m: m.heat_pump.own_outdoor_c),
    "supply_temp": Binding(lambda m: m.heat_pump.own_supply_c),
    "return_temp": Binding(lambda m: m.heat_pump.own_return_c),
    "flow_rate": Binding(lambda m: m.heat_pump.own_flow_lpm),
    "compressor_freq": Binding(lambda m: m.heat_pump.compressor_hz),
    "running": Binding(lambda m: float(m.heat_pump.running)),
    "defrost": Binding(lambda m: float(m.heat_pump.defrost)),
    "alarm": Binding(lambda m: float(m.heat_pump.alarm_code != 0)),
    "compressor_on": Binding(lambda m: float(m.heat_pump.compressor_hz > 0)),
    "alarm_code": Binding(lambda m: m.heat_pump.alarm_code),
    "heat_output": Binding(lambda m: m.heat_pump.own_heat_w),
    "electrical_energy": Binding(lambda m: m.electrical.energy_wh),
    "defrost_count": Binding(lambda m: m.heat_pump.defrost_count),
    "serial_number": Binding(lambda m: 20250001),
    "firmware_version": Binding(lambda m: 103),
    "on_off": Binding(lambda m: float(m.heat_pump.running), _set_attr("heat_pump.running", bool)),
    "mode": Binding(lambda m: m.heat_pump.mode, _set_attr("heat_pump.mode", int)),
    "flow_temp_sp": Binding(
        lambda m: m.heat_pump.flow_temp_sp, _set_attr("heat_pump.flow_temp_sp")
    ),
    "demand_pct": Binding(lambda m: m.heat_pump.demand_pct or 0.0, _set_demand),
    "alarm_reset": Binding(lambda m: 0.0, _reset_alarm),
    "control_mode": Binding(
        lambda m: m.heat_pump.control_mode, _set_attr("heat_pump.control_mode", int)
    ),
    "heating_curve": Binding(
        lambda m: m.heat_pump.heating_curve, _set_attr("heat_pump.heating_curve", int)
    ),
    # stiebel_eltron_wpm
    "flow_temp_hp": Binding(lambda m: m.heat_pump.own_supply_c),
    "hp1_return_temp": Binding(lambda m: m.heat_pump.own_return_c),
    "hp1_flow_temp": Binding(lambda m: m.heat_pump.own_supply_c),
    "fault_status": Binding(lambda m: float(m.heat_pump.alarm_code != 0)),
    "operating_mode": Binding(lambda m: 3.0 if m.heat_pump.running else 1.0, _set_stiebel_mode),
}

HYDRAULIC_BINDINGS: Mapping[str, Binding] = {
    "inlet_temp": Binding(lambda m: m.hydraulic.inlet_meas_c),
    "outlet_temp": Binding(lambda m: m.hydraulic.outlet_meas_c),
    "volume_flow": Binding(lambda m: m.hydraulic.flow_meas_m3h),
    "pump_running": Binding(lambda m: float(m.hydraulic.running)),
    "fault": Binding(lambda m: 0.0),
    "barometric_pressure": Binding(lambda m: m.hydraulic.barometric_pa),
    "inlet_temp_sp": Binding(lambda m: m.hydraulic.inlet_sp, _set_attr("hydraulic.inlet_sp")),
    "flow_sp": Binding(lambda m: m.hydraulic.flow_sp_m3h, _set_attr("hydraulic.flow_sp_m3h")),
    "pump_run": Binding(lambda m: float(m.hydraulic.running), _set_attr("hydraulic.running", bool)),
    "inlet_mode": Binding(
        lambda m: float(m.hydraulic.tracking), _set_attr("hydraulic.tracking", bool)
    ),
}


@dataclass(frozen=True)
class _Slot:
    """One register address of a register table: an entry (or bit fields), or a filler."""

    address: int
    registers: tuple[Register, ...]  # empty: filler (reads 0, refuses writes)


class ModbusDeviceSim:
    """A Modbus device simulated from a register map and a BenchModel (TCP and RTU-over-TCP)."""

    role: ClassVar[str] = ""
    default_map: ClassVar[str] = ""
    bindings: Mapping[str, Binding] = {}

    def __init__(
        self,
        model: BenchModel,
        faults: FaultInjector | None = None,
        *,
        map: str | Path | RegisterMap | None = None,
        device_id: int = 1,
    ) -> None:
        self.model = model
        self.faults = faults if faults is not None else model.faults
        self.regmap = map if isinstance(map, RegisterMap) else load_map(map or self.default_map)
        self.device_id = device_id
        self.requests: list[Request] = []
        self.writes: list[Write] = []
        self._store: dict[str, float] = {}  # channels no binding knows: plain memory
        self._servers: list[ModbusTcpServer | ModbusSerialServer] = []
        self._by_table: dict[str, list[Register]] = {
            t: [] for t in ("holding", "input", "coil", "discrete")
        }
        for reg in self.regmap.registers:
            self._by_table[reg.table].append(reg)
        self._slots = {t: self._layout(t) for t in ("holding", "input")}

    # -- register space -------------------------------------------------------------------------
    def _layout(self, table: str) -> list[_Slot]:
        owners: dict[int, list[Register]] = {}
        for reg in self._by_table[table]:
            for addr in range(reg.address, reg.end):
                owners.setdefault(addr, []).append(reg)
        slots: list[_Slot] = []
        previous: int | None = None
        for addr in sorted(owners):
            if previous is not None and 1 < addr - previous <= self.regmap.max_read_gap + 1:
                slots += [_Slot(a, ()) for a in range(previous + 1, addr)]
            slots.append(_Slot(addr, tuple(owners[addr])))
            previous = addr
        return slots

    def _simdata(self, table: str) -> list[SimData]:
        if table in BIT_TABLES:
            regs = self._by_table[table]
            if not regs:  # pymodbus needs a block; the action refuses every request to it
                return [SimData(address=0, values=[False] * 16, datatype=DataType.BITS)]
            return [SimData(address=r.address, values=False, datatype=DataType.BITS) for r in regs]
        slots = self._slots[table]
        if not slots:
            return [SimData(address=0, datatype=DataType.INVALID)]
        return [
            SimData(
                address=slot.address,
                values=0,
                datatype=DataType.REGISTERS,
                readonly=not slot.registers or not any(r.writable for r in slot.registers),
            )
            for slot in slots
        ]

    def _device(self) -> SimDevice:
        return SimDevice(
            id=self.device_id,
            simdata=(
                self._simdata("coil"),
                self._simdata("discrete"),
                self._simdata("holding"),
                self._simdata("input"),
            ),
            action=self._action,
        )

    # -- lifecycle ------------------------------------------------------------------------------
    def _trace(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending:
            values = tuple(int(v) for v in (getattr(pdu, "registers", None) or []))
            if not values and getattr(pdu, "function_code", 0) in (5, 15):
                values = tuple(int(b) for b in (getattr(pdu, "bits", None) or []))
            count = getattr(pdu, "count", 0) or len(values)
            self.requests.append(
                Request(pdu.dev_id, pdu.function_code, getattr(pdu, "address", 0), count, values)
            )
        return pdu

    async def _serve(self, server: ModbusTcpServer | ModbusSerialServer) -> int:
        await server.serve_forever(background=True)
        self._servers.append(server)
        return int(server.transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve Modbus TCP; returns the bound port."""
        server = ModbusTcpServer(self._device(), address=(host, port), trace_pdu=self._trace)
        return await self._serve(server)

    async def start_rtu(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve RTU framing (with CRC) on a TCP socket; returns the bound port."""
        server = ModbusSerialServer(
            self._device(),
            port=f"socket://{host}:{port}",
            framer=FramerType.RTU,
            trace_pdu=self._trace,
        )
        return await self._serve(server)

    async def stop(self) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            with contextlib.suppress(Exception):
                await server.shutdown()  # type: ignore[no-untyped-call]

    def clear_transcript(self) -> None:
        self.requests.clear()

    # -- values ---------------------------------------------------------------------------------
    def _fault_params(self, kind: FaultKind) -> dict[str, Any] | None:
        if self.faults is None:
            return None
        fault = self.faults.active(self.role, kind)
        return None if fault is None else fault.params

    def value(self, name: str) -> float | None:
        """A channel's current value as the simulator serves it (None: not available)."""
        binding = self.bindings.get(name)
        if binding is None:
            return self._store.get(name)
        return binding.get(self.model)

    def _words(self, reg: Register, over_range: bool) -> list[int]:
        if over_range and reg.poll and (sentinel := sentinel_words(reg)) is not None:
            return sentinel
        value = self.value(reg.name)
        if value is None:
            return sentinel_words(reg) or [0] * reg.width
        return encode(reg, value, check_range=False)

    def _refresh_registers(self, table: str, start: int, registers: list[int]) -> None:
        over_range = self._fault_params(FaultKind.OVER_RANGE) is not None
        for slot in self._slots[table]:
            regs = slot.registers
            if not regs:
                continue
            i = slot.address - start
            if regs[0].bit is not None:  # a status word of bit fields
                word = 0
                for reg in regs:
                    word |= (self._words(reg, False)[0] & 1) << (reg.bit or 0)
                registers[i] = word
            elif regs[0].address == slot.address:
                registers[i : i + regs[0].width] = self._words(regs[0], over_range)

    def _refresh_bits(self, table: str, start: int, registers: list[int]) -> None:
        for reg in self._by_table[table]:
            index, bit = divmod(reg.address, 16)
            value = self.value(reg.name)
            mask = 1 << bit
            on = bool(value)
            registers[index - start] = (registers[index - start] & ~mask) | (mask if on else 0)

    def _apply_writes(
        self, table: str, address: int, start: int, registers: list[int], values: list[Any]
    ) -> ExcCodes | None:
        end = address + len(values)
        if table in BIT_TABLES:
            touched = [r for r in self._by_table[table] if address <= r.address < end]
            if len(touched) != len(values):
                return ExcCodes.ILLEGAL_ADDRESS
            found = {r.name: float(bool(values[r.address - address])) for r in touched}
        else:
            image = list(registers)
            image[address - start : end - start] = [int(v) for v in values]
            touched = [r for r in self._by_table[table] if r.address < end and r.end > address]
            found = {}
            for reg in touched:
                if not reg.writable or reg.address < address or reg.end > end:
                    return ExcCodes.ILLEGAL_ADDRESS
                words = image[reg.address - start : reg.end - start]
                reading = decode(reg, words)
                if reading.quality is not Quality.OK or reading.value is None:
                    return ExcCodes.ILLEGAL_VALUE
                if reg.enum is not None and int(reading.value) not in reg.enum:
                    return ExcCodes.ILLEGAL_VALUE
                found[reg.name] = reading.value
        applied = self._fault_params(FaultKind.IGNORE_WRITES) is None
        now = self.model.clock.now()
        for reg in touched:
            self.writes.append(Write(now, reg.address, reg.name, found[reg.name], applied))
            if not applied:
                continue
            binding = self.bindings.get(reg.name)
            if binding is not None and binding.set is not None:
                binding.set(self.model, found[reg.name])
            else:
                self._store[reg.name] = found[reg.name]
        return None

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """pymodbus calls this on every request, before it reads or writes `registers`."""
        del count  # for bit tables pymodbus passes a register count here, not the request's
        fault = self._fault_params(FaultKind.MODBUS_EXCEPTION)
        if fault is not None:
            try:
                return ExcCodes(int(fault.get("code", 4)))
            except ValueError:
                return ExcCodes.DEVICE_FAILURE
        table = _FC_TABLE.get(function_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if table in BIT_TABLES and not any(r.address == address for r in self._by_table[table]):
            return ExcCodes.ILLEGAL_ADDRESS
        self.model.advance()
        if set_values is not None:
            return self._apply_writes(table, address, start_address, registers, list(set_values))
        if table in BIT_TABLES:
            self._refresh_bits(table, start_address, registers)
        else:
            self._refresh_registers(table, start_address, registers)
        return None


class HeatPumpSim(ModbusDeviceSim):
    """The simulated heat pump (map `hpbench_sim_hp`; `stiebel_eltron_wpm` also works)."""

    role: ClassVar[str] = "heat_pump"
    default_map: ClassVar[str] = "hpbench_sim_hp"
    bindings: Mapping[str, Binding] = HEAT_PUMP_BINDINGS


class HydraulicModuleSim(ModbusDeviceSim):
    """The simulated hydraulic module (map `hpbench_hm`)."""

    role: ClassVar[str] = "hydraulic_module"
    default_map: ClassVar[str] = "hpbench_hm"
    bindings: Mapping[str, Binding] = HYDRAULIC_BINDINGS
