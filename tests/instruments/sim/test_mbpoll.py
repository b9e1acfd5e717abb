"""A third-party Modbus master (Debian's `mbpoll`) reads the simulators as docs/register_maps.md
says it will: the simulators speak plain Modbus, not just whatever our own client accepts."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from instruments.modbus.regmap import load_map, render_markdown
from instruments.sim.faults import FaultInjector
from instruments.sim.modbus_servers import HeatPumpSim, HydraulicModuleSim
from instruments.sim.model import BenchModel, Noise
from tests.conftest import ManualClock as FrozenClock

DOC = Path(__file__).parents[3] / "docs" / "register_maps.md"
_VALUE = re.compile(r"^\[(\d+)\]:\s+(\S+)", re.MULTILINE)


def _mbpoll() -> str:
    path = shutil.which("mbpoll")
    if path is None:
        pytest.fail(
            "mbpoll is not installed: these tests need the Debian package "
            "(apt-get install mbpoll); CI installs it, so a missing binary is an environment "
            "error, not a skip"
        )
    return path


async def mbpoll(port: int, *args: str, write: tuple[str, ...] = ()) -> dict[int, str]:
    """Run mbpoll once (on this loop's terms: the simulator keeps serving); {ref: value}.

    mbpoll's command line is `[options] host [values to write]`."""
    proc = await asyncio.create_subprocess_exec(
        _mbpoll(),
        "-m",
        "tcp",
        "-a",
        "1",
        "-1",
        "-o",
        "2",
        "-p",
        str(port),
        *args,
        "127.0.0.1",
        *write,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text
    return {int(ref): value for ref, value in _VALUE.findall(text)}


@pytest.fixture
def model() -> BenchModel:
    clock = FrozenClock()
    return BenchModel(clock, FaultInjector(clock), noise=Noise(0, 0, 0, 0, 0, 0))


@pytest.fixture
async def hp_port(model: BenchModel) -> AsyncIterator[int]:
    sim = HeatPumpSim(model)
    yield await sim.start()
    await sim.stop()


@pytest.fixture
async def hm_port(model: BenchModel) -> AsyncIterator[int]:
    sim = HydraulicModuleSim(model)
    yield await sim.start()
    await sim.stop()


def test_mbpoll_is_installed() -> None:
    _mbpoll()


async def test_heat_pump_temperatures_and_status(hp_port: int, model: BenchModel) -> None:
    model.chamber.temp_pv = -20.4  # the unit's own sensor reads +0.4 K: -20.0 degC
    model.heat_pump.running = True
    model.heat_pump.alarm_code = 17
    got = await mbpoll(hp_port, "-t", "3", "-r", "1", "-c", "7")
    # [1] outdoor: -200 (x0.1 degC, mbpoll shows the unsigned word and the signed value)
    assert got[1] == "65336"
    assert got[6] == str(0b0101)  # status word: running (bit 0) + alarm (bit 2)
    assert got[7] == "17"  # alarm code
    hex_view = await mbpoll(hp_port, "-t", "3:hex", "-r", "1", "-c", "1")
    assert hex_view[1] == "0xFF38"


async def test_heat_pump_32_bit_values_in_both_word_orders(hp_port: int, model: BenchModel) -> None:
    model.heat_pump.capacity_w = 21.5 / 1.03  # self-reported heat output reads 21.5 W
    model.electrical.energy_wh = 305419896.0  # 0x12345678
    heat = await mbpoll(hp_port, "-t", "3:float", "-B", "-r", "8", "-c", "1")  # high word first
    energy = await mbpoll(hp_port, "-t", "3:int", "-r", "10", "-c", "1")  # low word first
    assert float(heat[8]) == pytest.approx(21.5)
    assert energy[10] == "305419896"


async def test_heat_pump_set_points_read_and_write(hp_port: int, model: BenchModel) -> None:
    got = await mbpoll(hp_port, "-t", "4", "-r", "1", "-c", "5")
    assert [got[ref] for ref in range(1, 6)] == ["0", "1", "350", "0", "0"]
    await mbpoll(
        hp_port, "-t", "4", "-r", "3", write=("450",)
    )  # flow temperature set point 45.0 degC
    assert model.heat_pump.flow_temp_sp == 45.0


async def test_hydraulic_module_float_sensors(hm_port: int, model: BenchModel) -> None:
    model.hydraulic.inlet_c, model.hydraulic.outlet_c, model.hydraulic.flow_m3h = 30.5, 35.25, 1.5
    got = await mbpoll(hm_port, "-t", "3:float", "-B", "-r", "1", "-c", "3")
    assert [float(got[ref]) for ref in (1, 3, 5)] == [30.5, 35.25, 1.5]


def test_docs_tables_match_the_maps() -> None:
    doc = DOC.read_text(encoding="utf-8")
    for name in ("hpbench_sim_hp", "hpbench_hm"):
        table = render_markdown(load_map(name))
        assert table in doc, (
            f"docs/register_maps.md is out of date for {name}: paste in "
            f"instruments.modbus.regmap.render_markdown(load_map({name!r}))"
        )
