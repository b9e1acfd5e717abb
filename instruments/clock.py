"""Bench time: real, or scaled N times faster than wall time.

Everything that waits or stamps asks a `Clock`. The simulators read the same clock as the
engine, so a ten-hour plan can be dry-run against the simulated bench in seconds. A scaled
clock is defined by three numbers and CLOCK_MONOTONIC, which Linux shares between processes,
so a simulator in another process can follow exactly the same bench time (`spec()`).

It lives in `instruments` (not `bench`, as docs/architecture.md sketches) because the simulators
need it and `instruments` must never import `bench`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    speed: float

    def now(self) -> float:
        """Bench time in seconds since the UNIX epoch."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of bench time."""
        ...

    def to_wall(self, bench_seconds: float) -> float:
        """How many wall seconds a span of bench time takes."""
        ...


class RealClock:
    """Wall time. Real hardware always runs on this."""

    speed = 1.0

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def to_wall(self, bench_seconds: float) -> float:
        return bench_seconds


class ScaledClock:
    """Bench time running `speed` times faster than wall time, from `origin` (epoch seconds)."""

    def __init__(
        self,
        speed: float,
        origin: float | None = None,
        origin_monotonic: float | None = None,
    ) -> None:
        if not 1.0 <= speed <= 100_000.0:
            raise ValueError(f"clock speed must be between 1 and 100000, not {speed}")
        self.speed = float(speed)
        self.origin = time.time() if origin is None else origin
        self.origin_monotonic = time.monotonic() if origin_monotonic is None else origin_monotonic

    def now(self) -> float:
        return self.origin + (time.monotonic() - self.origin_monotonic) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def to_wall(self, bench_seconds: float) -> float:
        return bench_seconds / self.speed

    def spec(self) -> dict[str, float]:
        """What another process needs to build the identical clock."""
        return {
            "speed": self.speed,
            "origin": self.origin,
            "origin_monotonic": self.origin_monotonic,
        }


def make_clock(speed: float = 1.0) -> Clock:
    return RealClock() if speed == 1.0 else ScaledClock(speed)
