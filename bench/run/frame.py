"""One instant of the whole bench: every channel of every instrument, with its quality.

A frame can also carry itself packed as a run-store row (`FrameLayout.frame`): the acquisition,
which builds every frame anyway, packs it once, and the store inserts the row as it is instead
of reading 40 `Reading` objects again (docs/decisions/0240-frames-arrive-packed.md).
"""

from __future__ import annotations

import json
import math
import operator
import struct
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from instruments.base import Quality, Reading

# How a frame is packed, in the store's words: docs/decisions/0005-run-store-durability.md.
QUALITY_CODES: dict[Quality, int] = {Quality.OK: 0, Quality.STALE: 1, Quality.INVALID: 2}
ABSENT = 255  # the quality byte of a channel the frame did not carry

_OK = Quality.OK  # a plain global: the enum attribute lookup showed in packing's profile
Row = tuple[int, float, bytes, bytes, str | None]  # seq, t, value, quality, detail


def channel_id(role: str, channel: str) -> str:
    """Channels are named `<role>.<channel>` across the bench, e.g. `hydraulic_module.flow`."""
    return f"{role}.{channel}"


@dataclass(frozen=True, slots=True)
class Frame:
    seq: int  # 0, 1, 2, ... continuous within a run; a gap is recorded as an event
    t: float  # bench time, epoch seconds, when the poll started
    readings: dict[str, Reading]  # channel id -> reading
    # the same frame as a run-store row in `layout`'s channel order, when it was packed
    row: Row | None = field(default=None, compare=False, repr=False)
    layout: FrameLayout | None = field(default=None, compare=False, repr=False)

    def value(self, channel: str) -> float | None:
        """The value if it is OK, else None: results are never computed from stale data."""
        reading = self.readings.get(channel)
        if reading is None or reading.quality is not Quality.OK:
            return None
        return reading.value


class FrameLayout:
    """A fixed order of channel ids, and how a frame's readings pack into one row in it.

    `value`: one little-endian float64 per channel, NaN where there is no value; `quality`:
    one byte per channel (`QUALITY_CODES`, `ABSENT`); `detail`: JSON of the details of the
    readings that are not OK, or None.
    """

    __slots__ = ("_all_ok", "_get", "_id_set", "_struct", "ids")

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = tuple(ids)
        self._id_set = frozenset(self.ids)
        self._struct = struct.Struct(f"<{len(self.ids)}d")
        self._get = _item_getter(self.ids)
        self._all_ok = bytes(len(self.ids))  # QUALITY_CODES[OK] == 0

    def frame(self, seq: int, t: float, readings: dict[str, Reading]) -> Frame:
        """A frame with its row, or without one if a reading is not in this layout (whoever
        stores it then refuses it, naming the channel)."""
        try:
            row = self.row(seq, t, readings)
        except ValueError:
            return Frame(seq, t, readings)
        return Frame(seq, t, readings, row, self)

    def row(self, seq: int, t: float, readings: Mapping[str, Reading]) -> Row:
        """The common frame (every channel there and OK) costs one comprehension and one
        struct call: per-channel Python work is what packing costs."""
        n = len(self.ids)
        if len(readings) == n:
            try:
                found = self._get(readings)
            except KeyError:  # a channel is missing from this frame
                return self._row_slow(seq, t, readings)
            ok = _OK
            values = [r.value for r in found if r.quality is ok]
            if len(values) == n:
                try:
                    packed = self._struct.pack(*values)
                except struct.error:  # an OK reading without a value
                    return self._row_slow(seq, t, readings)
                return seq, float(t), packed, self._all_ok, None
        return self._row_slow(seq, t, readings)

    def _row_slow(self, seq: int, t: float, readings: Mapping[str, Reading]) -> Row:
        unknown = readings.keys() - self._id_set
        if unknown:
            raise ValueError(f"frame {seq}: channels not in this run: {sorted(unknown)}")
        values: list[float] = []
        qualities = bytearray()
        details: dict[str, str] = {}
        for cid in self.ids:
            reading = readings.get(cid)
            if reading is None:
                values.append(math.nan)
                qualities.append(ABSENT)
                continue
            values.append(math.nan if reading.value is None else float(reading.value))
            qualities.append(QUALITY_CODES[reading.quality])
            if reading.quality is not Quality.OK and reading.detail:
                details[cid] = reading.detail
        detail = json.dumps(details, ensure_ascii=False) if details else None
        return seq, float(t), self._struct.pack(*values), bytes(qualities), detail

    def unpack(self, value: bytes) -> tuple[float, ...]:
        return self._struct.unpack(value)


def _item_getter(ids: tuple[str, ...]) -> Callable[[Mapping[str, Reading]], tuple[Reading, ...]]:
    """Every channel's reading in one C-level call, always as a tuple."""
    if len(ids) == 1:
        one = operator.itemgetter(ids[0])
        return lambda readings: (one(readings),)
    return operator.itemgetter(*ids) if ids else (lambda readings: ())
