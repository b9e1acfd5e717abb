"""How numbers, durations and times look on screen (one place, so every widget agrees)."""

from __future__ import annotations

import datetime as dt

from instruments.base import Quality

QUALITY_STYLE = {Quality.OK: "green", Quality.STALE: "yellow", Quality.INVALID: "red"}
QUALITY_MARK = {Quality.OK: "ok", Quality.STALE: "stale", Quality.INVALID: "inval"}


def number(value: float | None) -> str:
    """As many digits as a bench reading deserves: 7.023, 35.01, 412.5, 2149."""
    if value is None:
        return "—"
    if value == int(value) and abs(value) < 1e6:
        return f"{int(value)}"
    size = abs(value)
    digits = 0 if size >= 1000 else 1 if size >= 100 else 2 if size >= 10 else 3
    return f"{value:.{digits}f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def stamp(t: float) -> str:
    """Bench time as the CLI shows it (UTC)."""
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%H:%M:%S")
