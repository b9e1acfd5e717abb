"""The SG-Ready output module through the Modbus reply fuzzer (test_fuzz_replies.py's peer,
garbles and judgement, imported). One of the exchanges of each operation is garbled: a read
either gives exactly the device's outputs and the state they make, or an InstrumentError; an
SG-Ready command either succeeds with the device's two outputs in the asked pattern, or raises.
The driver must be in step afterwards."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from instruments.io_module.modbus_outputs import SG_READY, SG_STATE_OF, ModbusDigitalOutputs
from tests.fuzzing import FUZZ
from tests.instruments.test_fuzz_replies import (
    OK,
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
    modbus_map,
    readings,
    recovered,
    run,
)

MAP = "moxa_iologik_e1211"
CONTACTS = ("do0", "do1")


def contact_bits(device: Device) -> tuple[int, int]:
    c1, c2 = (modbus_map(MAP)[c].address for c in CONTACTS)
    return device.words("coil", c1, 1)[0], device.words("coil", c2, 1)[0]


def expected(device: Device) -> dict[str, Any]:
    return {
        **expected_reads(MAP, device),
        "sg_ready_state": (OK, float(SG_STATE_OF[contact_bits(device)])),
    }


@st.composite
def ops(draw: st.DrawFn) -> tuple[str, int | None, dict[int, Any]]:
    op = draw(st.sampled_from(["read", "sg_ready", "sg_ready"]))
    state = draw(st.sampled_from(sorted(SG_READY))) if op == "sg_ready" else None
    at = draw(st.integers(0, 2)) if op == "sg_ready" else 0  # write, write, read-back
    return op, state, {at: draw(delivered_garbles())}


@st.composite
def examples(draw: st.DrawFn) -> tuple[dict[tuple[str, int], int], list[Any]]:
    return draw(memories(MAP)), draw(st.lists(ops(), min_size=1, max_size=3))


async def call(driver: ModbusDigitalOutputs, op: str, state: int | None) -> Any:
    if op == "read":
        return readings(await driver.read())
    assert state is not None
    return await driver.set_sg_ready(state)


@FUZZ
@given(case=examples())
def test_sg_ready_replies(case: tuple[dict[tuple[str, int], int], list[Any]]) -> None:
    memory, plan = case
    device = Device(memory)
    script = ModbusPeer(device)
    with Peer(mbap_split, script.respond) as peer:

        async def scenario() -> None:
            driver = ModbusDigitalOutputs("io", f"tcp://127.0.0.1:{peer.port}", timeout_s=TIMEOUT)
            try:
                await recovered("connect", driver.connect, 1)
                closed = False
                for op, state, garbles_ in plan:
                    script.start_op(garbles_)
                    outcome = await attempt(op, call(driver, op, state), 3)
                    want = expected(device) if op == "read" else None
                    check_modbus(op, script, outcome, want, closed)
                    if op == "sg_ready" and outcome.ok:
                        assert contact_bits(device) == SG_READY[state], "confirmed, not done"
                    closed = closed or any(g.kind == "close" for _, g in script.seen if g)
                script.start_op({})
                after = await recovered("read", lambda: call(driver, "read", None), 12)
                assert after == expected(device), "out of step"
            finally:
                await driver.close()

        run(scenario())
