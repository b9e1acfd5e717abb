"""The header tells the truth: bench clock against wall clock, each instrument's data age, and
ETAs that count down (or say what the point waits for)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from bench.run.engine import SETTING_ESTIMATE_S
from bench.run.sequencer import Phase
from bench.tui.app import HpbenchApp
from bench.tui.session import Session
from bench.tui.widgets.progress import waiting_for

from .conftest import LONG_PLAN, SPEED, next_event, screen_text, state_to, until
from .test_pilot import start_plan

MakeApp = Callable[..., HpbenchApp]
CLOCKS = re.compile(r"bench (\d\d):(\d\d):(\d\d) ×(\d+) · wall (\d\d):(\d\d):(\d\d)")


def _of_day(h: str, m: str, s: str) -> int:
    return int(h) * 3600 + int(m) * 60 + int(s)


def _apart(a: float, b: float) -> float:
    """Seconds between two times of day, across midnight."""
    d = abs(a - b) % 86400
    return min(d, 86400 - d)


def _age(text: str, name: str) -> int | None:
    found = re.search(rf" {name} (\d+)s", text)
    return int(found.group(1)) if found else None


async def test_header_shows_bench_and_wall_clock_and_each_instruments_data_age(
    make_app: MakeApp, session: Session
) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: session.connected and app.live.frame is not None)
        await until(pilot, lambda: CLOCKS.search(screen_text(app)) is not None)
        shown = CLOCKS.search(screen_text(app))
        assert shown is not None
        bench_now, wall_now = session.clock.now() % 86400, time.time() % 86400
        assert int(shown.group(4)) == SPEED
        assert _apart(_of_day(*shown.group(1, 2, 3)), bench_now) < 10 * SPEED  # 10 wall s
        assert _apart(_of_day(*shown.group(5, 6, 7)), wall_now) < 10

        for name in ("chamber", "analyser", "pump", "hydro"):
            assert _age(screen_text(app), name) is not None, name
        session.bench.simulator.faults.inject("power_analyser", "drop")
        await until(pilot, lambda: (_age(screen_text(app), "analyser") or 0) >= 3)
        assert (_age(screen_text(app), "chamber") or 0) <= 1  # the others still answer
        session.bench.simulator.faults.clear("power_analyser")
        await until(pilot, lambda: _age(screen_text(app), "analyser") == 0)


IN_PHASE = re.compile(
    r"SETTING +1/2 \S+ +(\d):(\d\d):(\d\d) in phase +ETA point (\d):(\d\d):(\d\d)"
)


async def test_eta_counts_down_while_setting(make_app: MakeApp, session: Session) -> None:
    """The engine estimates a set phase as a fixed length: the header takes off the time spent
    (it froze before: time in phase + ETA grew with every second of setting).

    The chamber lacks capacity, so the point stays in setting however long the pilot's key
    press waits for the app to settle (the five minutes of a 1 K/min ramp are 1.5 wall seconds
    at 200x: a plain start could leave setting before the test looks)."""
    app = make_app(LONG_PLAN)
    events = session.events.subscribe("test", maxsize=10_000)
    assert session.bench.simulator is not None
    session.bench.simulator.faults.inject("climate_chamber", "chamber_stuck", offset=3.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_plan(pilot, app)
        await next_event(events, state_to("setting"))
        assert session.engine is not None and session.engine.sequencer.point is not None
        spec = session.engine.sequencer.point.spec

        def counted() -> re.Match[str] | None:
            found = IN_PHASE.search(screen_text(app))
            return found if found and _of_day(*found.group(1, 2, 3)) >= 60 else None

        await until(pilot, lambda: counted() is not None)
        found = counted()
        assert found is not None
        in_phase, eta = _of_day(*found.group(1, 2, 3)), _of_day(*found.group(4, 5, 6))
        whole = SETTING_ESTIMATE_S + spec.equilibrium_s + spec.collection_s
        assert abs(in_phase + eta - whole) <= 2  # whole seconds, each cut down
        session.abort()
        await until(pilot, lambda: not session.running)


def test_a_defrost_wait_is_named_not_counted() -> None:
    """A transient point that has held its equilibrium waits for a defrost end: no clock."""
    assert waiting_for(Phase.EQUILIBRIUM, transient=True, in_defrost=False, ready=True) == (
        "waiting for defrost"
    )
    assert waiting_for(Phase.COLLECTING, transient=True, in_defrost=True, ready=True) == (
        "defrost under way"
    )
    assert waiting_for(Phase.EQUILIBRIUM, transient=False, in_defrost=False, ready=False) == ""
