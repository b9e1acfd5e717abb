"""The bench as the TUI's screens see it: a view adapter over the `BenchController`.

The controller owns the open bench for as long as the app runs - instruments, acquisition,
interlocks, the command queue and the safe-stop latch, the event log and the buses - and runs
plans exactly as `hpbench run` does (docs/decisions/0200-bench-controller.md). The session only
gives the screens one stable object to read and steer (docs/decisions/0007-tui-session.md);
it holds no bench state of its own.

With telemetry (`--mqtt` or the station's `[telemetry]`), one publisher lives as long as the
session: idle frames and events are published too, and each run's start, points and end.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.controller import (
    Bench,
    BenchController,
    CommandFailed,
    Limit,
    PointResult,
    SetpointPair,
    command_channel,
    open_bench,
    setpoint_limits,
    setpoint_pairs,
)
from bench.run.bus import Bus
from bench.run.commands import Command
from bench.run.engine import Engine, Event, Status
from bench.run.finish import Finished
from bench.run.frame import Frame
from bench.run.sequencer import PointState
from instruments.clock import Clock

if TYPE_CHECKING:
    from bench.telemetry.config import TelemetryConfig
    from bench.telemetry.publisher import Publisher

__all__ = [  # what the screens import from here
    "Bench",
    "CommandFailed",
    "Limit",
    "PointResult",
    "Session",
    "SetpointPair",
    "command_channel",
    "open_bench",
    "setpoint_limits",
    "setpoint_pairs",
]


@dataclass
class Session:
    """The bench as the app sees it. Everything here runs on the app's event loop."""

    bench: Bench
    results: Path
    idle_period_s: float | None = None  # bench seconds; default: at most 10 frames a wall second
    frames: Bus[Frame] = field(default_factory=Bus)
    events: Bus[Event] = field(default_factory=Bus)
    telemetry: TelemetryConfig | None = None

    def __post_init__(self) -> None:
        self.controller = BenchController(
            self.bench,
            self.results,
            idle_period_s=self.idle_period_s,
            frames=self.frames,
            events=self.events,
            telemetry=self.telemetry,
        )

    # -- what the app reads ----------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self.controller.clock

    @property
    def running(self) -> bool:
        """A plan is running (the engine owns the bench)."""
        return self.controller.running

    @property
    def connected(self) -> bool:
        return self.controller.connected

    @property
    def run_dir(self) -> Path | None:
        return self.controller.run_dir

    @property
    def engine(self) -> Engine | None:
        return self.controller.engine

    @property
    def point(self) -> PointState | None:
        return self.controller.point

    @property
    def finished(self) -> Finished | None:
        """How the last run of this session ended."""
        return self.controller.finished

    @property
    def plan_point_ids(self) -> list[str]:
        """Every point of the current (or last) run's plan, in plan order (none before a run)."""
        prepared = self.controller.prepared
        return [p.id for p in prepared.plan.points] if prepared else []

    @property
    def points(self) -> list[PointResult]:
        """Finished points of the current (or last) run."""
        return self.controller.points

    @points.setter
    def points(self, points: list[PointResult]) -> None:
        self.controller.points = points

    @property
    def limits(self) -> dict[str, Limit]:
        return self.controller.limits

    @property
    def period_s(self) -> float:
        return self.controller.period_s

    @property
    def publisher(self) -> Publisher | None:
        return self.controller.publisher

    def status(self) -> Status:
        return self.controller.status()

    def channels(self) -> dict[str, str]:
        """Every channel of the bench (id -> unit), in display order."""
        return self.controller.channels()

    def setpoint_pairs(self) -> list[SetpointPair]:
        """What an operator sets by hand, each beside the channel that measures it."""
        return self.controller.setpoint_pairs()

    def command_channel(self, role: str, command: str) -> str | None:
        """The channel holding what `role`'s `command` was last set to."""
        return self.controller.command_channel(role, command)

    # -- lifecycle -------------------------------------------------------------------------
    async def start_telemetry(self) -> None:
        await self.controller.start_telemetry()

    async def connect(self) -> None:
        """Connect every instrument and start watching them. Raises ConnectFailed."""
        await self.controller.connect()

    async def close(self, why: str = "quit") -> None:
        """Leave the bench in the safe state (see `BenchController.close`)."""
        await self.controller.close(why)

    def emit(self, t: float, kind: str, message: str, data: dict[str, Any]) -> None:
        self.controller.emit(t, kind, message, data)

    # -- operator actions ------------------------------------------------------------------
    def pause(self) -> bool:
        return self.controller.pause()

    def resume(self) -> bool:
        return self.controller.resume()

    def skip(self, point_id: str | None = None) -> bool:
        return self.controller.skip(point_id)

    def abort(self, run_dir: Path | None = None) -> bool:
        return self.controller.abort(run_dir)

    def command(self, command: Command) -> asyncio.Future[None]:
        """A manual set point or the safe state (which jumps every queue); the future is done
        when the instruments acknowledged it, and fails (CommandFailed) when they did not."""
        return self.controller.command(command)

    async def start_plan(self, plan_path: Path) -> Path:
        return await self.controller.start_plan(plan_path)

    async def resume_run(self, run_dir: Path) -> Path:
        return await self.controller.resume_run(run_dir)
