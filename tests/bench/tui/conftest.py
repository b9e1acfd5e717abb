"""The TUI on the simulated bench: a real session, the real app, driven by Pilot.

Tests wait for the engine's own events (with a timeout), never for a wall-clock duration.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import textual.app
from textual._wait import wait_for_idle
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from bench.run.bus import Subscription
from bench.run.engine import Event
from bench.tui.app import HpbenchApp
from bench.tui.session import Bench, Session, open_bench
from tests.bench.telemetry.conftest import broker, schema_validator, subscriber

__all__ = ["broker", "schema_validator", "subscriber"]  # a real mosquitto for `tui --mqtt`

HERE = Path(__file__).parent
REPO = HERE.parents[2]
QUICK_PLAN = HERE / "plans" / "quick.yaml"  # runs to its end in a few wall seconds
LONG_PLAN = HERE / "plans" / "long.yaml"  # a point lasts long enough to act on it
BROKEN_PLAN = HERE / "plans" / "broken.yaml"
SPEED = 200.0
TIMEOUT_S = 60.0


KEY_IDLE_WAIT_S = 0.05


async def press_now(pilot: Pilot, key: str) -> None:
    """`pilot.press` for a key whose effect the test must catch early. A press waits, after the
    key, for the process to go idle, up to 1 s, twice; with the simulated bench at 200x the
    process is never idle, so the press took 2 wall seconds (400 bench seconds), and a quick
    plan could end, or a set phase pass, before the test looked. Here that wait is bounded;
    the press still returns only once the screen has handled every pending message
    (docs/decisions/0290). For app-wide keys (`g` on the plan screen, `s`, `space`), not for
    keys that switch screens."""
    with pytest.MonkeyPatch.context() as patch:
        brisk = functools.partial(wait_for_idle, max_sleep=KEY_IDLE_WAIT_S)
        patch.setattr(textual.app, "wait_for_idle", brisk)
        await pilot.press(key)


@pytest.fixture
def frozen_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The blinking cursor stays on: screenshots never depend on when they were taken."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    path = tmp_path / "results"
    path.mkdir()
    return path


@pytest.fixture
def sim_bench() -> Iterator[Bench]:
    with open_bench(None, sim=True, speed=SPEED) as bench:
        yield bench


@pytest.fixture
def session(sim_bench: Bench, results: Path) -> Session:
    return Session(sim_bench, results)


@pytest.fixture
def make_app(session: Session) -> Callable[..., HpbenchApp]:
    def make(plan: Path | None = None) -> HpbenchApp:
        return HpbenchApp(session, plan)

    return make


async def next_event(
    sub: Subscription[Event],
    match: Callable[[Event], bool],
    timeout: float = TIMEOUT_S,  # noqa: ASYNC109
) -> Event:
    """The first event on `sub` that matches (events before it are consumed)."""

    async def wait() -> Event:
        while True:
            event = await sub.get()
            if match(event):
                return event

    return await asyncio.wait_for(wait(), timeout)


def state_to(phase: str) -> Callable[[Event], bool]:
    return lambda e: e.kind == "state" and e.data.get("to") == phase


async def until(
    pilot: Pilot,
    condition: Callable[[], bool],
    timeout: float = TIMEOUT_S,  # noqa: ASYNC109
) -> None:
    """Let the app run until `condition` holds (checked between its message batches)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await pilot.pause(0.1)


def screen_text(app: HpbenchApp) -> str:
    """What the terminal shows now, as plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)
