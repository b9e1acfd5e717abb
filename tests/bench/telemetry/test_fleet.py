"""`hpbench fleet`: two simulated benches (separate processes) publishing at once; one is killed
and the fleet view marks it offline from its last will; selecting a bench shows its channels."""

from __future__ import annotations

import json

from bench.telemetry import payloads
from bench.telemetry.commands import fleet_command, fleet_config
from bench.telemetry.fleet import BenchScreen, FleetApp, FleetState


async def test_two_benches_live_and_one_killed_goes_offline(broker, bench_process, until):
    mqtt = broker()
    benches = {name: bench_process(mqtt.url(), name) for name in ("bench-a", "bench-b")}
    app = FleetApp(fleet_config(mqtt.url()))
    async with app.run_test(size=(160, 30)) as pilot:

        def live(name):
            bench = app.state.benches.get(name)
            return bench is not None and bench.online and bench.channels and bench.point

        await until(lambda: live("bench-a") and live("bench-b"), 90, "both benches live")
        await pilot.pause()
        for name in benches:
            row = app.row_text(name)
            assert row["online"] == "online" and row["state"] == "running", row
            assert row["plan"] == "demo" and row["point"].endswith("/2 A7W35"), row
            assert row["phase"] in ("setting", "stabilising", "equilibrium", "collecting"), row
            assert row["eta"] != "-", row

        benches["bench-b"].kill()  # no goodbye: only the broker's last will tells
        await until(lambda: app.state.benches["bench-b"].online is False, 30, "the last will")
        await pilot.pause()
        gone = app.row_text("bench-b")
        assert gone["online"] == "offline" and gone["state"] == "offline"
        assert gone["plan"] == "demo"  # what was known before is kept
        assert app.state.benches["bench-b"].reason == "connection lost (last will)"
        assert app.row_text("bench-a")["online"] == "online"

        # Enter on bench-a: its live channels
        table = app.query_one("#benches")
        table.move_cursor(row=table.get_row_index("bench-a"))
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, BenchScreen), 10)
        screen = app.screen
        assert screen.station == "bench-a"
        channels = screen.query_one("#channels")
        await until(lambda: "hydraulic_module.inlet_temp" in channels.rows, 10)
        value = channels.get_cell("hydraulic_module.inlet_temp", "value")
        assert float(value) > 0 and channels.get_cell("hydraulic_module.inlet_temp", "unit")
        seq = app.state.benches["bench-a"].frame_seq
        await until(lambda: app.state.benches["bench-a"].frame_seq > seq, 15, "a newer frame")
        await pilot.pause()
        assert f"frame {app.state.benches['bench-a'].frame_seq}" in str(
            screen.query_one("#summary").render()
        )
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, BenchScreen), 10)


def test_fleet_refuses_a_bad_url_a_dead_broker_or_bad_credentials_with_one_line(
    capsys, broker, creds
):
    user, _ = creds
    mqtt = broker(auth=True)
    assert fleet_command("http://nowhere") == 2
    assert fleet_command("mqtt://127.0.0.1:9") == 2
    assert fleet_command(mqtt.url(user), env={"HPBENCH_MQTT_PASSWORD": "wrong"}) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all(line.startswith("hpbench fleet: ") for line in lines)
    assert "scheme must be mqtt or mqtts" in lines[0]
    assert "cannot be reached" in lines[1]
    assert "refused the credentials (user 'bench')" in lines[2] and "wrong" not in lines[2]


def _msg(station, body):
    return f"hpbench/{station}/{body['topic']}", payloads.encode(body)


def test_fleet_state_merges_topics_and_keeps_what_a_will_does_not_say():
    state = FleetState("hpbench")
    run = payloads.RunInfo("r1", "demo", "/r/x_demo_r1", speed=10, points=2)
    status = type(
        "S",
        (),
        dict(
            phase="collecting",
            point_index=0,
            point_count=2,
            point_id="A7W35",
            time_in_phase_s=3.0,
            eta_point_s=100.0,
            eta_plan_s=1000.0,
            frames=12,
        ),
    )()
    online = payloads.status_payload("b1", online=True, status=status, run=run, interval_s=1)
    assert state.apply(*_msg("b1", online), now=100.0) == "b1"
    bench = state.benches["b1"]
    row = bench.row(100.5)
    assert row["online"] == "online" and row["point"] == "1/2 A7W35" and row["eta"] == "0:01:40"
    alarm = payloads.event_payload(
        "b1", "r1", type("E", (), dict(t=5.0, kind="alarm", message="HP alarm 12", data={}))()
    )
    state.apply(*_msg("b1", alarm), now=101.0)
    assert bench.row(101.0)["alarm"] == "HP alarm 12"
    assert bench.row(101.0 + 16)["online"] == "silent"  # quiet for 3 intervals (15 s at least)

    will = payloads.status_payload("b1", online=False, run=run, state="offline", reason="lost")
    state.apply(*_msg("b1", will), now=120.0)
    row = bench.row(120.0)
    assert row["online"] == "offline" and row["phase"] == "collecting" and row["plan"] == "demo"
    assert row["alarm"] == "HP alarm 12" and row["eta"] == "-"

    assert state.apply("hpbench/b2/status", b"not json") is None
    assert state.apply("hpbench/b2/status", json.dumps({"schema": "other/1"}).encode()) is None
    assert state.apply("elsewhere/b2/status", payloads.encode(online)) is None
    assert state.rejected == 2 and set(state.benches) == {"b1"}
