"""Messages between the app, its screens and their workers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from bench.plan import Estimate, Plan
    from bench.tui.live import LiveState
    from bench.tui.recorded import RecordedRun, RunListing


@dataclass
class LiveUpdated(Message):
    """New frames, events or status arrived (posted at most ~10 times a second)."""

    live: LiveState


@dataclass
class PlanLoaded(Message):
    """A plan file was read and validated (by a thread worker)."""

    plan: Plan
    estimate: Estimate


@dataclass
class PlanFailed(Message):
    """A plan file has problems: one `file:line: field: message` per item."""

    path: Path
    problems: tuple[str, ...]


@dataclass
class RunsListed(Message):
    runs: list[RunListing]


@dataclass
class RunOpened(Message):
    run: RecordedRun
