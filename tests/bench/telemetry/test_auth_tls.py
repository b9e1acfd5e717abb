"""Credentials and TLS: a wrong password is one clear line and the run goes on without
telemetry (or does not start when the station requires telemetry); TLS with a CA made here;
the password never shows in a log line or a result file."""

from __future__ import annotations

import asyncio

import pytest

from bench.run.sequencer import Phase
from bench.telemetry.commands import TelemetryUnavailable, telemetry_for_run
from bench.telemetry.config import TelemetrySettings, resolve


def station_text(url: str, **table: object) -> str:
    lines = ["[station]", 'name = "lab-bench-3"', "", "[telemetry]", f'url = "{url}"']
    for key, value in table.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        else:
            lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


def files_contain(folder, secret: str) -> list[str]:
    needle = secret.encode()
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


async def test_wrong_password_is_one_clear_line_and_the_run_goes_on(
    broker, subscriber, bench_run, short_plan, tmp_path, creds
):
    USER, _ = creds
    mqtt = broker(auth=True)
    sub = subscriber(mqtt, ["hpbench/#"])
    wrong = "not-the-Pa55word"
    config = resolve(None, station="sim-bench", mqtt_url=mqtt.url(USER, wrong))
    run = await bench_run(config, plan=short_plan, speed=300)

    assert run.phase == Phase.DONE
    assert run.prepared.store.last_seq() + 1 == run.engine.status().frames
    refused = [line for line in run.log if "refused" in line]
    assert run.log == refused, run.log  # nothing else: no retries, no summary
    (line,) = refused
    assert "\n" not in line
    assert f"mqtt://{USER}@127.0.0.1:{mqtt.port}" in line
    assert "refused the credentials (user 'bench'): not authorized" in line
    assert line.endswith("the run continues without telemetry")
    assert run.publisher.stats.connects == 0 and run.publisher.stats.refused
    assert run.engine.frames.subscriptions == []  # detached at once
    assert not [m for m in sub.snapshot() if m.topic.startswith("hpbench/")]
    assert files_contain(tmp_path / "results", wrong) == []


async def test_password_from_the_environment(
    broker, subscriber, bench_run, short_plan, tmp_path, creds
):
    USER, PASSWORD = creds
    mqtt = broker(auth=True)
    sub = subscriber(mqtt, ["hpbench/#"])
    settings = TelemetrySettings(url=mqtt.url(), username=USER, password_env="LAB_MQTT_PW")
    config = resolve(settings, station="sim-bench", env={"LAB_MQTT_PW": PASSWORD})
    assert PASSWORD not in repr(config) and PASSWORD not in str(config.broker)
    run = await bench_run(config, plan=short_plan, speed=300)
    assert run.phase == Phase.DONE
    assert {m.topic.rsplit("/", 1)[1] for m in sub.snapshot()} >= {"status", "frame", "run"}
    assert not any(PASSWORD in line for line in run.log)
    assert files_contain(tmp_path / "results", PASSWORD) == []


def test_required_telemetry_refuses_to_start_on_a_wrong_password(broker, tmp_path, creds):
    USER, PASSWORD = creds
    mqtt = broker(auth=True)
    text = station_text(mqtt.url(USER), password_env="LAB_MQTT_PW", required=True)
    path = tmp_path / "station.toml"
    path.write_text(text)
    with pytest.raises(TelemetryUnavailable) as refused:
        telemetry_for_run(None, text, str(path), env={"LAB_MQTT_PW": "wrong-one"})
    message = str(refused.value)
    assert "\n" not in message and "wrong-one" not in message
    assert message.startswith("telemetry is required by the station, but mqtt://bench@127.0.0.1")
    assert "refused the credentials (user 'bench')" in message and message.endswith("not starting")

    ok = telemetry_for_run(None, text, str(path), env={"LAB_MQTT_PW": PASSWORD})
    assert ok is not None and ok.required and ok.station == "lab-bench-3"


def test_required_telemetry_refuses_to_start_without_a_broker(tmp_path):
    text = station_text("mqtt://127.0.0.1:9", required=True)
    with pytest.raises(TelemetryUnavailable, match=r"cannot be reached: .*not starting$"):
        telemetry_for_run(None, text, str(tmp_path / "station.toml"))
    # not required: the run starts, and the publisher keeps trying in the background
    assert telemetry_for_run(None, station_text("mqtt://127.0.0.1:9"), "s.toml") is not None


async def test_tls_with_a_test_ca(
    broker, subscriber, bench_run, short_plan, schema_validator, creds
):
    USER, PASSWORD = creds
    mqtt = broker(auth=True, tls=True)
    sub = subscriber(mqtt, ["hpbench/#"])  # mosquitto_sub over TLS, with the same CA file
    settings = TelemetrySettings(ca_file=str(mqtt.tls.ca), required=True)
    config = resolve(
        settings,
        station="sim-bench",
        mqtt_url=f"mqtts://{USER}@127.0.0.1:{mqtt.port}",
        env={"HPBENCH_MQTT_PASSWORD": PASSWORD},
    )
    assert config.broker.tls
    run = await bench_run(config, plan=short_plan, speed=300)
    assert run.phase == Phase.DONE
    ours = [m for m in sub.snapshot() if m.topic.startswith("hpbench/")]
    assert {m.topic.rsplit("/", 1)[1] for m in ours} >= {"status", "frame", "point", "run"}
    for m in ours:
        schema_validator(m.topic.rsplit("/", 1)[1], m.body)
    assert run.log[0].startswith(f"telemetry: publishing to mqtts://{USER}@127.0.0.1:")
    assert not any(PASSWORD in line for line in run.log)


async def test_tls_with_a_certificate_we_do_not_trust(
    broker, bench_run, short_plan, tmp_path, make_ca
):
    mqtt = broker(tls=True)
    stranger = make_ca("someone else CA")
    settings = TelemetrySettings(url=mqtt.url(), ca_file=str(stranger.ca))
    config = resolve(settings, station="sim-bench")
    run = await bench_run(config, plan=short_plan, speed=300)
    assert run.phase == Phase.DONE
    (line,) = run.log
    assert "TLS: certificate verify failed" in line or "TLS:" in line, line
    assert line.endswith("the run continues without telemetry")

    text = station_text(mqtt.url(), ca_file=str(stranger.ca), required=True)
    with pytest.raises(TelemetryUnavailable, match="TLS"):  # no event loop in that thread
        await asyncio.to_thread(telemetry_for_run, None, text, str(tmp_path / "station.toml"))
