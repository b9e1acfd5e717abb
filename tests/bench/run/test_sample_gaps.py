"""Issue 13 item 5: an acquisition outage inside a collection window is caught on the real
(simulated) wire: the simulator drops the hydraulic module's link for a while, the frames go on
without its readings, and the collection does not silently average across the hole."""

from __future__ import annotations

import pytest

from bench.export.result import build_result
from bench.export.rundata import load_run
from bench.run.sequencer import Phase
from tests.bench.run.conftest import plan_text, wait_for

A7 = """
  - id: A7W35
    air: {dry_bulb_c: 7, wet_bulb_c: 6}
    water: {outlet_c: 35}
"""


@pytest.mark.parametrize("outage_s", [40.0, 60.0])
async def test_an_outage_inside_a_collection_is_caught(sim_run, outage_s):
    async def drop(engine, sim):
        await wait_for(lambda: engine.status().phase == Phase.COLLECTING, 90)
        sim.faults.inject("hydraulic_module", "drop", duration=outage_s, after=60.0)

    done = await sim_run(plan_text(A7), during=drop, limit_s=240)
    assert done.phase == Phase.DONE
    data = load_run(done.prepared.run_dir)
    doc = build_result(data)
    messages = [e.message for e in data.events]
    # 40 s: the collection restarts after the gap; 60 s: the watchdog holds the point first
    # (the station's watchdog_s is 60 s) and the collection starts again after the hold
    caught = [m for m in messages if "sample gap" in m or "silent for" in m]
    assert caught, messages
    (point,) = doc["points"]
    assert point["status"] == "valid", point["reason"]
    assert point["sample_gaps"]["gaps"] == []  # the kept window holds no hole
    assert point["sample_gaps"]["max_gap_s"] <= point["sample_gaps"]["limit_s"]
