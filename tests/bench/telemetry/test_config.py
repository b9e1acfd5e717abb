"""Broker URLs, the station file's [telemetry] table, credentials and their redaction, and the
payload helpers - no broker needed."""

from __future__ import annotations

import json
import math
import tomllib
from types import SimpleNamespace

import pytest

from bench.telemetry import payloads
from bench.telemetry.config import (
    PASSWORD_ENV,
    REDACTED,
    TelemetryConfigError,
    TelemetrySettings,
    load_telemetry,
    parse_url,
    redact_station_text,
    redact_url,
    resolve,
    settings_from_station_text,
)

SECRET = "p@ss:w/rd"  # needs %-encoding in a URL
ENCODED = "p%40ss%3Aw%2Frd"


@pytest.mark.parametrize(
    ("url", "tls", "host", "port", "user"),
    [
        ("mqtt://broker.lab", False, "broker.lab", 1883, None),
        ("mqtts://broker.lab", True, "broker.lab", 8883, None),
        ("mqtt://bench@10.0.0.5:1884", False, "10.0.0.5", 1884, "bench"),
        ("mqtts://bench:x@[::1]:9999/", True, "::1", 9999, "bench"),
    ],
)
def test_parse_url(url, tls, host, port, user):
    broker = parse_url(url)
    assert (broker.tls, broker.host, broker.port, broker.username) == (tls, host, port, user)


def test_a_url_password_is_decoded_and_never_shown():
    broker = parse_url(f"mqtt://bench:{ENCODED}@broker.lab")
    assert broker.password.get_secret_value() == SECRET
    for shown in (str(broker), repr(broker), repr(broker.password)):
        assert SECRET not in shown and ENCODED not in shown
    assert str(broker) == "mqtt://bench@broker.lab:1883"
    assert redact_url(f"mqtts://bench:{ENCODED}@h:1") == f"mqtts://bench:{REDACTED}@h:1"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://bench:hunter2@host", "scheme must be mqtt or mqtts"),
        ("mqtt://bench:hunter2@", "no host"),
        ("mqtt://bench:hunter2@host:99999", "expected mqtt[s]://"),
        ("mqtt://bench:hunter2@host:0", "port 1-65535"),
        ("mqtt://bench:hunter2@host/topic", "no path"),
        ("broker.lab:1883", "scheme"),
    ],
)
def test_bad_urls_say_why_without_the_password(url, why):
    with pytest.raises(TelemetryConfigError) as error:
        parse_url(url)
    assert why in str(error.value) and "hunter2" not in str(error.value)


STATION = """\
[station]
name = "lab-bench-3"

[telemetry]
url = "mqtts://bench@broker.lab"
topic_prefix = "acme/hpbench"
frame_rate_hz = 2
ca_file = "certs/lab-ca.crt"
password_env = "LAB_MQTT_PW"
required = true

[telemetry.qos]
frame = 1
"""


def test_the_station_table(tmp_path):
    path = tmp_path / "station.toml"
    path.write_text(STATION)
    config = load_telemetry(STATION, str(path), env={"LAB_MQTT_PW": SECRET})
    assert config.topic("status") == "acme/hpbench/lab-bench-3/status"
    assert config.frame_rate_hz == 2 and config.required
    assert config.qos == {"status": 1, "frame": 1, "point": 1, "event": 1, "run": 1}
    assert config.ca_file == tmp_path / "certs" / "lab-ca.crt"  # relative to the station file
    assert config.broker.password.get_secret_value() == SECRET
    assert SECRET not in repr(config) and SECRET not in repr(
        settings_from_station_text(
            STATION.replace('password_env = "LAB_MQTT_PW"', f'password = "{SECRET}"'), "s.toml"
        )
    )


def test_no_table_and_no_flag_is_no_telemetry():
    assert load_telemetry('[station]\nname = "b"\n', "s.toml") is None
    off = '[station]\nname = "b"\n[telemetry]\nenabled = false\nurl = "mqtt://h"\n'
    assert load_telemetry(off, "s.toml") is None
    flagged = load_telemetry(off, "s.toml", mqtt_url="mqtt://other:1999")  # --mqtt wins
    assert str(flagged.broker) == "mqtt://other:1999" and flagged.station == "b"


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("frame_rate_hz = 0", "telemetry.frame_rate_hz", "greater than 0"),
        ("colour = 'red'", "telemetry.colour", "Extra inputs are not permitted"),
        ("topic_prefix = 'hp/#'", "telemetry.topic_prefix", "no wildcards"),
        ("url = 'ftp://bench:hunter2@h'", "telemetry.url", "scheme must be mqtt"),
        ("password_env = 'NOT A NAME'", "telemetry.password_env", "not an environment"),
    ],
)
def test_table_errors_name_file_line_and_field(line, field, message):
    text = f'[station]\nname = "b"\n\n[telemetry]\n{line}\n'
    with pytest.raises(TelemetryConfigError) as error:
        settings_from_station_text(text, "lab.toml")
    text_of = str(error.value)
    assert text_of.startswith(f"lab.toml:5: {field}: ") and message in text_of
    assert "hunter2" not in text_of


def test_bad_qos_names_its_line():
    text = '[station]\nname = "b"\n[telemetry]\nurl = "mqtt://h"\n[telemetry.qos]\nframe = 3\n'
    with pytest.raises(TelemetryConfigError, match=r"^lab.toml:6: telemetry.qos.frame: "):
        settings_from_station_text(text, "lab.toml")


def test_where_the_password_comes_from():
    env = {PASSWORD_ENV: "from-default-env", "MINE": "from-named-env"}

    def password(url, **table):
        config = resolve(TelemetrySettings(**table), station="b", mqtt_url=url, env=env)
        p = config.broker.password
        return p.get_secret_value() if p else None

    assert password("mqtt://u:from-url@h", password="from-table") == "from-url"
    assert password("mqtt://u@h", password="from-table", password_env="MINE") == "from-table"
    assert password("mqtt://u@h", password_env="MINE") == "from-named-env"
    assert password("mqtt://u@h") == "from-default-env"
    assert password("mqtt://h") is None  # no user: anonymous, the env's password unused
    assert password("mqtt://h", username="u") == "from-default-env"
    with pytest.raises(TelemetryConfigError, match="the environment has no ABSENT"):
        password("mqtt://u@h", password_env="ABSENT")


def test_required_needs_a_broker_and_tls_files_need_mqtts(tmp_path):
    with pytest.raises(TelemetryConfigError, match="required is true, but no broker"):
        resolve(TelemetrySettings(required=True), station="b")
    with pytest.raises(TelemetryConfigError, match="not mqtts"):
        resolve(TelemetrySettings(ca_file="ca.crt"), station="b", mqtt_url="mqtt://h")
    config = resolve(
        TelemetrySettings(ca_file=str(tmp_path / "missing.crt")), station="b", mqtt_url="mqtts://h"
    )
    with pytest.raises(TelemetryConfigError, match="TLS files"):
        config.tls_context()


def test_redact_station_text_keeps_everything_but_the_secrets():
    text = STATION.replace('password_env = "LAB_MQTT_PW"', f'password = "{SECRET}"').replace(
        "mqtts://bench@broker.lab", f"mqtts://bench:{ENCODED}@broker.lab"
    )
    redacted = redact_station_text(text)
    assert SECRET not in redacted and ENCODED not in redacted
    assert len(redacted.splitlines()) == len(text.splitlines())
    table = tomllib.loads(redacted)["telemetry"]
    assert table["password"] == REDACTED
    assert table["url"] == f"mqtts://bench:{REDACTED}@broker.lab"
    assert tomllib.loads(redacted)["station"] == tomllib.loads(text)["station"]
    # a resumed run reads the stored, redacted text: the password then comes from the env
    config = load_telemetry(redacted, "run.sqlite: station", env={PASSWORD_ENV: "again"})
    assert config.broker.password.get_secret_value() == "again"
    assert redact_station_text(STATION) == STATION  # nothing secret: unchanged


def test_redaction_falls_back_to_dropping_the_table():
    text = '[station]\nname = "b"\n[telemetry]\npassword = """multi\\u0041"""\nurl = "mqtt://h"\n'
    redacted = redact_station_text(text)
    assert "multiA" not in redacted and "multi" not in redacted
    assert "[telemetry] removed" in redacted and tomllib.loads(redacted)["station"]["name"] == "b"


# -- payloads -----------------------------------------------------------------------------


def test_json_safe_and_encode():
    value = {"a": math.nan, "b": (1, math.inf), 3: {"c": -math.inf}, "d": object}
    safe = payloads.json_safe(value)
    assert safe["a"] is None and safe["b"] == [1, None] and safe["3"] == {"c": None}
    assert isinstance(safe["d"], str)
    assert json.loads(payloads.encode(safe)) == safe
    with pytest.raises(ValueError):
        payloads.encode({"x": math.nan})


def test_state_of_every_phase():
    assert payloads.state_of("idle") == "starting"
    for phase in ("setting", "stabilising", "equilibrium", "collecting", "computing"):
        assert payloads.state_of(phase) == "running"
    assert payloads.state_of("held") == payloads.state_of("paused") == "paused"
    assert [payloads.outcome_of(p) for p in ("done", "aborted", "failed", "paused", None)] == [
        "done",
        "aborted",
        "failed",
        "interrupted",
        "interrupted",
    ]


def test_the_last_will_and_an_idle_status_are_valid(schema_validator):
    run = payloads.RunInfo("abc123", "demo", "/results/x_demo_abc123", speed=200, points=2)
    will = payloads.status_payload("b1", online=False, run=run, state="offline", reason="gone")
    schema_validator("status", will)
    assert will["phase"] is None and will["run_id"] == "abc123"
    idle = payloads.status_payload("b1", online=True)
    schema_validator("status", idle)
    assert idle["state"] == "idle"
    status = SimpleNamespace(
        phase="collecting",
        point_index=1,
        point_count=2,
        point_id="A2W35",
        time_in_phase_s=12.5,
        eta_point_s=math.nan,
        eta_plan_s=600.0,
        frames=41,
    )
    body = payloads.status_payload("b1", online=True, status=status, run=run, t=1.8e9)
    schema_validator("status", body)
    assert body["point"] == {"index": 1, "count": 2, "id": "A2W35"} and body["eta_point_s"] is None


def test_redaction_touches_only_the_secret():
    text = (
        '[station]\nname = "lab"\nlab = "lab 3"\n\n[telemetry]\n'
        "url = \"mqtt://lab:lab@lab.example\"  # the lab broker\npassword = 'lab'\n"
    )
    redacted = redact_station_text(text)
    assert redacted == text.replace("lab:lab@", f"lab:{REDACTED}@").replace(
        "'lab'", f"'{REDACTED}'"
    )
    dotted = 'telemetry.url = "mqtt://u:pw@h"\n[station]\nname = "b"\n'
    assert redact_station_text(dotted).startswith(f'telemetry.url = "mqtt://u:{REDACTED}@h"')
    inline = 'telemetry = { url = "mqtt://h", password = "pw" }\n[station]\nname = "b"\n'
    kept = redact_station_text(inline)
    assert '"pw"' not in kept and tomllib.loads(kept) == {"station": {"name": "b"}}
