"""ESPEC climate chambers (SCP-220 / P-300 controllers): ASCII lines over serial or TCP.

Protocol (docs/protocols.md §2.2, from ESPEC North America's ChamberConnectLibrary): one
command, one reply, both ending CR LF; an optional RS-485 prefix `<addr>,`; errors are
`NA:<reason>`. The port is any pyserial URL, so one driver serves an RS-232/485 tty
(`/dev/ttyUSB0`, `/dev/pts/N`), ESPEC's serial-to-Ethernet adaptor (`socket://host:10001`) and
RFC 2217 servers (`rfc2217://host:port`).

Channels (every value a float, as a frame needs):

| channel | unit | from | notes |
|---|---|---|---|
| `temperature` | °C | `MON?` field 1 | dry bulb, chamber's own sensor |
| `temperature_sp` | °C | `TEMP?` field 2 | |
| `humidity` | %RH | `MON?` field 2 | INVALID on a chamber without humidity (field empty) |
| `humidity_sp` | %RH | `HUMI?` field 2 | INVALID while humidity control is off (`OFF`) |
| `mode` | (code) | `MON?` field 3 | `MODE_CODES`: 0 OFF, 1 STANDBY, 2 CONSTANT, 3 RUN |
| `alarms` | (count) | `MON?` field 4 | number of active alarms |

`read()` costs three exchanges: `MON?` (both process values in one reply, so they are read
together), `TEMP?` and `HUMI?` (the set points). A value the chamber sends that is not a number
(`----`, say) comes back as an INVALID reading; a reply that is not the protocol's shape (wrong
field count, bytes that are not printable ASCII) raises `ProtocolError`.

Errors: an `NA:` reply raises `ProtocolError` for a query; for a set command it raises
`WriteRefused` when the chamber refuses the value (`NA:DATA OUT OF RANGE`, `NA:PROTECT ON`, and
`NA:CONT NOT READY-1`: humidity asked of a chamber without it), else `ProtocolError`. The
exception's `reply` attribute holds the NA line. No (complete) reply within `timeout_s` raises
`InstrumentTimeout`; a port that vanishes, refuses or closes raises `ConnectionLost`. After
either the port is closed and the next call opens it again, so a fault that clears never leaves
the driver dead. Input is flushed before every command, so a late reply to a timed-out query can
never be taken as the answer to the next one.

Set commands: the success reply text is NOT confirmed by a manual (PROTOCOLS §2.2, §7; the
simulator answers `OK:<command>`, which is commonly believed). The driver accepts any reply that
is not `NA:` and carries at least one letter or digit (a line garbled to punctuation is a
`ProtocolError`).

Identity: make `ESPEC`, model from `TYPE?` (the controller field), firmware from `ROM?`. The
protocol has no serial-number query, so `serial` is `""`: the station file's `serial` is the
traceable one.

The session (worker thread, locks, reconnect) is the shared line session
(instruments/transport/session.py) over a pyserial link (serial_link.py); only a timeout or a
lost port drops the link, and the port opens on demand, `connect()` or not.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from instruments.base import Identity, InstrumentError, ProtocolError, Reading, WriteRefused
from instruments.transport.serial_link import SerialLine
from instruments.transport.session import LineSession

TERMINATOR = b"\r\n"
MAKE = "ESPEC"

MODE_CODES: dict[str, int] = {"OFF": 0, "STANDBY": 1, "CONSTANT": 2, "RUN": 3}
"""Numeric code of the chamber's operating mode, as published on the `mode` channel."""

SET_MODES: dict[str, str] = {"constant": "CONSTANT", "standby": "STANDBY", "off": "OFF"}

NA_DESCRIPTIONS: dict[str, str] = {  # from ChamberConnectLibrary's especinteract.py
    "CMD ERR": "unrecognised command",
    "ADDR ERR": "bad RS-485 address",
    "CONT NOT READY-1": "chamber does not support humidity / product temperature control",
    "CONT NOT READY-2": "chamber is not running a program",
    "CONT NOT READY-3": "command not supported by this controller",
    "DATA NOT READY": "specified program does not exist",
    "PARA ERR": "parameter missing or unrecognisable",
    "DATA OUT OF RANGE": "value outside the chamber's range",
    "PROTECT ON": "data protection is enabled on the controller's panel",
    "INVALID REQ": "unsupported function",
    "CHB NOT READY": "could not act on the command",
}
WRITE_REFUSALS = frozenset({"DATA OUT OF RANGE", "PROTECT ON", "CONT NOT READY-1"})

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_INTEGER = re.compile(r"^\d+$")
_PRINTABLE = re.compile(r"^[\x20-\x7e]*\Z")  # \Z: `$` would let a final LF through
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/:+-]*$")  # model / firmware strings


# -- the protocol, as data -------------------------------------------------------------------
def _number(token: str, unit: str) -> Reading:
    token = token.strip()
    if _NUMBER.match(token):
        return Reading.ok(float(token), unit)
    if not token:
        return Reading.invalid(unit, "not reported by the chamber (no such sensor)")
    return Reading.invalid(unit, f"chamber sent {token!r}")


def _setpoint(token: str, unit: str) -> Reading:
    if token.strip() == "OFF":
        return Reading.invalid(unit, "control off")
    return _number(token, unit)


def _mode(token: str, unit: str) -> Reading:
    code = MODE_CODES.get(token.strip())
    if code is None:
        return Reading.invalid(unit, f"unknown mode {token!r}")
    return Reading.ok(float(code), unit)


def _count(token: str, unit: str) -> Reading:
    token = token.strip()
    if _INTEGER.match(token):
        return Reading.ok(float(token), unit)
    return Reading.invalid(unit, f"chamber sent {token!r}")


@dataclass(frozen=True, slots=True)
class Field:
    """One comma-separated field of a reply, and the channel it feeds.

    A field with no channel is not published but must still be a number: it is part of how
    the driver knows the reply is the answer to this query.
    """

    channel: str | None = None
    parse: Callable[[str, str], Reading] = _number


@dataclass(frozen=True, slots=True)
class Query:
    command: str
    fields: tuple[Field, ...]


CHANNELS: dict[str, str] = {
    "temperature": "°C",
    "temperature_sp": "°C",
    "humidity": "%RH",
    "humidity_sp": "%RH",
    "mode": "",
    "alarms": "",
}

MON = Query(
    "MON?",
    (Field("temperature"), Field("humidity"), Field("mode", _mode), Field("alarms", _count)),
)
TEMP = Query("TEMP?", (Field(), Field("temperature_sp"), Field(), Field()))  # PV,SP,max,min
HUMI = Query("HUMI?", (Field(), Field("humidity_sp", _setpoint), Field(), Field()))
READ_QUERIES: tuple[Query, ...] = (MON, TEMP, HUMI)
"""What `read()` sends, in order; between them they give every channel in `CHANNELS`."""


class EspecChamber:
    """An ESPEC chamber on a serial port, a pty, or a TCP serial adaptor (any pyserial URL)."""

    role: ClassVar[str] = "climate_chamber"
    quantities: ClassVar[dict[str, str]] = {
        "air.dry_bulb_c": "temperature",
        "air.rh_pct": "humidity",
        "air.dry_bulb_sp_c": "temperature_sp",
        "air.rh_sp_pct": "humidity_sp",
    }
    # what an ESPEC test chamber can hold at all, and how fast its air can move (its fastest
    # ramps are a few K/min): beyond either, a reply was corrupted (instruments/plausibility.py)
    PLAUSIBLE: ClassVar[dict[str, tuple[float, float]]] = {
        "temperature": (-100.0, 200.0),
        "temperature_sp": (-100.0, 200.0),
        "humidity": (0.0, 100.0),
        "humidity_sp": (0.0, 100.0),
    }
    MAX_RATE: ClassVar[dict[str, float]] = {"temperature": 0.5, "humidity": 3.0}
    # the protocol as data, on the class: a sibling controller overrides these, not the methods
    units: ClassVar[dict[str, str]] = CHANNELS
    read_queries: ClassVar[tuple[Query, ...]] = READ_QUERIES

    def __init__(
        self,
        name: str,
        address: str,
        *,
        timeout_s: float = 2.0,
        baudrate: int = 9600,
        rs485_address: int | None = None,
    ) -> None:
        if not (isinstance(timeout_s, int | float) and math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive number of seconds, not {timeout_s!r}")
        if rs485_address is not None and (
            isinstance(rs485_address, bool)
            or not isinstance(rs485_address, int)
            or not 0 <= rs485_address <= 99
        ):
            raise ValueError(f"rs485_address must be 0..99, not {rs485_address!r}")
        if isinstance(baudrate, bool) or not isinstance(baudrate, int) or baudrate <= 0:
            raise ValueError(f"baudrate must be a positive whole number, not {baudrate!r}")
        self.name = name
        self.address = address
        self.baudrate = baudrate
        self.rs485_address = rs485_address
        self.session = LineSession(
            name,
            address,
            setup=lambda s: None,  # nothing to send on a reconnect; TYPE? is connect()'s alone
            read_termination=TERMINATOR.decode(),
            write_termination=TERMINATOR.decode(),
            timeout_s=float(timeout_s),
            keeps_link_on=(WriteRefused, ProtocolError),  # the chamber answered: line is fine
            on_demand=True,
        )
        self._line = SerialLine(
            address,
            baudrate=baudrate,
            terminator=TERMINATOR,
            timeout_s=float(timeout_s),
            error=self.session.error,
        )
        self.session.use_link(self._line)
        self._has_humidity: bool | None = None  # learnt from the chamber (TYPE? / HUMI?)

    @property
    def timeout_s(self) -> float:
        return self._line.timeout_s

    @timeout_s.setter
    def timeout_s(self, seconds: float) -> None:
        """Takes effect when the port is next opened."""
        self._line.timeout_s = self.session.timeout_s = seconds

    def __repr__(self) -> str:
        return f"EspecChamber({self.name!r}, {self.address!r})"

    # -- Instrument -------------------------------------------------------------------------
    def channels(self) -> dict[str, str]:
        return dict(self.units)

    async def connect(self) -> None:
        """Open the port and check an ESPEC controller answers (`TYPE?`)."""
        await self.session.open(lambda s: self._parse_type(self._query(s, "TYPE?")))

    async def close(self) -> None:
        await self.session.close()

    async def identify(self) -> Identity:
        def run(s: LineSession) -> Identity:
            model = self._parse_type(self._query(s, "TYPE?"))
            firmware = self._query(s, "ROM?").strip()
            if not _TOKEN.match(firmware):
                raise self._error(ProtocolError, f"ROM? answered {firmware!r}")
            return Identity(make=MAKE, model=model, serial="", firmware=firmware)

        return await self.session.call(run)

    async def read(self) -> dict[str, Reading]:
        def run(s: LineSession) -> dict[str, Reading]:
            readings: dict[str, Reading] = {}
            for query in self.read_queries:
                if query is HUMI and self._has_humidity is False:
                    readings["humidity_sp"] = Reading.invalid("%RH", "chamber has no humidity")
                    continue
                reply = self._exchange(s, query.command)
                if query is HUMI and reply == "NA:CONT NOT READY-1":
                    self._has_humidity = False
                    readings["humidity_sp"] = Reading.invalid("%RH", "chamber has no humidity")
                    continue
                readings.update(self._parse(query, self._checked(query.command, reply)))
            return {channel: readings[channel] for channel in self.units}

        return await self.session.call(run)

    # -- ClimateChamber ---------------------------------------------------------------------
    async def set_air(self, temperature_c: float, humidity_pct: float | None) -> None:
        """Set the dry-bulb set point, and the humidity set point (None: humidity control off)."""
        temp = self._value_text("temperature", temperature_c)
        if humidity_pct is None:
            humi = "OFF"
        else:
            humi = self._value_text("humidity", humidity_pct)
            if not 0.0 <= humidity_pct <= 100.0:
                raise self._error(WriteRefused, f"humidity {humidity_pct!r} %RH is not 0..100")

        def run(s: LineSession) -> None:
            self._command(s, f"TEMP, S{temp}")
            if humi == "OFF" and self._has_humidity is False:
                return  # nothing to switch off on a chamber without humidity
            self._command(s, f"HUMI, S{humi}")

        await self.session.call(run)

    async def set_mode(self, mode: str) -> None:
        """`constant` (hold the set points), `standby` (on, air not conditioned) or `off`."""
        word = SET_MODES.get(mode.strip().lower()) if isinstance(mode, str) else None
        if word is None:
            raise self._error(WriteRefused, f"mode {mode!r} is not one of {', '.join(SET_MODES)}")
        await self.session.call(lambda s: self._command(s, f"MODE, {word}"))

    async def read_mode(self) -> str:
        """The operating mode as the chamber names it: OFF, STANDBY, CONSTANT or RUN."""
        reply = (await self.session.call(lambda s: self._query(s, "MODE?"))).strip()
        if reply not in MODE_CODES:
            raise self._error(ProtocolError, f"MODE? answered {reply!r}")
        return reply

    async def alarms(self) -> list[int]:
        """Active alarm codes (`ALARM?`: `0`, or `n,code1,...`)."""
        reply = await self.session.call(lambda s: self._query(s, "ALARM?"))
        fields = [f.strip() for f in reply.split(",")]
        if not all(_INTEGER.match(f) for f in fields) or int(fields[0]) != len(fields) - 1:
            raise self._error(ProtocolError, f"ALARM? answered {reply!r}")
        return [int(f) for f in fields[1:]]

    # -- plumbing (all below runs in the worker thread) --------------------------------------
    def _error(self, cls: type[InstrumentError], message: str) -> InstrumentError:
        return self.session.error(cls, message)

    def _exchange(self, s: LineSession, command: str) -> str:
        """Send one command, return its reply line (without CR LF); NA replies included."""
        s.write(command if self.rs485_address is None else f"{self.rs485_address},{command}")
        body = s.read_raw()[: -len(TERMINATOR)]
        try:
            text = body.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if not _PRINTABLE.match(text) or (body and not text):
            raise self._error(ProtocolError, f"{command!r} answered garbage {body!r}")
        if self.rs485_address is not None:
            text = text.removeprefix(f"{self.rs485_address},")
        return text

    def _na_error(self, cls: type[InstrumentError], command: str, reply: str) -> InstrumentError:
        code = reply[3:].strip()
        why = NA_DESCRIPTIONS.get(code, "no description")
        err = self._error(cls, f"{command!r} refused: {reply} ({why})")
        err.reply = reply
        return err

    def _checked(self, command: str, reply: str) -> str:
        if reply.startswith("NA:"):
            raise self._na_error(ProtocolError, command, reply)
        return reply

    def _query(self, s: LineSession, command: str) -> str:
        return self._checked(command, self._exchange(s, command))

    def _command(self, s: LineSession, command: str) -> str:
        reply = self._exchange(s, command)
        if reply.startswith("NA:"):
            refused = reply[3:].strip() in WRITE_REFUSALS
            raise self._na_error(WriteRefused if refused else ProtocolError, command, reply)
        if not any(ch.isalnum() for ch in reply):  # success text unconfirmed; see module doc
            raise self._error(ProtocolError, f"{command!r} answered {reply!r}")
        return reply

    def _parse(self, query: Query, reply: str) -> dict[str, Reading]:
        tokens = reply.split(",")
        if len(tokens) != len(query.fields):
            raise self._error(
                ProtocolError,
                f"{query.command!r} answered {reply!r}: "
                f"{len(tokens)} fields, expected {len(query.fields)}",
            )
        readings: dict[str, Reading] = {}
        for f, token in zip(query.fields, tokens, strict=True):
            if f.channel is not None:
                readings[f.channel] = f.parse(token, self.units[f.channel])
            elif not _NUMBER.match(token.strip()):
                # an unpublished field (a limit) is always a number; anything else means this
                # is not the answer to this query (a stray line, say), not a sentinel
                raise self._error(
                    ProtocolError, f"{query.command!r} answered {reply!r}: field {token!r}"
                )
        return readings

    def _parse_type(self, reply: str) -> str:
        """`TYPE?`: dry[,wet],controller,max temperature -> the controller (the model)."""
        tokens = [t.strip() for t in reply.split(",")]
        if len(tokens) not in (3, 4) or not _TOKEN.match(tokens[-2]):
            raise self._error(ProtocolError, f"TYPE? answered {reply!r}")
        self._has_humidity = len(tokens) == 4
        return tokens[-2]

    def _value_text(self, what: str, value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self._error(WriteRefused, f"{what} set point {value!r} is not a number")
        if not math.isfinite(value):
            raise self._error(WriteRefused, f"{what} set point {value!r} is not finite")
        return f"{value:.1f}"
