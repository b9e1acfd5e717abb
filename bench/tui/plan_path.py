"""Completion for the Plan screen's path field: a folder or plan file on disk, or the name of a
shipped plan (`hpbench plans`). The field shows the completion greyed; → accepts it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.suggester import Suggester

from bench.plan.catalog import shipped_plans

PLAN_SUFFIXES = (".yaml", ".yml")


def complete_plan_path(value: str, cwd: Path) -> str | None:
    """`value` completed to the first matching folder (ending in `/`) or plan file, in name
    order; a bare word also completes to a shipped plan's name. None when nothing matches."""
    if not value:
        return None
    head, slash, prefix = value.rpartition("/")
    folder = Path((head or "/") if slash else ".").expanduser()
    if not folder.is_absolute():
        folder = cwd / folder
    try:
        entries = sorted(folder.iterdir())
    except OSError:  # no such folder, or not readable: nothing to offer
        entries = []
    candidates = [
        e.name + "/" if e.is_dir() else e.name
        for e in entries
        if e.name.startswith(prefix)
        and not e.name.startswith(".")
        and (e.is_dir() or e.suffix in PLAN_SUFFIXES)
    ]
    if not slash:
        candidates += [p.stem for p in shipped_plans() if p.stem.startswith(prefix)]
    for candidate in candidates:
        if candidate != prefix:
            return value + candidate[len(prefix) :]
    return None


class PlanPathSuggester(Suggester):
    def __init__(self, cwd: Path | None = None) -> None:
        super().__init__(use_cache=False, case_sensitive=True)  # the disk changes
        self.cwd = cwd or Path.cwd()

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_plan_path, value, self.cwd)  # disk: off the loop
