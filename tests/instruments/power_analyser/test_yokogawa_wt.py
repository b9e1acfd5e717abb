"""WT332E / WT333E / WT1800E / WT5000: exact bytes in memory, then pyvisa against the simulator."""

from __future__ import annotations

import pytest

from instruments.base import InstrumentTimeout, ProtocolError, Quality, WriteRefused
from instruments.power_analyser.yokogawa_wt import (
    YokogawaWT332E,
    YokogawaWT333E,
    YokogawaWT1800E,
    YokogawaWT5000,
)
from instruments.sim.line_server import LineServer
from instruments.sim.model import BenchModel
from instruments.sim.yokogawa_wt import WtSim
from tests.exchange import Script, linked

OK = b'0,"No error"\n'

SETUP_333E_3P4W = [
    (b"\n*CLS\n", None),
    (b":SYST:COMM:COMM WT300\n", None),
    (b":COMM:REM ON\n", None),
    (b":COMM:HEAD OFF\n", None),
    (b":NUM:FORM ASCII\n", None),
    (b":INP:WIR P3W4\n", None),
    (b":INP:VOLT:RANG 300\n", None),
    (b":INP:CURR:AUTO ON\n", None),
    (b":NUM:NORM:NUM 37\n", None),
    *[
        (f":NUM:NORM:ITEM{n} {f},{e}\n".encode(), None)
        for n, (f, e) in enumerate(
            [
                (f, str(e))
                for e in (1, 2, 3)
                for f in ("U", "I", "P", "S", "Q", "LAMB", "FU", "WH", "URAN", "IRAN")
            ]
            + [(f, "SIGMA") for f in ("U", "I", "P", "S", "Q", "LAMB", "WH")],
            1,
        )
    ],
    (b":STAT:ERR?\n", OK),
]


def wt333e(script: Script) -> YokogawaWT333E:
    return linked(
        YokogawaWT333E("pa", "TCPIP::x::1::SOCKET", wiring="3P4W", voltage_range=300), script
    )


def _values(sigma_p: str = "3.000E+03") -> bytes:
    element = ["230.0E+00", "4.500E+00", "1.000E+03", "1.035E+03", "2.6E+02", "0.966E+00",
               "50.00E+00", "12.5E+00", "300.0E+00", "5.000E+00"]  # fmt: skip
    sigma = ["230.0E+00", "4.500E+00", sigma_p, "3.105E+03", "7.8E+02", "0.966E+00", "37.5E+00"]
    return (",".join(element * 3 + sigma) + "\n").encode()


async def test_wt333e_setup_and_read_exact_bytes() -> None:
    script = Script([*SETUP_333E_3P4W, (b":NUM:NORM:VAL?\n", _values())])
    pa = wt333e(script)
    await pa.connect()
    readings = await pa.read()
    assert script.done()
    assert readings["P_sigma"].value == 3000.0
    assert readings["Urange2"].value == 300.0 and readings["Irange3"].value == 5.0
    assert readings["WH_sigma"].value == 37.5
    assert len(pa.channels()) == 37


async def test_over_range_and_no_data_are_invalid() -> None:
    script = Script(
        [*SETUP_333E_3P4W, (b":NUM:NORM:VAL?\n", _values("INF").replace(b"12.5E+00", b"NAN", 1))]
    )
    pa = wt333e(script)
    await pa.connect()
    readings = await pa.read()
    assert (
        readings["P_sigma"].quality is Quality.INVALID
        and "over-range" in readings["P_sigma"].detail
    )
    assert readings["WH1"].quality is Quality.INVALID and "no data" in readings["WH1"].detail
    assert readings["P1"].quality is Quality.OK


@pytest.mark.parametrize(
    "reply",
    [b"230.0E+00,4.5\n", b"230.0E+00,abc" + b",1" * 35 + b"\n", b"\xff\xfe\n", b"230.0E+00"],
    ids=["truncated", "garbled", "not-text", "unterminated"],
)
async def test_bad_replies_are_protocol_errors_and_the_link_is_reopened(reply: bytes) -> None:
    script = Script(
        [*SETUP_333E_3P4W, (b":NUM:NORM:VAL?\n", reply)],
        [*SETUP_333E_3P4W, (b":NUM:NORM:VAL?\n", _values())],
    )
    pa = wt333e(script)
    await pa.connect()
    with pytest.raises(ProtocolError, match="pa at TCPIP::x::1::SOCKET"):
        await pa.read()
    assert (await pa.read())["P_sigma"].value == 3000.0  # setup replayed on a fresh link
    assert script.done()


async def test_timeout_then_reconnect_replays_setup() -> None:
    timeout = InstrumentTimeout("no reply in 2 s", instrument="pa")
    script = Script(
        [*SETUP_333E_3P4W, (b":NUM:NORM:VAL?\n", timeout)],
        [*SETUP_333E_3P4W, (b":NUM:NORM:VAL?\n", _values())],
    )
    pa = wt333e(script)
    await pa.connect()
    with pytest.raises(InstrumentTimeout):
        await pa.read()
    assert (await pa.read())["P1"].value == 1000.0


async def test_refused_setting_is_write_refused_and_keeps_the_link() -> None:
    script = Script(
        [
            *SETUP_333E_3P4W,
            (b":INTEG:RES\n", None),
            (b":STAT:ERR?\n", b'221,"Setting conflict"\n'),
            (b":INTEG:STAR\n", None),
            (b":STAT:ERR?\n", OK),
        ]
    )
    pa = wt333e(script)
    await pa.connect()
    with pytest.raises(WriteRefused, match="221"):
        await pa.integration_reset()
    await pa.integration_start()
    assert script.done()


async def test_wt1800e_sigma_groups_use_wp_and_rms_functions() -> None:
    pa = YokogawaWT1800E("pa", "TCPIP::x::INSTR", wiring="3P4W,1P3W,1P2W", current_range=50)
    setup = list(pa.setup_commands())
    assert ":INP:WIR P3W4,P1W3,P1W2" in setup and ":INP:CURR:RANG 50" in setup
    assert ":NUM:NORM:ITEM1 URMS,1" in setup
    assert any(c.endswith(" WP,SIGMB") for c in setup)
    assert "P_sigmaA" in pa.channels() and "P_sigmaB" in pa.channels()
    assert "P6" in pa.channels() and "P_sigmaC" not in pa.channels()


def test_options_are_checked_before_the_wire() -> None:
    with pytest.raises(ValueError, match="needs 3 elements"):
        YokogawaWT332E("pa", "x", wiring="3P4W")
    with pytest.raises(ValueError, match="voltage range 250"):
        YokogawaWT333E("pa", "x", voltage_range=250)
    with pytest.raises(ValueError, match="use 1P2W"):
        YokogawaWT5000("pa", "x", wiring="3P4W,2P2W")


@pytest.mark.parametrize(
    ("cls", "model", "wiring"),
    [
        (YokogawaWT332E, "WT332E", "1P3W"),
        (YokogawaWT333E, "WT333E", "3P4W"),
        (YokogawaWT1800E, "WT1800E", "3P4W,3P3W"),
        (YokogawaWT5000, "WT5000", "3P4W,3P4W"),
    ],
)
async def test_through_pyvisa_against_the_simulator(manual_clock, cls, model, wiring) -> None:
    from instruments.power_analyser.yokogawa_wt import WT_MODELS

    bench = BenchModel(manual_clock)
    bench.electrical.power_meas_w = 3000.0
    sim = WtSim(bench, WT_MODELS[model])
    server = LineServer(sim)
    port = await server.start()
    pa = cls("pa", f"TCPIP::127.0.0.1::{port}::SOCKET", wiring=wiring)
    try:
        await pa.connect()
        ident = await pa.identify()
        assert (ident.make, ident.model) == ("YOKOGAWA", model)
        await pa.integration_start()
        manual_clock.advance(3600.0)
        readings = await pa.read()
        assert set(readings) == set(pa.channels())
        sigma = "P_sigma" if "P_sigma" in readings else "P_sigmaA"
        p_elements = sum(readings[f"P{e}"].value for e in pa.layout.groups[0])
        assert readings[sigma].value == pytest.approx(p_elements, rel=1e-4)
        assert readings["Urange1"].value in WT_MODELS[model].voltage_ranges
        assert all(r.quality is Quality.OK for r in readings.values())
        with pytest.raises(WriteRefused):
            await pa.integration_reset()  # refused while integrating, as the real one does
    finally:
        await pa.close()
        await server.stop()


async def test_over_range_fault_reads_invalid_through_the_simulator(manual_clock) -> None:
    from instruments.power_analyser.yokogawa_wt import WT_MODELS
    from instruments.sim.faults import FaultInjector, FaultKind

    faults = FaultInjector(manual_clock)
    bench = BenchModel(manual_clock, faults=faults)
    server = LineServer(WtSim(bench, WT_MODELS["WT333E"]))
    port = await server.start()
    pa = YokogawaWT333E("pa", f"TCPIP::127.0.0.1::{port}::SOCKET", wiring="3P4W")
    try:
        await pa.connect()
        faults.inject("power_analyser", FaultKind.OVER_RANGE)
        r = await pa.read()
        assert r["P_sigma"].quality is Quality.INVALID and "over-range" in r["P_sigma"].detail
        assert r["Urange1"].quality is Quality.OK  # the range in use is still known
        faults.clear()
        assert (await pa.read())["P_sigma"].quality is Quality.OK
    finally:
        await pa.close()
        await server.stop()


async def test_wt332e_single_phase_three_wire_exact_setup() -> None:
    per_element = ("U", "I", "P", "S", "Q", "LAMB", "FU", "WH", "URAN", "IRAN")
    items = [(f, str(e)) for e in (1, 2) for f in per_element]
    items += [(f, "SIGMA") for f in ("U", "I", "P", "S", "Q", "LAMB", "WH")]
    setup = [
        (b"\n*CLS\n", None),
        (b":SYST:COMM:COMM WT300\n", None),
        (b":COMM:REM ON\n", None),
        (b":COMM:HEAD OFF\n", None),
        (b":NUM:FORM ASCII\n", None),
        (b":INP:WIR P1W3\n", None),
        (b":INP:VOLT:AUTO ON\n", None),
        (b":INP:CURR:RANG 5\n", None),
        (b":NUM:NORM:NUM 27\n", None),
        *[(f":NUM:NORM:ITEM{n} {f},{e}\n".encode(), None) for n, (f, e) in enumerate(items, 1)],
        (b":STAT:ERR?\n", OK),
        (b"*IDN?\n", b"YOKOGAWA,WT332E,C2WT0002,F1.02\n"),
    ]
    script = Script(setup)
    pa = linked(YokogawaWT332E("pa", "x", wiring="1P3W", current_range=5), script)
    await pa.connect()
    assert (await pa.identify()).model == "WT332E"
    assert script.done()


async def test_a_fixed_range_too_small_reads_over_range_and_records_the_range(manual_clock) -> None:
    from instruments.power_analyser.yokogawa_wt import WT_MODELS

    server = LineServer(WtSim(BenchModel(manual_clock), WT_MODELS["WT333E"]))
    port = await server.start()
    pa = YokogawaWT333E("pa", f"TCPIP::127.0.0.1::{port}::SOCKET", voltage_range=15)
    try:
        await pa.connect()
        r = await pa.read()
        assert r["U1"].quality is Quality.INVALID and "over-range" in r["U1"].detail
        assert r["Urange1"].value == 15.0  # the point records the range it was measured on
    finally:
        await pa.close()
        await server.stop()
