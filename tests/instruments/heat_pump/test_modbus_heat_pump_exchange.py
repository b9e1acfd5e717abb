"""The simulated unit's map (hpbench_sim_hp) as exact Modbus PDUs against a scripted peer."""

from __future__ import annotations

import struct

from instruments.base import Identity, Quality
from instruments.heat_pump.modbus_heat_pump import ModbusHeatPump
from tests.exchange import ModbusScript

_HEAT = struct.pack(">f", 5000.0).hex()
INPUTS = " ".join(
    [
        "0046",  # outdoor 7.0 degC (int16 x 0.1)
        "015e",  # supply 35.0
        "012c",  # return 30.0
        "ffff",  # flow: the uint16 sentinel -> INVALID
        "01c7",  # compressor 45.5 Hz
        "0009",  # status: running (bit 0) and compressor on (bit 3)
        "0000",  # alarm code
        f"{_HEAT[:4]} {_HEAT[4:]}",  # heat output float32, high word first
        "e240 0001",  # electrical energy 123456 Wh: uint32, low word first
        "0002",  # defrost count
    ]
)


async def test_identify_read_and_commands_exact_pdus() -> None:
    script = ModbusScript(
        [
            ("01 04 0064 0002", "01 04 04 0000 3039"),  # serial number 12345
            ("01 04 0066 0001", "01 04 02 0067"),  # firmware 103
            ("01 03 0000 0004", "01 03 08 0001 0001 01c2 0000"),  # on, heating, 45.0, 0 %
            ("01 04 0000 000c", f"01 04 18 {INPUTS}"),
            ("01 06 0000 0000", "01 06 0000 0000"),  # off
            ("01 06 0002 0190", "01 06 0002 0190"),  # flow set point 40.0 degC
            ("01 06 0003 0032", "01 06 0003 0032"),  # demand 50 %
        ]
    )
    port = await script.start()
    hp = ModbusHeatPump("hp", f"tcp://127.0.0.1:{port}", timeout_s=0.5)
    try:
        await hp.connect()
        identity = await hp.identify()
        r = await hp.read()
        await hp.set_running(False)
        await hp.set_flow_temperature(40.0)
        await hp.set_demand(50)
    finally:
        await hp.close()
        await script.stop()
    assert script.done(), script.mismatch
    assert identity == Identity(
        "hpbench", "Simulated air-to-water heat pump (sim-hp-1)", "12345", "103"
    )
    assert (r["outdoor_temp"].value, r["supply_temp"].value, r["return_temp"].value) == (
        7.0,
        35.0,
        30.0,
    )
    assert r["flow_rate"].quality is Quality.INVALID
    assert r["compressor_freq"].value == 45.5
    assert (r["running"].value, r["defrost"].value, r["compressor_on"].value) == (1, 0, 1)
    assert r["heat_output"].value == 5000.0 and r["electrical_energy"].value == 123456
    assert (r["on_off"].value, r["flow_temp_sp"].value, r["demand_pct"].value) == (1, 45.0, 0)
