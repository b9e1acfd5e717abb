"""How numbers, durations and times look on screen (one place, so every widget agrees)."""

from __future__ import annotations

from instruments.base import Quality

QUALITY_STYLE = {Quality.OK: "green", Quality.STALE: "yellow", Quality.INVALID: "red"}
QUALITY_MARK = {Quality.OK: "ok", Quality.STALE: "stale", Quality.INVALID: "invalid"}


# fixed decimals per unit, so a column never jumps between `20 °C` and `19.90 °C`
DECIMALS = {
    "°C": 2,
    "%": 1,
    "kW": 2,
    "K": 2,
    "%RH": 1,
    "m³/h": 3,
    "l/min": 2,
    "V": 1,
    "A": 3,
    "W": 0,
    "VA": 0,
    "var": 0,
    "Wh": 0,
    "Hz": 2,
    "Pa": 0,
}


# unitless channels that are ratios, not counts or flags (by channel name)
CHANNEL_DECIMALS = {"PF": 3, "cop": 2}


def number(value: float | None, unit: str | None = None, channel: str | None = None) -> str:
    """A unit's (or a unitless channel's) fixed decimals; else as many digits as a value
    deserves: 7.023, 35.01, 412.5, 2149 (a count or a code shows as an integer)."""
    if value is None:
        return "—"
    places = CHANNEL_DECIMALS.get(channel or "", DECIMALS.get(unit or ""))
    if places is not None:
        return f"{value:.{places}f}"
    if value == int(value) and abs(value) < 1e6:
        return f"{int(value)}"
    size = abs(value)
    digits = 0 if size >= 1000 else 1 if size >= 100 else 2 if size >= 10 else 3
    return f"{value:.{digits}f}"


def age(seconds: float) -> str:
    """How old something is, in one short word: 0s, 42s, 3m, 2h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    return f"{seconds // 60}m" if seconds < 3600 else f"{seconds // 3600}h"
