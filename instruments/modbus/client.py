"""One generic asynchronous Modbus client that reads and writes any device through its map.

`ModbusMapClient` turns a register map into the fewest block reads, decodes them into
`Reading`s, checks every write against the map before anything reaches the wire, and maps every
pymodbus failure onto the `InstrumentError` family:

- refused / closed / reset / port gone: `ConnectionLost`
- no (complete) answer within `timeout_s`: `InstrumentTimeout`
- a Modbus exception response: `ModbusExceptionError` (a `ProtocolError`) carrying `.code`; on a
  write, codes 1-3 (the device refuses) give `ModbusWriteRejected` (a `WriteRefused`) instead
- an answer of the wrong kind, length or id: `ProtocolError`
- a write to an unknown / read-only channel or outside its range: `WriteRefused`, nothing sent

pymodbus runs with `retries=0` and no background reconnect, so a fault is seen at once; after a
loss, a timeout or a garbled answer the connection is closed (late or stray bytes must never be
taken for the next answer - RTU has no transaction id) and the next call connects again.

Addresses: `tcp://host[:502]`, `rtu+socket://host:port` (RTU framing through a TCP socket, as
serial-to-Ethernet gateways and the simulator's RTU endpoint speak it; sent with pymodbus' TCP
client and its RTU framer, since pyserial's `socket://` handler sleeps 0.3 s in close()) and
`rtu:///dev/ttyUSB0?baudrate=19200&parity=E&stopbits=1&bytesize=8` (defaults as shown: the
Modbus serial-line default of 8E1 at 19200 Bd; set what the device uses).

`ModbusMapInstrument` is the common body of the Modbus role drivers (heat pump, hydraulic
module): lifecycle, identity, channels, read and write, plus the map's `[commands]`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from instruments.base import (
    ConnectionLost,
    Identity,
    InstrumentError,
    InstrumentTimeout,
    ProtocolError,
    Reading,
    WriteRefused,
)
from instruments.modbus.regmap import (
    BIT_TABLES,
    RangeError,
    ReadBlock,
    Register,
    RegisterMap,
    decode,
    encode,
    load_map,
)

Client = AsyncModbusTcpClient | AsyncModbusSerialClient

EXCEPTION_NAMES: dict[int, str] = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
_REFUSAL_CODES = frozenset({1, 2, 3})
_READ_METHOD = {
    "holding": "read_holding_registers",
    "input": "read_input_registers",
    "coil": "read_coils",
    "discrete": "read_discrete_inputs",
}


class ModbusExceptionError(ProtocolError):
    """The device answered with a Modbus exception response; `code` is its exception code."""

    def __init__(self, message: str, *, code: int, instrument: str = "", address: str = ""):
        self.code = code
        super().__init__(message, instrument=instrument, address=address)


class ModbusWriteRejected(WriteRefused):
    """The device refused a write (exception 1, 2 or 3); `code` is its exception code."""

    def __init__(self, message: str, *, code: int, instrument: str = "", address: str = ""):
        self.code = code
        super().__init__(message, instrument=instrument, address=address)


def exception_text(code: int) -> str:
    return f"Modbus exception code {code} ({EXCEPTION_NAMES.get(code, 'unknown')})"


@dataclass(frozen=True)
class ModbusAddress:
    scheme: str  # tcp | rtu+socket | rtu
    host: str = ""
    port: int = 0
    device: str = ""
    serial: Mapping[str, Any] = field(default_factory=dict)


def parse_address(address: str) -> ModbusAddress:
    """`tcp://host:port`, `rtu+socket://host:port` or `rtu:///dev/tty...?baudrate=...`."""
    parts = urlsplit(address)
    scheme = parts.scheme.lower()
    if scheme in ("tcp", "rtu+socket"):
        if not parts.hostname:
            raise ValueError(f"Modbus address {address!r}: no host (expected {scheme}://host:port)")
        try:
            port = parts.port or (502 if scheme == "tcp" else 0)
        except ValueError:
            raise ValueError(f"Modbus address {address!r}: bad port") from None
        if not port:
            raise ValueError(f"Modbus address {address!r}: rtu+socket needs a port")
        return ModbusAddress(scheme, parts.hostname, port)
    if scheme == "rtu":
        if not parts.path:
            raise ValueError(f"Modbus address {address!r}: no serial device (rtu:///dev/ttyUSB0)")
        options: dict[str, Any] = {"baudrate": 19200, "parity": "E", "stopbits": 1, "bytesize": 8}
        for key, value in parse_qsl(parts.query):
            if key not in options:
                known = ", ".join(options)
                raise ValueError(f"Modbus address {address!r}: unknown option {key!r} ({known})")
            if key == "parity":
                if value.upper() not in ("N", "E", "O"):
                    raise ValueError(f"Modbus address {address!r}: parity is N, E or O")
                options[key] = value.upper()
            else:
                try:
                    options[key] = int(value)
                except ValueError:
                    raise ValueError(
                        f"Modbus address {address!r}: {key} must be a number"
                    ) from None
        return ModbusAddress(scheme, device=parts.path, serial=options)
    raise ValueError(
        f"Modbus address {address!r}: expected tcp://host:port, rtu+socket://host:port "
        "or rtu:///dev/ttyUSB0?baudrate=19200"
    )


class ModbusMapClient:
    """Reads and writes one Modbus device through its register map (asyncio, pymodbus 3.16)."""

    def __init__(
        self,
        name: str,
        address: str,
        regmap: RegisterMap | str | Path,
        *,
        device_id: int = 1,
        timeout_s: float = 2.0,
    ) -> None:
        # ValueError, never TypeError, for any option a station file gets wrong
        if (
            isinstance(device_id, bool)
            or not isinstance(device_id, int)
            or not 1 <= device_id <= 247
        ):
            raise ValueError(
                f"{name}: Modbus device id {device_id!r} is not in 1..247 "
                "(0 is broadcast: a device never answers it)"
            )
        if (
            isinstance(timeout_s, bool)
            or not isinstance(timeout_s, int | float)
            or not timeout_s > 0
        ):
            raise ValueError(f"{name}: timeout_s must be positive, not {timeout_s!r}")
        self.name = name
        self.address = address
        self.endpoint = parse_address(address)
        self.regmap = regmap if isinstance(regmap, RegisterMap) else load_map(regmap)
        self.device_id = device_id
        self.timeout_s = float(timeout_s)
        self.requests_sent = 0  # requests put on the wire (tests pin exchanges with it)
        self._plan = self.regmap.read_plan()
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._lost = asyncio.Event()
        self._lock = asyncio.Lock()

    # -- errors ---------------------------------------------------------------------------------
    def _err(self, cls: type[InstrumentError], message: str, **kw: Any) -> InstrumentError:
        return cls(message, instrument=self.name, address=self.address, **kw)

    # -- connection -----------------------------------------------------------------------------
    def _new_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        lost = asyncio.Event()
        self._lost = lost

        def on_connect(connected: bool) -> None:
            if not connected:
                lost.set()

        def on_pdu(sending: bool, pdu: ModbusPDU) -> ModbusPDU:
            if sending:
                self.requests_sent += 1
            return pdu

        common: dict[str, Any] = {
            "timeout": self.timeout_s,
            "retries": 0,
            "reconnect_delay": 0,  # no background reconnect: the next call reconnects
            "trace_connect": on_connect,
            "trace_pdu": on_pdu,
            "name": self.name,
        }
        ep = self.endpoint
        if ep.scheme == "tcp":
            return AsyncModbusTcpClient(ep.host, port=ep.port, **common)
        if ep.scheme == "rtu+socket":
            # RTU frames (with CRC) over a plain asyncio TCP connection. Not pyserial's
            # `socket://` handler: its close() sleeps 0.3 s, blocking the whole event loop on
            # every reconnect after a fault.
            return AsyncModbusTcpClient(ep.host, port=ep.port, framer=FramerType.RTU, **common)
        return AsyncModbusSerialClient(ep.device, framer=FramerType.RTU, **ep.serial, **common)

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected and not self._lost.is_set()

    async def connect(self) -> None:
        async with self._lock:
            await self._ensure_connected()

    async def close(self) -> None:
        async with self._lock:
            self._drop()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _ensure_connected(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        if self._client is not None and self.connected:
            return self._client
        self._drop()
        client = self._new_client()
        try:
            ok = await client.connect()
        except (OSError, ModbusException) as exc:
            client.close()
            raise self._err(ConnectionLost, f"cannot connect: {exc}") from exc
        if not ok or self._lost.is_set():
            client.close()
            raise self._err(ConnectionLost, "cannot connect (refused or unreachable)")
        self._client = client
        return client

    # -- one exchange ---------------------------------------------------------------------------
    async def _call(
        self, what: str, request: Callable[[Client], Awaitable[ModbusPDU]]
    ) -> ModbusPDU:
        """Send one request built by `request(client)` and return the (non-error) answer."""
        client = await self._ensure_connected()
        lost = self._lost
        call = asyncio.ensure_future(request(client))
        watch = asyncio.ensure_future(lost.wait())
        try:
            done, _ = await asyncio.wait(
                {call, watch}, timeout=2 * self.timeout_s + 1.0, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            watch.cancel()
        if call not in done:
            call.cancel()
            with contextlib.suppress(BaseException):
                await call
            self._drop()
            if lost.is_set():
                raise self._err(ConnectionLost, f"connection lost during {what}")
            raise self._err(InstrumentTimeout, f"no answer to {what} within {self.timeout_s:g} s")
        try:
            response = call.result()
        except ConnectionException as exc:
            self._drop()
            raise self._err(ConnectionLost, f"{what}: not connected ({exc.string})") from exc
        except ModbusIOException as exc:
            self._drop()
            if lost.is_set():
                raise self._err(ConnectionLost, f"connection lost during {what}") from exc
            if "No response" in exc.string:
                raise self._err(
                    InstrumentTimeout, f"no answer to {what} within {self.timeout_s:g} s"
                ) from exc
            raise self._err(ProtocolError, f"bad answer to {what}: {exc.string}") from exc
        except ModbusException as exc:
            self._drop()
            raise self._err(ProtocolError, f"bad answer to {what}: {exc.string}") from exc
        except OSError as exc:
            self._drop()
            raise self._err(ConnectionLost, f"{what}: {exc}") from exc
        if response is None:
            self._drop()
            raise self._err(ProtocolError, f"no answer object for {what}")
        if response.isError():
            code = int(getattr(response, "exception_code", 0) or 0)
            raise self._err(ModbusExceptionError, f"{what}: {exception_text(code)}", code=code)
        return response

    # -- reading --------------------------------------------------------------------------------
    async def _read_block(self, block: ReadBlock) -> list[int] | list[bool]:
        method = _READ_METHOD[block.table]
        what = f"read of {block.count} {block.table} from {block.address}"
        response = await self._call(
            what,
            lambda c: getattr(c, method)(
                block.address, count=block.count, device_id=self.device_id
            ),
        )
        if not _expected_kind(response, block.table):
            self._drop()
            kind = type(response).__name__
            raise self._err(
                ProtocolError,
                f"{what}: answer is {kind} (function code "
                f"{getattr(response, 'function_code', '?')})",
            )
        if block.table in BIT_TABLES:
            bits = list(getattr(response, "bits", []) or [])
            if len(bits) < block.count:
                self._drop()
                raise self._err(ProtocolError, f"{what}: answer holds {len(bits)} bits")
            return bits[: block.count]
        regs = list(getattr(response, "registers", []) or [])
        if len(regs) != block.count:
            self._drop()
            raise self._err(ProtocolError, f"{what}: answer holds {len(regs)} registers")
        return regs

    @staticmethod
    def _decode_block(block: ReadBlock, words: list[int] | list[bool]) -> dict[str, Reading]:
        out: dict[str, Reading] = {}
        for reg in block.registers:
            offset = reg.address - block.address
            out[reg.name] = decode(reg, words[offset : offset + reg.width])
        return out

    async def read(self) -> dict[str, Reading]:
        """Every polled channel, in map order, in as few block reads as the map allows."""
        async with self._lock:
            got: dict[str, Reading] = {}
            for block in self._plan:
                got.update(self._decode_block(block, await self._read_block(block)))
        return {r.name: got[r.name] for r in self.regmap.polled}

    async def read_value(self, name: str) -> Reading:
        """One channel by name (polled or not), in one request."""
        reg = self._register(name, for_write=False)
        block = ReadBlock(reg.table, reg.address, reg.width, (reg,))
        async with self._lock:
            words = await self._read_block(block)
        return self._decode_block(block, words)[reg.name]

    # -- writing --------------------------------------------------------------------------------
    def _register(self, name: str, *, for_write: bool) -> Register:
        reg = self.regmap.get(name)
        if reg is None:
            candidates = self.regmap.writable if for_write else self.regmap.registers
            known = ", ".join(r.name for r in candidates) or "none"
            cls = WriteRefused if for_write else InstrumentError
            raise self._err(cls, f"no register {name!r} in {self.regmap.path} (known: {known})")
        return reg

    def check_write(self, name: str, value: float) -> tuple[Register, list[int]]:
        """The register and raw words a write would send; raises WriteRefused instead."""
        reg = self._register(name, for_write=True)
        if not reg.writable:
            raise self._err(WriteRefused, f"{name!r} is read-only in {self.regmap.path}")
        try:
            words = encode(reg, value)
        except RangeError as exc:
            raise self._err(WriteRefused, str(exc)) from None
        return reg, words

    async def write(self, name: str, value: float) -> None:
        """Write one channel; checked against the map (access, range, type) before the wire."""
        reg, words = self.check_write(name, value)
        what = f"write of {name} = {value:g}"
        if reg.table == "coil":

            def request(c: Client) -> Awaitable[ModbusPDU]:
                return c.write_coil(reg.address, bool(words[0]), device_id=self.device_id)
        elif reg.width == 1:

            def request(c: Client) -> Awaitable[ModbusPDU]:
                return c.write_register(reg.address, words[0], device_id=self.device_id)
        else:

            def request(c: Client) -> Awaitable[ModbusPDU]:
                return c.write_registers(reg.address, words, device_id=self.device_id)

        async with self._lock:
            try:
                response = await self._call(what, request)
            except ModbusExceptionError as exc:
                if exc.code in _REFUSAL_CODES:
                    raise self._err(
                        ModbusWriteRejected,
                        f"device refused {what}: {exception_text(exc.code)}",
                        code=exc.code,
                    ) from exc
                raise
            problem = _echo_problem(response, reg, words)
            if problem:
                # the answer is not this write's: the device may or may not have done it
                self._drop()
                raise self._err(ProtocolError, f"{what}: {problem}")


_READ_FC = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}


def _expected_kind(response: ModbusPDU, table: str) -> bool:
    """The answer is the one the read asked for (a coil read is not answered by FC 2...)."""
    return getattr(response, "function_code", None) == _READ_FC[table]


def _echo_problem(response: ModbusPDU, reg: Register, words: list[int]) -> str:
    """Why a write's answer is not this write's echo, or "" when it is.

    Checked: the function code, the address and (FC 16) the register count. Not the value of
    FC 5 / 6: devices, pymodbus's server among them, echo what the register holds after the
    write, and a self-clearing command register (an alarm reset) holds 0 again at once.
    """
    fc = getattr(response, "function_code", None)
    wanted = 5 if reg.table == "coil" else 6 if reg.width == 1 else 16
    if fc != wanted:
        return f"answer has function code {fc}, not {wanted}"
    address = getattr(response, "address", None)
    if address != reg.address:
        return f"answer echoes address {address}, not {reg.address}"
    if wanted == 16 and getattr(response, "count", None) != len(words):
        return f"answer echoes {getattr(response, 'count', None)} registers, not {len(words)}"
    return ""


def _identity_text(reading: Reading) -> str:
    if reading.value is None:
        return ""
    value = reading.value
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class ModbusMapInstrument:
    """Common body of the Modbus role drivers: everything but the role's set_* calls.

    `map` is a bundled map name (under `instruments/maps/`) or a path to a map file. The map's
    `[commands]` say which register each set_* call writes; a driver lists the commands it needs
    in `required_commands` and refuses a map without them at construction.
    """

    role: ClassVar[str] = ""
    default_map: ClassVar[str] = ""
    required_commands: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        name: str,
        address: str,
        *,
        map: str | Path | RegisterMap | None = None,
        device_id: int = 1,
        timeout_s: float = 2.0,
    ) -> None:
        self.name = name
        self.address = address
        regmap = map if isinstance(map, RegisterMap) else load_map(map or self.default_map)
        missing = [c for c in self.required_commands if c not in regmap.commands]
        if missing:
            raise ValueError(
                f"{name}: register map {regmap.path} lacks [commands] {', '.join(missing)} "
                f"that a {self.role} driver needs"
            )
        self.regmap = regmap
        self.client = ModbusMapClient(
            name, address, regmap, device_id=device_id, timeout_s=timeout_s
        )

    async def connect(self) -> None:
        await self.client.connect()

    async def close(self) -> None:
        await self.client.close()

    async def identify(self) -> Identity:
        """Make and model from the map; serial and firmware from the registers the map's
        `[identity]` names, or "" when it names none (or the device reports them unavailable).
        Always one exchange at least, so a device that accepts connections but never answers
        is found here, not at the first command."""
        found = {"serial": "", "firmware": ""}
        for key, channel in self.regmap.identity.items():
            found[key] = _identity_text(await self.client.read_value(channel))
        if not self.regmap.identity:  # connected means answered: read a known register
            await self.client.read_value(next(r.name for r in self.regmap.registers if r.poll))
        return Identity(self.regmap.make, self.regmap.model, found["serial"], found["firmware"])

    def channels(self) -> dict[str, str]:
        return self.regmap.channels()

    async def read(self) -> dict[str, Reading]:
        return await self.client.read()

    async def write(self, name: str, value: float) -> None:
        await self.client.write(name, value)

    async def _command(self, command: str, value: float) -> None:
        cmd = self.regmap.commands.get(command)
        if cmd is None:
            raise WriteRefused(
                f"register map {self.regmap.path} has no {command!r} command",
                instrument=self.name,
                address=self.address,
            )
        await self.client.write(cmd.channel, value)

    async def read_command(self, command: str) -> Reading:
        """What the device now holds in the register behind `command` (the read-back that
        confirms a command, e.g. the unit's on/off register after switching it off)."""
        cmd = self.regmap.commands.get(command)
        if cmd is None:
            raise WriteRefused(
                f"register map {self.regmap.path} has no {command!r} command",
                instrument=self.name,
                address=self.address,
            )
        return await self.client.read_value(cmd.channel)

    def command_value(self, command: str, on: bool) -> float | None:
        """The value `_switch(command, on)` writes (None: the map has no such command)."""
        cmd = self.regmap.commands.get(command)
        return None if cmd is None else (cmd.on if on else cmd.off)

    async def _switch(self, command: str, on: bool) -> None:
        cmd = self.regmap.commands.get(command)
        value = None if cmd is None else (cmd.on if on else cmd.off)
        if cmd is not None and value is None:
            raise WriteRefused(
                f"register map {self.regmap.path}: command {command!r} has no "
                f"{'on' if on else 'off'} value",
                instrument=self.name,
                address=self.address,
            )
        await self._command(command, 0.0 if value is None else value)
