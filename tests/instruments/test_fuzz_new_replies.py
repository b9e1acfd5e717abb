"""Replies to the new line-protocol drivers fuzzed in memory, with their simulators as the peer.

Each driver talks to an in-memory link whose canonical answers come from the device's own
simulator (instruments/sim); for the driver's read request one reply is replaced by one
hypothesis builds: random bytes, the canonical reply truncated, a token garbled, sentinels,
extra or missing separators, no terminator. The outcome must be a full set of Readings
(numbers only where finite and OK) or an `InstrumentError`, never another exception; and the
next canonical read must work again (the session reconnects and replays its setup).

The Modbus drivers (F4T, NIBE, Daikin, Kamstrup) run on the generic Modbus map client, which
tests/instruments/test_fuzz_replies.py already fuzzes with a map holding every register type.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from instruments.base import InstrumentError, InstrumentTimeout, Quality
from instruments.climate_chamber.weiss_simserv import WeissSimserv
from instruments.data_logger.keysight_daq import KeysightDAQ970A
from instruments.power_analyser.hioki_pw3390 import HiokiPW3390
from instruments.power_analyser.yokogawa_wt import WT_MODELS, YokogawaWT333E
from instruments.power_analyser.zes_lmg670 import ZesLMG670
from instruments.sim.catalog import DAQ_CHANNELS
from instruments.sim.hioki_pw3390 import HiokiSim
from instruments.sim.keysight_daq import DaqSim
from instruments.sim.line_server import LineDevice
from instruments.sim.model import BenchModel
from instruments.sim.weiss_simserv import SimservSim
from instruments.sim.yokogawa_wt import WtSim
from instruments.sim.zes_lmg670 import LmgSim
from tests.conftest import ManualClock
from tests.fuzzing import FUZZ


class SimLink:
    """A link whose replies come from a simulator, except one fuzzed reply to the read."""

    def __init__(self, case: Case, device: LineDevice, fuzzed: bytes | None) -> None:
        self.case, self.device, self.fuzzed = case, device, fuzzed
        self.pending: bytes | None = None

    def write(self, data: bytes) -> None:
        text = data.decode(self.case.encoding)
        line = text.removesuffix(self.case.write_end)
        reply = self.device.handle(line)
        if self.fuzzed is not None and data.startswith(self.case.read_marker):
            self.pending, self.fuzzed = self.fuzzed, None
        elif reply is not None:
            self.pending = reply.encode(self.case.encoding) + self.case.read_end

    def read(self) -> bytes:
        reply, self.pending = self.pending, None
        if reply is None:
            raise InstrumentTimeout("no reply (scripted)")
        return reply

    def discard_input(self) -> None:
        self.pending = None

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Case:
    build: Callable[[], Any]
    device: Callable[[BenchModel], LineDevice]
    read_marker: bytes
    write_end: str = "\n"
    read_end: bytes = b"\n"
    encoding: str = "ascii"


CASES: dict[str, Case] = {
    "wt333e": Case(
        lambda: YokogawaWT333E("pa", "x", wiring="3P4W"),
        lambda m: WtSim(m, WT_MODELS["WT333E"]),
        b":NUM:NORM:VAL?",
    ),
    "pw3390": Case(
        lambda: HiokiPW3390("pa", "x", wiring="3P4W"),
        HiokiSim,
        b":MEASure?",
        write_end="\r\n",
        read_end=b"\r\n",
    ),
    "lmg670": Case(lambda: ZesLMG670("pa", "x", channels=3), LmgSim, b"utrms1?"),
    "daq970a": Case(lambda: KeysightDAQ970A("daq", "x", channels=DAQ_CHANNELS), DaqSim, b"READ?"),
    "simserv": Case(
        lambda: WeissSimserv("air", "x"),
        SimservSim,
        b"11004\xb61\xb61\r",
        write_end="\r",
        read_end=b"\r\n",
        encoding="latin-1",
    ),
}


@st.composite
def replies(draw: st.DrawFn, canonical: bytes) -> bytes:
    body = canonical.rstrip(b"\r\n")
    end = canonical[len(body) :]
    sep = b";" if b";" in body else (b"\xb6" if b"\xb6" in body else b",")
    tokens = body.split(sep)
    kind = draw(st.sampled_from(["bytes", "truncate", "token", "sentinel", "count", "noend"]))
    if kind == "bytes":
        return draw(st.binary(max_size=120))
    if kind == "truncate":
        return body[: draw(st.integers(0, max(0, len(body) - 1)))] + end
    if kind == "noend":
        return body
    i = draw(st.integers(0, len(tokens) - 1))
    if kind == "token":
        garbage = [b"", b"abc", b"1_0", b"infinity", b"--1", b" 5 ", b"1e999", b"\xff", b"0x10"]
        tokens[i] = draw(st.sampled_from([*garbage, b"NaN", b"+1.2.3"]))
    elif kind == "sentinel":
        tokens[i] = draw(st.sampled_from([b"NAN", b"INF", b"-INF", b"+9.91E+37", b"9.9E37",
                                          b"+9999.9E+99"]))  # fmt: skip
    else:
        tokens = tokens + tokens[:1] if draw(st.booleans()) else tokens[:-1]
    return sep.join(tokens) + end


def _canonical(case: Case) -> bytes:
    model = BenchModel(ManualClock())
    device = case.device(model)
    driver = case.build()
    link = SimLink(case, device, None)
    seen: list[bytes] = []
    original_write = link.write

    def write(data: bytes) -> None:
        original_write(data)
        if data.startswith(case.read_marker):
            seen.append(link.pending or b"")

    link.write = write  # type: ignore[method-assign]
    driver.session.use_link(lambda: link)
    asyncio.run(_read_once(driver))
    return seen[0]


async def _read_once(driver: Any) -> None:
    await driver.connect()
    await driver.read()
    await driver.close()


def _check(readings: dict[str, Any], driver: Any) -> None:
    assert list(readings) == list(driver.channels())
    for r in readings.values():
        if r.quality is Quality.OK:
            assert r.value is not None and math.isfinite(r.value)
        else:
            assert r.value is None


def _fuzz(name: str) -> Callable[..., None]:
    case = CASES[name]
    canonical = _canonical(case)

    @FUZZ
    @given(reply=replies(canonical))
    def test(reply: bytes) -> None:
        model = BenchModel(ManualClock())
        device = case.device(model)
        driver = case.build()
        links = iter([SimLink(case, device, reply), SimLink(case, device, None)])
        driver.session.use_link(lambda: next(links))

        async def run() -> None:
            await driver.connect()
            try:
                _check(await driver.read(), driver)
            except InstrumentError as exc:
                assert str(exc).startswith(driver.name)
            _check(await driver.read(), driver)  # in step again
            await driver.close()

        asyncio.run(run())

    test.__name__ = f"test_fuzzed_read_reply_{name}"
    return test


test_fuzzed_read_reply_wt333e = _fuzz("wt333e")
test_fuzzed_read_reply_pw3390 = _fuzz("pw3390")
test_fuzzed_read_reply_lmg670 = _fuzz("lmg670")
test_fuzzed_read_reply_daq970a = _fuzz("daq970a")
test_fuzzed_read_reply_simserv = _fuzz("simserv")
