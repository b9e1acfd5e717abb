"""Connected means answered, tried a few times (issue 11), over the simulated bench's links."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from bench.connect import ConnectFailed, connect_all
from bench.station import sim_station_path
from instruments.heat_pump.modbus_heat_pump import ModbusHeatPump
from instruments.hydraulic_module.modbus_hydraulic import ModbusHydraulicModule
from instruments.sim.bench import SimBench
from tests.bench.run.conftest import plan_text
from tests.conftest import ManualClock


@pytest.fixture
async def bench() -> AsyncIterator[tuple[SimBench, dict]]:
    async with SimBench(ManualClock()) as sim:
        ep = sim.endpoints
        assert ep is not None
        instruments = {
            "heat_pump": ModbusHeatPump("heat_pump", ep.heat_pump, timeout_s=0.3),
            "hydraulic_module": ModbusHydraulicModule(
                "hydraulic_module", ep.hydraulic_module, timeout_s=0.3
            ),
        }
        yield sim, instruments
        for inst in instruments.values():
            await inst.close()


async def test_a_module_that_accepts_but_never_answers_is_not_connected(bench):
    sim, instruments = bench
    sim.faults.inject("hydraulic_module", "black_hole")  # its map has no identity registers
    with pytest.raises(ConnectFailed) as caught:
        await connect_all(instruments, backoff_s=0.01)
    (line,) = str(caught.value).splitlines()
    assert line.startswith("hydraulic_module at tcp://127.0.0.1:")
    assert "tried 3 times" in line
    assert sim.modbus["heat_pump"].writes == []


async def test_a_short_outage_at_the_start_is_ridden_out(bench):
    sim, instruments = bench
    fault = sim.faults.inject("heat_pump", "drop")

    async def link_back() -> None:
        await asyncio.sleep(0.2)
        fault.cleared_at = sim.faults.clock.now()

    back = asyncio.create_task(link_back())
    found = await connect_all(instruments, backoff_s=0.3)
    await back
    assert found["heat_pump"].serial == "20250001"  # read from the unit's registers


def test_an_unreachable_bench_leaves_no_run_directory(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = sim_station_path().read_text()
    for role, address in {
        "sim:climate_chamber_tty": f"socket://127.0.0.1:{port}",
        "sim:power_analyser": f"TCPIP::127.0.0.1::{port}::SOCKET",
        "sim:heat_pump": f"tcp://127.0.0.1:{port}",
        "sim:hydraulic_module": f"tcp://127.0.0.1:{port}",
    }.items():
        text = text.replace(f'"{role}"', f'"{address}"')
    station = tmp_path / "station.toml"
    station.write_text(text)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        plan_text(
            "  - id: A7W35\n    air: {dry_bulb_c: 7, wet_bulb_c: 6}\n    water: {outlet_c: 35}\n"
        )
    )
    results = tmp_path / "results"
    results.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.cli",
            "run",
            str(plan),
            "--station",
            str(station),
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "hpbench run: cannot reach heat_pump at tcp://127.0.0.1" in done.stderr
    assert list(results.iterdir()) == []
