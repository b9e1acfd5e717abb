"""Bench time as result files write it."""

from __future__ import annotations

import datetime as dt


def iso(t: float | None) -> str | None:
    """Bench time (epoch seconds) as UTC ISO 8601 to the second."""
    if t is None:
        return None
    stamp = dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds")
    return stamp.replace("+00:00", "Z")
