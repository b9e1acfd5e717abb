"""The hydraulic module's exact PDUs (map hpbench_hm) against a scripted Modbus TCP peer."""

from __future__ import annotations

import struct

from instruments.base import Quality
from instruments.hydraulic_module.modbus_hydraulic import ModbusHydraulicModule
from tests.exchange import ModbusScript


def _float(value: float) -> str:
    """A float32 as the PLC stores a REAL: two registers, high word first."""
    raw = struct.pack(">f", value).hex()
    return f"{raw[:4]} {raw[4:]}"


# holding 0-4 (inlet_mode at 5 is not polled), then input 0-9 in one block (the unused register
# 7 is within max_read_gap)
INPUTS = " ".join(
    [_float(30.0), _float(35.0), "7fc0 0000", "0001", "0000", _float(101325.0)]
)  # inlet, outlet, flow = NaN (no valid measurement), status: pump on, no fault; barometer
HOLDING = " ".join([_float(30.0), _float(1.5), "0001"])


async def test_read_and_set_points_exact_pdus() -> None:
    script = ModbusScript(
        [
            ("01 03 0000 0005", f"01 03 0a {HOLDING}"),
            ("01 04 0000 000a", f"01 04 14 {INPUTS}"),
            ("01 10 0002 0002 04 " + _float(2.5), "01 10 0002 0002"),
            ("01 06 0004 0000", "01 06 0004 0000"),
        ]
    )
    port = await script.start()
    hm = ModbusHydraulicModule("hm", f"tcp://127.0.0.1:{port}", timeout_s=0.5)
    try:
        await hm.connect()
        r = await hm.read()
        await hm.set_flow(2.5)
        await hm.set_running(False)
    finally:
        await hm.close()
        await script.stop()
    assert script.done(), script.mismatch
    assert (r["inlet_temp"].value, r["outlet_temp"].value) == (30.0, 35.0)
    assert r["volume_flow"].quality is Quality.INVALID
    assert (r["pump_running"].value, r["fault"].value) == (1.0, 0.0)
    assert r["barometric_pressure"].value == 101325.0
    assert (r["inlet_temp_sp"].value, r["flow_sp"].value, r["pump_run"].value) == (30.0, 1.5, 1)
