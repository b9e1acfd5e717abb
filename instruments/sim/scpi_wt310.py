"""A simulated Yokogawa WT310E on a raw SCPI socket, computing its replies from the bench model.

pyvisa-sim cannot do this: a `:NUM:NORM:VAL?` reply has to be U, I, P, ... consistent with the
physics at the instant it is asked, and integration has to follow bench time. So this is a small
asyncio TCP server that parses SCPI the way the WT310 does (docs/protocols.md §1.1, §1.2):

- commands end with LF (CR LF accepted); one line may hold several `;`-separated commands, and a
  command without a leading `:` continues the previous command's path (`:INTEG:MODE NORM;TIM
  0,0,10`). A blank line is the "leading newline" clear: there is no output queue to clear
  because replies go out at once, so it is simply ignored (and not put in the transcript).
- mnemonics are case-insensitive, in short or long form; an omitted `<x>` suffix means 1;
  `[:NORMal]` may be left out. The replies to all queries of one line are joined by `;`.
- illegal commands and state violations queue an error for `:STAT:ERR?`; they never end the
  connection. The error numbers are the IEEE 488.2 ones without sign, as the WT family uses them;
  which number a state violation gets (221, "Setting conflict") is this simulator's choice.
- `:NUM:FORM FLOAT` is implemented: `:NUM:NORM:VAL?` then answers an IEEE 488.2 definite-length
  block `#4NNNN` of big-endian float32, with 9.91E+37 for NAN and 9.9E+37 for INF.

Simulator choices where the manuals were not at hand: the defaults after `*RST` (10 items U I P S
Q LAMB PHI FU FI WH, rate 0.25 s), the ranges picked by "auto range", peak values derived from
RMS assuming sine waves, `*OPT?` answering `0` (no options), `:COMM:WAIT` returning at once (every
reply is computed fresh anyway), continuous integration never reaching time-up, and integration
reset being refused while integration runs.

Transport faults (drop, delay, garble) are not handled here: a `FaultProxy` in front does those.
The value fault OVER_RANGE of its `role` is: measured items then read INF (or NAN with `nan=1`).
It measures its `feed`: the whole unit's input, or the indoor unit's in the lab layout (feeds.py).

Ranges: `:INPut:VOLTage|CURRent:RANGe` fix one, `:AUTO ON` returns to auto range (both refused
while integration runs, like the other measurement settings); the queries and the URANge /
IRANge items report the range in use. Measured items read INF while an input is beyond 140 %
of its fixed range (the simulator's over-range threshold).
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from instruments.sim.faults import FaultInjector, FaultKind
from instruments.sim.feeds import Feed, whole
from instruments.sim.model import BenchModel, ElectricalState

log = logging.getLogger(__name__)

ROLE = "power_analyser"
MODEL = "WT310E"
FIRMWARE = "F1.03"
RATES_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
MAX_ITEMS = 10
VOLTAGE_RANGES_V = (15.0, 30.0, 60.0, 150.0, 300.0, 600.0)
CURRENT_RANGES_A = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
OVER_RANGE_SHARE = 1.4  # a fixed range reads over-range beyond 140 % of it (simulator's choice)
FLOAT_NAN = 9.91e37  # "no data" in FLOAT format (PROTOCOLS §1.2)
FLOAT_INF = 9.9e37  # over-range in FLOAT format
MAX_ERRORS = 16


class ScpiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f'{code},"{message}"')
        self.code = code
        self.message = message


def _undefined() -> ScpiError:
    return ScpiError(113, "Undefined header")


def _missing() -> ScpiError:
    return ScpiError(109, "Missing parameter")


def _not_allowed() -> ScpiError:
    return ScpiError(108, "Parameter not allowed")


def _conflict() -> ScpiError:
    return ScpiError(221, "Setting conflict")


def _out_of_range() -> ScpiError:
    return ScpiError(222, "Data out of range")


def _illegal() -> ScpiError:
    return ScpiError(224, "Illegal parameter value")


@dataclass(frozen=True)
class Word:
    """A SCPI mnemonic: `NUMeric` is accepted as NUM or NUMERIC, in any case."""

    long: str
    short: str

    @classmethod
    def of(cls, spec: str) -> Word:
        short = re.sub(r"[^A-Z0-9*?].*", "", spec, flags=re.S) or spec.upper()
        return cls(spec.upper(), short)

    def matches(self, text: str) -> bool:
        return text.upper() in (self.long, self.short)

    def reply(self, verbose: bool) -> str:
        return self.long if verbose else self.short


# -- the numeric functions ------------------------------------------------------------------
# name -> (how the value is computed, whether it is a measurement the OVER_RANGE fault hits,
# whether it is <NR1>). A value of None means "data does not exist" and reads NAN.
_SQRT2 = math.sqrt(2.0)


def _phi(s: Wt310Server) -> float:
    return math.degrees(math.acos(max(-1.0, min(1.0, s.electrical.power_factor))))


def _range(value: float, ranges: tuple[float, ...]) -> float:
    return next((r for r in ranges if abs(value) <= r), ranges[-1])


@dataclass(frozen=True)
class Function:
    word: Word
    value: Callable[[Wt310Server], float | None]
    measured: bool = True
    integer: bool = False


def _fn(spec: str, value: Callable[[Wt310Server], float | None], **kw: bool) -> Function:
    return Function(Word.of(spec), value, **kw)


FUNCTIONS: tuple[Function, ...] = (
    _fn("U", lambda s: s.electrical.voltage_v),
    _fn("I", lambda s: s.electrical.current_a),
    _fn("P", lambda s: s.electrical.power_meas_w),
    _fn("S", lambda s: s.electrical.apparent_va),
    _fn("Q", lambda s: s.electrical.reactive_var),
    _fn("LAMBda", lambda s: s.electrical.power_factor),
    _fn("PHI", _phi),
    _fn("FU", lambda s: s.electrical.frequency_hz),
    _fn("FI", lambda s: s.electrical.frequency_hz),
    _fn("UPPeak", lambda s: s.electrical.voltage_v * _SQRT2),
    _fn("UMPeak", lambda s: -s.electrical.voltage_v * _SQRT2),
    _fn("IPPeak", lambda s: s.electrical.current_a * _SQRT2),
    _fn("IMPeak", lambda s: -s.electrical.current_a * _SQRT2),
    _fn("PPPeak", lambda s: s.electrical.power_meas_w + s.electrical.apparent_va),
    _fn("PMPeak", lambda s: s.electrical.power_meas_w - s.electrical.apparent_va),
    _fn("TIME", lambda s: s.integ_elapsed_s, measured=False, integer=True),
    _fn("WH", lambda s: s.integ_wh),
    _fn("WHP", lambda s: s.integ_wh),
    _fn("WHM", lambda s: 0.0),
    _fn("AH", lambda s: s.integ_ah),
    _fn("AHP", lambda s: s.integ_ah),
    _fn("AHM", lambda s: 0.0),
    _fn("MATH", lambda s: None),
    _fn("URANge", lambda s: s.range_in_use("VOLTage"), measured=False),
    _fn("IRANge", lambda s: s.range_in_use("CURRent"), measured=False),
    _fn("NONE", lambda s: None, measured=False),
)
NONE = FUNCTIONS[-1]
DEFAULT_ITEMS = ("U", "I", "P", "S", "Q", "LAMBDA", "PHI", "FU", "FI", "WH")

INTEG_STATES = {name: Word.of(name) for name in ("RESet", "STARt", "STOP", "TIMeup", "ERRor")}
INTEG_MODES = {name: Word.of(name) for name in ("NORMal", "CONTinuous")}
FORMATS = {name: Word.of(name) for name in ("ASCii", "FLOat")}


def _function(text: str) -> Function:
    for f in FUNCTIONS:
        if f.word.matches(text):
            return f
    raise ScpiError(141, "Invalid character data")


def _choice(text: str, words: dict[str, Word]) -> str:
    for name, word in words.items():
        if word.matches(text):
            return name
    raise ScpiError(141, "Invalid character data")


def _boolean(args: list[str], default: bool | None = None) -> bool:
    if not args:
        if default is None:
            raise _missing()
        return default
    if len(args) > 1:
        raise _not_allowed()
    text = args[0].upper()
    if text in ("ON", "1"):
        return True
    if text in ("OFF", "0"):
        return False
    raise ScpiError(141, "Invalid character data")


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            raise ScpiError(120, "Numeric data error") from None
        if not value.is_integer():
            raise _illegal() from None
        return int(value)


def _one(args: list[str]) -> str:
    if not args:
        raise _missing()
    if len(args) > 1:
        raise _not_allowed()
    return args[0]


def nr3(value: float) -> str:
    """`<NR3>` with 6 mantissa digits, as the WT prints numeric data (`2.30012E+02`)."""
    return f"{value:.5E}"


# -- the command tree -----------------------------------------------------------------------
Handler = Callable[["Wt310Server", list[str], int], "str | bytes | None"]


@dataclass(frozen=True)
class Node:
    word: Word
    optional: bool = False
    suffixed: bool = False


@dataclass(frozen=True)
class Command:
    nodes: tuple[Node, ...]
    query: bool
    handler: Handler
    headed: bool  # whether `:COMM:HEAD ON` prefixes the reply with the header

    def match(self, parts: list[tuple[str, int | None]]) -> int | None:
        """The `<x>` suffix (1 if omitted) when `parts` names this command, else None."""
        return self._match(0, parts, 1)

    def _match(self, i: int, parts: list[tuple[str, int | None]], suffix: int) -> int | None:
        if i == len(self.nodes):
            return suffix if not parts else None
        node = self.nodes[i]
        if parts:
            text, number = parts[0]
            if node.word.matches(text) and (number is None or node.suffixed):
                found = self._match(i + 1, parts[1:], (number or 1) if node.suffixed else suffix)
                if found is not None:
                    return found
        return self._match(i + 1, parts, suffix) if node.optional else None

    def header(self, suffix: int, verbose: bool) -> str:
        words = []
        for node in self.nodes:
            words.append(node.word.reply(verbose) + (str(suffix) if node.suffixed else ""))
        return ":" + ":".join(words)


def _command(pattern: str, handler: Handler, headed: bool = True) -> Command:
    """`:NUMeric[:NORMal]:ITEM<x>?` -> a Command (the pattern is the manual's notation).

    `headed=False`: the reply never carries a header (numeric data); common commands never do.
    """
    query = pattern.endswith("?")
    body = pattern.rstrip("?")
    nodes = []
    for optional, name in re.findall(r"(\[?):?([A-Za-z*]+(?:<x>)?)\]?", body):
        suffixed = name.endswith("<x>")
        nodes.append(Node(Word.of(name.removesuffix("<x>")), bool(optional), suffixed))
    common = body.startswith("*")
    return Command(tuple(nodes), query, handler, headed=headed and query and not common)


def _parse_header(text: str) -> list[tuple[str, int | None]]:
    parts = []
    for part in text.split(":"):
        m = re.fullmatch(r"([A-Za-z*]+?)(\d*)", part)
        if not m:
            raise ScpiError(102, "Syntax error")
        parts.append((m[1], int(m[2]) if m[2] else None))
    return parts


class Wt310Server:
    """An asyncio TCP server that answers like a WT310E; state is shared by all connections."""

    def __init__(
        self,
        model: BenchModel,
        faults: FaultInjector | None = None,
        *,
        serial: str = "C2SIM0001",
        feed: Feed = whole,
        role: str = ROLE,
    ) -> None:
        self.model: BenchModel = model
        self.feed = feed  # the supply it is wired into: the whole unit or a part (feeds.py)
        self.role = role  # whose OVER_RANGE fault it shows
        self.faults = faults if faults is not None else model.faults
        self.serial = serial
        self.transcript: list[tuple[str, str | None]] = []
        self.header = True
        self.verbose = False
        self.remote = False
        self.errors: list[ScpiError] = []
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}
        self.reset()

    def reset(self) -> None:
        """`*RST`: measurement settings and integration to their defaults."""
        self.rate_s = 0.25
        self.float_format = False
        self.item_count = len(DEFAULT_ITEMS)
        self.items: list[tuple[Function, int]] = [(_function(n), 1) for n in DEFAULT_ITEMS]
        self.integ_state = "RESet"
        self.integ_mode = "NORMal"
        self.integ_timer_s = 0
        self.integ_wh: float = 0.0
        self.integ_ah: float = 0.0
        self.integ_elapsed_s: float = 0.0
        self._last_t = self.model.t
        self._last_energy_wh = self.electrical.energy_wh
        self._eesr_t = self.model.t
        self.fixed_range: dict[str, float | None] = {"VOLTage": None, "CURRent": None}  # auto

    def range_in_use(self, kind: str) -> float:
        """The fixed range, or the one auto range picks for the input now."""
        fixed = self.fixed_range[kind]
        if fixed is not None:
            return fixed
        e = self.electrical
        return (
            _range(e.voltage_v, VOLTAGE_RANGES_V)
            if kind == "VOLTage"
            else _range(e.current_a, CURRENT_RANGES_A)
        )

    @property
    def electrical(self) -> ElectricalState:
        return self.feed(self.model)

    # -- network ---------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._accept, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close the listener and every connection, and wait for their handlers to end.

        The connections are aborted rather than their tasks cancelled: on Python 3.11 asyncio
        logs a cancelled stream handler as an "Exception in callback".
        """
        if self._server is not None:
            self._server.close()
        for writer, _task in list(self._connections.items()):
            writer.transport.abort()
        await asyncio.gather(*self._connections.values(), return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[writer] = task
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError:
                    return  # peer closed; an unterminated command is not a command
                except asyncio.LimitOverrunError:
                    self._queue(ScpiError(223, "Too much data"))
                    return
                reply = self.handle_line(line.decode("latin-1"))
                if reply is not None:
                    writer.write(reply + b"\n")
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            del self._connections[writer]
            writer.close()  # flushes what is still buffered; stop() aborts instead

    # -- one program message ---------------------------------------------------------------
    def handle_line(self, line: str) -> bytes | None:
        """Execute one LF-terminated program message; the reply (without LF), if any."""
        replies: list[bytes] = []
        path: list[tuple[str, int | None]] = []
        for raw in line.rstrip("\r\n").split(";"):
            text = raw.strip()
            if not text:
                continue
            reply = None
            try:
                reply, path = self._execute(text, path)
            except ScpiError as exc:
                self._queue(exc)
            except Exception:  # a simulator bug must not end the connection
                log.exception("WT310 simulator failed on %r", text)
                self._queue(ScpiError(300, "Device-specific error"))
            if isinstance(reply, str):
                reply = reply.encode("ascii")
            self.transcript.append((text, None if reply is None else reply.decode("latin-1")))
            if reply is not None:
                replies.append(reply)
        return b";".join(replies) if replies else None

    def _execute(
        self, text: str, path: list[tuple[str, int | None]]
    ) -> tuple[str | bytes | None, list[tuple[str, int | None]]]:
        header, _, rest = text.replace("\t", " ").partition(" ")
        query = header.endswith("?")
        header = header.removesuffix("?")
        args = [a.strip() for a in rest.split(",")] if rest.strip() else []
        parts: list[tuple[str, int | None]]
        if header.startswith("*"):
            parts, new_path = [(header, None)], path
        elif header.startswith(":"):
            parts = _parse_header(header[1:])
            new_path = parts[:-1]
        else:
            parts = path + _parse_header(header)
            new_path = parts[:-1]
        for command in COMMANDS:
            if command.query != query:
                continue
            suffix = command.match(parts)
            if suffix is None:
                continue
            reply = command.handler(self, args, suffix)
            if isinstance(reply, str) and command.headed and self.header:
                reply = f"{command.header(suffix, self.verbose)} {reply}"
            return reply, new_path
        raise _undefined()

    def _queue(self, error: ScpiError) -> None:
        if len(self.errors) < MAX_ERRORS - 1:
            self.errors.append(error)
        elif len(self.errors) == MAX_ERRORS - 1:
            self.errors.append(ScpiError(350, "Queue overflow"))

    # -- state -----------------------------------------------------------------------------
    def sync(self) -> None:
        """Bring the physics and the integrator up to bench time now."""
        model = self.model
        model.advance()
        dt = model.t - self._last_t
        energy = self.electrical.energy_wh - self._last_energy_wh
        if self.integ_state == "STARt" and dt > 0:
            timer = self.integ_timer_s if self.integ_mode == "NORMal" else 0
            if timer and self.integ_elapsed_s + dt >= timer:
                share = (timer - self.integ_elapsed_s) / dt
                dt, energy = dt * share, energy * share
                self.integ_state = "TIMeup"
            self.integ_elapsed_s += dt
            self.integ_wh += energy
            self.integ_ah += self.electrical.current_a * dt / 3600.0
        self._last_t = model.t
        self._last_energy_wh = self.electrical.energy_wh

    def _over_range(self) -> str | None:
        """The sentinel measured items read while OVER_RANGE acts: INF, or NAN with `nan=1`;
        INF too when an input is beyond 140 % of its fixed range (the WT's over-range)."""
        e = self.electrical
        for kind, value in (("VOLTage", e.voltage_v), ("CURRent", e.current_a)):
            fixed = self.fixed_range[kind]
            if fixed is not None and abs(value) > OVER_RANGE_SHARE * fixed:
                return "INF"
        if self.faults is None:
            return None
        fault = self.faults.active(self.role, FaultKind.OVER_RANGE)
        if fault is None:
            return None
        return "NAN" if float(fault.params.get("nan", 0)) == 1 else "INF"

    def values(self) -> list[float | str]:
        """The current items: numbers, or the sentinels "NAN" / "INF"."""
        self.sync()
        fault = self._over_range()
        out: list[float | str] = []
        for function, _element in self.items[: self.item_count]:
            value = function.value(self)
            if value is None or not math.isfinite(value):
                out.append("NAN")
            elif fault and function.measured:
                out.append(fault)
            else:
                out.append(value)
        return out

    # -- handlers --------------------------------------------------------------------------
    def _idn(self, args: list[str], _: int) -> str:
        return f"YOKOGAWA,{MODEL},{self.serial},{FIRMWARE}"

    def _rst(self, args: list[str], _: int) -> None:
        self.sync()
        self.reset()

    def _cls(self, args: list[str], _: int) -> None:
        self.errors.clear()
        self._eesr_t = self.model.t

    def _set_header(self, args: list[str], _: int) -> None:
        self.header = _boolean(args)

    def _get_header(self, args: list[str], _: int) -> str:
        return "1" if self.header else "0"

    def _set_verbose(self, args: list[str], _: int) -> None:
        self.verbose = _boolean(args)

    def _get_verbose(self, args: list[str], _: int) -> str:
        return "1" if self.verbose else "0"

    def _set_remote(self, args: list[str], _: int) -> None:
        self.remote = _boolean(args, default=True)

    def _get_remote(self, args: list[str], _: int) -> str:
        return "1" if self.remote else "0"

    def _set_command_set(self, args: list[str], _: int) -> None:
        if _one(args).upper() != "WT300":
            raise ScpiError(141, "Invalid character data")  # no WT200 compatibility here

    def _set_rate(self, args: list[str], _: int) -> None:
        m = re.fullmatch(r"([-+0-9.Ee]+)\s*(MS|S)?", _one(args).upper())
        if not m:
            raise ScpiError(120, "Numeric data error")
        try:
            seconds = float(m[1]) / (1000.0 if m[2] == "MS" else 1.0)
        except ValueError:
            raise ScpiError(120, "Numeric data error") from None
        allowed = [r for r in RATES_S if math.isclose(r, seconds, rel_tol=1e-6)]
        if not allowed:
            raise _illegal()
        if self.integ_state != "RESet":
            raise _conflict()
        self.rate_s = allowed[0]

    def _get_rate(self, args: list[str], _: int) -> str:
        return nr3(self.rate_s)

    def _set_format(self, args: list[str], _: int) -> None:
        self.float_format = _choice(_one(args), FORMATS) == "FLOat"

    def _get_format(self, args: list[str], _: int) -> str:
        return FORMATS["FLOat" if self.float_format else "ASCii"].reply(self.verbose)

    def _set_number(self, args: list[str], _: int) -> None:
        n = _integer(_one(args))
        if not 1 <= n <= MAX_ITEMS:
            raise _out_of_range()
        self.item_count = n

    def _get_number(self, args: list[str], _: int) -> str:
        return str(self.item_count)

    def _check_item(self, n: int) -> None:
        if not 1 <= n <= MAX_ITEMS:
            raise ScpiError(114, "Header suffix out of range")

    def _set_item(self, args: list[str], n: int) -> None:
        self._check_item(n)
        if not args:
            raise _missing()
        function = _function(args[0])
        if len(args) > 2 or (function is NONE and len(args) > 1):
            raise _not_allowed()
        element = _integer(args[1]) if len(args) == 2 else 1
        if element != 1:  # the WT310 has one element
            raise _out_of_range()
        self.items[n - 1] = (function, element)

    def _get_item(self, args: list[str], n: int) -> str:
        self._check_item(n)
        function, element = self.items[n - 1]
        name = function.word.reply(self.verbose)
        return name if function is NONE else f"{name},{element}"

    def _get_values(self, args: list[str], _: int) -> str | bytes:
        values = self.values()
        if args:  # `:NUM:NORM:VAL? <n>`: just item n
            n = _integer(_one(args))
            if not 1 <= n <= self.item_count:
                raise _out_of_range()
            values = [values[n - 1]]
            functions = [self.items[n - 1][0]]
        else:
            functions = [f for f, _ in self.items[: self.item_count]]
        if self.float_format:
            sentinel = {"NAN": FLOAT_NAN, "INF": FLOAT_INF}
            data = struct.pack(
                f">{len(values)}f", *(sentinel[v] if isinstance(v, str) else v for v in values)
            )
            return f"#4{len(data):04d}".encode("ascii") + data
        out = []
        for value, function in zip(values, functions, strict=True):
            if isinstance(value, str):
                out.append(value)
            elif function.integer:
                out.append(str(int(value)))
            else:
                out.append(nr3(value))
        return ",".join(out)

    def _set_integ_mode(self, args: list[str], _: int) -> None:
        mode = _choice(_one(args), INTEG_MODES)
        if self.integ_state != "RESet":
            raise _conflict()
        self.integ_mode = mode

    def _get_integ_mode(self, args: list[str], _: int) -> str:
        return INTEG_MODES[self.integ_mode].reply(self.verbose)

    def _set_integ_timer(self, args: list[str], _: int) -> None:
        if len(args) != 3:
            raise _missing() if len(args) < 3 else _not_allowed()
        h, m, s = (_integer(a) for a in args)
        if not (0 <= h <= 10000 and 0 <= m <= 59 and 0 <= s <= 59):
            raise _out_of_range()
        if self.integ_state != "RESet":
            raise _conflict()
        self.integ_timer_s = h * 3600 + m * 60 + s

    def _get_integ_timer(self, args: list[str], _: int) -> str:
        t = self.integ_timer_s
        return f"{t // 3600},{t // 60 % 60},{t % 60}"

    def _integ_start(self, args: list[str], _: int) -> None:
        self.sync()
        if self.integ_state not in ("RESet", "STOP"):
            raise _conflict()
        if self.integ_mode == "CONTinuous" and not self.integ_timer_s:
            raise _conflict()
        self.integ_state = "STARt"

    def _integ_stop(self, args: list[str], _: int) -> None:
        self.sync()
        if self.integ_state != "STARt":
            raise _conflict()
        self.integ_state = "STOP"

    def _integ_reset(self, args: list[str], _: int) -> None:
        self.sync()
        if self.integ_state == "STARt":
            raise _conflict()
        self.integ_state = "RESet"
        self.integ_wh = self.integ_ah = self.integ_elapsed_s = 0.0

    def _get_integ_state(self, args: list[str], _: int) -> str:
        self.sync()
        return INTEG_STATES[self.integ_state].reply(self.verbose)

    def _get_error(self, args: list[str], _: int) -> str:
        if not self.errors:
            return '0,"No error"'
        error = self.errors.pop(0)
        return f'{error.code},"{error.message}"'

    def _get_eesr(self, args: list[str], _: int) -> str:
        """Bit 0 (UPD): the data were updated since the last read of the register."""
        self.sync()
        updated = self.model.t - self._eesr_t >= self.rate_s
        self._eesr_t = self.model.t
        running = self.integ_state == "STARt"
        return str(int(updated) | (int(running) << 1))

    def _set_range(self, kind: str, args: list[str]) -> None:
        allowed = VOLTAGE_RANGES_V if kind == "VOLTage" else CURRENT_RANGES_A
        m = re.fullmatch(r"([-+0-9.Ee]+)\s*(M?[VA])?", _one(args).upper())
        if not m:
            raise ScpiError(120, "Numeric data error")
        try:
            value = float(m[1]) / (1000.0 if (m[2] or "").startswith("M") else 1.0)
        except ValueError:
            raise ScpiError(120, "Numeric data error") from None
        found = [r for r in allowed if math.isclose(r, value, rel_tol=1e-6)]
        if not found:
            raise _illegal()
        if self.integ_state != "RESet":
            raise _conflict()
        self.fixed_range[kind] = found[0]

    def _set_auto(self, kind: str, args: list[str]) -> None:
        if self.integ_state != "RESet":
            raise _conflict()
        if _boolean(args):
            self.fixed_range[kind] = None
        else:  # auto off keeps the range auto had picked
            self.fixed_range[kind] = self.range_in_use(kind)

    def _accept_any(self, args: list[str], _: int) -> None:
        """Accepted and ignored: settings that change nothing the simulator models."""

    def _accept_filter(self, args: list[str], n: int) -> None:
        if not 1 <= n <= 16:
            raise ScpiError(114, "Header suffix out of range")
        _choice(_one(args), {w: Word.of(w) for w in ("RISE", "FALL", "BOTH", "NEVer")})


def _constant(value: str) -> Handler:
    return lambda server, args, suffix: value


def _range_commands(kind: str) -> tuple[tuple[str, Handler], ...]:
    """`:INPut:<kind>:RANGe` and `:AUTO`, set and query (docs/protocols.md §1.1)."""
    return (
        (f":INPut:{kind}:RANGe", lambda s, args, _: s._set_range(kind, args)),
        (f":INPut:{kind}:RANGe?", lambda s, args, _: nr3(s.range_in_use(kind))),
        (f":INPut:{kind}:AUTO", lambda s, args, _: s._set_auto(kind, args)),
        (f":INPut:{kind}:AUTO?", lambda s, args, _: "1" if s.fixed_range[kind] is None else "0"),
    )


_TABLE: tuple[tuple[str, Handler] | tuple[str, Handler, bool], ...] = (
    ("*IDN?", Wt310Server._idn),
    ("*OPT?", _constant("0")),
    ("*RST", Wt310Server._rst),
    ("*CLS", Wt310Server._cls),
    ("*ESR?", _constant("0")),
    ("*OPC?", _constant("1")),
    ("*OPC", Wt310Server._accept_any),
    ("*WAI", Wt310Server._accept_any),
    (":COMMunicate:HEADer", Wt310Server._set_header),
    (":COMMunicate:HEADer?", Wt310Server._get_header),
    (":COMMunicate:VERBose", Wt310Server._set_verbose),
    (":COMMunicate:VERBose?", Wt310Server._get_verbose),
    (":COMMunicate:REMote", Wt310Server._set_remote),
    (":COMMunicate:REMote?", Wt310Server._get_remote),
    (":COMMunicate:WAIT", Wt310Server._accept_any),
    (":SYSTem:COMMunicate:COMMand", Wt310Server._set_command_set),
    (":SYSTem:COMMunicate:COMMand?", _constant("WT300")),
    (":RATE", Wt310Server._set_rate),
    (":RATE?", Wt310Server._get_rate),
    (":NUMeric:FORMat", Wt310Server._set_format),
    (":NUMeric:FORMat?", Wt310Server._get_format),
    (":NUMeric[:NORMal]:NUMber", Wt310Server._set_number),
    (":NUMeric[:NORMal]:NUMber?", Wt310Server._get_number),
    (":NUMeric[:NORMal]:ITEM<x>", Wt310Server._set_item),
    (":NUMeric[:NORMal]:ITEM<x>?", Wt310Server._get_item),
    (":NUMeric[:NORMal]:VALue?", Wt310Server._get_values, False),
    (":INTEGrate:MODE", Wt310Server._set_integ_mode),
    (":INTEGrate:MODE?", Wt310Server._get_integ_mode),
    (":INTEGrate:TIMer", Wt310Server._set_integ_timer),
    (":INTEGrate:TIMer?", Wt310Server._get_integ_timer),
    (":INTEGrate:STARt", Wt310Server._integ_start),
    (":INTEGrate:STOP", Wt310Server._integ_stop),
    (":INTEGrate:RESet", Wt310Server._integ_reset),
    (":INTEGrate:STATe?", Wt310Server._get_integ_state),
    (":STATus:ERRor?", Wt310Server._get_error),
    (":STATus:EESR?", Wt310Server._get_eesr),
    (":STATus:FILTer<x>", Wt310Server._accept_filter),
    (":STATus:QMESsage", Wt310Server._accept_any),
    *_range_commands("VOLTage"),
    *_range_commands("CURRent"),
)
COMMANDS: tuple[Command, ...] = tuple(_command(*entry) for entry in _TABLE)
