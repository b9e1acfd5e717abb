"""Snapshots of every screen at 80x24 (pytest-textual-snapshot; `--snapshot-update` to accept).

The bench here is still: the drivers are built but never connected, and the frames, events and
status the screens draw are made up with fixed numbers and times, so a screenshot depends only
on the code that draws it. The cursor blink is frozen (`frozen_cursor`).
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
from pathlib import Path

import pytest
from textual.pilot import Pilot

from bench.run.engine import Event, Status
from bench.run.frame import Frame
from bench.run.sequencer import Phase
from bench.station import build_instruments, load_station, sim_station_path
from bench.store import RunStore
from bench.tui.app import HpbenchApp
from bench.tui.live import Gauge
from bench.tui.screens.confirm import ConfirmScreen
from bench.tui.session import Bench, PointResult, Session
from instruments.base import Quality, Reading

from .conftest import BROKEN_PLAN, REPO, until

pytestmark = pytest.mark.usefixtures("frozen_cursor")

T0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
NOWHERE = {
    "power_analyser": "TCPIP::127.0.0.1::9::SOCKET",
    "heat_pump": "tcp://127.0.0.1:9",
    "hydraulic_module": "tcp://127.0.0.1:9",
    "climate_chamber_tty": "/dev/null",
}
RUN_STATUS = Status(Phase.STABILISING, 0, 2, "A7W35", 312.0, 1500.0, 3300.0, 421)
GAUGES = (
    Gauge("air_dry_bulb", 7.0, "°C", 0.42, 0.18, 1.0, 0.3, "K"),
    Gauge("air_wet_bulb", 6.0, "°C", 0.21, 0.35, 1.0, 0.4, "K"),
    Gauge("water_inlet", 30.0, "°C", -0.04, -0.02, 0.5, 0.2, "K"),
    Gauge("water_outlet", 35.0, "°C", 0.02, 0.01, 0.6, 0.3, "K"),
    Gauge("water_flow", 1.6, "m³/h", -0.3, -0.1, 2.5, 1.0, "%"),
    Gauge("supply_voltage", 230.0, "V", None, None, 4.0, 4.0, "%"),
)
POINTS = [
    PointResult("A7W35", "valid", "", 9250.4, 1917.9, 4.823),
    PointResult("A2W35", "invalid", "air_dry_bulb: mean +0.56 K beyond ±0.3 K", 9249.1, 2149, 4.3),
]


class StillClock:
    """Bench time stands at the newest made-up frame's (the header's clock and data ages)."""

    speed = 1.0

    def now(self) -> float:
        return T0 + 600.0

    async def sleep(self, seconds: float) -> None:
        raise AssertionError("nothing waits on a still bench")

    def to_wall(self, bench_seconds: float) -> float:
        return bench_seconds


class StillSession(Session):
    """A session whose status is whatever the test says; nothing is ever connected."""

    canned: Status | None = None

    def status(self) -> Status:
        return self.canned or super().status()


def still_session(results: Path) -> StillSession:
    station = load_station(sim_station_path())
    text = sim_station_path().read_text(encoding="utf-8")
    instruments = build_instruments(station, NOWHERE)
    bench = Bench(station, text, None, instruments, StillClock(), True, 1.0)
    return StillSession(bench, results)


def frame(session: Session, seq: int, *, stale: str | None = None) -> Frame:
    """Every channel with a made-up, smooth value; `stale` marks a whole role stale."""
    k = seq / 120.0
    values = {
        "climate_chamber.temperature": 7.0 + 3.0 * math.exp(-4 * k) + 0.05 * math.sin(seq),
        "climate_chamber.temperature_sp": 7.0,
        "climate_chamber.humidity": 86.0 + 0.4 * math.sin(seq / 3),
        "climate_chamber.humidity_sp": 86.8,
        "climate_chamber.mode": 2,
        "power_analyser.U": 230.1,
        "power_analyser.P": 1900.0 + 30 * math.sin(seq / 7),
        "heat_pump.on_off": 1,
        "heat_pump.defrost": 0,
        "heat_pump.flow_temp_sp": 35.0,
        "heat_pump.demand_pct": 0,
        "hydraulic_module.inlet_temp": 30.0 + 0.05 * math.sin(seq / 5),
        "hydraulic_module.outlet_temp": 35.0 + 0.5 * (1 - math.exp(-5 * k)),
        "hydraulic_module.volume_flow": 1.6,
        "hydraulic_module.inlet_temp_sp": 30.0,
        "hydraulic_module.flow_sp": 1.6,
    }
    readings = {}
    for cid, unit in session.channels().items():
        value = float(values.get(cid, 1.0))
        if stale and cid.startswith(stale):
            readings[cid] = Reading(value, unit, Quality.STALE, "no answer")
        elif cid == "heat_pump.alarm_code":
            readings[cid] = Reading.invalid(unit, "sentinel 0x8000")
        else:
            readings[cid] = Reading(value, unit)
    return Frame(seq, T0 + 5 * seq, readings)


EVENTS = [
    Event(T0, "state", "idle -> setting: point A7W35 (1/2)", {}),
    Event(T0 + 2, "command", "SetAir(temperature_c=7.0, humidity_pct=86.8)", {}),
    Event(T0 + 300, "instrument", "heat_pump read failed: timeout", {}),
    Event(T0 + 305, "instrument", "heat_pump answers again after: timeout", {}),
    Event(T0 + 420, "operator", "pause", {"action": "pause"}),
    Event(T0 + 480, "operator", "resume", {"action": "resume"}),
    Event(T0 + 600, "state", "setting -> stabilising: water side trimmed", {}),
    Event(T0 + 610, "alarm", "power_analyser read failed: connection refused", {}),
]


def make_app(tmp_path: Path, *, running: bool = True, plan: Path | None = None) -> HpbenchApp:
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    session = still_session(results)
    if running:
        session.canned = RUN_STATUS
        session.points = list(POINTS[:1])
    app = HpbenchApp(session, plan, connect=False)
    app.wall_clock = lambda: T0 + 605.0
    return app


async def feed(pilot: Pilot, *, frames: int = 120, stale: str | None = None) -> None:
    """Publish made-up frames and events, and let one refresh tick draw them."""
    app = pilot.app
    assert isinstance(app, HpbenchApp)
    session = app.session
    for event in EVENTS:
        session.events.publish(event)
    for seq in range(frames):
        session.frames.publish(frame(session, seq))
        if seq % 100 == 99:
            await pilot.pause(0.15)  # let the tick drain the bus (it holds 1024)
    if stale:
        session.frames.publish(frame(session, frames, stale=stale))
    if isinstance(session, StillSession) and session.canned:
        app.live.gauges = GAUGES
    last = app.live.event_count
    await until(pilot, lambda: app.live.event_count > last or app.live.frame is not None)
    await pilot.pause(0.3)


def test_bench_idle(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path, running=False), run_before=feed)


def test_bench_during_a_run(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), run_before=feed)


def test_bench_with_a_dead_instrument(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot) -> None:
        await feed(pilot, stale="power_analyser")

    assert snap_compare(make_app(tmp_path), run_before=run_before)


def test_bench_plots(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot) -> None:
        await feed(pilot, frames=240)
        await pilot.press("2")
        await pilot.pause(0.3)

    assert snap_compare(make_app(tmp_path), run_before=run_before)


def test_bench_log(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot) -> None:
        await feed(pilot)
        await pilot.press("3")

    assert snap_compare(make_app(tmp_path), run_before=run_before)


def test_plan_loaded(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    app = make_app(tmp_path, running=False, plan=Path("test_plans/demo.yaml"))

    async def run_before(pilot: Pilot) -> None:
        await pilot.press("p")
        await until(pilot, lambda: getattr(app.screen, "plan", None) is not None)

    assert snap_compare(app, run_before=run_before)


def test_plan_with_errors(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    app = make_app(tmp_path, running=False, plan=BROKEN_PLAN.relative_to(REPO))

    async def run_before(pilot: Pilot) -> None:
        await pilot.press("p")
        problems = lambda: str(app.screen.query_one("#plan-problems").render())  # noqa: E731
        await until(pilot, lambda: "broken.yaml:8" in problems())

    assert snap_compare(app, run_before=run_before)


def test_manual(snap_compare, tmp_path: Path) -> None:
    app = make_app(tmp_path, running=False)

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot, frames=10)
        await pilot.press("m")
        await pilot.pause(0.3)
        app.screen.query_one("#in-water_inlet").value = "90"
        await pilot.click("#set-water")
        await pilot.pause(0.2)

    assert snap_compare(app, run_before=run_before)


def test_runs_this_run(snap_compare, tmp_path: Path) -> None:
    app = make_app(tmp_path)

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot, frames=10)
        await pilot.press("r")
        await pilot.pause(0.3)

    assert snap_compare(app, run_before=run_before)


def recorded_run(results: Path, session: Session) -> Path:
    """A finished run on disk with fixed names, times and numbers."""
    run_dir = results / "2027-01-15_demo_5e0a11"
    store = RunStore.create(
        run_dir / "run.sqlite",
        run_id="5e0a11",
        plan_name="demo",
        plan_text="",
        station_text=session.bench.station_text,
        channels=session.channels(),
    )
    store.put_meta("outcome", "done")
    for seq in range(360):
        store.append(frame(session, seq))
    for event in EVENTS:
        store.event(event.t, event.kind, event.message, event.data)
    for index, point in enumerate(POINTS):
        results_ = {"capacity_w": point.capacity_w, "power_w": point.power_w, "cop": point.cop}
        record = {"reason": point.reason, "transient": False, "results": results_}
        store.put_point(index, point.id, point.status, record, started=T0, ended=T0 + 900)
    store.close()
    with contextlib.closing(sqlite3.connect(run_dir / "run.sqlite")) as db, db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'created'", ('"2027-01-15T08:00:00"',))
    return run_dir


def test_runs_past(snap_compare, tmp_path: Path) -> None:
    app = make_app(tmp_path, running=False)
    recorded_run(app.session.results, app.session)

    async def run_before(pilot: Pilot) -> None:
        await pilot.press("r", "2")
        await until(pilot, lambda: app.screen.query_one("#runs").row_count == 1)

    assert snap_compare(app, run_before=run_before)


def test_run_replayed(snap_compare, tmp_path: Path) -> None:
    app = make_app(tmp_path, running=False)
    recorded_run(app.session.results, app.session)

    async def run_before(pilot: Pilot) -> None:
        await pilot.press("r", "2")
        await until(pilot, lambda: app.screen.query_one("#runs").row_count == 1)
        await pilot.press("enter")
        title = lambda: str(app.screen.query_one("#run-view-title").render())  # noqa: E731
        await until(pilot, lambda: "read-only" in title())
        await pilot.press("2")
        await pilot.pause(0.3)

    assert snap_compare(app, run_before=run_before)


def test_confirm_abort(snap_compare, tmp_path: Path) -> None:
    app = make_app(tmp_path)

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot, frames=10)
        detail = "The bench goes to the safe state; an aborted run cannot be resumed."
        app.push_screen(ConfirmScreen("Abort the run?", detail, "Abort"))
        await pilot.pause(0.2)

    assert snap_compare(app, run_before=run_before)


WIDE = (160, 48)


def test_bench_during_a_run_wide(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), run_before=feed, terminal_size=WIDE)


def test_plan_loaded_wide(snap_compare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    app = make_app(tmp_path, running=False, plan=Path("test_plans/demo.yaml"))

    async def run_before(pilot: Pilot) -> None:
        await pilot.press("p")
        await until(pilot, lambda: getattr(app.screen, "plan", None) is not None)

    assert snap_compare(app, run_before=run_before, terminal_size=WIDE)


def test_manual_wide(snap_compare, tmp_path: Path) -> None:
    app = make_app(tmp_path, running=False)

    async def run_before(pilot: Pilot) -> None:
        await feed(pilot, frames=10)
        await pilot.press("m")
        await pilot.pause(0.3)

    assert snap_compare(app, run_before=run_before, terminal_size=WIDE)


def test_runs_past_wide(snap_compare, tmp_path: Path) -> None:
    app = make_app(tmp_path, running=False)
    recorded_run(app.session.results, app.session)

    async def run_before(pilot: Pilot) -> None:
        await pilot.press("r", "2")
        await until(pilot, lambda: app.screen.query_one("#runs").row_count == 1)

    assert snap_compare(app, run_before=run_before, terminal_size=WIDE)


@pytest.mark.parametrize("size", [(80, 24), WIDE], ids=["80x24", "160x48"])
def test_help_overlay(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot) -> None:
        await feed(pilot, frames=10)
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    assert snap_compare(make_app(tmp_path), run_before=run_before, terminal_size=size)
