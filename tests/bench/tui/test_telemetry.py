"""`hpbench tui --mqtt`: the TUI's bench publishes for as long as the app runs - idle frames
and manual actions, then a plan's start, points and end - and goes offline when it quits."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from bench.run.commands import SetWater
from bench.telemetry.commands import telemetry_for_run
from bench.tui.app import HpbenchApp
from bench.tui.screens.summary import SummaryScreen
from bench.tui.session import Bench, Session

from .conftest import QUICK_PLAN, screen_text, until


def bodies(sub, kind: str) -> list[dict]:
    return [m.body for m in sub.of(kind) if isinstance(m.body, dict)]


async def test_the_tui_publishes_idle_manual_and_run_then_goes_offline(
    sim_bench: Bench,
    results: Path,
    broker,
    subscriber,
    schema_validator,
) -> None:
    mqtt = broker()
    sub = subscriber(mqtt, ["hpbench/#"])
    telemetry = telemetry_for_run(mqtt.url(), sim_bench.station_text, "sim station")
    assert telemetry is not None
    session = Session(sim_bench, results, telemetry=telemetry)
    app = HpbenchApp(session, QUICK_PLAN)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: session.connected)
        # idle: the bench is watched and published before any plan
        await until(pilot, lambda: bodies(sub, "frame"))
        await until(pilot, lambda: any(s["state"] == "idle" for s in bodies(sub, "status")))
        assert not bodies(sub, "run")
        session.command(SetWater(inlet_c=30.0, flow_m3h=1.2))
        await until(pilot, lambda: any("SetWater" in e["message"] for e in bodies(sub, "event")))

        await pilot.press("p")
        await until(pilot, lambda: "2 points (A15W35, A12W35)" in screen_text(app))
        await pilot.press("g")
        await until(pilot, lambda: any(r["event"] == "end" for r in bodies(sub, "run")))
        await until(pilot, lambda: session.connected)  # idle again after the run
        await until(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("escape", "q")
        await until(pilot, lambda: not app.is_running)
    await until_offline(sub)

    (start,) = [r for r in bodies(sub, "run") if r["event"] == "start"]
    (end,) = [r for r in bodies(sub, "run") if r["event"] == "end"]
    assert start["run_dir"] == end["run_dir"] == str(session.run_dir.resolve())
    assert end["outcome"] == "done"
    assert {p["id"] for p in bodies(sub, "point")} == {"A15W35", "A12W35"}
    assert end["point_statuses"] == {p.id: p.status for p in session.points}
    states = [s["state"] for s in bodies(sub, "status")]
    assert states[0] == "idle" and "running" in states and "done" in states
    assert states[-1] == "offline"
    for m in sub.snapshot():
        if m.topic.startswith("hpbench/"):
            schema_validator(m.topic.rsplit("/", 1)[1], m.body)


async def until_offline(sub) -> None:
    for _ in range(150):
        statuses = bodies(sub, "status")
        if statuses and statuses[-1]["online"] is False:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no offline status: {bodies(sub, 'status')[-1:]}")


def test_a_bad_mqtt_url_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()  # a usable results folder: the URL is what is refused
    done = subprocess.run(
        [sys.executable, "-m", "bench.cli", "tui", "--sim", "--mqtt", "http://broker:80"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("hpbench tui: telemetry:") and "http://broker:80" in line
