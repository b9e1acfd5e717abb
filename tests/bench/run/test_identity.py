"""The unit's reported serial against the plan's, under the station's identity_policy.

The simulated heat pump reports serial 20250001 in its identity registers
(instruments/sim/modbus_servers.py); the test plans name T-1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.run.identity import IdentityRefused, check_unit_identity
from bench.run.sequencer import Phase
from bench.station import parse_station, sim_station_path
from instruments.base import Identity
from tests.bench.run.conftest import plan_text, wait_for
from tests.bench.run.test_cli_run import A7, hpbench

SIM_UNIT_SERIAL = "20250001"


def _station(tmp_path: Path, policy: str) -> Path:
    text = sim_station_path().read_text(encoding="utf-8")
    text = text.replace('calibration_policy = "warn"\n', f'identity_policy = "{policy}"\n', 1)
    assert f'identity_policy = "{policy}"' in text
    path = tmp_path / f"{policy}.toml"
    path.write_text(text)
    return path


def _unit(serial: str) -> dict[str, Identity]:
    return {"heat_pump": Identity("hpbench", "sim", serial, "1")}


@pytest.mark.parametrize("policy", ["warn", "block"])
def test_a_matching_serial_passes_under_either_policy(tmp_path, policy):
    station = parse_station(_station(tmp_path, policy).read_text(), "s.toml")
    assert check_unit_identity("SN-1", station, _unit("SN-1")) is None


def test_an_unreported_serial_is_a_warning_even_when_blocking(tmp_path):
    station = parse_station(_station(tmp_path, "block").read_text(), "s.toml")
    warning = check_unit_identity("SN-1", station, _unit(""))
    assert warning is not None and "reports no serial" in warning and "SN-1" in warning


def test_a_mismatch_blocks_only_under_block(tmp_path):
    warn = parse_station(_station(tmp_path, "warn").read_text(), "w.toml")
    block = parse_station(_station(tmp_path, "block").read_text(), "b.toml")
    line = check_unit_identity("SN-1", warn, _unit("SN-2"))
    assert line is not None and "'SN-1'" in line and "'SN-2'" in line
    with pytest.raises(IdentityRefused, match=r"'SN-1'.*'SN-2'"):
        check_unit_identity("SN-1", block, _unit("SN-2"))


def test_hpbench_run_refuses_another_unit_before_any_run_directory(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    plan = tmp_path / "p.yaml"
    plan.write_text(plan_text(A7, name="ident"))
    station = _station(tmp_path, "block")
    done = hpbench("run", str(plan), "--sim", "--station", str(station), "--results", str(results))
    assert done.returncode == 2, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, done.stderr
    assert "'T-1'" in lines[0] and f"'{SIM_UNIT_SERIAL}'" in lines[0]
    assert list(results.iterdir()) == []


async def test_the_engine_blocks_another_unit_before_setting_anything(sim_run, tmp_path):
    """The start code the TUI shares: a blocked run ends aborted with no frame and no command."""
    done = await sim_run(plan_text(A7), station=_station(tmp_path, "block"))
    assert done.phase == Phase.ABORTED
    store = done.prepared.store
    events = store.events({"identity"})
    assert len(events) == 1 and "'T-1'" in events[0].message
    assert f"'{SIM_UNIT_SERIAL}'" in events[0].message
    assert store.last_seq() == -1  # no frame acquired
    assert not done.sim.model.heat_pump.running  # never switched on


async def test_the_engine_warns_and_goes_on_under_warn(sim_run, tmp_path):
    async def abort_once_running(engine, sim):
        await wait_for(lambda: engine._frame_count >= 3)
        engine.abort()

    done = await sim_run(
        plan_text(A7), station=_station(tmp_path, "warn"), during=abort_once_running
    )
    store = done.prepared.store
    events = store.events({"identity"})
    assert len(events) == 1 and events[0].data["action"] == "warned"
    assert "'T-1'" in events[0].message and f"'{SIM_UNIT_SERIAL}'" in events[0].message
    assert store.last_seq() >= 2  # the run went on acquiring
