"""A station in the general form, acquired from the per-device simulators on their real wire
protocols: the contract's channel ids are derived in every frame (issue 12 §3)."""

from __future__ import annotations

import math

import pytest

from bench.run.acquisition import Acquisition, derive
from bench.run.runner import bench_channels
from bench.run.sequencer import Phase
from bench.station import build_instruments, parse_station, sim_station_path
from bench.station_layout import Derived
from bench.store import RunStore
from instruments.base import Quality, Reading
from instruments.clock import ScaledClock
from instruments.sim.catalog import start_simulator
from instruments.sim.model import BenchModel
from tests.bench.run.conftest import plan_text, run_on_sim, wait_for
from tests.bench.run.test_engine import A7

STATION = """
[station]
name = "lab-general"

[instruments.pa_odu]
driver = "yokogawa_wt333e"
address = "{pa_odu}"
options = {{ wiring = "3P4W" }}

[instruments.pa_idu]
driver = "yokogawa_wt332e"
address = "{pa_idu}"
options = {{ wiring = "1P3W" }}

[instruments.daq]
driver = "keysight_daq970a"
address = "{daq}"
[instruments.daq.options.channels]
water_in = {{ channel = 101, sensor = "frtd" }}
water_out = {{ channel = 102, sensor = "frtd" }}

[instruments.flow]
driver = "kamstrup_multical"
address = "{flow}"

[quantities]
"water.inlet_c" = "daq.water_in"
"water.outlet_c" = "daq.water_out"
"water.flow_m3h" = "flow.flow_v1"
"electrical.power_w" = ["pa_odu.P_sigma", "pa_idu.P_sigma"]
"""


@pytest.fixture
async def lab():
    clock = ScaledClock(10.0)
    model = BenchModel(clock)
    addresses, stops = {}, {}
    for name, driver in (
        ("pa_odu", "yokogawa_wt333e"),
        ("pa_idu", "yokogawa_wt332e"),
        ("daq", "keysight_daq970a"),
        ("flow", "kamstrup_multical"),
    ):
        addresses[name], _, stops[name] = await start_simulator(driver, model)
    station = parse_station(STATION.format(**addresses), "lab.toml")
    instruments = build_instruments(station)
    for inst in instruments.values():
        inst.timeout_s = 0.5  # a stopped simulator is a stale part within the test
        await inst.connect()
    frames = []
    acq = Acquisition(
        instruments,
        clock,
        1.0,
        frames.append,
        derived=station.layout.derived().values(),
    )
    acq.start()
    yield station, instruments, acq, frames, stops
    await acq.stop()
    for inst in instruments.values():
        await inst.close()
    for stop in stops.values():
        await stop()


async def test_the_derived_power_is_the_sum_of_the_parts_in_packed_frames(lab):
    station, instruments, acq, frames, _ = lab
    await wait_for(lambda: len(frames) >= 3)
    frame = frames[-1]
    odu, idu = frame.value("pa_odu.P_sigma"), frame.value("pa_idu.P_sigma")
    assert odu is not None and idu is not None and odu > 0 and idu > 0
    assert frame.value("power_analyser.P") == odu + idu
    assert frame.readings["power_analyser.P"].unit == "W"
    assert frame.value("hydraulic_module.inlet_temp") == frame.value("daq.water_in")
    flow_lh = frame.value("flow.flow_v1")
    assert flow_lh is not None and flow_lh > 0
    assert frame.value("hydraulic_module.volume_flow") == pytest.approx(flow_lh * 0.001)
    assert frame.readings["hydraulic_module.volume_flow"].unit == "m³/h"
    # the parts are kept, the derived ids follow them, and the frame arrives packed
    ids = list(bench_channels(station, instruments))
    assert acq.layout.ids == tuple(ids)
    assert ids.index("pa_idu.P_sigma") < ids.index("power_analyser.P")
    assert frame.row is not None and frame.layout is acq.layout


async def test_a_stale_part_makes_the_derived_power_not_ok(lab):
    _, _, _, frames, stops = lab
    await wait_for(lambda: len(frames) >= 2)
    await stops["pa_idu"]()
    await wait_for(lambda: frames[-1].readings["pa_idu.P_sigma"].quality is Quality.STALE)
    derived = frames[-1].readings["power_analyser.P"]
    assert derived.quality is Quality.STALE
    assert derived.detail.startswith("pa_idu.P_sigma: ")
    assert frames[-1].value("power_analyser.P") is None  # never used for a result
    assert frames[-1].value("hydraulic_module.inlet_temp") is not None


def test_derive_takes_the_worst_part_and_converts_the_unit():
    d = Derived("hydraulic_module.volume_flow", "m³/h", ("a.q", "b.q"), 0.001)
    ok = Reading.ok(1000.0, "l/h")
    assert derive(d, {"a.q": ok, "b.q": ok}) == Reading.ok(2.0, "m³/h")
    stale = ok.stale("no answer")
    bad = Reading.invalid("l/h", "over range")
    found = derive(d, {"a.q": stale, "b.q": bad})
    assert (found.quality, found.value, found.detail) == (Quality.INVALID, None, "b.q: over range")
    found = derive(d, {"a.q": stale, "b.q": ok})
    assert found.quality is Quality.STALE and found.value is not None
    assert math.isclose(found.value, 2.0)
    found = derive(d, {"a.q": ok})
    assert (found.quality, found.detail) == (Quality.INVALID, "b.q: no such channel")


NAMED = {
    "[instruments.climate_chamber]": "[instruments.chamber]",
    "[instruments.power_analyser]": "[instruments.pa]",
    "[instruments.heat_pump]": "[instruments.hp]",
    "[instruments.hydraulic_module]": "[instruments.hm]",
    "[safe_state]": """[commands]
air = "chamber"
water = "hm"
heat_pump = "hp"

[quantities]
"electrical.power_w" = "pa.P"
"electrical.voltage_v" = "pa.U"
"electrical.u_range_v" = "pa.Urange"
"electrical.i_range_a" = "pa.Irange"

[safe_state]""",
}


async def test_a_plan_runs_on_the_simulated_bench_with_instruments_named_freely(tmp_path):
    """The sim station with its instruments renamed: commands reach them through [commands],
    its interlocks watch the derived contract ids, and the point is measured from them."""
    text = sim_station_path().read_text(encoding="utf-8")
    for old, new in NAMED.items():
        assert old in text
        text = text.replace(old, new)
    station = tmp_path / "named.toml"
    station.write_text(text)
    done = await run_on_sim(tmp_path, plan_text(A7), station=station)
    assert done.phase == Phase.DONE
    store = RunStore.open(done.prepared.run_dir)
    assert {"pa.P", "hp.defrost", "power_analyser.P", "heat_pump.defrost"} <= set(store.channels())
    [row] = store.points()
    assert row.status == "valid", row.record.get("reason")
    capacity, power = done.truth["A7W35"]
    results = row.record["results"]
    assert results["capacity_w"] == pytest.approx(capacity, rel=0.01)
    assert results["power_w"] == pytest.approx(power, rel=0.01)
