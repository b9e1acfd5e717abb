"""Issue 11: the unit under test is never left running unattended and never switched on
without water. Each case runs the real engine against the simulated bench (real protocols,
the simulator's own fault switchboard) and asserts on what the simulated heat pump was told:
its Modbus write log."""

from __future__ import annotations

import contextlib

from bench.connect import ConnectFailed
from bench.run.runner import EXIT_POINTS_FAILED, EXIT_UNSAFE, exit_code
from bench.run.sequencer import Phase
from bench.station import sim_station_path
from bench.store import RunStore
from tests.bench.run.conftest import plan_text, wait_for

A7 = """
  - id: A7W35
    air: {dry_bulb_c: 7, wet_bulb_c: 6}
    water: {outlet_c: 35}
"""
A12 = """
  - id: A12W35
    air: {dry_bulb_c: 12, wet_bulb_c: 11}
    water: {outlet_c: 35}
"""


def switched_on(sim) -> list:
    return [w for w in sim.writes("heat_pump", "on_off") if w.value == 1]


def station_with(tmp_path, extra: str):
    station = tmp_path / "station.toml"
    station.write_text(sim_station_path().read_text() + "\n" + extra)
    return station


async def test_heat_pump_link_refused_from_collection_on_ends_unsafe_not_done(sim_run):
    async def refuse(engine, sim):
        # late in the collection, so the point ends before the heat pump's 60 s watchdog
        await wait_for(lambda: engine.status().phase == Phase.COLLECTING)
        await wait_for(lambda: engine.status().time_in_phase_s >= 570)
        sim.faults.inject("heat_pump", "drop")

    done = await sim_run(plan_text(A7), during=refuse)
    store = RunStore.open(done.prepared.run_dir)
    assert store.meta()["outcome"] == "unsafe"
    statuses = [r.status for r in store.points()]
    assert exit_code(done.phase, statuses, unsafe=done.engine.unsafe) == EXIT_UNSAFE
    # honest: nothing reached the unit, and it is still on
    assert done.sim.model.heat_pump.running
    alarms = [e for e in store.events({"alarm"}) if e.data.get("unsafe")]
    assert alarms and "heat_pump" in alarms[-1].message
    store.close()


async def test_heat_pump_ignoring_its_off_command_is_unsafe(sim_run):
    """The write is acknowledged, the read-back of the on/off register still says on."""

    async def ignore(engine, sim):
        await wait_for(lambda: engine.status().phase == Phase.COLLECTING)
        await wait_for(lambda: engine.status().time_in_phase_s >= 570)
        sim.faults.inject("heat_pump", "ignore_writes")

    done = await sim_run(plan_text(A7), during=ignore)
    offs = [w for w in done.sim.writes("heat_pump", "on_off") if w.value == 0]
    assert len(offs) >= 2 and not any(w.applied for w in offs)  # commanded, retried, ignored
    store = RunStore.open(done.prepared.run_dir)
    assert store.meta()["outcome"] == "unsafe"
    store.close()


async def test_silent_hydraulic_module_never_lets_the_heat_pump_on(sim_run):
    def black_hole(sim):
        sim.faults.inject("hydraulic_module", "black_hole")

    sims = []

    def before(sim):
        sims.append(sim)
        black_hole(sim)

    async def stop_once_on(engine, sim):  # the unit switched on (the defect), or held a while
        await wait_for(lambda: engine.status().phase == Phase.HELD or bool(switched_on(sim)))
        frames = engine.status().frames
        await wait_for(lambda: engine.status().frames > frames + 20 or bool(switched_on(sim)))
        engine.abort()

    with contextlib.suppress(ConnectFailed):
        await sim_run(plan_text(A7), before=before, during=stop_once_on)
    assert switched_on(sims[0]) == []


async def test_flow_below_the_station_minimum_never_lets_the_heat_pump_on(sim_run, tmp_path):
    station = station_with(tmp_path, "[permissives]\nmin_water_flow_m3h = 15.0\n")

    async def watch(engine, sim):
        await wait_for(lambda: engine.status().phase == Phase.HELD)
        frames = engine.status().frames
        await wait_for(lambda: engine.status().frames > frames + 20)  # held, reading on
        engine.abort()

    done = await sim_run(plan_text(A7), during=watch, station=station)
    assert switched_on(done.sim) == []
    assert done.sim.writes("hydraulic_module", "flow_sp")  # the water side was commanded
    store = RunStore.open(done.prepared.run_dir)
    held = [e.message for e in store.events({"safety"}) if "permissive" in e.message]
    assert held and "water flow" in held[0]
    store.close()


async def test_power_analyser_nan_throughout_gives_no_valid_point(sim_run):
    def nan(sim):
        sim.faults.inject("power_analyser", "over_range", nan=1)

    done = await sim_run(plan_text(A7, coll=5), before=nan)
    store = RunStore.open(done.prepared.run_dir)
    rows = store.points()
    assert [r.status for r in rows] != ["valid"]
    statuses = [r.status for r in rows]
    assert exit_code(done.phase, statuses, unsafe=done.engine.unsafe) == EXIT_POINTS_FAILED
    store.close()


async def test_chamber_lost_at_the_end_heat_pump_still_confirmed_off_but_run_unsafe(sim_run):
    async def refuse(engine, sim):
        await wait_for(lambda: engine.status().phase == Phase.COLLECTING)
        await wait_for(lambda: engine.status().time_in_phase_s >= 570)
        sim.faults.inject("climate_chamber", "drop")

    done = await sim_run(plan_text(A7), during=refuse)
    offs = [w for w in done.sim.writes("heat_pump", "on_off") if w.value == 0]
    assert offs and offs[-1].applied and not done.sim.model.heat_pump.running
    store = RunStore.open(done.prepared.run_dir)
    assert store.meta()["outcome"] == "unsafe"
    assert "climate_chamber" in store.meta()["unsafe"]
    assert "heat_pump" not in store.meta()["unsafe"]
    store.close()
