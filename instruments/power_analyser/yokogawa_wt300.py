"""Yokogawa WT300E family (WT310E, WT332E, WT333E) over VISA, in the `power_analyser` role.

The command set is the one yoko-tool drives the WT310 with (docs/protocols.md §1.1); the sentinels
are the vendor's (§1.2). The address is any VISA resource string, so the same driver serves a
raw socket (`TCPIP::host::port::SOCKET`, also the simulator), USB-TMC, serial and VXI-11.

The voltage and current ranges are fixed from the station's options (`voltage_range`,
`current_range`) or left on auto, and read back with every read as the `URAN` / `IRAN` items
(channels `Urange`, `Irange`), so each point's uncertainty uses the range it was measured on
(docs/decisions/0132).

pyvisa is synchronous: every VISA call runs in a worker thread, one at a time per instrument, so
the event loop never blocks. A failed exchange drops the session and the next call opens a fresh
one and sends the setup again, so a link that comes back brings the driver back with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import select
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import pyvisa
from pyvisa.constants import BufferOperation, StatusCode
from pyvisa.errors import Error as VisaError
from pyvisa.errors import InvalidSession, VisaIOError
from pyvisa.rname import InvalidResourceName, parse_resource_name

from instruments.base import (
    ConnectionLost,
    Identity,
    InstrumentError,
    InstrumentTimeout,
    ProtocolError,
    Reading,
    WriteRefused,
)
from instruments.power_analyser.layout import checked_range

T = TypeVar("T")


@dataclass(frozen=True)
class Channel:
    name: str  # ours, as the run engine and the result files name it
    function: str  # the WT numeric item it is read from (element 1)
    unit: str


CHANNELS: tuple[Channel, ...] = (
    Channel("U", "U", "V"),
    Channel("I", "I", "A"),
    Channel("P", "P", "W"),
    Channel("S", "S", "VA"),
    Channel("Q", "Q", "var"),
    Channel("PF", "LAMB", ""),
    Channel("F", "FU", "Hz"),
    Channel("WH", "WH", "Wh"),
    # the ranges the values were measured on, read with them (the uncertainty's range term)
    Channel("Urange", "URAN", "V"),
    Channel("Irange", "IRAN", "A"),
)
# WT310E ranges (the crest factor 3 set; docs/protocols.md §1.1, as the WT332E/WT333E's)
VOLTAGE_RANGES_V: tuple[float, ...] = (15.0, 30.0, 60.0, 150.0, 300.0, 600.0)
CURRENT_RANGES_A: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0)

# What a WT300E can show at all, generously above its largest ranges (600 V, 40 A on the
# WT310EH): anything beyond is a corrupted reply (instruments/plausibility.py).
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "U": (0.0, 1000.0),
    "I": (0.0, 60.0),
    "P": (-60000.0, 60000.0),
    "S": (0.0, 60000.0),
    "Q": (-60000.0, 60000.0),
    "PF": (-1.0, 1.0),
    "F": (0.0, 1000.0),
}

GPIB_MISSING = (
    "a GPIB address needs linux-gpib and its Python bindings, which are not installed; "
    "use the analyser's Ethernet (TCPIP::host::10001::SOCKET) or USB (USB0::...) address"
)


def _socket_port(address: str) -> int | None:
    """The port of a `TCPIP::host::port::SOCKET` resource (None for any other kind)."""
    parts = address.split("::")
    if len(parts) == 4 and parts[3].upper() == "SOCKET" and parts[2].isdigit():
        return int(parts[2])
    return None


def setup_commands(voltage_range: float | None, current_range: float | None) -> tuple[str, ...]:
    """What a fresh session sends: the ranges fixed from the station's options or auto."""
    return (
        "\n*CLS",  # the leading LF ends any half-received command; *CLS then drops its error
        ":SYST:COMM:COMM WT300",  # not the WT200 compatibility command set
        ":COMM:REM ON",
        ":COMM:HEAD OFF",
        ":NUM:FORM ASCII",
        ":INP:VOLT:AUTO ON" if voltage_range is None else f":INP:VOLT:RANG {voltage_range:g}",
        ":INP:CURR:AUTO ON" if current_range is None else f":INP:CURR:RANG {current_range:g}",
        f":NUM:NORM:NUM {len(CHANNELS)}",
        *(f":NUM:NORM:ITEM{n} {c.function},1" for n, c in enumerate(CHANNELS, 1)),
    )


UPDATE_RATES_S: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)

INTEGRATION_STATES: dict[str, str] = {
    # the reply comes in short or long form depending on :COMM:VERB
    "RES": "reset",
    "RESET": "reset",
    "STAR": "start",
    "START": "start",
    "STOP": "stop",
    "TIM": "timeup",
    "TIMEUP": "timeup",
    "ERR": "error",
    "ERROR": "error",
}

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_ERROR_CODE = re.compile(r"[+-]?\d+", re.ASCII)
_SENTINEL = 9.9e37  # |x| at or above this is a sentinel, on WT and most SCPI instruments
_NO_DATA = 9.91e37


def decode_value(token: str, unit: str) -> Reading:
    """One ASCII numeric item as a Reading; sentinels become INVALID, never a number.

    Raises ValueError for a token that is neither a number nor a sentinel. The regex is
    stricter than float(), which would also take "1_0", "infinity" or " 5 " from a garbled line.
    """
    text = token.strip()
    upper = text.lstrip("+-").upper()
    if upper == "NAN":
        return Reading.invalid(unit, "no data (NAN)")
    if upper == "INF":
        return Reading.invalid(unit, "over-range (INF)")
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"not a number: {token!r}")
    value = float(text)
    if abs(value) >= _SENTINEL:
        if math.isclose(abs(value), _NO_DATA, rel_tol=5e-4):
            return Reading.invalid(unit, f"no data ({text})")
        return Reading.invalid(unit, f"over-range ({text})")
    return Reading.ok(value, unit)


class YokogawaWT300:
    role: ClassVar[str] = "power_analyser"
    quantities: ClassVar[dict[str, str]] = {
        "electrical.power_w": "P",
        "electrical.voltage_v": "U",
        "electrical.u_range_v": "Urange",
        "electrical.i_range_a": "Irange",
    }
    PLAUSIBLE: ClassVar[dict[str, tuple[float, float]]] = PLAUSIBLE

    def __init__(
        self,
        name: str,
        address: str,
        *,
        voltage_range: float | None = None,
        current_range: float | None = None,
        timeout_s: float = 2.0,
        visa_library: str = "@py",
    ) -> None:
        self.name = name
        self.address = address
        # station options; None: auto range. Refused here, before any session, if not a range
        self.setup = setup_commands(
            checked_range(voltage_range, VOLTAGE_RANGES_V, "voltage", "WT300E"),
            checked_range(current_range, CURRENT_RANGES_A, "current", "WT300E"),
        )
        self.timeout_s = timeout_s
        self.visa_library = visa_library
        self._inst: pyvisa.resources.MessageBasedResource | None = None
        self._wanted = False  # connect() was called and close() was not: reconnect on demand
        self._lock = asyncio.Lock()
        # A cancelled caller releases the asyncio lock while its thread still talks to the
        # instrument; this lock keeps the next thread off the session until that one is done.
        self._thread_lock = threading.Lock()

    def channels(self) -> dict[str, str]:
        return {c.name: c.unit for c in CHANNELS}

    # -- the role ----------------------------------------------------------------------------
    async def connect(self) -> None:
        self._wanted = True
        await self._call(lambda: None, fresh=True)

    async def close(self) -> None:
        self._wanted = False
        async with self._lock:
            await asyncio.to_thread(self._run_locked, self._drop)

    async def identify(self) -> Identity:
        def exchange() -> Identity:
            reply = self._query("*IDN?")
            parts = [p.strip() for p in reply.split(",")]
            if len(parts) != 4 or not all(parts[:2]):
                raise self._error(ProtocolError, f"*IDN? answered {reply!r}")
            return Identity(*parts)

        return await self._call(exchange)

    async def read(self) -> dict[str, Reading]:
        def exchange() -> dict[str, Reading]:
            reply = self._query(":NUM:NORM:VAL?")
            tokens = reply.split(",")
            if len(tokens) != len(CHANNELS):
                raise self._error(
                    ProtocolError, f"expected {len(CHANNELS)} values, got {len(tokens)}: {reply!r}"
                )
            try:
                return {
                    c.name: decode_value(t, c.unit) for c, t in zip(CHANNELS, tokens, strict=True)
                }
            except ValueError as exc:
                raise self._error(ProtocolError, f"{exc} in {reply!r}") from None

        return await self._call(exchange)

    async def integration_start(self) -> None:
        await self._call(lambda: self._command(":INTEG:STAR"))

    async def integration_stop(self) -> None:
        await self._call(lambda: self._command(":INTEG:STOP"))

    async def integration_reset(self) -> None:
        """Refused by the instrument while integration runs: stop first."""
        await self._call(lambda: self._command(":INTEG:RES"))

    async def integration_state(self) -> str:
        """`reset`, `start`, `stop`, `timeup` or `error`."""

        def exchange() -> str:
            reply = self._query(":INTEG:STAT?")
            state = INTEGRATION_STATES.get(reply.upper())
            if state is None:
                raise self._error(ProtocolError, f":INTEG:STAT? answered {reply!r}")
            return state

        return await self._call(exchange)

    async def set_update_rate(self, seconds: float) -> None:
        """The WT takes only a few update intervals; anything else is refused before the wire."""
        rate = next((r for r in UPDATE_RATES_S if math.isclose(r, seconds)), None)
        if rate is None:
            allowed = ", ".join(f"{r:g}" for r in UPDATE_RATES_S)
            raise self._error(WriteRefused, f"update rate {seconds!r} s is not one of {allowed} s")
        await self._call(lambda: self._command(f":RATE {rate:g}"))

    # -- sessions ----------------------------------------------------------------------------
    async def _call(self, exchange: Callable[[], T], *, fresh: bool = False) -> T:
        if not self._wanted:
            raise self._error(ConnectionLost, "not connected (connect() was not called)")
        async with self._lock:
            return await asyncio.to_thread(self._run, exchange, fresh)

    def _run(self, exchange: Callable[[], T], fresh: bool) -> T:
        with self._thread_lock:
            try:
                if fresh or self._inst is None or self._peer_gone():
                    self._open()
                return exchange()
            except WriteRefused:
                raise  # the instrument said no; the link is fine
            except InstrumentError:
                self._drop()
                raise

    def _open(self) -> None:
        self._drop()
        try:
            # pyvisa would open a malformed name as a bare Resource and then complain about
            # read_termination; say what is really wrong
            parse_resource_name(self.address)
        except InvalidResourceName as exc:
            raise self._error(InstrumentError, f"not a VISA resource string: {exc}") from exc
        port = _socket_port(self.address)
        if port is not None and not 1 <= port <= 65535:
            raise self._error(InstrumentError, f"port {port} is not in 1..65535")
        try:
            # pyvisa keeps one resource manager per library for the whole process and closing
            # it closes every session in it: so the shared one is asked for each time (it may
            # have been closed by someone else meanwhile) and never closed here.
            rm = pyvisa.ResourceManager(self.visa_library)
        except (OSError, ValueError, VisaError) as exc:
            raise self._error(
                InstrumentError, f"cannot load VISA library {self.visa_library!r}: {exc}"
            ) from exc
        timeout_ms = round(self.timeout_s * 1000)
        try:
            self._inst = rm.open_resource(
                self.address,
                # Both explicit: a SOCKET resource defaults to no read termination and every
                # query then times out (pyvisa#98). The WT takes and sends LF.
                read_termination="\n",
                write_termination="\n",
                timeout=timeout_ms,
                open_timeout=timeout_ms,
            )
        except (ValueError, VisaIOError) as exc:
            if self.address.upper().startswith("GPIB"):
                raise self._error(InstrumentError, GPIB_MISSING) from exc
            if isinstance(exc, ValueError) or exc.error_code in (
                StatusCode.error_invalid_resource_name,
                StatusCode.error_library_not_found,
            ):
                raise self._error(InstrumentError, f"cannot open: {exc}") from exc
            raise self._mapped(exc, "open") from exc
        except Exception as exc:  # pyvisa-py raises a bare Exception when a connect times out
            if self.address.upper().startswith("GPIB") and "gpib" in str(exc).lower():
                raise self._error(InstrumentError, GPIB_MISSING) from exc
            raise self._error(ConnectionLost, f"cannot open: {exc}") from exc
        gone = self._peer_gone()
        if gone:
            # pyvisa-py "opens" a socket whose connect was refused; say so now, not on write
            raise self._error(ConnectionLost, f"cannot connect: {gone}")
        if self._socket() is None:
            # A fresh socket holds nothing stale; and pyvisa-py's clear() spins forever on a
            # socket the peer has closed, so it is only used on USB, serial and VXI-11.
            self._visa("device clear", lambda inst: inst.clear())
        for command in self.setup:
            self._write(command)
        reply = self._query(":STAT:ERR?")
        if self._error_code(reply) != 0:
            raise self._error(ProtocolError, f"setup refused: {reply}")

    def _drop(self) -> None:
        inst, self._inst = self._inst, None
        if inst is not None:
            with contextlib.suppress(Exception):  # the link may already be gone
                inst.close()

    def _run_locked(self, action: Callable[[], None]) -> None:
        with self._thread_lock:
            action()

    # -- exchanges ---------------------------------------------------------------------------
    def _write(self, command: str) -> None:
        self._discard_input()
        self._visa(command, lambda inst: inst.write(command))

    def _query(self, command: str) -> str:
        self._discard_input()
        return self._visa(command, lambda inst: inst.query(command)).strip()

    def _discard_input(self) -> None:
        """Drop whatever arrived unasked before a command goes out.

        A stray line after an answer (a line broken in two, a duplicated reply) would
        otherwise be read as the answer to the next query: a wrong number, and every answer
        after it one behind. pyvisa-py keeps what followed the last LF in its own buffer, the
        rest waits in the socket; both go. SOCKET sessions only: other VISA resources end a
        message with END/EOI and have device clear.
        """
        sock = self._socket()
        if sock is None or self._inst is None:
            return
        with contextlib.suppress(Exception):
            self._inst.flush(BufferOperation.discard_read_buffer_no_io)
        with contextlib.suppress(OSError, ValueError):
            while select.select([sock], [], [], 0)[0]:
                if not sock.recv(4096, socket.MSG_DONTWAIT):
                    break  # closed by the peer: _peer_gone says so on the next open

    def _command(self, command: str) -> None:
        """A setting, then the error queue: the WT answers nothing when it refuses one."""
        self._write(command)
        reply = self._query(":STAT:ERR?")
        if self._error_code(reply) != 0:
            raise self._error(WriteRefused, f"{command} refused: {reply}")

    def _error_code(self, reply: str) -> int:
        code, sep, _ = reply.partition(",")
        if not sep or not _ERROR_CODE.fullmatch(code.strip()):  # int() would take "0_0"
            raise self._error(ProtocolError, f":STAT:ERR? answered {reply!r}")
        return int(code)

    def _visa(self, what: str, op: Callable[[pyvisa.resources.MessageBasedResource], T]) -> T:
        assert self._inst is not None
        try:
            return op(self._inst)
        except VisaIOError as exc:
            raise self._mapped(exc, what) from exc
        except UnicodeDecodeError as exc:
            raise self._error(ProtocolError, f"{what!r}: reply is not ASCII") from exc
        except Exception as exc:  # OSError and pyvisa-py's own errors on a dead link
            raise self._error(ConnectionLost, f"{what!r}: {type(exc).__name__}: {exc}") from exc

    def _mapped(self, exc: VisaIOError, what: str) -> InstrumentError:
        if exc.error_code == StatusCode.error_timeout:
            # pyvisa-py reads a socket the peer closed as silence until the timeout; tell the
            # two apart, because a dead link and a slow instrument call for different actions
            gone = self._peer_gone()
            if gone:
                return self._error(ConnectionLost, f"{what!r}: {gone}")
            return self._error(InstrumentTimeout, f"{what!r}: no reply in {self.timeout_s:g} s")
        return self._error(ConnectionLost, f"{what!r}: {exc.abbreviation} {exc.description}")

    def _socket(self) -> socket.socket | None:
        """The TCP socket under a pyvisa-py SOCKET session; None for other resources/backends."""
        inst = self._inst
        sessions = getattr(getattr(inst, "visalib", None), "sessions", None)
        if inst is None or not isinstance(sessions, dict):
            return None
        try:
            session = sessions.get(inst.session)
        except InvalidSession:
            return None
        sock = getattr(session, "interface", None)
        return sock if isinstance(sock, socket.socket) else None

    def _peer_gone(self) -> str | None:
        """Why the socket is dead (closed or refused by the peer), or None if it looks alive."""
        sock = self._socket()
        if sock is None or sock.fileno() < 0:
            return None
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable and sock.recv(1, socket.MSG_PEEK) == b"":
                return "connection closed by the instrument"
        except OSError as exc:
            return exc.strerror or str(exc)
        except ValueError:  # select() cannot watch fds past FD_SETSIZE; pyvisa-py neither
            return None
        return None

    def _error(self, kind: type[InstrumentError], message: str) -> InstrumentError:
        return kind(message, instrument=self.name, address=self.address)
