"""The new vendor maps (F4T, NIBE, Daikin, Kamstrup) through the Modbus reply fuzzer.

The peer, the garbles and the judgement are test_fuzz_replies.py's (imported, not copied): a
canonical device answering from memory the strategy fills, one request per operation answered
with a garbled frame, and the outcome either exactly what a reference decoder finds in the
memory (a sentinel or out-of-range word as INVALID) or an InstrumentError; the driver must be
in step afterwards. The driver is the generic map instrument the four devices are built on.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from instruments.modbus.client import ModbusMapInstrument
from tests.fuzzing import FUZZ
from tests.instruments.test_fuzz_replies import (
    TIMEOUT,
    Device,
    ModbusPeer,
    Peer,
    attempt,
    check_modbus,
    delivered_garbles,
    expected_reads,
    mbap_split,
    memories,
    modbus_call,
    modbus_expected,
    modbus_map,
    modbus_ops,
    recovered,
    run,
)

NEW_MAPS = ("watlow_f4t", "nibe_s_series", "daikin_altherma_ekrhh", "kamstrup_multical")


@st.composite
def examples(draw: st.DrawFn) -> tuple[str, dict[tuple[str, int], int], list[Any]]:
    name = draw(st.sampled_from(NEW_MAPS))
    memory = draw(memories(name))
    ops = draw(st.lists(map_ops(name), min_size=1, max_size=3))
    return name, memory, ops


@st.composite
def map_ops(draw: st.DrawFn, name: str) -> tuple[str, Any, dict[int, Any]]:
    """The shared ops without `running` (no role here); reads only for a read-only map."""
    if not any(r.writable for r in modbus_map(name).registers):
        regs = [r.name for r in modbus_map(name).registers]
        op, arg = draw(st.sampled_from([("read", None), *(("read_value", r) for r in regs)]))
        return op, arg, {0: draw(delivered_garbles())}
    return draw(modbus_ops(name).filter(lambda op: op[0] not in ("running", "identify")))


@FUZZ
@given(case=examples())
def test_new_map_replies(case: tuple[str, dict[tuple[str, int], int], list[Any]]) -> None:
    name, memory, ops = case
    device = Device(memory)
    script = ModbusPeer(device)
    with Peer(mbap_split, script.respond) as peer:

        async def scenario() -> None:
            driver = ModbusMapInstrument(
                "dev", f"tcp://127.0.0.1:{peer.port}", map=modbus_map(name), timeout_s=TIMEOUT
            )
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
                after = await recovered("read", lambda: modbus_call(driver, "read", None), 12)
                assert after == expected_reads(name, device), "out of step"
            finally:
                await driver.close()

        run(scenario())
