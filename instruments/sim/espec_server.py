"""A simulated ESPEC climate chamber (SCP-220 / P-300 controller): the ASCII protocol over TCP.

Wire format (docs/protocols.md §2.2, from ESPEC North America's ChamberConnectLibrary):
commands and replies are ASCII lines ending in CR LF; a command may carry an RS-485 address
prefix `<addr>,`. Errors are `NA:<reason>`.

`EspecProtocol` is the chamber itself, with no transport: one command line in, one reply line
out. `EspecServer` serves it on a TCP port (as ESPEC's serial-to-Ethernet adaptor does, port
10001 on real hardware); a pty can serve the same object (see the tests and `PtyBridge`).
Transport faults (drop, delay, garble) are applied by the `FaultProxy` in front of the server;
the chamber-stuck fault by the physics model. Nothing here injects faults.

Replies this simulator gives (what is the simulator's own choice, not the vendor's, is marked):

- `TEMP?`: `PV,SP,max,min`, e.g. `7.0,7.0,60.0,-40.0`. max/min are the alarm band set with
  `H`/`L`, by default the chamber's limits.
- `HUMI?`: `PV,SP,max,min`; SP is `OFF` while humidity control is off.
- `MON?`: `temp,humi,mode,alarm_count`, e.g. `7.0,87.0,CONSTANT,0` (humi empty on a chamber
  without humidity). `MON?,DETAIL` answers the same.
- `MODE?`: `OFF`, `STANDBY` or `CONSTANT` (`RUN` is never reached: no programs are simulated).
- `ALARM?`: `0`, or `n,code1,...,coden` (codes from `alarm_codes`).
- `TYPE?`: `PT100,PT100,SCP220,60`: dry-bulb sensor, wet-bulb sensor, controller, maximum
  temperature. The field order is ChamberConnectLibrary's `read_type`; the sensor names are the
  simulator's own guess. Without humidity: `PT100,SCP220,60`.
- `ROM?`: `1.20`; `ROM?,DISP`: `1.05` (the simulator's own version strings). The protocol has
  no serial-number query.
- `TEMP, S25.0` (optionally ` H<max> L<min>`), `HUMI, S50.0`, `HUMI, SOFF`,
  `MODE, CONSTANT|STANDBY|OFF`, `POWER, ON|OFF`: `OK:` + the command echoed. `POWER, ON` brings
  an OFF chamber to STANDBY; `MODE, RUN<n>` answers `NA:DATA NOT READY` (no program stored).
  The space after the comma is optional.

The success reply to a set command is NOT confirmed (PROTOCOLS §2.2, §7): the vendor library
just returns whatever line comes back. `OK:` followed by the echoed command is what is commonly
believed, and what this simulator answers; the driver does not depend on it.

Errors: `NA:CMD ERR` (unknown command, empty line, bytes that are not ASCII), `NA:PARA ERR`
(bad or missing parameter), `NA:DATA OUT OF RANGE` (set point outside the chamber's limits),
`NA:CONT NOT READY-1` (a humidity command on a chamber built without humidity),
`NA:PROTECT ON` (every set command while `protect` is on), `NA:ADDR ERR` (an RS-485 prefix that
is not this chamber's address).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable
from typing import ClassVar

from instruments.sim.faults import FaultInjector
from instruments.sim.model import BenchModel

CONTROLLER = "SCP220"
SENSOR = "PT100"  # simulator's choice: TYPE? names the dry- and wet-bulb sensor types
FIRMWARE = "1.20"
DISPLAY_FIRMWARE = "1.05"
MAX_LINE = 512  # longer garbage without a line end is answered NA:CMD ERR and discarded

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_SET = re.compile(rf"^S(?P<s>{_NUMBER}|OFF)(?:\s+H(?P<h>{_NUMBER}))?(?:\s+L(?P<l>{_NUMBER}))?$")
_ADDRESS = re.compile(r"^(\d{1,2}),")
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")

CMD_ERR = "NA:CMD ERR"
PARA_ERR = "NA:PARA ERR"
OUT_OF_RANGE = "NA:DATA OUT OF RANGE"
NO_HUMIDITY = "NA:CONT NOT READY-1"
PROTECT_ON = "NA:PROTECT ON"
ADDR_ERR = "NA:ADDR ERR"
NO_PROGRAM = "NA:DATA NOT READY"


def _f(value: float) -> str:
    return f"{value:.1f}"


class EspecProtocol:
    """The chamber's controller: `handle(line)` answers one command line (without CR LF).

    Knobs a test may turn: `protect` (HMI data protection: every set command is refused),
    `alarm_codes` (active alarm codes), and `humidity=False` for a temperature-only chamber.
    """

    def __init__(self, model: BenchModel, *, humidity: bool = True, address: int = 1) -> None:
        self.model = model
        self.humidity = humidity
        self.address = address
        self.protect = False
        self.alarm_codes: list[int] = []
        self.transcript: list[tuple[str, str]] = []
        self._temp_band: tuple[float, float] | None = None  # (low, high) alarm band, set by H/L
        self._humi_band: tuple[float, float] | None = None

    def handle(self, line: str) -> str:
        """One command in, one reply out (no terminator). Never raises on any input."""
        try:
            reply = self._handle(line)
        except Exception:  # a simulator bug must read as a refusal, not kill the server
            reply = CMD_ERR
        self.transcript.append((line, reply))
        return reply

    # -- dispatch -------------------------------------------------------------------------
    def _handle(self, line: str) -> str:
        text = line.strip("\r\n")
        if not text or not _PRINTABLE.match(text):
            return CMD_ERR
        if m := _ADDRESS.match(text):
            if int(m[1]) != self.address:
                return ADDR_ERR
            text = text[m.end() :]
        self.model.advance()
        head, sep, rest = text.partition(",")
        head, rest = head.strip(), rest.strip()
        if head.endswith("?"):
            query = self._QUERIES.get(head)
            return CMD_ERR if query is None else query(self, rest)
        setter = self._SETTERS.get(head)
        if setter is None:
            return CMD_ERR
        if not sep or not rest:
            return PARA_ERR
        if self.protect:
            return PROTECT_ON
        reply = setter(self, rest)
        # Success text NOT confirmed by a manual (PROTOCOLS §2.2): `OK:` + the echoed command
        # is what is commonly believed.
        return f"OK:{text}" if reply is None else reply

    # -- queries --------------------------------------------------------------------------
    def _q_temp(self, rest: str) -> str:
        if rest:
            return PARA_ERR
        c = self.model.chamber
        low, high = self._temp_band or c.temp_limits
        return f"{_f(c.temp_meas)},{_f(c.temp_sp)},{_f(high)},{_f(low)}"

    def _q_humi(self, rest: str) -> str:
        if rest:
            return PARA_ERR
        if not self.humidity:
            return NO_HUMIDITY
        c = self.model.chamber
        low, high = self._humi_band or c.humi_limits
        sp = "OFF" if c.humi_sp is None else _f(c.humi_sp)
        return f"{_f(c.humi_meas)},{sp},{_f(high)},{_f(low)}"

    def _q_mon(self, rest: str) -> str:
        if rest not in ("", "DETAIL"):
            return PARA_ERR
        c = self.model.chamber
        humi = _f(c.humi_meas) if self.humidity else ""
        return f"{_f(c.temp_meas)},{humi},{c.mode},{len(self.alarm_codes)}"

    def _q_mode(self, rest: str) -> str:
        if rest not in ("", "DETAIL"):
            return PARA_ERR
        return self.model.chamber.mode

    def _q_alarm(self, rest: str) -> str:
        if rest:
            return PARA_ERR
        if not self.alarm_codes:
            return "0"
        return ",".join(str(x) for x in [len(self.alarm_codes), *self.alarm_codes])

    def _q_type(self, rest: str) -> str:
        if rest:
            return PARA_ERR
        tmax = f"{self.model.chamber.temp_limits[1]:.0f}"
        sensors = [SENSOR, SENSOR] if self.humidity else [SENSOR]
        return ",".join([*sensors, CONTROLLER, tmax])

    def _q_rom(self, rest: str) -> str:
        if rest == "":
            return FIRMWARE
        return DISPLAY_FIRMWARE if rest == "DISP" else PARA_ERR

    # -- set commands (None: success) ------------------------------------------------------
    @staticmethod
    def _parse_set(
        rest: str, limits: tuple[float, float], *, allow_off: bool
    ) -> tuple[float | None, tuple[float, float] | None] | str:
        """(set point or None for OFF, alarm band or None), or the NA reply."""
        m = _SET.match(rest)
        if m is None or (m["s"] == "OFF" and (not allow_off or m["h"] or m["l"])):
            return PARA_ERR
        low, high = limits
        values = [float(v) for v in (m["s"], m["h"], m["l"]) if v and v != "OFF"]
        if any(not low <= v <= high for v in values):
            return OUT_OF_RANGE
        band = None
        if m["h"] or m["l"]:
            band_low = float(m["l"]) if m["l"] else low
            band_high = float(m["h"]) if m["h"] else high
            if band_low >= band_high:
                return OUT_OF_RANGE
            band = (band_low, band_high)
        return (None if m["s"] == "OFF" else float(m["s"])), band

    def _s_temp(self, rest: str) -> str | None:
        parsed = self._parse_set(rest, self.model.chamber.temp_limits, allow_off=False)
        if isinstance(parsed, str):
            return parsed
        sp, band = parsed
        assert sp is not None
        self.model.chamber.temp_sp = sp
        if band is not None:
            self._temp_band = band
        return None

    def _s_humi(self, rest: str) -> str | None:
        if not self.humidity:
            return NO_HUMIDITY
        parsed = self._parse_set(rest, self.model.chamber.humi_limits, allow_off=True)
        if isinstance(parsed, str):
            return parsed
        sp, band = parsed
        self.model.chamber.humi_sp = sp
        if band is not None:
            self._humi_band = band
        return None

    def _s_mode(self, rest: str) -> str | None:
        if rest in ("CONSTANT", "STANDBY", "OFF"):
            self.model.chamber.mode = rest
            return None
        if re.fullmatch(r"RUN\d{1,2}", rest):
            return NO_PROGRAM  # no program is stored in the simulated controller
        return PARA_ERR

    def _s_power(self, rest: str) -> str | None:
        c = self.model.chamber
        if rest == "ON":
            if c.mode == "OFF":
                c.mode = "STANDBY"
            return None
        if rest == "OFF":
            c.mode = "OFF"
            return None
        return PARA_ERR

    _QUERIES: ClassVar[dict[str, Callable[[EspecProtocol, str], str]]] = {
        "TEMP?": _q_temp,
        "HUMI?": _q_humi,
        "MON?": _q_mon,
        "MODE?": _q_mode,
        "ALARM?": _q_alarm,
        "TYPE?": _q_type,
        "ROM?": _q_rom,
    }
    _SETTERS: ClassVar[dict[str, Callable[[EspecProtocol, str], str | None]]] = {
        "TEMP": _s_temp,
        "HUMI": _s_humi,
        "MODE": _s_mode,
        "POWER": _s_power,
    }


class LineBuffer:
    """Splits a byte stream into command lines: LF ends a line, a CR before it is dropped."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[str]:
        self._buf += data
        lines: list[str] = []
        while (end := self._buf.find(b"\n")) >= 0:
            raw = bytes(self._buf[:end]).removesuffix(b"\r")
            del self._buf[: end + 1]
            lines.append(raw.decode("ascii", errors="replace"))
        if len(self._buf) > MAX_LINE:
            self._buf.clear()
            lines.append("\ufffd")  # an over-long line: answered as an unknown command
        return lines


def serve_lines(protocol: EspecProtocol, buffer: LineBuffer, data: bytes) -> bytes:
    """Feed received bytes, return the replies to send (each ending CR LF)."""
    return b"".join(
        protocol.handle(line).encode("ascii", errors="replace") + b"\r\n"
        for line in buffer.feed(data)
    )


class EspecServer:
    """`EspecProtocol` on a loopback TCP port; every exchange is kept in `transcript`."""

    def __init__(
        self,
        model: BenchModel,
        faults: FaultInjector | None = None,
        *,
        humidity: bool = True,
    ) -> None:
        # `faults` is taken for symmetry with the other simulators: no chamber fault acts at the
        # protocol layer (transport faults: FaultProxy; chamber_stuck: the physics model).
        self.faults = faults
        self.protocol = EspecProtocol(model, humidity=humidity)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def transcript(self) -> list[tuple[str, str]]:
        return self.protocol.transcript

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2.0)
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        buffer = LineBuffer()
        try:
            while data := await reader.read(4096):
                out = serve_lines(self.protocol, buffer, data)
                if out:
                    writer.write(out)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
