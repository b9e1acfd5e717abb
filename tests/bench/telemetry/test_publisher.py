"""A time-warped demo run publishes status, frame, point, run and event messages that a client
no one here wrote (`mosquitto_sub`) receives, each valid against the repo's JSON Schema."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from bench.run.bus import Bus
from bench.run.engine import Status
from bench.run.sequencer import Phase
from bench.telemetry.config import TelemetrySettings, resolve
from bench.telemetry.payloads import SCHEMA, RunInfo
from bench.telemetry.publisher import Outbox, Publisher, TelemetryStats

PUBLISHED = ("status", "frame", "point", "event", "run")


def config_for(broker, **settings):
    return resolve(TelemetrySettings(**settings), station="sim-bench", mqtt_url=broker.url())


async def test_mosquitto_sub_receives_a_demo_run_valid_against_the_schema(
    broker, subscriber, bench_run, schema_validator, until
):
    mqtt = broker()
    sub = subscriber(mqtt, ["hpbench/#"])
    run = await bench_run(config_for(mqtt, frame_rate_hz=5), speed=200)
    assert run.phase == Phase.DONE
    await until(lambda: any(m.body.get("online") is False for m in sub.of("status")), 15)

    ours = [m for m in sub.snapshot() if m.topic.startswith("hpbench/")]
    kinds = {m.topic.rsplit("/", 1)[1] for m in ours}
    assert {"status", "frame", "point", "run"} <= kinds
    for m in ours:
        station, kind = m.topic.split("/")[1:]
        assert station == "sim-bench" and kind in PUBLISHED, m.topic
        assert isinstance(m.body, dict), m.body
        assert m.body["schema"] == SCHEMA and m.body["topic"] == kind
        schema_validator(kind, m.body)

    # QoS per topic as documented (mosquitto_sub asked for 2, so it gets what we sent)
    assert {m.qos for m in sub.of("frame")} == {0}
    for kind in ("status", "point", "run"):
        assert {m.qos for m in sub.of(kind)} == {1}, kind

    store = run.prepared.store
    run_dir = str(run.prepared.run_dir.resolve())
    starts = [m.body for m in sub.of("run") if m.body["event"] == "start"]
    ends = [m.body for m in sub.of("run") if m.body["event"] == "end"]
    assert len(starts) == 1 and len(ends) == 1
    assert starts[0]["run_dir"] == ends[0]["run_dir"] == run_dir
    assert ends[0]["outcome"] == "done" and ends[0]["point_statuses"] == {
        "A7W35": "valid",
        "A2W35": "valid",
    }

    # every point, as the store has it
    stored = {row.point_id: row for row in store.points()}
    points = {m.body["id"]: m.body for m in sub.of("point")}
    assert points.keys() == stored.keys() == {"A7W35", "A2W35"}
    for pid, body in points.items():
        assert body["status"] == stored[pid].status
        assert body["results"]["cop"] == pytest.approx(stored[pid].record["results"]["cop"])

    # frames: the store's own frames (same seq, same values), thinned to the frame rate
    frames = [m.body for m in sub.of("frame")]
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(set(seqs)) and len(seqs) >= 3
    assert len(seqs) < store.last_seq() + 1  # coalesced: the topic is not the store
    assert run.publisher.stats.frames_coalesced > 0
    sample = frames[len(frames) // 2]
    (kept,) = store.frames(sample["seq"], sample["seq"])
    for cid, entry in sample["channels"].items():
        reading = kept.readings[cid]
        assert entry["unit"] == reading.unit and entry["quality"] == str(reading.quality)
        if reading.value is None:
            assert entry["value"] is None
        else:
            assert entry["value"] == pytest.approx(reading.value)

    # status: running with point i/n and ETA while it ran, done at the end, then offline
    statuses = [m.body for m in sub.of("status")]
    running = [s for s in statuses if s["state"] == "running"]
    assert running and all(s["point"]["count"] == 2 for s in running)
    assert any(s["eta_plan_s"] and s["eta_plan_s"] > 0 for s in running)
    assert any(s["state"] == "done" for s in statuses)
    assert statuses[-1]["online"] is False and statuses[-1]["state"] == "offline"
    assert statuses[-1]["phase"] == "done" and statuses[-1]["run_id"] == ends[0]["run_id"]

    # a client that comes later gets the retained status at once
    late = subscriber(mqtt, ["hpbench/+/status"])
    await until(lambda: late.of("status"), 10)
    first = late.of("status")[0]
    assert first.retained and first.body["state"] == "offline" and first.body["phase"] == "done"


async def test_operator_actions_and_state_reach_event_and_status(
    broker, subscriber, bench_run, short_plan, schema_validator, until
):
    mqtt = broker()
    sub = subscriber(mqtt, ["hpbench/#"])

    async def pause_and_resume(run):
        engine = run.engine
        await until(lambda: engine.sequencer.phase == Phase.EQUILIBRIUM, 60)
        engine.pause()
        try:  # resumed whatever happens, so a missing message fails here, not as a hung run
            await until(lambda: any(m.body["state"] == "paused" for m in sub.of("status")), 30)
        finally:
            engine.resume()

    run = await bench_run(
        config_for(mqtt, status_interval_s=60), plan=short_plan, speed=200, during=pause_and_resume
    )
    assert run.phase == Phase.DONE
    await until(lambda: any(m.body["event"] == "end" for m in sub.of("run")), 15)
    operator = [m.body for m in sub.of("event") if m.body["kind"] == "operator"]
    assert [e["message"] for e in operator] == ["pause", "resume"]
    for m in sub.of("event"):
        schema_validator("event", m.body)
        assert m.body["kind"] not in ("state", "point", "command")
    paused = next(m.body for m in sub.of("status") if m.body["state"] == "paused")
    assert paused["phase"] == "paused" and paused["point"]["id"] == "A7W35"


async def test_a_state_change_while_a_status_is_on_its_way_is_published(
    broker, subscriber, until, monkeypatch
):
    """The status is built when sent; a change that comes while that status waits for its
    PUBACK must be sent after it, not lost until the next interval (it was: CI caught a
    `paused` that never came)."""
    mqtt = broker()
    sub = subscriber(mqtt, ["hpbench/#"])
    phase = [Phase.IDLE]
    source = SimpleNamespace(
        frames=Bus(), events=Bus(), status=lambda: Status(phase[0], -1, 0, "", 0.0, None, None, 0)
    )
    publisher = Publisher(config_for(mqtt, status_interval_s=60), log=lambda line: None)
    real_publish = publisher._publish

    async def publish(client, topic, payload):
        if topic == "status" and phase[0] == Phase.IDLE:
            phase[0] = Phase.PAUSED  # the operator pauses while the idle status is in flight
            publisher._box().mark_status()
        await real_publish(client, topic, payload)

    monkeypatch.setattr(publisher, "_publish", publish)
    publisher.attach(source)
    await publisher.start()
    try:
        await until(lambda: any(m.body["phase"] == "paused" for m in sub.of("status")), 10)
    finally:
        await publisher.close()
    phases = [m.body["phase"] for m in sub.of("status")]
    assert phases[:2] == ["idle", "paused"]


# -- the outbox and the engine side, without a broker ----------------------------------------


def test_outbox_keeps_the_newest_frame_and_drops_the_oldest_message():
    async def go():
        stats = TelemetryStats()
        box = Outbox(3, stats)
        for seq in range(5):
            box.put_frame(SimpleNamespace(seq=seq))
        assert box.frame.seq == 4 and stats.frames_coalesced == 4
        for i in range(5):
            box.put("event", lambda i=i: {"i": i})
        box.put("point", lambda: {"p": 1})
        assert stats.dropped["event"] == 2 and stats.dropped["point"] == 0
        order = []
        while (item := box.head()) is not None:
            order.append(item.build())
            box.done(item)
        assert order == [{"i": 2}, {"i": 3}, {"i": 4}, {"p": 1}]  # oldest first, across lanes

    asyncio.run(go())


async def test_attach_chains_on_point_never_raises_into_the_engine_and_detaches(until):
    seen = []
    engine = SimpleNamespace(
        frames=Bus(),
        events=Bus(),
        on_point=lambda outcome, results: seen.append(outcome.spec.id),
        status=lambda: None,
        clock=SimpleNamespace(now=lambda: 1.8e9),
    )
    previous = engine.on_point
    # a port nothing listens on: the publisher retries in the background
    config = resolve(None, station="s1", mqtt_url="mqtt://127.0.0.1:9")
    lines = []
    pub = Publisher(config, log=lines.append)
    pub.attach(engine, RunInfo("r1", "demo", "/tmp/r1", points=1))
    await pub.start()
    assert len(engine.frames.subscriptions) == len(engine.events.subscriptions) == 1
    outcome = SimpleNamespace(spec=SimpleNamespace(id="A7W35", index=0), status="valid")
    engine.on_point(outcome, {"cop": 4.0})
    assert seen == ["A7W35"]
    for seq in range(100):  # a full subscription drops, it never blocks the publisher
        engine.frames.publish(SimpleNamespace(seq=seq))
    await until(lambda: pub.stats.last_error, 10)
    await pub.close("done", linger_s=0.5)
    assert engine.on_point is previous
    assert engine.frames.subscriptions == engine.events.subscriptions == []
    assert any("cannot reach mqtt://127.0.0.1:9" in line for line in lines)
    assert lines[-1].endswith("3 message(s) not delivered")  # run start, point, run end
