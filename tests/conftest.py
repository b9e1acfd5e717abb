"""Shared test fixtures: a clock the test moves by hand."""

from __future__ import annotations

import asyncio

import pytest


class ManualClock:
    """Bench time that moves only when the test says so: physics tests without waiting."""

    speed = 1.0

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)

    def to_wall(self, bench_seconds: float) -> float:
        return 0.0


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()
