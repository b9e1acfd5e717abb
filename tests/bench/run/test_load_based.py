"""Load-based points on the simulated bench under time-warp (docs/standards.md §7): the unit
on its own controls over Modbus, the bench emulating the building every second."""

from __future__ import annotations

import pytest

from bench.run.emulation import replay
from bench.run.sequencer import Phase
from bench.store import RunStore

HEAD = """
name: lb
profile: en14511-3
standard: en14825
climate: average
application: medium
operator: tests
unit:
  make: NIBE
  model: S2125-12
  serial: T-1
  refrigerant: R290
  pdesignh_kw: {design_kw}
  tbiv_c: -7
  tol_c: -10
points:
"""
# a lighter heating system (τ_H 200 s instead of §7's 1957 s) cycles faster, and 5 s samples
# (the loop still steps every second, on the latest frame) keep a 250 x time-warp affordable
LOW = """
  - id: D
    kind: load_based
    air: {dry_bulb_c: 12, rh_pct: 88.9}
    water: {outlet_c: 30}
    load_based: {plc: 0.15, tau_h_s: 200, warm_up_min: 20, duration_min: 200, cycles: 3}
    timing: {sample_s: 5}
"""
HIGH = """
  - id: A
    kind: load_based
    air: {dry_bulb_c: -7, rh_pct: 74.7}
    water: {outlet_c: 52}
    load_based: {plc: 0.88, tau_h_s: 500, warm_up_min: 20, duration_min: 40}
    timing: {sample_s: 5}
"""
FLOW_SP, DEMAND, CONTROL_MODE = 2, 3, 5  # holding registers of the sim map (hpbench_sim_hp)


def plan(points: str, design_kw: float) -> str:
    return HEAD.format(design_kw=design_kw) + points


def writes_while_on_own_controls(requests) -> list[int]:
    """Addresses written between the write that puts the unit on its own controls and the one
    that takes it back (FC 6 and 16)."""
    inside, written = False, []
    for r in requests:
        if not r.is_write:
            continue
        if r.address == CONTROL_MODE:
            inside = r.values[0] != 0
            continue
        if inside:
            written.extend(range(r.address, r.address + max(1, len(r.values))))
    return written


def load_based_row(done):
    assert done.phase == Phase.DONE
    store = RunStore.open(done.prepared.run_dir)
    (row,) = store.points()
    return store, row, row.record["load_based"]


@pytest.mark.timeout(300)  # the run's own limit is 240 s: a loaded CI host, not a hang
async def test_low_load_cycles_meets_the_load_and_its_steps_replay(sim_run):
    done = await sim_run(plan(LOW, 9.0), speed=250, limit_s=240)
    store, row, lb = load_based_row(done)
    assert row.status == "valid", row.record["reason"]
    assert lb["cycling"] and lb["compressor_starts"] >= 3  # ≥ 3 whole cycles in the window
    assert lb["load_achieved_pct"] == pytest.approx(100, abs=5)
    assert lb["emulation"]["model_balance_pct"] == pytest.approx(0, abs=1)
    assert lb["emulation"]["heat_model_vs_measured_pct"] == pytest.approx(0, abs=1)
    steps = store.emulation_steps(row.index)
    recomputed = replay(lb["parameters"], steps)
    sent = [(s["command"], c) for s, c in zip(steps, recomputed, strict=True) if s["command"]]
    assert len(sent) > 1000  # under time-warp a write takes bench seconds: busy steps wait
    assert max(abs(a - b) for a, b in sent) <= 0.01
    # the unit was left alone: no flow set point, no demand written while on its own controls
    requests = done.sim.bench.heat_pump_sim.requests
    assert any(r.is_write and r.address == CONTROL_MODE for r in requests)
    assert not {FLOW_SP, DEMAND} & set(writes_while_on_own_controls(requests))
    store.close()


@pytest.mark.timeout(300)
async def test_high_load_modulates_without_cycling(sim_run):
    done = await sim_run(plan(HIGH, 7.5), speed=250, limit_s=240)
    store, row, lb = load_based_row(done)
    assert row.status == "valid", row.record["reason"]
    assert not lb["cycling"] and lb["compressor_starts"] == 0
    assert lb["load_achieved_pct"] == pytest.approx(100, abs=5)
    store.close()
