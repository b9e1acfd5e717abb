"""Issue 11, first acceptance item, as a matrix: every instrument x every link fault x every
phase of a run (setting, collection, the final state at plan end). One whole one-point run per
case on the simulated bench (real protocols over the simulator's fault proxy), the fault
injected on that instrument's link as the phase is reached and held to the end of the run.

Whenever the heat pump's link works, the simulated unit is off at the end and every safe-state
procedure of the run switched it off (its Modbus write log, applied) within the deadline;
whenever its off state cannot be confirmed, the run's outcome is `unsafe` (exit 4) with an
alarm naming the heat pump. In no case is the unit left running under any other outcome."""

from __future__ import annotations

import pytest

from bench.run.runner import EXIT_UNSAFE, exit_code
from bench.run.safe_state import ATTEMPTS
from bench.run.sequencer import FINAL, Phase
from bench.station import sim_station_path
from bench.store import RunStore
from tests.bench.run.conftest import plan_text, wait_for

ROLES = ["climate_chamber", "power_analyser", "heat_pump", "hydraulic_module"]
FAULTS = {"refused": "drop", "black_hole": "black_hole", "corrupt": "garble"}
PHASES = ["setting", "collection", "final"]

SPEED = 500.0
TIMEOUT_S = 0.3  # wall: each exchange with a black-holed or silent link costs this
SAMPLE_S = 5.0  # the plan's acquisition period (DEMO_HEAD)
HELD_PERIODS = 40  # a run the fault holds (or slows) is aborted this long after it (the end)
# The deadline, in acquisition periods, from the start of a safe-state procedure to the heat
# pump's off command applied, when its link works: every attempt of one step in flight on
# the bench (its own exchanges plus a command queued ahead of it, each bounded by the
# driver's timeout) at this speed, doubled. Generous on purpose: this asserts behaviour, the
# figures in docs/decisions/0110 measure speed.
DEADLINE_PERIODS = 2 * ATTEMPTS * 4 * TIMEOUT_S * SPEED / SAMPLE_S

A20 = """
  - id: A20W35
    air: {dry_bulb_c: 20, wet_bulb_c: 14}
    water: {outlet_c: 35}
"""


def fast_station(tmp_path):
    """The simulated bench's station with short driver timeouts (faults cost less wall time)."""
    station = tmp_path / "station.toml"
    text = sim_station_path().read_text()
    assert text.count("timeout_s = 2.0") == 4
    station.write_text(text.replace("timeout_s = 2.0", f"timeout_s = {TIMEOUT_S}"))
    return station


PHASE_OF = {"setting": Phase.SETTING, "collection": Phase.COLLECTING, "final": Phase.DONE}


def injector(role: str, kind: str, phase: str):
    """The `during` helper of a run: inject as the sequencer enters the phase (before the
    commands it queues are carried out; `final` is the plan's end, before its final state),
    and end a run the fault holds for good by an operator's abort (whose safe state is then
    what is checked) if it has not ended by itself."""

    async def during(engine, sim):
        emit = engine.sequencer.emit

        def inject_on_entry(t, kind_, message, data):
            if kind_ == "state" and data["to"] == PHASE_OF[phase] and not sim.faults.history:
                sim.faults.inject(role, kind)
            emit(t, kind_, message, data)

        engine.sequencer.emit = inject_on_entry
        if phase == "final":
            return
        await wait_for(lambda: bool(sim.faults.history))
        end = sim.faults.history[0].start + HELD_PERIODS * SAMPLE_S
        await wait_for(lambda: engine.clock.now() >= end)
        if engine.status().phase not in FINAL:
            engine.abort()

    return during


def procedures(store: RunStore) -> list[tuple[float, str]]:
    """(bench time it started, why) of every safe-state procedure the run carried out."""
    return [
        (e.t - e.data["confirm_s"], e.data["procedure"])
        for e in store.events({"safety", "alarm"})
        if e.data and "procedure" in e.data
    ]


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("role", ROLES)
async def test_heat_pump_off_or_run_unsafe(sim_run, tmp_path, role, fault, phase):
    kind = FAULTS[fault]
    done = await sim_run(
        plan_text(A20, eq=1, coll=2, timeout=10),
        speed=SPEED,
        station=fast_station(tmp_path),
        during=injector(role, kind, phase),
        limit_s=45.0,
    )
    assert [f.kind for f in done.sim.faults.history] == [kind]  # the fault was injected
    store = RunStore.open(done.prepared.run_dir)
    try:
        outcome = store.meta()["outcome"]
        statuses = [r.status for r in store.points()]
        code = exit_code(done.phase, statuses, unsafe=done.engine.unsafe)
        unsafe_alarms = [e.message for e in store.events({"alarm"}) if e.data.get("unsafe")]
        ran = procedures(store)
        assert ran, "no safe-state procedure was carried out"
        if role == "heat_pump":
            assert outcome == "unsafe" and code == EXIT_UNSAFE
            assert "heat_pump" in (done.engine.unsafe or "")
            assert unsafe_alarms and "heat_pump" in unsafe_alarms[-1]
            return
        assert not done.sim.model.heat_pump.running
        offs = [w for w in done.sim.writes("heat_pump", "on_off") if w.value == 0 and w.applied]
        for t0, why in ran:
            t_off = min((w.t for w in offs if w.t >= t0), default=None)
            assert t_off is not None, f"heat pump not switched off by the procedure {why!r}"
            assert (t_off - t0) / SAMPLE_S <= DEADLINE_PERIODS, why
        unsafe = done.engine.unsafe
        assert "heat_pump" not in (unsafe or "")
        if unsafe:  # the water or the chamber unconfirmed: said so, never `done`
            assert outcome == "unsafe" and code == EXIT_UNSAFE
            assert unsafe_alarms and role in unsafe_alarms[-1]
        else:
            assert outcome != "unsafe"
    finally:
        store.close()
