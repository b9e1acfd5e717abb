"""A unit without an on/off register (NIBE) started and stopped through SG-Ready contacts on a
digital-output module: `[commands] heat_pump_switch` is checked on load with its file:line,
and on the simulated bench run / stop and the safe state go through the module, confirmed by
its read-back (docs/decisions/0283-unit-switched-through-sg-ready.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bench.run.actuation import SwitchedUnit, actuate, commanded
from bench.run.commands import SetHeatPump
from bench.run.safe_state import ATTEMPTS, reach_safe_state
from bench.station import Station, StationError, build_instruments, load_station
from instruments.clock import ScaledClock
from instruments.sim.bench import SimBench

MIXED = Path(__file__).parents[3] / "stations" / "lab_wt333e_daq970a_f4t_nibe.toml"
SWITCH_LINE = 'heat_pump_switch = "io"'


def _variant(tmp_path: Path, replacement: str) -> Path:
    text = MIXED.read_text(encoding="utf-8")
    assert SWITCH_LINE in text
    path = tmp_path / "station.toml"
    path.write_text(text.replace(SWITCH_LINE, replacement), encoding="utf-8")
    return path


def test_the_switch_is_the_io_module_the_station_names():
    station = load_station(MIXED)
    assert station.layout.command_instruments()["heat_pump_switch"] == "io"


@pytest.mark.parametrize(
    ("replacement", "why"),
    [
        (
            'heat_pump_switch = "hm"',
            "hm (modbus_hydraulic) drives a hydraulic_module, not a io_module",
        ),
        ('heat_pump_switch = "relay"', "'relay': the station has no such instrument"),
    ],
)
def test_a_wrong_switch_is_refused_with_its_line(tmp_path, replacement, why):
    path = _variant(tmp_path, replacement)
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.startswith(replacement))
    with pytest.raises(StationError) as caught:
        load_station(path)
    assert f"{path}:{line}:" in str(caught.value)
    assert why in str(caught.value)


def test_a_switch_without_a_heat_pump_is_refused(tmp_path):
    path = _variant(tmp_path, SWITCH_LINE)
    text = path.read_text(encoding="utf-8").replace('heat_pump = "unit"\n', "")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StationError, match="switches no heat pump"):
        load_station(path)


@pytest.fixture
async def bench() -> AsyncIterator[tuple[SimBench, Station, dict[str, Any]]]:
    station = load_station(MIXED)
    async with SimBench(ScaledClock(100)) as sim:
        assert sim.endpoints is not None
        instruments = build_instruments(station, sim.endpoints.as_dict())
        try:
            for inst in instruments.values():
                await inst.connect()
            sim.model.hydraulic.flow_sp_m3h = 1.6  # the permissive's water flow
            await sim.clock.sleep(300)
            yield sim, station, commanded(instruments, station.layout.command_instruments())
        finally:
            for inst in instruments.values():
                await inst.close()


async def _run_unit(sim: SimBench, station: Station, roles: dict[str, Any]) -> None:
    await actuate(
        roles,
        SetHeatPump(True, 35.0, None),
        safe=station.safe_state,
        final=station.final_state,
        on_error=lambda role, why: None,
    )
    assert sim.model.heat_pump.running
    assert sim.model.heat_pump.flow_temp_sp == 35.0  # the rest went to the unit's map


async def test_run_and_safe_state_go_through_the_contacts(bench):
    sim, station, roles = bench
    assert isinstance(roles["heat_pump"], SwitchedUnit)
    await _run_unit(sim, station, roles)
    assert (await roles["heat_pump"].read_command("running")).value == 2.0  # normal
    report = await reach_safe_state(roles, station.safe_state, on_error=lambda r, w: None)
    assert report.heat_pump_off, report.describe()
    assert not sim.model.heat_pump.running
    assert (await roles["heat_pump"].read_command("running")).value == 1.0  # blocked


async def test_contacts_that_do_not_move_leave_the_safe_state_unconfirmed(bench):
    sim, station, roles = bench
    await _run_unit(sim, station, roles)
    sim.faults.inject("io_module", "ignore_writes")  # acknowledged, never applied
    errors: list[str] = []
    report = await reach_safe_state(
        roles, station.safe_state, on_error=lambda r, w: errors.append(r), backoff_s=0.01
    )
    assert not report.heat_pump_off
    assert "not confirmed" in report.unconfirmed["heat_pump"]
    assert errors.count("heat_pump") == ATTEMPTS  # every attempt, each read back
    assert sim.model.heat_pump.running  # nothing pretended the unit stopped
