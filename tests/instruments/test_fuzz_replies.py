"""Instrument replies fuzzed at the protocol level, through the real drivers over real sockets.

A scripted peer on loopback TCP answers the driver's requests: with the protocol's own answer
(canonical), or, for the one request an example aims at, with a reply built by hypothesis: a
valid one (its values chosen by the strategy), or one garbled (random bytes, truncated, no
terminator, wrong item counts, non-numeric or huge tokens, extra lines; for Modbus wrong byte
counts, function codes, transaction / unit / protocol ids, MBAP lengths, exception responses,
wrong echoes).

For every read / identify / write the outcome must be one of:

- the right answer: when the reply is valid, exactly the values the strategy put in it (a
  sentinel as INVALID); when it is garbled but happens to parse, the values a reference parser
  of the protocol finds in it, never others;
- an `InstrumentError` (any subclass; the specific one where the reply leaves no doubt);

never another exception, never longer than the driver's timeout allows. After each example a
canonical exchange must work again: a garbled reply never leaves a driver dead or out of step
(a stale line taken as the next answer is a wrong number too).

Drivers: the Yokogawa WT300 over pyvisa-py (`TCPIP::127.0.0.1::port::SOCKET`), the ESPEC
chamber over pyserial (`socket://`, and a pty), the Modbus heat pump and hydraulic module over
pymodbus (`tcp://`), with the shipped maps and with a map holding every register type.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import re
import select
import socket
import threading
import time
import tty
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from instruments.base import (
    ConnectionLost,
    Identity,
    InstrumentError,
    Quality,
    Reading,
    WriteRefused,
)
from instruments.power_analyser.yokogawa_wt300 import CHANNELS as WT_CHANNELS
from instruments.power_analyser.yokogawa_wt300 import INTEGRATION_STATES, YokogawaWT300
from tests.fuzzing import FUZZ, few

TIMEOUT = 0.5  # every driver's timeout here: a garbled reply may cost it, once per exchange;
# at 0.3 s a canonical answer was once late on a 2-core machine busy with a benchmark
SLACK = 1.5  # scheduling, thread start-up, reconnects on a busy CI machine


# -- the scripted peer ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Answer:
    """What the peer sends for one request: `data`, cut into pieces `pause` s apart."""

    data: bytes = b""
    cuts: tuple[int, ...] = ()
    pause: float = 0.0
    close: bool = False  # close the connection after sending

    def pieces(self) -> list[bytes]:
        edges = [0, *sorted(c for c in self.cuts if 0 < c < len(self.data)), len(self.data)]
        return [self.data[a:b] for a, b in itertools.pairwise(edges) if b > a]


Split = Callable[[bytearray], bytes | None]
Respond = Callable[[bytes, dict[str, Any]], Answer | None]


def line_split(terminator: bytes) -> Split:
    def split(buf: bytearray) -> bytes | None:
        end = buf.find(terminator)
        if end < 0:
            return None
        request = bytes(buf[:end])
        del buf[: end + len(terminator)]
        return request

    return split


def _send(write: Callable[[bytes], object], answer: Answer) -> None:
    for number, piece in enumerate(answer.pieces()):
        if number and answer.pause:
            time.sleep(answer.pause)
        write(piece)


class Peer:
    """A loopback TCP server, one thread per connection, answering as `respond` says."""

    def __init__(self, split: Split, respond: Respond) -> None:
        self.split = split
        self.respond = respond
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self.failure: BaseException | None = None  # a bug in the test's own respond()

    def __enter__(self) -> Peer:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for conn in [self._listener, *self._conns]:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in self._threads:
            thread.join(2.0)
        if self.failure is not None and exc[0] is None:
            raise self.failure

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="fuzz-peer")
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        state: dict[str, Any] = {}
        buf = bytearray()
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buf += data
                while (request := self.split(buf)) is not None:
                    self.requests.append(request)
                    try:
                        answer = self.respond(request, state)
                    except Exception as exc:
                        self.failure = exc
                        return
                    if answer is None:
                        continue
                    try:
                        _send(conn.sendall, answer)
                    except OSError:
                        return
                    if answer.close:
                        with contextlib.suppress(OSError):
                            conn.shutdown(socket.SHUT_RDWR)
                        return


class PtyPeer:
    """The far end of a real pseudo-terminal: the driver opens `path` as a serial port.

    A tty has no connection to close, so `Answer.close` is ignored here.
    """

    def __init__(self, split: Split, respond: Respond) -> None:
        self.split = split
        self.respond = respond
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="fuzz-pty")
        self.failure: BaseException | None = None

    def __enter__(self) -> PtyPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2.0)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.failure is not None and exc[0] is None:
            raise self.failure

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            select.select([], [self._master], [], 1.0)
            view = view[os.write(self._master, view) :]

    def _serve(self) -> None:
        state: dict[str, Any] = {}
        buf = bytearray()
        while not self._stop.is_set():
            if not select.select([self._master], [], [], 0.05)[0]:
                continue
            try:
                buf += os.read(self._master, 65536)
            except OSError:
                continue  # EIO while no one has the tty open
            while (request := self.split(buf)) is not None:
                try:
                    answer = self.respond(request, state)
                    if answer is not None:
                        _send(self._write, answer)
                except Exception as exc:
                    self.failure = exc
                    return


# -- outcomes ------------------------------------------------------------------------------------
@dataclass
class Outcome:
    value: Any = None
    error: InstrumentError | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


async def attempt(what: str, call: Awaitable[Any], exchanges: int) -> Outcome:
    """Run one driver call: an InstrumentError is an outcome, anything else a failure; so is
    taking longer than `exchanges` timeouts (each may be waited for twice) allow."""
    start = time.monotonic()
    try:
        outcome = Outcome(await call)
    except InstrumentError as exc:
        outcome = Outcome(error=exc)
    outcome.seconds = time.monotonic() - start
    limit = exchanges * 2 * TIMEOUT + SLACK
    assert outcome.seconds < limit, f"{what} took {outcome.seconds:.2f} s (limit {limit:.2f} s)"
    return outcome


async def recovered(what: str, call: Callable[[], Awaitable[Any]], exchanges: int) -> Any:
    """A canonical exchange after the fuzzed ones: it must work, at the latest on the second
    try (the first may still meet what the fuzzed answer left: a link the peer closed, a
    stray byte that came late), and whenever it works, its values must be the canonical ones
    (the caller checks), or the driver is out of step."""
    first = await attempt(what, call(), exchanges)
    if first.ok:
        return first.value
    second = await attempt(what, call(), exchanges)
    assert second.ok, f"no recovery after a fuzzed answer: {first.error}; then {second.error}"
    return second.value


def run(coro: Awaitable[None]) -> None:
    async def guarded() -> None:
        async with asyncio.timeout(60):
            await coro

    asyncio.run(guarded())


def readings(values: dict[str, Reading]) -> dict[str, tuple[Quality, float | None]]:
    return {name: (r.quality, r.value) for name, r in values.items()}


OK = Quality.OK
INVALID = Quality.INVALID


# -- reply mutations shared by the line protocols -----------------------------------------------
JUNK_TOKENS = (
    "",
    " ",
    "1_0",
    "0_0",
    "infinity",
    "Infinity",
    "inf",
    "0x10",
    "0b1",
    "1e",
    "--1",
    "+-1",
    "nan(1)",
    "NAN1",
    "1,5",
    "+",
    "-",
    ".",
    "E5",
    "1e5e5",
    "1.0.0",
    "9" * 400,
    "1e400",
    "-1e400",
    "1" + "0" * 40,
    "----",
    "OFF",
    "NA:CMD ERR",
    "\x00",
    "\x7f",
    "１２",  # fullwidth digits
    "½",
    "٣",
)
junk_tokens = st.one_of(
    st.sampled_from(JUNK_TOKENS), st.text(st.characters(codec="ascii"), max_size=8)
)
GARBAGE = (b"\x00", b"\xff", b"\xc3\xa9", b",", b"\n", b"\r", b"\r\n", b" ", b"\t", b"?", b"NAN")


def join_tokens(tokens: list[str]) -> bytes:
    return ",".join(tokens).encode("utf-8")


@st.composite
def garbled_line(draw: st.DrawFn, tokens: list[str], terminator: bytes) -> tuple[bytes, str]:
    """A reply line made wrong in one way; returns the bytes and what was done (for reports)."""
    clean = join_tokens(tokens) + terminator
    op = draw(
        st.sampled_from(
            [
                "truncate",
                "no_terminator",
                "insert",
                "junk_token",
                "drop_token",
                "add_token",
                "random",
                "silence",
                "empty",
                "bare_cr",
                "two_lines",
                "extra_line",
                "huge",
            ]
        )
    )
    if op == "truncate":
        return clean[: draw(st.integers(0, len(clean) - 1))], op
    if op == "no_terminator":
        return join_tokens(tokens), op
    if op == "insert":
        at = draw(st.integers(0, len(clean) - len(terminator)))
        chunk = draw(st.one_of(st.sampled_from(GARBAGE), st.binary(min_size=1, max_size=8)))
        return clean[:at] + chunk + clean[at:], op
    if op == "junk_token" and tokens:
        index = draw(st.integers(0, len(tokens) - 1))
        changed = [*tokens[:index], draw(junk_tokens), *tokens[index + 1 :]]
        return join_tokens(changed) + terminator, op
    if op == "drop_token" and tokens:
        index = draw(st.integers(0, len(tokens) - 1))
        return join_tokens(tokens[:index] + tokens[index + 1 :]) + terminator, op
    if op == "add_token":
        index = draw(st.integers(0, len(tokens)))
        extra = draw(st.one_of(st.sampled_from(tokens or ["1"]), junk_tokens))
        return join_tokens([*tokens[:index], extra, *tokens[index:]]) + terminator, op
    if op == "random":
        return draw(st.binary(max_size=64)), op
    if op == "silence":
        return b"", op
    if op == "empty":
        return terminator, op
    if op == "bare_cr":
        return join_tokens(tokens) + b"\r", op
    if op == "two_lines":  # the line broken in two: the first half arrives as the answer
        at = draw(st.integers(0, len(clean) - len(terminator)))
        return clean[:at] + terminator + clean[at:], op
    if op == "extra_line":  # a valid answer, then a stray line: this one is still right
        return clean + draw(st.binary(max_size=16)) + terminator, op
    # huge: a reply far longer than any real one
    return join_tokens(tokens) * draw(st.integers(50, 400)) + terminator, op


@st.composite
def delivery(draw: st.DrawFn, data: bytes, answer_end: int | None = None) -> Answer:
    """How a reply travels: in one piece, or in a few with short pauses, maybe then a close.

    Pauses fall only inside the answer itself (`data[:answer_end]`): whatever follows it
    arrives at once. A stray line that comes later than the next command cannot be told from
    the next answer by any driver; one already there when the command goes out can.
    """
    cuts: tuple[int, ...] = ()
    pause = 0.0
    end = len(data) if answer_end is None else min(answer_end, len(data))
    if end > 1 and draw(st.booleans()):
        cuts = tuple(draw(st.lists(st.integers(1, end - 1), max_size=3)))
        pause = draw(st.sampled_from([0.0, 0.001, 0.02]))
    close = draw(st.integers(0, 9)) == 0
    return Answer(data, cuts, pause, close)


# ================================================================================================
# Yokogawa WT300 (SCPI over pyvisa-py, LF-terminated lines)
# ================================================================================================
WT_IDN = "YOKOGAWA,WT310E,C2FZ00001,F1.03"
WT_CANON_VALUES = (
    ["+2.30012E+02", "+1.00000E+00", "+2.30000E+02"]
    + ["+1.00000E+00"] * 5
    + ["+3.00000E+02", "+5.00000E+00"]  # URAN, IRAN: the ranges read back with every read
)
WT_CANON = {
    "*IDN?": WT_IDN,
    ":NUM:NORM:VAL?": ",".join(WT_CANON_VALUES),
    ":INTEG:STAT?": "RES",
    "setup": '0,"No error"',
    "command": '0,"No error"',
}
WT_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def wt_line(payload: bytes) -> str | None:
    """The answer the WT protocol finds in `payload`: its first LF-terminated ASCII line."""
    end = payload.find(b"\n")
    if end < 0:
        return None
    try:
        return payload[:end].decode("ascii").strip()
    except UnicodeDecodeError:
        return None


def wt_token(token: str) -> tuple[Quality, float | None] | None:
    text = token.strip()
    if text.lstrip("+-").upper() in ("NAN", "INF"):
        return INVALID, None
    if not WT_NUMBER.fullmatch(text):
        return None
    value = float(text)
    if not math.isfinite(value) or abs(value) >= 9.9e37:
        return INVALID, None
    return OK, value


def wt_values(line: str | None) -> dict[str, tuple[Quality, float | None]] | None:
    if line is None:
        return None
    tokens = line.split(",")
    if len(tokens) != len(WT_CHANNELS):
        return None
    parsed = [wt_token(t) for t in tokens]
    if any(p is None for p in parsed):
        return None
    return {c.name: p for c, p in zip(WT_CHANNELS, parsed, strict=True)}  # type: ignore[misc]


def wt_identity(line: str | None) -> Identity | None:
    if line is None:
        return None
    parts = [p.strip() for p in line.split(",")]
    if len(parts) != 4 or not parts[0] or not parts[1]:
        return None
    return Identity(*parts)


def wt_state(line: str | None) -> str | None:
    return None if line is None else INTEGRATION_STATES.get(line.upper())


def wt_error_code(line: str | None) -> int | None:
    if line is None:
        return None
    code, sep, _ = line.partition(",")
    if not sep or not re.fullmatch(r"[+-]?\d+", code.strip()):
        return None
    return int(code)


WT_REFERENCE: dict[str, Callable[[str | None], Any]] = {
    ":NUM:NORM:VAL?": wt_values,
    "*IDN?": wt_identity,
    ":INTEG:STAT?": wt_state,
    "setup": wt_error_code,
    "command": wt_error_code,
}

wt_sentinels = st.sampled_from(
    ["NAN", "INF", "-INF", "+9.9000E+37", "+9.9100E+37", "-9.9100E+37", "9.9E+37", "+NAN"]
)
wt_numbers = st.builds(
    lambda fmt, v: fmt.format(v),
    st.sampled_from(["{:+.5E}", "{:.5E}", "{:g}", "{:.3f}", "{:+.1f}", " {:+.5E} "]),
    st.one_of(st.floats(-1e7, 1e7, allow_nan=False), st.sampled_from([0.0, -0.0, 1e-30])),
)
wt_words = st.from_regex(r"[A-Z0-9][A-Z0-9._-]{0,11}", fullmatch=True)


@dataclass(frozen=True)
class WtCase:
    """One fuzzed exchange: which request it answers, and how."""

    target: str  # a query, "setup" (the first :STAT:ERR? of a session) or "command"
    tokens: tuple[str, ...]  # the valid reply's items
    answer: Answer
    clean: bool  # the reply is the valid one (terminated, perhaps fragmented)
    how: str = ""

    @property
    def intended(self) -> Any:
        return WT_REFERENCE[self.target](",".join(self.tokens))

    @property
    def reference(self) -> Any:
        return WT_REFERENCE[self.target](wt_line(self.answer.data))


@st.composite
def wt_cases(draw: st.DrawFn, target: str) -> WtCase:
    if target == ":NUM:NORM:VAL?":
        n = len(WT_CANON_VALUES)
        tokens = draw(st.lists(st.one_of(wt_numbers, wt_sentinels), min_size=n, max_size=n))
    elif target == "*IDN?":
        tokens = draw(st.lists(wt_words, min_size=4, max_size=4))
    elif target == ":INTEG:STAT?":
        tokens = [draw(st.sampled_from(sorted(INTEGRATION_STATES)))]
    else:
        code = draw(st.one_of(st.just(0), st.integers(-500, 500)))
        tokens = [str(code), '"Error text"']
    terminator = draw(st.sampled_from([b"\n", b"\n", b"\r\n"]))
    if draw(st.integers(0, 2)) == 0:
        data, how = join_tokens(tokens) + terminator, "clean"
    else:
        data, how = draw(garbled_line(tokens, terminator))
    end = data.find(b"\n")
    answer = draw(delivery(data, None if end < 0 else end + 1))
    clean = how == "clean" and not answer.close
    return WtCase(target, tuple(tokens), answer, clean, how)


class WtPeer:
    """Answers the WT300's queries; setting commands get no reply, as on the instrument."""

    def __init__(self) -> None:
        self.script: dict[str, WtCase] = {}

    def respond(self, request: bytes, session: dict[str, Any]) -> Answer | None:
        command = request.strip().decode("ascii", "replace")
        if not command.endswith("?"):
            return None
        target = command
        if command == ":STAT:ERR?":
            target = "command" if session.get("set_up") else "setup"
            session["set_up"] = True
        case = self.script.pop(target, None)
        if case is not None:
            return case.answer
        return Answer(WT_CANON.get(target, '0,"No error"').encode() + b"\n")


WT_OPS = {
    # op: (the request whose answer is fuzzed, exchanges the call may wait on)
    "connect": ("setup", 1),
    "read": (":NUM:NORM:VAL?", 2),
    "identify": ("*IDN?", 2),
    "integration_state": (":INTEG:STAT?", 2),
    "integration_start": ("command", 2),
    "set_update_rate": ("command", 2),
}


async def wt_call(driver: YokogawaWT300, op: str) -> Any:
    if op == "connect":
        return await driver.connect()
    if op == "read":
        return readings(await driver.read())
    if op == "identify":
        return await driver.identify()
    if op == "integration_state":
        return await driver.integration_state()
    if op == "integration_start":
        return await driver.integration_start()
    return await driver.set_update_rate(0.5)


def check_wt(op: str, case: WtCase, outcome: Outcome, closed_before: bool) -> None:
    intended, reference = case.intended, case.reference
    if case.clean:
        assert reference == intended, "the test's own reference disagrees with the strategy"
    if closed_before and isinstance(outcome.error, ConnectionLost):
        return  # an earlier answer closed the link; it may still look open for a moment
    if case.target in ("setup", "command"):
        # a setting or the setup: fine only on "0,...", refused on another code
        if outcome.ok:
            assert reference == 0, f"{op} accepted the error-queue answer {case.answer.data!r}"
        elif case.clean:
            assert intended != 0, f"{op} refused a clean '0' answer: {outcome.error}"
            if case.target == "command":
                assert isinstance(outcome.error, WriteRefused), outcome.error
        return
    if outcome.ok:
        assert reference is not None, f"{op} returned {outcome.value!r} from garbage"
        assert outcome.value == reference, f"{op}: {outcome.value!r}, reply says {reference!r}"
    else:
        assert not case.clean, f"{op} refused a valid reply: {outcome.error}"
    if case.clean:
        assert outcome.value == intended


@FUZZ
@given(
    plan=st.lists(
        st.sampled_from(sorted(WT_OPS)).flatmap(
            lambda op: st.tuples(st.just(op), wt_cases(WT_OPS[op][0]))
        ),
        min_size=1,
        max_size=3,
    )
)
@example(  # found: a stray line after an answer was taken for the next answer
    plan=[
        (
            "read",
            WtCase(
                ":NUM:NORM:VAL?",
                tuple(WT_CANON_VALUES),
                Answer(WT_CANON[":NUM:NORM:VAL?"].encode() + b"\n1,2,3,4,5,6,7,8\n"),
                clean=False,
                how="extra_line",
            ),
        )
    ]
)
def test_wt300_replies(plan: list[tuple[str, WtCase]]) -> None:
    peer_script = WtPeer()
    with Peer(line_split(b"\n"), peer_script.respond) as peer:
        address = f"TCPIP::127.0.0.1::{peer.port}::SOCKET"

        async def scenario() -> None:
            driver = YokogawaWT300("pa", address, timeout_s=TIMEOUT)
            try:
                if plan[0][0] != "connect":
                    await recovered("connect", driver.connect, 1)
                closed = False
                for op, case in plan:
                    peer_script.script = {case.target: case}
                    outcome = await attempt(op, wt_call(driver, op), WT_OPS[op][1])
                    check_wt(op, case, outcome, closed)
                    closed = closed or case.answer.close
                    if op == "connect" and not outcome.ok:
                        await recovered("connect", driver.connect, 1)  # canonical now
                # whatever happened, the next canonical exchange works and is not out of step
                peer_script.script = {}
                after = await recovered("read", lambda: wt_call(driver, "read"), 2)
                assert after == wt_values(WT_CANON[":NUM:NORM:VAL?"]), "out of step"
            finally:
                await driver.close()

        run(scenario())


# ================================================================================================
# ESPEC chamber (ASCII lines, CR LF, over pyserial: socket:// and a real pty)
# ================================================================================================
ESPEC_CANON = {
    "TYPE?": "PT100,PT100,SCP220,60",
    "ROM?": "1.20",
    "MON?": "7.0,87.0,CONSTANT,0",
    "TEMP?": "7.0,7.0,60.0,-40.0",
    "HUMI?": "87,87,100,0",
    "MODE?": "CONSTANT",
    "ALARM?": "0",
}
ESPEC_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
ESPEC_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/:+-]*")
ESPEC_MODES = {"OFF": 0.0, "STANDBY": 1.0, "CONSTANT": 2.0, "RUN": 3.0}
ESPEC_REFUSALS = {"DATA OUT OF RANGE", "PROTECT ON", "CONT NOT READY-1"}
NOT_THIS = object()  # a reply that is not an answer to this query: the driver must raise


def espec_line(payload: bytes) -> str | None:
    """The answer the protocol finds in `payload`: its first CR LF line, if printable ASCII."""
    end = payload.find(b"\r\n")
    if end < 0:
        return None
    body = payload[:end]
    if not re.fullmatch(rb"[\x20-\x7e]*", body):
        return None
    return body.decode("ascii")


def espec_number(token: str) -> tuple[Quality, float | None]:
    text = token.strip()
    if ESPEC_NUMBER.fullmatch(text):
        value = float(text)
        return (OK, value) if math.isfinite(value) else (INVALID, None)
    return INVALID, None


def espec_fields(line: str | None, count: int) -> list[str] | None:
    if line is None or line.startswith("NA:"):
        return None
    tokens = line.split(",")
    return tokens if len(tokens) == count else None


def espec_mon(line: str | None) -> Any:
    tokens = espec_fields(line, 4)
    if tokens is None:
        return None
    temperature, humidity, mode, alarms = tokens
    code = ESPEC_MODES.get(mode.strip())
    count = alarms.strip()
    return {
        "temperature": espec_number(temperature),
        "humidity": espec_number(humidity),
        "mode": (OK, code) if code is not None else (INVALID, None),
        "alarms": espec_number(count) if re.fullmatch(r"\d+", count) else (INVALID, None),
    }


def espec_setpoint(line: str | None, channel: str) -> Any:
    if channel == "humidity_sp" and line == "NA:CONT NOT READY-1":
        return {channel: (INVALID, None)}  # a chamber without humidity
    tokens = espec_fields(line, 4)
    if tokens is None or not all(ESPEC_NUMBER.fullmatch(tokens[i].strip()) for i in (0, 2, 3)):
        return None
    if channel == "humidity_sp" and tokens[1].strip() == "OFF":
        return {channel: (INVALID, None)}
    return {channel: espec_number(tokens[1])}


def espec_type(line: str | None) -> str | None:
    if line is None or line.startswith("NA:"):
        return None
    tokens = [t.strip() for t in line.split(",")]
    if len(tokens) not in (3, 4) or not ESPEC_WORD.fullmatch(tokens[-2]):
        return None
    return tokens[-2]


def espec_rom(line: str | None) -> str | None:
    if line is None or line.startswith("NA:"):
        return None
    text = line.strip()
    return text if ESPEC_WORD.fullmatch(text) else None


def espec_mode(line: str | None) -> str | None:
    if line is None or line.startswith("NA:"):
        return None
    return line.strip() if line.strip() in ESPEC_MODES else None


def espec_alarms(line: str | None) -> list[int] | None:
    if line is None or line.startswith("NA:"):
        return None
    fields = [f.strip() for f in line.split(",")]
    if not all(re.fullmatch(r"\d+", f) for f in fields) or int(fields[0]) != len(fields) - 1:
        return None
    return [int(f) for f in fields[1:]]


def espec_set(line: str | None) -> Any:
    """True: done; "refused": WriteRefused; None: garbage (any InstrumentError)."""
    if line is None:
        return None
    if line.startswith("NA:"):
        return "refused" if line[3:].strip() in ESPEC_REFUSALS else None
    return True if any(ch.isalnum() for ch in line) else None


ESPEC_REFERENCE: dict[str, Callable[[str | None], Any]] = {
    "TYPE?": espec_type,
    "ROM?": espec_rom,
    "MON?": espec_mon,
    "TEMP?": lambda line: espec_setpoint(line, "temperature_sp"),
    "HUMI?": lambda line: espec_setpoint(line, "humidity_sp"),
    "MODE?": espec_mode,
    "ALARM?": espec_alarms,
    "TEMP,": espec_set,
    "HUMI,": espec_set,
    "MODE,": espec_set,
}

espec_numbers = st.builds(
    lambda fmt, v: fmt.format(v),
    st.sampled_from(["{:.1f}", "{:.0f}", "{:+.2f}", " {:.1f}"]),
    st.floats(-100, 200, allow_nan=False),
)
espec_words = st.from_regex(r"[A-Z0-9][A-Z0-9._/+-]{0,9}", fullmatch=True)


@st.composite
def espec_tokens(draw: st.DrawFn, target: str) -> list[str]:
    value = st.one_of(espec_numbers, st.sampled_from(["", "----", "OFF"]))
    if target == "MON?":
        mode = draw(st.sampled_from([*ESPEC_MODES, "PAUSE", ""]))
        alarms = draw(st.one_of(st.integers(0, 20).map(str), st.just("x")))
        return [draw(value), draw(value), mode, alarms]
    if target in ("TEMP?", "HUMI?"):
        return [draw(espec_numbers), draw(value), draw(espec_numbers), draw(espec_numbers)]
    if target == "TYPE?":
        return draw(st.lists(espec_words, min_size=3, max_size=4))
    if target == "ROM?":
        return [draw(espec_words)]
    if target == "MODE?":
        return [draw(st.sampled_from(sorted(ESPEC_MODES)))]
    if target == "ALARM?":
        codes = draw(st.lists(st.integers(0, 99).map(str), max_size=4))
        return [str(len(codes)), *codes]
    # a set command: OK:<echo>, or a refusal
    return [
        draw(
            st.sampled_from(
                ["OK:TEMP, S7.0", "OK", "NA:DATA OUT OF RANGE", "NA:PROTECT ON", "NA:CMD ERR"]
            )
        )
    ]


@dataclass(frozen=True)
class EspecCase:
    target: str  # the query, or the set command's first word and comma ("TEMP,")
    tokens: tuple[str, ...]
    answer: Answer
    clean: bool
    how: str = ""

    @property
    def intended(self) -> Any:
        return ESPEC_REFERENCE[self.target](",".join(self.tokens))

    @property
    def reference(self) -> Any:
        return ESPEC_REFERENCE[self.target](espec_line(self.answer.data))


@st.composite
def espec_cases(draw: st.DrawFn, target: str) -> EspecCase:
    tokens = draw(espec_tokens(target))
    if draw(st.integers(0, 2)) == 0:
        data, how = join_tokens(tokens) + b"\r\n", "clean"
    else:
        data, how = draw(garbled_line(tokens, b"\r\n"))
    end = data.find(b"\r\n")
    answer = draw(delivery(data, None if end < 0 else end + 2))
    return EspecCase(target, tuple(tokens), answer, how == "clean" and not answer.close, how)


class EspecPeer:
    def __init__(self) -> None:
        self.script: dict[str, EspecCase] = {}

    def respond(self, request: bytes, session: dict[str, Any]) -> Answer:
        command = request.decode("ascii", "replace").strip()
        target = command if command.endswith("?") else command.split(" ", 1)[0]
        case = self.script.pop(target, None)
        if case is not None:
            return case.answer
        return Answer(ESPEC_CANON.get(target, f"OK:{command}").encode() + b"\r\n")


ESPEC_OPS: dict[str, tuple[tuple[str, ...], int]] = {
    # op: (requests it makes, in order; exchanges it may wait on)
    "connect": (("TYPE?",), 1),
    "identify": (("TYPE?", "ROM?"), 2),
    "read": (("MON?", "TEMP?", "HUMI?"), 3),
    "read_mode": (("MODE?",), 1),
    "alarms": (("ALARM?",), 1),
    "set_air": (("TEMP,", "HUMI,"), 2),
    "set_mode": (("MODE,",), 1),
}
ESPEC_READ_CANON = {
    **espec_mon(ESPEC_CANON["MON?"]),
    **espec_setpoint(ESPEC_CANON["TEMP?"], "temperature_sp"),
    **espec_setpoint(ESPEC_CANON["HUMI?"], "humidity_sp"),
}


async def espec_call(driver: Any, op: str) -> Any:
    if op == "connect":
        return await driver.connect()
    if op == "identify":
        return await driver.identify()
    if op == "read":
        return readings(await driver.read())
    if op == "read_mode":
        return await driver.read_mode()
    if op == "alarms":
        return await driver.alarms()
    if op == "set_air":
        return await driver.set_air(7.0, 50.0)
    return await driver.set_mode("constant")


def espec_read_canon(humidity: bool) -> dict[str, tuple[Quality, float | None]]:
    """A canonical read; without humidity (TYPE? named no wet-bulb sensor) HUMI? is skipped."""
    return ESPEC_READ_CANON if humidity else {**ESPEC_READ_CANON, "humidity_sp": (INVALID, None)}


def espec_expected(op: str, case: EspecCase, reference: Any, humidity: bool = True) -> Any:
    """What the whole call returns when the fuzzed reply says `reference`."""
    if op == "read" and case.target == "HUMI?" and not humidity:
        return espec_read_canon(False)  # never asked
    if reference is None:
        return NOT_THIS
    if op == "read":
        return {**espec_read_canon(humidity), **reference}
    if op == "identify":
        if case.target == "TYPE?":
            return Identity("ESPEC", reference, "", ESPEC_CANON["ROM?"])
        return Identity("ESPEC", espec_type(ESPEC_CANON["TYPE?"]), "", reference)
    if op in ("connect", "set_air", "set_mode"):
        return None if reference is True or op == "connect" else reference
    return reference


def check_espec(
    op: str, case: EspecCase, outcome: Outcome, closed_before: bool, humidity: bool
) -> None:
    intended = espec_expected(op, case, case.intended, humidity)
    expected = espec_expected(op, case, case.reference, humidity)
    if case.clean:
        assert expected == intended, "the test's own reference disagrees with the strategy"
    if closed_before and isinstance(outcome.error, ConnectionLost):
        return  # an earlier answer closed the link: the driver finds out now, and says so
    if op in ("set_air", "set_mode"):
        if outcome.ok:
            assert case.reference is True, f"{op} took {case.answer.data!r} for done"
        elif case.reference == "refused":
            assert isinstance(outcome.error, WriteRefused), outcome.error
        else:
            assert not (case.clean and case.reference is True), f"{op}: {outcome.error}"
        return
    if outcome.ok:
        assert expected is not NOT_THIS, f"{op} returned {outcome.value!r} from garbage"
        assert outcome.value == expected, f"{op}: {outcome.value!r}, the reply says {expected!r}"
    else:
        assert not case.clean or intended is NOT_THIS, f"{op} refused a valid reply: {outcome}"


def espec_plans() -> st.SearchStrategy[list[tuple[str, EspecCase]]]:
    one = st.sampled_from(sorted(ESPEC_OPS)).flatmap(
        lambda op: st.tuples(st.just(op), st.sampled_from(ESPEC_OPS[op][0]).flatmap(espec_cases))
    )
    return st.lists(one, min_size=1, max_size=3)


async def espec_scenario(address: str, peer: EspecPeer, plan: list[tuple[str, EspecCase]]) -> None:
    from instruments.climate_chamber.espec import EspecChamber

    driver = EspecChamber("chamber", address, timeout_s=TIMEOUT)
    try:
        if plan[0][0] != "connect":
            await recovered("connect", driver.connect, 1)
        closed = False
        for op, case in plan:
            peer.script = {case.target: case}
            # whether the driver asks HUMI? at all: it learns that from TYPE? (a wet-bulb
            # sensor or none), which any op that failed half-way may or may not have parsed
            humidity = driver._has_humidity is not False
            outcome = await attempt(op, espec_call(driver, op), ESPEC_OPS[op][1])
            check_espec(op, case, outcome, closed, humidity)
            closed = closed or case.answer.close
        # whatever happened, the next canonical exchanges work and are in step
        peer.script = {}
        humidity = driver._has_humidity is not False
        after = await recovered("read", lambda: espec_call(driver, "read"), 3)
        assert after == espec_read_canon(humidity), "out of step"
    finally:
        await driver.close()


@FUZZ
@given(plan=espec_plans())
@example(  # found: an LF before the CR LF passed the printable-ASCII check (`$` matched it)
    plan=[
        (
            "read",
            EspecCase(
                "MON?",
                ("7.0", "87.0", "CONSTANT", "0"),
                Answer(b"7.0,87.0,CONSTANT,0\n\r\n"),
                clean=False,
                how="insert",
            ),
        )
    ]
)
def test_espec_replies_over_pty(plan: list[tuple[str, EspecCase]]) -> None:
    script = EspecPeer()
    with PtyPeer(line_split(b"\r\n"), script.respond) as peer:
        run(espec_scenario(peer.path, script, plan))


@few(per=4)  # pyserial's socket:// sleeps 0.3 s in close(): every reconnect costs that
@given(plan=espec_plans())
def test_espec_replies_over_tcp(plan: list[tuple[str, EspecCase]]) -> None:
    script = EspecPeer()
    with Peer(line_split(b"\r\n"), script.respond) as peer:
        run(espec_scenario(f"socket://127.0.0.1:{peer.port}", script, plan))


# ================================================================================================
# Modbus TCP (pymodbus client, driven by a register map)
# ================================================================================================
FUZZ_MAP = {
    "make": "fuzz",
    "model": "every register type",
    "source": "tests/instruments/test_fuzz_replies.py",
    "addressing_base": 0,
    "word_order": "big",
    "max_read_gap": 4,
    "max_read_count": 125,
    "sentinels": {"int16": [0x8000], "uint16": [0xFFFF]},
    "identity": {"serial": "serial_number", "firmware": "firmware"},
    "commands": {
        "running": {"channel": "run", "on": 1, "off": 0},
        "flow_temperature": {"channel": "flow_sp"},
        "demand": {"channel": "demand"},
    },
    "register": [
        {
            "name": "t16",
            "table": "input",
            "address": 0,
            "type": "int16",
            "scale": 0.1,
            "min": -50.0,
            "max": 100.0,
        },
        {"name": "u16", "table": "input", "address": 1, "type": "uint16"},
        {"name": "i32", "table": "input", "address": 2, "type": "int32", "scale": 0.01},
        {
            "name": "u32le",
            "table": "input",
            "address": 4,
            "type": "uint32",
            "word_order": "little",
            "sentinel": [],
        },
        {"name": "max_only", "table": "input", "address": 6, "type": "int16", "max": 100.0},
        {"name": "min_only", "table": "input", "address": 7, "type": "int16", "min": -10.0},
        {
            "name": "f32",
            "table": "input",
            "address": 8,
            "type": "float32",
            "min": -50.0,
            "max": 150.0,
        },
        {
            "name": "f32le",
            "table": "input",
            "address": 10,
            "type": "float32",
            "word_order": "little",
        },
        {"name": "bit0", "table": "input", "address": 12, "type": "bool", "bit": 0},
        {"name": "bit15", "table": "input", "address": 12, "type": "bool", "bit": 15},
        {
            "name": "state",
            "table": "input",
            "address": 13,
            "type": "uint16",
            "enum": {"0": "off", "1": "on", "2": "auto"},
        },
        {"name": "far", "table": "input", "address": 20, "type": "uint16", "scale": 10.0},
        {
            "name": "serial_number",
            "table": "input",
            "address": 100,
            "type": "uint32",
            "poll": False,
        },
        {"name": "firmware", "table": "input", "address": 102, "type": "uint16", "poll": False},
        {
            "name": "flow_sp",
            "table": "holding",
            "address": 0,
            "type": "float32",
            "access": "rw",
            "min": 20.0,
            "max": 65.0,
        },
        {
            "name": "demand",
            "table": "holding",
            "address": 2,
            "type": "int16",
            "scale": 0.5,
            "access": "rw",
            "min": 0.0,
            "max": 100.0,
        },
        {
            "name": "mode",
            "table": "holding",
            "address": 3,
            "type": "uint16",
            "access": "rw",
            "min": 0,
            "max": 2,
            "enum": {"0": "off", "1": "heat", "2": "auto"},
        },
        {
            "name": "limit32",
            "table": "holding",
            "address": 4,
            "type": "int32",
            "access": "rw",
            "min": -100000.0,
            "max": 100000.0,
        },
        {"name": "run", "table": "coil", "address": 0, "type": "bool", "access": "rw"},
        {"name": "pump", "table": "coil", "address": 1, "type": "bool", "access": "rw"},
        {"name": "far_coil", "table": "coil", "address": 9, "type": "bool", "access": "rw"},
        {"name": "door", "table": "discrete", "address": 0, "type": "bool"},
        {"name": "alarm", "table": "discrete", "address": 3, "type": "bool"},
        {"name": "far_input", "table": "discrete", "address": 12, "type": "bool"},
    ],
}
MODBUS_MAPS = ("fuzz", "hpbench_hm", "hpbench_sim_hp", "stiebel_eltron_wpm")
BIT_FC = {1: "coil", 2: "discrete"}
WORD_FC = {3: "holding", 4: "input"}
READ_FC = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}


def modbus_map(name: str) -> Any:
    from instruments.modbus.regmap import load_map, parse_map

    return parse_map(FUZZ_MAP, "fuzz_map.toml") if name == "fuzz" else load_map(name)


def modbus_driver(name: str, address: str) -> Any:
    from instruments.heat_pump.modbus_heat_pump import ModbusHeatPump
    from instruments.hydraulic_module.modbus_hydraulic import ModbusHydraulicModule

    cls = ModbusHydraulicModule if name == "hpbench_hm" else ModbusHeatPump
    return cls("dev", address, map=modbus_map(name), device_id=1, timeout_s=TIMEOUT)


class Device:
    """The device's memory, as the canonical peer serves it (writes land here)."""

    def __init__(self, words: dict[tuple[str, int], int]) -> None:
        self.memory = dict(words)

    def words(self, table: str, address: int, count: int) -> list[int]:
        return [self.memory.get((table, address + i), 0) for i in range(count)]

    def answer(self, fc: int, body: bytes) -> bytes:
        """The canonical response PDU to one request PDU (function code and body)."""
        if fc in BIT_FC or fc in WORD_FC:
            address, count = int.from_bytes(body[0:2]), int.from_bytes(body[2:4])
            table = BIT_FC.get(fc) or WORD_FC[fc]
            values = self.words(table, address, count)
            if fc in BIT_FC:
                packed = bytearray((count + 7) // 8)
                for i, bit in enumerate(values):
                    packed[i // 8] |= (1 if bit else 0) << (i % 8)
                return bytes([fc, len(packed)]) + bytes(packed)
            return bytes([fc, 2 * count]) + b"".join(w.to_bytes(2) for w in values)
        address = int.from_bytes(body[0:2])
        if fc == 5:
            self.memory[("coil", address)] = int(body[2:4] == b"\xff\x00")
            return bytes([fc]) + body[:4]
        if fc == 6:
            self.memory[("holding", address)] = int.from_bytes(body[2:4])
            return bytes([fc]) + body[:4]
        if fc == 15:
            count = int.from_bytes(body[2:4])
            for i in range(count):
                self.memory[("coil", address + i)] = (body[5 + i // 8] >> (i % 8)) & 1
            return bytes([fc]) + body[:4]
        if fc == 16:
            count = int.from_bytes(body[2:4])
            for i in range(count):
                self.memory[("holding", address + i)] = int.from_bytes(body[5 + 2 * i : 7 + 2 * i])
            return bytes([fc]) + body[:4]
        return bytes([fc | 0x80, 1])


def mbap(tid: int, uid: int, pdu: bytes, pid: int = 0, length: int | None = None) -> bytes:
    size = len(pdu) + 1 if length is None else length
    return tid.to_bytes(2) + pid.to_bytes(2) + (size & 0xFFFF).to_bytes(2) + bytes([uid]) + pdu


def mbap_split(buf: bytearray) -> bytes | None:
    if len(buf) < 6:
        return None
    total = 6 + int.from_bytes(buf[4:6])
    if len(buf) < total:
        return None
    frame = bytes(buf[:total])
    del buf[:total]
    return frame


@dataclass(frozen=True)
class Garble:
    """How one Modbus response is changed; `arg` and `data` are drawn with it."""

    kind: str
    arg: int = 0
    data: bytes = b""
    cuts: tuple[int, ...] = ()
    pause: float = 0.0

    def apply(self, tid: int, uid: int, pdu: bytes, is_read: bool) -> Answer:
        answer = self._apply(tid, uid, pdu, is_read)
        # pauses only inside the answer frame: trailing bytes travel with its end (see delivery)
        end = len(pdu) + 7
        return Answer(
            answer.data, tuple(c for c in answer.cuts if c < end), answer.pause, answer.close
        )

    def _apply(self, tid: int, uid: int, pdu: bytes, is_read: bool) -> Answer:
        kind, arg = self.kind, self.arg
        fc = pdu[0]
        if kind == "exception":
            frame = mbap(tid, uid, bytes([fc | 0x80, arg & 0xFF]))
        elif kind == "tid":
            frame = mbap((tid + arg) & 0xFFFF, uid, pdu)
        elif kind == "pid":
            frame = mbap(tid, uid, pdu, pid=arg)
        elif kind == "uid":
            frame = mbap(tid, (uid + arg) & 0xFF, pdu)
        elif kind == "fc":
            frame = mbap(tid, uid, bytes([arg]) + pdu[1:])
        elif kind == "byte_count" and is_read:
            frame = mbap(tid, uid, bytes([fc, (pdu[1] + arg) & 0xFF]) + pdu[2:])
        elif kind == "payload":  # bytes added or cut at the end, the MBAP length kept right
            body = pdu + self.data if arg > 0 else pdu[: max(1, len(pdu) - len(self.data) - 1)]
            frame = mbap(tid, uid, body)
        elif kind == "length":
            frame = mbap(tid, uid, pdu, length=len(pdu) + 1 + arg)
        elif kind == "truncate":
            whole = mbap(tid, uid, pdu)
            frame = whole[: arg % len(whole)]
        elif kind == "count" and is_read:  # a well-formed answer with one item more or less
            if fc in (3, 4):
                body = pdu[2:] + b"\x12\x34" if arg > 0 else pdu[2:-2]
            else:
                body = pdu[2:] + b"\xff" if arg > 0 else pdu[2:-1]
            frame = mbap(tid, uid, bytes([fc, len(body)]) + body)
        elif kind == "echo" and not is_read:  # the write's echo, one field changed
            changed = bytearray(pdu)
            at = 1 + arg % 4
            changed[at] ^= 1 + (arg >> 2) % 255
            frame = mbap(tid, uid, bytes(changed))
        elif kind == "random":
            frame = self.data
        elif kind == "trailing":
            frame = mbap(tid, uid, pdu) + self.data
        elif kind == "silence":
            frame = b""
        elif kind == "close":
            return Answer(b"", close=True)
        else:  # "clean", or a kind that does not apply to this request
            frame = mbap(tid, uid, pdu)
        return Answer(frame, self.cuts, self.pause)

    def verdict(self, fc: int) -> str:
        """`ok`: must succeed with the device's values; `fail`: must raise; `either`: may
        succeed, but only with the device's values; `exception`: the device's exception."""
        kind = self.kind
        is_read, bits = fc in READ_FC.values(), fc in BIT_FC
        if kind == "exception":
            return "exception"
        if kind == "fc" and self.arg == fc:
            return "ok"  # drawn the right one
        if kind == "echo" and fc in (5, 6) and 1 + self.arg % 4 > 2:
            return "either"  # the value of an FC 5/6 echo is what the register holds now
        if kind == "clean" or (kind == "byte_count" and not is_read):
            return "ok"
        if kind == "count" and not is_read:
            return "ok"
        if kind == "echo" and is_read:
            return "ok"
        if kind == "tid" and self.arg == 0:
            return "ok"
        if kind in ("random", "trailing", "payload"):
            return "either"
        if kind == "tid":
            return "either"  # pymodbus accepts transaction id 0 from any device
        if bits and kind in ("byte_count", "count"):
            return "either"  # pymodbus reads the bits that came, whatever the byte count said
        return "fail"


# the kinds that tell a right answer from a wrong one most directly are drawn more often
garbles = st.one_of(
    st.just(Garble("clean")),
    st.builds(Garble, st.just("fc"), st.integers(1, 0x7F)),
    st.builds(Garble, st.just("echo"), st.integers(0, 4 * 255)),
    st.builds(Garble, st.just("count"), st.sampled_from([-1, 1])),
    st.builds(Garble, st.just("exception"), st.integers(0, 255)),
    st.builds(Garble, st.just("tid"), st.integers(1, 0xFFFF)),
    st.builds(Garble, st.just("pid"), st.integers(1, 0xFFFF)),
    st.builds(Garble, st.just("uid"), st.integers(1, 255)),
    st.builds(Garble, st.just("fc"), st.integers(1, 0x7F)),
    st.builds(Garble, st.just("byte_count"), st.integers(1, 255)),
    st.builds(
        Garble, st.just("payload"), st.sampled_from([-1, 1]), st.binary(min_size=1, max_size=6)
    ),
    st.builds(Garble, st.just("length"), st.integers(-8, 8).filter(bool)),
    st.builds(Garble, st.just("truncate"), st.integers(0, 300)),
    st.builds(Garble, st.just("count"), st.sampled_from([-1, 1])),
    st.builds(Garble, st.just("echo"), st.integers(0, 4 * 255)),
    st.builds(Garble, st.just("random"), st.just(0), st.binary(max_size=40)),
    st.builds(Garble, st.just("trailing"), st.just(0), st.binary(min_size=1, max_size=12)),
    st.just(Garble("silence")),
    st.just(Garble("close")),
)


@st.composite
def delivered_garbles(draw: st.DrawFn) -> Garble:
    garble = draw(garbles)
    if draw(st.booleans()):
        cuts = tuple(draw(st.lists(st.integers(1, 12), max_size=2)))
        garble = Garble(
            garble.kind, garble.arg, garble.data, cuts, draw(st.sampled_from([0.0, 0.01]))
        )
    return garble


class ModbusPeer:
    def __init__(self, device: Device) -> None:
        self.device = device
        self.script: dict[int, Garble] = {}  # request number within the op -> garble
        self.count = 0
        self.seen: list[tuple[int, Garble | None]] = []  # (function code, garble) per request

    def start_op(self, script: dict[int, Garble]) -> None:
        self.script, self.count, self.seen = dict(script), 0, []

    def respond(self, request: bytes, session: dict[str, Any]) -> Answer:
        tid, uid, fc = int.from_bytes(request[0:2]), request[6], request[7]
        pdu = self.device.answer(fc, request[8:])
        garble = self.script.pop(self.count, None)
        self.count += 1
        self.seen.append((fc, garble))
        if garble is None:
            return Answer(mbap(tid, uid, pdu))
        return garble.apply(tid, uid, pdu, is_read=fc in READ_FC.values())


@st.composite
def memories(draw: st.DrawFn, name: str) -> dict[tuple[str, int], int]:
    regmap = modbus_map(name)
    cells = sorted({(r.table, r.address + i) for r in regmap.registers for i in range(r.width)})
    special = st.sampled_from([0, 1, 0x8000, 0xFFFF, 0x7FC0, 0x7F80, 0x4248, 0x4120, 0x00C8])
    words = draw(
        st.lists(
            st.one_of(st.integers(0, 0xFFFF), special), min_size=len(cells), max_size=len(cells)
        )
    )
    return {
        cell: (word & 1 if cell[0] in ("coil", "discrete") else word)
        for cell, word in zip(cells, words, strict=True)
    }


def writable_values(name: str) -> list[tuple[str, float]]:
    from instruments.modbus.regmap import RangeError, encode

    found = []
    for reg in modbus_map(name).writable:
        candidates = [0.0, 1.0] if reg.type == "bool" or reg.table == "coil" else []
        if reg.min is not None and reg.max is not None:
            candidates += [reg.min, reg.max, (reg.min + reg.max) / 2]
        if reg.enum:
            candidates += [k * reg.scale for k in reg.enum]
        for value in candidates:
            with contextlib.suppress(RangeError):
                encode(reg, value)
                found.append((reg.name, value))
    return found


def expected_reads(name: str, device: Device, names: list[str] | None = None) -> dict[str, Any]:
    from instruments.modbus.regmap import decode

    regmap = modbus_map(name)
    regs = regmap.polled if names is None else [regmap[n] for n in names]
    return {
        r.name: (lambda x: (x.quality, x.value))(
            decode(r, device.words(r.table, r.address, r.width))
        )
        for r in regs
    }


@st.composite
def modbus_ops(draw: st.DrawFn, name: str) -> tuple[str, Any, dict[int, Garble]]:
    regmap = modbus_map(name)
    choices = ["read", "read", "read_value", "write", "write", "running"]
    if regmap.identity:
        choices.append("identify")
    op = draw(st.sampled_from(choices))
    arg: Any = None
    requests = 1
    if op == "read":
        requests = len(regmap.read_plan())
    elif op == "read_value":
        arg = draw(st.sampled_from([r.name for r in regmap.registers]))
    elif op == "write":
        arg = draw(st.sampled_from(writable_values(name)))
    elif op == "running":
        arg = draw(st.booleans())
    elif op == "identify":
        requests = len(regmap.identity)
    at = draw(st.integers(0, requests - 1))
    return op, arg, {at: draw(delivered_garbles())}


async def modbus_call(driver: Any, op: str, arg: Any) -> Any:
    if op == "read":
        return readings(await driver.read())
    if op == "read_value":
        reading = await driver.client.read_value(arg)
        return {arg: (reading.quality, reading.value)}
    if op == "write":
        return await driver.write(*arg)
    if op == "running":
        return await driver.set_running(arg)
    return await driver.identify()


def modbus_expected(name: str, op: str, arg: Any, device: Device) -> Any:
    from instruments.modbus.client import _identity_text
    from instruments.modbus.regmap import decode

    if op == "read":
        return expected_reads(name, device)
    if op == "read_value":
        return expected_reads(name, device, [arg])
    if op == "identify":
        regmap = modbus_map(name)
        found = {"serial": "", "firmware": ""}
        for key, channel in regmap.identity.items():
            reg = regmap[channel]
            found[key] = _identity_text(
                decode(reg, device.words(reg.table, reg.address, reg.width))
            )
        return Identity(regmap.make, regmap.model, found["serial"], found["firmware"])
    return None


def check_modbus(op: str, peer: ModbusPeer, outcome: Outcome, expected: Any, closed: bool) -> None:
    from instruments.modbus.client import ModbusExceptionError, ModbusWriteRejected

    garbled = [(fc, g) for fc, g in peer.seen if g is not None]
    if not garbled:  # the garbled request was never made (an earlier one failed)
        assert outcome.ok or closed, f"{op} failed on canonical answers: {outcome.error}"
        if outcome.ok:
            assert outcome.value == expected
        return
    fc, garble = garbled[0]
    is_read = fc in READ_FC.values()
    verdict = garble.verdict(fc)
    if closed and isinstance(outcome.error, ConnectionLost):
        return
    if outcome.ok:
        assert verdict in ("ok", "either"), f"{op} accepted a garbled answer ({garble})"
        assert outcome.value == expected, f"{op}: {outcome.value!r}, the device has {expected!r}"
        return
    error = outcome.error
    assert verdict != "ok", f"{op} refused a valid answer ({garble}): {error}"
    if verdict == "exception":
        code = garble.arg & 0xFF
        if not is_read and code in (1, 2, 3):
            assert isinstance(error, ModbusWriteRejected) and error.code == code, error
        else:
            assert isinstance(error, ModbusExceptionError) and error.code == code, error


@st.composite
def modbus_examples(draw: st.DrawFn) -> tuple[str, dict[tuple[str, int], int], list[Any]]:
    name = draw(st.sampled_from(MODBUS_MAPS))
    memory = draw(memories(name))
    ops = draw(st.lists(modbus_ops(name), min_size=1, max_size=3))
    return name, memory, ops


@FUZZ
@given(case=modbus_examples())
@example(("fuzz", {}, [("write", ("demand", 50.0), {0: Garble("echo", 1)})]))  # found:
@example(("fuzz", {}, [("write", ("flow_sp", 20.0), {0: Garble("fc", 6)})]))  # any echo passed
@example(("fuzz", {}, [("read_value", "run", {0: Garble("fc", 2)})]))  # found: FC 2 for FC 1
@example(("fuzz", {("input", 6): 512}, [("read_value", "max_only", {})]))  # found: TypeError
def test_modbus_replies(case: tuple[str, dict[tuple[str, int], int], list[Any]]) -> None:
    name, memory, ops = case
    device = Device(memory)
    script = ModbusPeer(device)
    with Peer(mbap_split, script.respond) as peer:

        async def scenario() -> None:
            driver = modbus_driver(name, f"tcp://127.0.0.1:{peer.port}")
            try:
                await recovered("connect", driver.connect, 1)
                closed = False
                for op, arg, garbles_ in ops:
                    script.start_op(garbles_)
                    requests = max(1, len(driver.regmap.read_plan())) if op == "read" else 2
                    outcome = await attempt(op, modbus_call(driver, op, arg), requests)
                    check_modbus(
                        op, script, outcome, modbus_expected(name, op, arg, device), closed
                    )
                    closed = closed or any(g.kind == "close" for _, g in script.seen if g)
                script.start_op({})
                after = await recovered("read", lambda: modbus_call(driver, "read", None), 8)
                assert after == expected_reads(name, device), "out of step"
            finally:
                await driver.close()

        run(scenario())
