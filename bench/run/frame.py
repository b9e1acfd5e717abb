"""One instant of the whole bench: every channel of every instrument, with its quality."""

from __future__ import annotations

from dataclasses import dataclass

from instruments.base import Quality, Reading


def channel_id(role: str, channel: str) -> str:
    """Channels are named `<role>.<channel>` across the bench, e.g. `hydraulic_module.flow`."""
    return f"{role}.{channel}"


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int  # 0, 1, 2, ... continuous within a run; a gap is recorded as an event
    t: float  # bench time, epoch seconds, when the poll started
    readings: dict[str, Reading]  # channel id -> reading

    def value(self, channel: str) -> float | None:
        """The value if it is OK, else None: results are never computed from stale data."""
        reading = self.readings.get(channel)
        if reading is None or reading.quality is not Quality.OK:
            return None
        return reading.value
