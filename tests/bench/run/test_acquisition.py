"""Acquisition against the real drivers and the simulated bench, with faults injected."""

from __future__ import annotations

import asyncio

import pytest

from bench.run.acquisition import Acquisition, channels_of
from bench.run.bus import Bus
from bench.run.frame import Frame, FrameLayout
from bench.station import build_instruments, load_station, sim_station_path
from instruments.base import Quality
from instruments.clock import ScaledClock
from instruments.sim.bench import SimBenchThread
from tests.bench.run.conftest import wait_for


@pytest.fixture
def bench():
    clock = ScaledClock(10.0)
    sim = SimBenchThread(clock)
    endpoints = sim.start()
    station = load_station(sim_station_path())
    instruments = build_instruments(station, endpoints.as_dict())
    # short driver timeouts so a held reply is a timeout within the test
    instruments["power_analyser"].timeout_s = 0.3
    yield clock, sim, instruments
    sim.stop()


class Recorder:
    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.events: list[str] = []

    def sink(self, frame: Frame) -> None:
        self.frames.append(frame)

    def event(self, t: float, kind: str, message: str) -> None:
        self.events.append(message)

    def quality(self, channel: str, frame: int = -1) -> Quality:
        return self.frames[frame].readings[channel].quality


async def start(clock, instruments, rec: Recorder, period: float = 1.0) -> Acquisition:
    acq = Acquisition(instruments, clock, period, rec.sink, on_event=rec.event)
    for inst in instruments.values():
        await inst.connect()
    acq.start()
    await wait_for(lambda: len(rec.frames) >= 3)
    return acq


async def stop(acq: Acquisition, instruments) -> None:
    await acq.stop()
    await asyncio.gather(*(i.close() for i in instruments.values()), return_exceptions=True)


async def test_every_channel_of_every_role_in_each_frame_with_continuous_seq(bench):
    clock, _, instruments = bench
    rec = Recorder()
    acq = await start(clock, instruments, rec)
    await wait_for(lambda: len(rec.frames) >= 10)
    await stop(acq, instruments)
    assert [f.seq for f in rec.frames] == list(range(len(rec.frames)))
    assert set(rec.frames[-1].readings) == set(channels_of(instruments))
    assert all(r.quality is Quality.OK for r in rec.frames[-1].readings.values() if r.value)
    # each frame comes packed in the order a run's store is created with
    layout = FrameLayout(channels_of(instruments))
    for f in rec.frames:
        assert f.layout is not None and f.layout.ids == layout.ids
        assert f.row == layout.row(f.seq, f.t, f.readings)
    # frames sit on the one-second bench grid
    steps = {round(b.t - a.t, 6) for a, b in zip(rec.frames, rec.frames[1:], strict=False)}
    assert steps <= {1.0, 2.0, 3.0}


async def test_a_silent_instrument_goes_stale_without_delaying_the_others(bench):
    clock, sim, instruments = bench
    rec = Recorder()
    acq = await start(clock, instruments, rec)
    sim.faults.inject("power_analyser", "delay", seconds=1.0)
    n = len(rec.frames)
    await wait_for(lambda: any("power_analyser read failed" in e for e in rec.events))
    await wait_for(lambda: len(rec.frames) >= n + 8)
    stale = [f for f in rec.frames[n:] if f.readings["power_analyser.P"].quality is Quality.STALE]
    assert stale, "the held analyser never went stale"
    for frame in stale:  # the others were read fresh in the very same frames
        assert frame.readings["hydraulic_module.inlet_temp"].quality is Quality.OK
        assert frame.readings["climate_chamber.temperature"].quality is Quality.OK
    sim.faults.clear()
    await wait_for(lambda: rec.quality("power_analyser.P") is Quality.OK, 20)
    await stop(acq, instruments)
    assert any("power_analyser answers again" in e for e in rec.events)


async def test_a_dropped_instrument_is_retried_with_back_off_and_recovers(bench):
    clock, sim, instruments = bench
    rec = Recorder()
    acq = await start(clock, instruments, rec)
    sim.faults.inject("hydraulic_module", "drop")
    await wait_for(lambda: any("hydraulic_module read failed" in e for e in rec.events))
    poller = next(p for p in acq.pollers if p.role == "hydraulic_module")
    await wait_for(lambda: poller.failures >= 3)
    assert poller.retry_at - clock.now() <= 30.0
    assert poller.retry_at > rec.frames[-1].t  # waiting out its back-off, not asked every tick
    sim.faults.clear()
    await wait_for(lambda: rec.quality("hydraulic_module.volume_flow") is Quality.OK, 30)
    await stop(acq, instruments)
    assert any("hydraulic_module answers again" in e for e in rec.events)


async def test_sentinels_are_invalid_readings_and_events(bench):
    clock, sim, instruments = bench
    rec = Recorder()
    acq = await start(clock, instruments, rec)
    sim.faults.inject("power_analyser", "over_range")
    await wait_for(lambda: rec.quality("power_analyser.P") is Quality.INVALID)
    assert rec.frames[-1].value("power_analyser.P") is None
    sim.faults.clear()
    await wait_for(lambda: rec.quality("power_analyser.P") is Quality.OK)
    await stop(acq, instruments)
    invalid = [e for e in rec.events if e.startswith("power_analyser invalid: ")]
    assert invalid and "P" in invalid[0].split(": ", 1)[1].split(" (")[0].split(", ")
    assert any(e.startswith("power_analyser valid again: ") and "P" in e for e in rec.events)


async def test_a_slow_subscriber_drops_frames_and_never_blocks(bench):
    clock, _, instruments = bench
    bus: Bus[Frame] = Bus()
    slow = bus.subscribe("display", maxsize=2)
    rec = Recorder()

    def sink(frame: Frame) -> None:
        rec.sink(frame)
        bus.publish(frame)

    acq = Acquisition(instruments, clock, 1.0, sink)
    for inst in instruments.values():
        await inst.connect()
    acq.start()
    await wait_for(lambda: len(rec.frames) >= 10)
    await stop(acq, instruments)
    assert slow.dropped >= len(rec.frames) - 3
    assert slow.latest().seq == rec.frames[-1].seq  # what it still holds is the newest
