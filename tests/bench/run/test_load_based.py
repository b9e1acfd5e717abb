"""Load-based points on the simulated bench under time-warp (docs/standards.md §7)."""

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
LOW = """
  - id: D
    kind: load_based
    air: {dry_bulb_c: 12, rh_pct: 88.9}
    water: {outlet_c: 30}
    load_based: {plc: 0.1538, warm_up_min: 30, duration_min: 400, cycles: 3}
"""
HIGH = """
  - id: A
    kind: load_based
    air: {dry_bulb_c: -7, rh_pct: 74.7}
    water: {outlet_c: 52}
    load_based: {plc: 0.8846, warm_up_min: 30, duration_min: 60, cycles: 3}
"""


def plan(points: str, design_kw: float = 9.0) -> str:
    return HEAD.format(design_kw=design_kw) + points


async def test_low_load_cycles_and_the_steps_replay(sim_run):
    done = await sim_run(plan(LOW), speed=300)
    assert done.phase == Phase.DONE
    store = RunStore.open(done.prepared.run_dir)
    (row,) = store.points()
    lb = row.record["load_based"]
    print(row.status, row.reason, {k: v for k, v in lb.items() if k not in ("on_times_s", "off_times_s")})
    assert row.status == "valid"
    assert lb["cycling"] and lb["compressor_starts"] >= 4
    assert lb["load_achieved_pct"] == pytest.approx(100, abs=5)
    steps = store.emulation_steps(row.index)
    commands = replay(lb["parameters"], steps)
    sent = [(s["command"], c) for s, c in zip(steps, commands, strict=True) if s["command"] is not None]
    assert len(sent) > 0.9 * len(steps)
    assert max(abs(a - b) for a, b in sent) <= 0.01
    store.close()
