"""A broker that dies, comes back, or hangs never stalls acquisition and never costs the run
store a frame; telemetry resumes by itself and the retained status is current again."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal

from bench.run.sequencer import Phase
from bench.telemetry.config import TelemetrySettings, resolve


def config_for(mqtt, **settings):
    config = resolve(TelemetrySettings(**settings), station="sim-bench", mqtt_url=mqtt.url())
    return dataclasses.replace(config, timeout_s=2.0)  # a hung broker is noticed sooner


def assert_every_frame_stored(run):
    store = run.prepared.store
    seqs = [f.seq for f in store.frames()]
    assert seqs == list(range(len(seqs))), "frame seqs are not continuous"
    assert len(seqs) == run.engine.status().frames  # every frame acquired is in the store
    assert store.gaps() == []


async def test_broker_killed_mid_run_and_restarted(broker, subscriber, bench_run, until):
    mqtt = broker()
    seen = {}

    async def outage(run):
        pub, engine = run.publisher, run.engine
        await until(lambda: pub.stats.connected and pub.stats.published["frame"] >= 3, 30)
        seen["killed_at"] = engine.status().frames
        await asyncio.to_thread(mqtt.kill)
        await until(lambda: not pub.stats.connected, 15, "the publisher to notice")
        # acquisition and the store go on while the broker is gone
        await until(lambda: engine.status().frames >= seen["killed_at"] + 60, 30)
        seen["frames_published_while_down"] = pub.stats.published["frame"]
        seen["down_at"] = engine.status().frames
        seen["down_t"] = engine.clock.now()
        await asyncio.to_thread(mqtt.start)  # same port, no persistence: nothing retained
        late = await asyncio.to_thread(subscriber, mqtt, ["hpbench/#"])
        seen["late"] = late
        await until(lambda: pub.stats.connects >= 2, 30, "the reconnection")
        # the retained status is current again: republished on reconnect, from the engine now
        await until(lambda: late.of("status"), 15)
        await until(lambda: any(m.body["seq"] > seen["down_at"] for m in late.of("frame")), 15)

    run = await bench_run(config_for(mqtt, frame_rate_hz=5), speed=100, during=outage)
    assert run.phase == Phase.DONE
    assert_every_frame_stored(run)
    assert seen["frames_published_while_down"] >= 3

    late = seen["late"]
    status = late.of("status")[0].body
    assert status["online"] is True and status["state"] in ("running", "done")
    assert status["run_id"] == run.prepared.run_dir.name.rsplit("_", 1)[-1]
    assert status["frames"] >= seen["down_at"] and status["t"] >= seen["down_t"]

    # what was finished during or after the outage still arrives: points, the run's end
    await until(lambda: any(m.body["event"] == "end" for m in late.of("run")), 15)
    assert {m.body["id"] for m in late.of("point")} == {"A7W35", "A2W35"}

    lost = [line for line in run.log if "lost" in line]
    back = [line for line in run.log if "reconnected" in line]
    assert len(lost) == 1 and len(back) == 1, run.log  # one line per outage, not per retry
    assert run.publisher.stats.connects == 2


async def test_a_hung_broker_never_stalls_acquisition(broker, subscriber, bench_run, until):
    mqtt = broker()
    seen = {}

    async def hang(run):
        pub, engine = run.publisher, run.engine
        await until(lambda: pub.stats.connected and pub.stats.published["frame"] >= 3, 30)
        os.kill(mqtt.proc.pid, signal.SIGSTOP)  # accepts TCP (kernel backlog), answers nothing
        try:
            at = engine.status().frames
            await until(lambda: engine.status().frames >= at + 80, 30, "acquisition to go on")
            await until(lambda: not pub.stats.connected, 30, "the publisher to give up on it")
            seen["frames_then"] = pub.stats.published["frame"]
        finally:
            os.kill(mqtt.proc.pid, signal.SIGCONT)
        await until(lambda: pub.stats.published["frame"] > seen["frames_then"], 30, "resume")

    run = await bench_run(config_for(mqtt, frame_rate_hz=5), speed=100, during=hang)
    assert run.phase == Phase.DONE
    assert_every_frame_stored(run)
    assert run.publisher.stats.connects >= 2


async def test_no_broker_at_all_the_run_completes(bench_run, short_plan, tmp_path):
    config = resolve(None, station="sim-bench", mqtt_url="mqtt://127.0.0.1:9")
    run = await bench_run(config, plan=short_plan, speed=300)
    assert run.phase == Phase.DONE
    assert_every_frame_stored(run)
    assert sum(1 for line in run.log if "cannot reach" in line) == 1
    assert run.publisher.stats.connects == 0
