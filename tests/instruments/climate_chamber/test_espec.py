"""The ESPEC chamber driver against the simulated chamber over TCP and a real pty, against
scripted peers for replies the simulator never gives, and through the fault proxy."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import tty
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from instruments.base import (
    ClimateChamber,
    ConnectionLost,
    Identity,
    InstrumentError,
    InstrumentTimeout,
    ProtocolError,
    Quality,
    WriteRefused,
)
from instruments.climate_chamber.espec import (
    CHANNELS,
    MODE_CODES,
    READ_QUERIES,
    EspecChamber,
)
from instruments.clock import ScaledClock
from instruments.sim.espec_server import EspecProtocol, EspecServer, LineBuffer
from instruments.sim.faults import FaultInjector, FaultKind
from instruments.sim.model import BenchModel, Noise
from instruments.sim.proxy import FaultProxy, PtyBridge

T0 = 1_750_000_000.0
FAST = 0.3  # driver timeout (s) where a test expects silence


class FixedClock:
    """Bench time that stands still, so every reply is exact and repeatable."""

    speed = 1.0

    def now(self) -> float:
        return T0

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)

    def to_wall(self, bench_seconds: float) -> float:
        return bench_seconds


def quiet_model(clock: Any = None) -> BenchModel:
    return BenchModel(clock or FixedClock(), noise=Noise(air_k=0.0, humidity_pct=0.0))


async def eventually(
    probe: Callable[[], Awaitable[bool]], *, within: float = 5.0, what: str = ""
) -> None:
    """Poll `probe` until it returns True; fail after `within` wall seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await probe():
        if loop.time() > deadline:
            pytest.fail(f"not reached within {within} s: {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def sim() -> AsyncIterator[EspecServer]:
    server = EspecServer(quiet_model())
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def driver(sim: EspecServer) -> AsyncIterator[EspecChamber]:
    chamber = EspecChamber("chamber", f"socket://127.0.0.1:{sim.port}", timeout_s=2.0)
    yield chamber
    await chamber.close()


# -- scripted peers: replies the simulator never gives ---------------------------------------
Script = Callable[[str], bytes | None]


class ScriptedPeer:
    """A TCP peer answering each command line with `script(line)` (raw bytes; None: silence)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[str] = []
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"socket://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for w in self._writers:
            w.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        with contextlib.suppress(Exception):
            while line := await reader.readline():
                text = line.decode("ascii").rstrip("\r\n")
                self.received.append(text)
                out = self.script(text)
                if out is not None:
                    writer.write(out)
                    await writer.drain()


def table(replies: dict[str, bytes | None]) -> Script:
    return lambda line: replies.get(line, b"NA:CMD ERR\r\n")


GOOD = {
    "TYPE?": b"PT100,PT100,SCP220,60\r\n",
    "ROM?": b"1.20\r\n",
    "MON?": b"20.0,50.0,STANDBY,0\r\n",
    "TEMP?": b"20.0,20.0,60.0,-40.0\r\n",
    "HUMI?": b"50.0,50.0,98.0,10.0\r\n",
}


@contextlib.asynccontextmanager
async def scripted(script: Script, timeout_s: float = FAST) -> AsyncIterator[EspecChamber]:
    peer = ScriptedPeer(script)
    chamber = EspecChamber("scripted", await peer.start(), timeout_s=timeout_s)
    try:
        yield chamber
    finally:
        await chamber.close()
        await peer.stop()


# -- a real pty, served on its master side -------------------------------------------------
class PtyPeer:
    """A pty pair whose master side answers with `EspecProtocol` or any line -> reply function.

    The driver opens the slave's path (`/dev/pts/N`) like a USB serial adapter.
    """

    def __init__(self, answer: Callable[[str], str | None]) -> None:
        self.answer = answer
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self._buffer = LineBuffer()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.master, self._on_data)

    def _on_data(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError:
            return
        for line in self._buffer.feed(data):
            reply = self.answer(line)
            if reply is not None:
                self.send(reply)

    def send(self, reply: str) -> None:
        os.write(self.master, reply.encode("ascii") + b"\r\n")

    def close(self) -> None:
        self._loop.remove_reader(self.master)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@contextlib.asynccontextmanager
async def pty_scripted(
    answer: Callable[[str], str | None], timeout_s: float = FAST
) -> AsyncIterator[EspecChamber]:
    peer = PtyPeer(answer)
    chamber = EspecChamber("tty", peer.path, timeout_s=timeout_s)
    try:
        yield chamber
    finally:
        await chamber.close()
        peer.close()


# == behaviour over TCP against the simulator ===============================================
def test_driver_satisfies_the_role_protocol() -> None:
    chamber = EspecChamber("c", "socket://127.0.0.1:1")
    assert isinstance(chamber, ClimateChamber)
    assert chamber.role == "climate_chamber"
    assert chamber.channels() == {
        "temperature": "°C",
        "temperature_sp": "°C",
        "humidity": "%RH",
        "humidity_sp": "%RH",
        "mode": "",
        "alarms": "",
    }
    fed = {f.channel for q in READ_QUERIES for f in q.fields if f.channel}
    assert fed == set(CHANNELS)  # the query table gives every channel


async def test_connect_checks_the_controller(sim: EspecServer, driver: EspecChamber) -> None:
    await driver.connect()
    assert sim.transcript == [("TYPE?", "PT100,PT100,SCP220,60")]


async def test_identify(sim: EspecServer, driver: EspecChamber) -> None:
    assert await driver.identify() == Identity("ESPEC", "SCP220", "", "1.20")
    assert sim.transcript == [("TYPE?", "PT100,PT100,SCP220,60"), ("ROM?", "1.20")]


async def test_read(sim: EspecServer, driver: EspecChamber) -> None:
    readings = await driver.read()
    assert sim.transcript == [
        ("MON?", "20.0,50.0,STANDBY,0"),
        ("TEMP?", "20.0,20.0,60.0,-40.0"),
        ("HUMI?", "50.0,50.0,98.0,10.0"),
    ]
    assert list(readings) == list(CHANNELS)
    assert {k: r.value for k, r in readings.items()} == {
        "temperature": 20.0,
        "temperature_sp": 20.0,
        "humidity": 50.0,
        "humidity_sp": 50.0,
        "mode": MODE_CODES["STANDBY"],
        "alarms": 0.0,
    }
    assert all(r.quality is Quality.OK for r in readings.values())
    assert all(r.unit == CHANNELS[k] for k, r in readings.items())


async def test_set_air_and_mode(sim: EspecServer, driver: EspecChamber) -> None:
    await driver.set_air(7, 87.0)
    await driver.set_mode("constant")
    # Success text unconfirmed (PROTOCOLS §2.2); the simulator answers OK:<echo>.
    assert sim.transcript == [
        ("TEMP, S7.0", "OK:TEMP, S7.0"),
        ("HUMI, S87.0", "OK:HUMI, S87.0"),
        ("MODE, CONSTANT", "OK:MODE, CONSTANT"),
    ]
    c = sim.protocol.model.chamber
    assert (c.temp_sp, c.humi_sp, c.mode) == (7.0, 87.0, "CONSTANT")
    await driver.set_mode(" Standby ")
    await driver.set_mode("OFF")
    assert [cmd for cmd, _ in sim.transcript[-2:]] == ["MODE, STANDBY", "MODE, OFF"]
    assert await driver.read_mode() == "OFF"


async def test_humidity_control_off(sim: EspecServer, driver: EspecChamber) -> None:
    await driver.set_air(-7.25, None)
    assert sim.transcript == [("TEMP, S-7.2", "OK:TEMP, S-7.2"), ("HUMI, SOFF", "OK:HUMI, SOFF")]
    readings = await driver.read()
    assert readings["humidity_sp"].quality is Quality.INVALID
    assert readings["humidity_sp"].detail == "control off"
    assert readings["humidity"].quality is Quality.OK


@pytest.mark.parametrize(
    ("temperature", "humidity"),
    [
        (math.nan, 50.0),
        (math.inf, 50.0),
        (-math.inf, None),
        ("7", 50.0),
        (True, 50.0),
        (None, 50.0),
        (7.0, math.nan),
        (7.0, 100.1),
        (7.0, -1.0),
        (7.0, "50"),
    ],
)
async def test_set_air_checks_numbers_before_the_wire(
    sim: EspecServer, driver: EspecChamber, temperature: Any, humidity: Any
) -> None:
    with pytest.raises(WriteRefused):
        await driver.set_air(temperature, humidity)
    assert sim.transcript == []


@pytest.mark.parametrize("mode", ["run", "", "CONSTANTLY", 2, None])
async def test_set_mode_checks_before_the_wire(
    sim: EspecServer, driver: EspecChamber, mode: Any
) -> None:
    with pytest.raises(WriteRefused):
        await driver.set_mode(mode)
    assert sim.transcript == []


async def test_out_of_range_set_point_is_refused_by_the_chamber(
    sim: EspecServer, driver: EspecChamber
) -> None:
    with pytest.raises(WriteRefused) as err:
        await driver.set_air(75.0, 50.0)
    assert err.value.reply == "NA:DATA OUT OF RANGE"  # type: ignore[attr-defined]
    assert "NA:DATA OUT OF RANGE" in str(err.value)
    assert sim.transcript == [("TEMP, S75.0", "NA:DATA OUT OF RANGE")]  # HUMI never sent
    with pytest.raises(WriteRefused):
        await driver.set_air(20.0, 5.0)
    assert sim.transcript[-1] == ("HUMI, S5.0", "NA:DATA OUT OF RANGE")


async def test_data_protection_is_a_refusal(sim: EspecServer, driver: EspecChamber) -> None:
    sim.protocol.protect = True
    with pytest.raises(WriteRefused) as err:
        await driver.set_mode("constant")
    assert err.value.reply == "NA:PROTECT ON"  # type: ignore[attr-defined]
    assert (await driver.read())["mode"].value == MODE_CODES["STANDBY"]


async def test_alarms(sim: EspecServer, driver: EspecChamber) -> None:
    assert await driver.alarms() == []
    sim.protocol.alarm_codes = [12, 37]
    assert (await driver.read())["alarms"].value == 2.0
    assert await driver.alarms() == [12, 37]


async def test_chamber_without_humidity() -> None:
    server = EspecServer(quiet_model(), humidity=False)
    port = await server.start()
    chamber = EspecChamber("dry", f"socket://127.0.0.1:{port}")
    try:
        await chamber.connect()
        readings = await chamber.read()
        assert [cmd for cmd, _ in server.transcript] == ["TYPE?", "MON?", "TEMP?"]
        assert readings["temperature"].value == 20.0
        assert readings["humidity"].quality is Quality.INVALID
        assert readings["humidity_sp"].quality is Quality.INVALID
        await chamber.set_air(5.0, None)  # nothing to switch off: only TEMP is sent
        assert server.transcript[-1] == ("TEMP, S5.0", "OK:TEMP, S5.0")
        with pytest.raises(WriteRefused) as err:
            await chamber.set_air(5.0, 50.0)
        assert err.value.reply == "NA:CONT NOT READY-1"  # type: ignore[attr-defined]
    finally:
        await chamber.close()
        await server.stop()


async def test_rs485_address_prefix(sim: EspecServer) -> None:
    url = f"socket://127.0.0.1:{sim.port}"
    chamber = EspecChamber("bus", url, rs485_address=1)
    other = EspecChamber("bus2", url, rs485_address=2)
    try:
        assert (await chamber.read())["temperature"].value == 20.0
        assert sim.transcript[0] == ("1,MON?", "20.0,50.0,STANDBY,0")
        with pytest.raises(ProtocolError, match="ADDR ERR"):
            await other.read()
    finally:
        await chamber.close()
        await other.close()


async def test_concurrent_calls_never_interleave(sim: EspecServer, driver: EspecChamber) -> None:
    results = await asyncio.gather(*(driver.read() for _ in range(8)), driver.set_air(10, 60))
    assert all(r["temperature"].quality is Quality.OK for r in results[:8])
    commands = [cmd for cmd, _ in sim.transcript]
    reads = [c for c in commands if not c.startswith(("TEMP,", "HUMI,"))]
    assert reads == ["MON?", "TEMP?", "HUMI?"] * 8
    i = commands.index("TEMP, S10.0")
    assert commands[i + 1] == "HUMI, S60.0"  # a set is not split by a read either


async def test_the_event_loop_is_not_blocked_while_waiting() -> None:
    async with scripted(table({"MON?": None}), timeout_s=0.5) as chamber:
        task = asyncio.create_task(chamber.read())
        ticks = 0
        while not task.done() and ticks < 5:
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 5 and not task.done()  # the loop kept running while the driver waited
        with pytest.raises(InstrumentTimeout):
            await task


async def test_chamber_follows_its_set_point() -> None:
    server = EspecServer(BenchModel(ScaledClock(speed=600)))
    port = await server.start()
    chamber = EspecChamber("chamber", f"socket://127.0.0.1:{port}")
    try:
        start = await chamber.read()
        await chamber.set_air(7.0, 87.0)
        await chamber.set_mode("constant")
        seen: list[float] = []

        async def approached() -> bool:
            r = await chamber.read()
            seen.append(r["temperature"].value or math.nan)
            return r["temperature"].value is not None and r["temperature"].value < 12.0

        await eventually(approached, within=10.0, what="chamber air toward 7 °C")
        end = await chamber.read()
        assert end["temperature_sp"].value == 7.0
        assert end["humidity_sp"].value == 87.0
        assert end["mode"].value == MODE_CODES["CONSTANT"]
        assert end["humidity"].value > start["humidity"].value  # type: ignore[operator]
        assert seen[-1] < seen[0] - 5.0
    finally:
        await chamber.close()
        await server.stop()


# == replies the simulator never gives ======================================================
async def test_na_reply_to_a_query_is_a_protocol_error() -> None:
    async with scripted(table({**GOOD, "MON?": b"NA:CMD ERR\r\n"})) as chamber:
        with pytest.raises(ProtocolError) as err:
            await chamber.read()
        assert err.value.reply == "NA:CMD ERR"  # type: ignore[attr-defined]
        assert "unrecognised command" in str(err.value)


async def test_na_reply_that_is_not_a_refusal_is_a_protocol_error_on_set() -> None:
    async with scripted(table({"TEMP, S7.0": b"NA:PARA ERR\r\n"})) as chamber:
        with pytest.raises(ProtocolError) as err:
            await chamber.set_air(7.0, None)
        assert not isinstance(err.value, WriteRefused)
        assert err.value.reply == "NA:PARA ERR"  # type: ignore[attr-defined]


async def test_set_reply_garbled_to_punctuation_is_a_protocol_error() -> None:
    async with scripted(table({"MODE, STANDBY": b"#$%&*?@^~!|\r\n"})) as chamber:
        with pytest.raises(ProtocolError):
            await chamber.set_mode("standby")


async def test_non_numeric_values_are_invalid_readings() -> None:
    replies = {**GOOD, "MON?": b"----,50.0,RUN PAUSE,x\r\n", "TEMP?": b"20.0,OVER,60.0,-40.0\r\n"}
    async with scripted(table(replies)) as chamber:
        readings = await chamber.read()
    assert readings["temperature"].quality is Quality.INVALID
    assert "'----'" in readings["temperature"].detail
    assert readings["mode"].quality is Quality.INVALID
    assert readings["alarms"].quality is Quality.INVALID
    assert readings["temperature_sp"].quality is Quality.INVALID
    assert readings["humidity"].value == 50.0
    assert readings["humidity_sp"].value == 50.0


@pytest.mark.parametrize(
    "mon",
    [
        b"20.0,50.0,STANDBY\r\n",
        b"20.0,50.0,STANDBY,0,1\r\n",
        b"#$%&*?@^~!|#$%&*?@\r\n",
        b"20.0,\xb05.0,STANDBY,0\r\n",
        b"20.0,5\x00.0,STANDBY,0\r\n",
    ],
)
async def test_malformed_replies_are_protocol_errors(mon: bytes) -> None:
    async with scripted(table({**GOOD, "MON?": mon})) as chamber:
        with pytest.raises(ProtocolError):
            await chamber.read()


@pytest.mark.parametrize(
    ("replies", "call"),
    [
        ({"TYPE?": b"SCP220\r\n"}, "identify"),
        ({"TYPE?": b"PT100,PT100,SCP220,60\r\n", "ROM?": b"???\r\n"}, "identify"),
        ({"MODE?": b"SPINNING\r\n"}, "read_mode"),
        ({"ALARM?": b"2,12\r\n"}, "alarms"),
    ],
)
async def test_malformed_identity_mode_and_alarm_replies(
    replies: dict[str, bytes], call: str
) -> None:
    async with scripted(table(replies)) as chamber:
        with pytest.raises(ProtocolError):
            await getattr(chamber, call)()


@pytest.mark.parametrize("mon", [None, b"20.0,50.0,STA"], ids=["silence", "no-line-end"])
async def test_no_complete_answer_is_a_timeout(mon: bytes | None) -> None:
    async with scripted(table({**GOOD, "MON?": mon})) as chamber:
        with pytest.raises(InstrumentTimeout):
            await chamber.read()


async def test_timeout_drops_the_link_so_a_late_reply_dies_with_it() -> None:
    held: list[bytes] = []

    def script(line: str) -> bytes | None:
        if line == "MON?" and not held:
            held.append(b"99.0,50.0,STANDBY,0\r\n")  # answered too late, below
            return None
        return GOOD.get(line)

    peer = ScriptedPeer(script)
    chamber = EspecChamber("c", await peer.start(), timeout_s=FAST)
    try:
        with pytest.raises(InstrumentTimeout):
            await chamber.read()
        for writer in peer._writers:  # the late answer, on the link it was asked on
            with contextlib.suppress(Exception):
                writer.write(held[0])
        assert (await chamber.read())["temperature"].value == 20.0
        assert len(peer._writers) == 2  # the driver reconnected
    finally:
        await chamber.close()
        await peer.stop()


@pytest.mark.parametrize("path", ["tcp", "tty"])
async def test_a_stray_line_is_flushed_before_the_next_command(path: str) -> None:
    """A chamber that says more than it was asked: the extra line is never the next answer."""
    replies = {k: v.decode().rstrip() for k, v in GOOD.items()}
    replies["MODE?"] = "STANDBY\r\nSTANDBY"
    if path == "tcp":
        context: Any = scripted(lambda line: (replies.get(line, "NA:CMD ERR") + "\r\n").encode())
    else:
        context = pty_scripted(lambda line: replies.get(line, "NA:CMD ERR"))
    async with context as chamber:
        assert await chamber.read_mode() == "STANDBY"
        await eventually(lambda: asyncio.sleep(0.05, True), what="the stray line to arrive")
        assert (await chamber.read())["temperature"].value == 20.0


async def test_refused_and_vanished_endpoints_are_connection_lost() -> None:
    peer = ScriptedPeer(table(GOOD))
    url = await peer.start()
    port = int(url.rsplit(":", 1)[1])
    chamber = EspecChamber("c", url, timeout_s=FAST)
    try:
        await chamber.connect()
        await peer.stop()  # the chamber's adaptor goes away
        with pytest.raises(ConnectionLost):
            await chamber.read()
        with pytest.raises(ConnectionLost):  # and refuses new connections
            await chamber.read()
        # it comes back on the same port: the same driver object works again
        server = await asyncio.start_server(peer._serve, "127.0.0.1", port)
        try:
            assert (await chamber.read())["temperature"].value == 20.0
        finally:
            server.close()
    finally:
        await chamber.close()


async def test_bad_address_is_an_instrument_error() -> None:
    chamber = EspecChamber("c", "nosuchscheme://x")
    with pytest.raises(InstrumentError):
        await chamber.connect()
    with pytest.raises(ConnectionLost):
        await EspecChamber("c", "/dev/does-not-exist-hpbench").connect()


def test_constructor_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        EspecChamber("c", "loop://", timeout_s=0)
    with pytest.raises(ValueError):
        EspecChamber("c", "loop://", rs485_address=100)


# == a real pty ============================================================================
async def test_over_a_real_pty() -> None:
    protocol = EspecProtocol(quiet_model())
    peer = PtyPeer(protocol.handle)
    chamber = EspecChamber("tty", peer.path, timeout_s=2.0)
    try:
        await chamber.connect()
        assert await chamber.identify() == Identity("ESPEC", "SCP220", "", "1.20")
        readings = await chamber.read()
        await chamber.set_air(7.0, 87.0)
        await chamber.set_mode("constant")
        assert readings["temperature"].value == 20.0
        assert protocol.transcript == [
            ("TYPE?", "PT100,PT100,SCP220,60"),
            ("TYPE?", "PT100,PT100,SCP220,60"),
            ("ROM?", "1.20"),
            ("MON?", "20.0,50.0,STANDBY,0"),
            ("TEMP?", "20.0,20.0,60.0,-40.0"),
            ("HUMI?", "50.0,50.0,98.0,10.0"),
            ("TEMP, S7.0", "OK:TEMP, S7.0"),
            ("HUMI, S87.0", "OK:HUMI, S87.0"),
            ("MODE, CONSTANT", "OK:MODE, CONSTANT"),
        ]
    finally:
        await chamber.close()
        peer.close()


async def test_late_reply_on_a_tty_is_not_taken_as_the_next_answer() -> None:
    protocol = EspecProtocol(quiet_model())
    held: list[str] = []

    def answer(line: str) -> str | None:
        if line == "MODE?" and not held:
            held.append(protocol.handle(line))  # hold the first answer back
            return None
        return protocol.handle(line)

    peer = PtyPeer(answer)
    chamber = EspecChamber("tty", peer.path, timeout_s=FAST)
    try:
        with pytest.raises(InstrumentTimeout):
            await chamber.read_mode()
        peer.send(held[0])  # the late "STANDBY" now waits in the tty's input queue: flushed
        assert (await chamber.read())["temperature"].value == 20.0
        assert await chamber.alarms() == []
    finally:
        await chamber.close()
        peer.close()


# == faults through the proxy ==============================================================
@contextlib.asynccontextmanager
async def proxied_bench(*, tty_path: bool) -> AsyncIterator[tuple[EspecChamber, FaultInjector]]:
    clock = FixedClock()
    faults = FaultInjector(clock)  # type: ignore[arg-type]
    server = EspecServer(BenchModel(clock, faults, noise=Noise(air_k=0.0, humidity_pct=0.0)))
    proxy = FaultProxy("climate_chamber", ("127.0.0.1", await server.start()), faults)
    port = await proxy.start()
    bridge = None
    address = f"socket://127.0.0.1:{port}"
    if tty_path:
        bridge = PtyBridge(("127.0.0.1", port))
        address = await bridge.start()
    chamber = EspecChamber("chamber", address, timeout_s=FAST)
    try:
        yield chamber, faults
    finally:
        await chamber.close()
        if bridge is not None:
            await bridge.stop()
        await proxy.stop()
        await server.stop()


async def reads_again(chamber: EspecChamber) -> None:
    """After a fault clears, the same driver object reads correctly again."""

    async def ok() -> bool:
        try:
            await chamber.read()
        except (InstrumentTimeout, ProtocolError, ConnectionLost):
            return False
        return True

    await eventually(ok, what="read after the fault cleared")
    readings = await chamber.read()  # once more: nothing late may linger
    assert readings["temperature"].value == 20.0
    assert readings["humidity_sp"].value == 50.0


@pytest.mark.parametrize(
    ("tty_path", "kind", "params", "error"),
    [
        (False, FaultKind.DROP, {}, ConnectionLost),
        (False, FaultKind.DELAY, {}, InstrumentTimeout),
        (False, FaultKind.GARBLE, {}, ProtocolError),
        (True, FaultKind.DROP, {}, InstrumentTimeout),  # a serial line just goes quiet
        (True, FaultKind.DELAY, {"seconds": 0.5}, InstrumentTimeout),
        (True, FaultKind.GARBLE, {}, ProtocolError),
    ],
    ids=["tcp-drop", "tcp-delay", "tcp-garble", "tty-drop", "tty-delay", "tty-garble"],
)
async def test_faults_map_to_errors_and_clear(
    tty_path: bool, kind: FaultKind, params: dict[str, float], error: type[Exception]
) -> None:
    async with proxied_bench(tty_path=tty_path) as (chamber, faults):
        await chamber.connect()
        faults.inject("climate_chamber", kind, **params)
        with pytest.raises(error):
            await chamber.read()
        with pytest.raises(error):  # still faulty: each call fails cleanly, none hangs
            await chamber.read()
        faults.clear("climate_chamber", kind)
        await reads_again(chamber)
