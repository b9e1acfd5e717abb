"""Interlock debounce (issue 11): a one-frame status glitch never trips; two frames do."""

from __future__ import annotations

from bench.interlocks import Interlock, Interlocks, declared_line
from bench.run.frame import Frame
from instruments.base import Reading

ALARM = Interlock(name="hp alarm", kind="alarm", channel="heat_pump.alarm", action="safe_stop")


def frames(bits: list[float]) -> list[Frame]:
    return [Frame(i, 5.0 * i, {"heat_pump.alarm": Reading.ok(b, "")}) for i, b in enumerate(bits)]


def trips(locks: Interlocks, bits: list[float]) -> list[int]:
    return [f.seq for f in frames(bits) for c in locks.check(f) if c.tripped]


def test_a_single_flipped_alarm_bit_does_not_trip():
    assert trips(Interlocks([ALARM]), [0, 1, 0, 0, 1, 0, 1, 0]) == []


def test_two_frames_in_a_row_trip_on_the_second():
    assert trips(Interlocks([ALARM]), [0, 0, 1, 1, 1]) == [3]


def test_the_station_setting_and_immediate_interlocks():
    assert trips(Interlocks([ALARM], confirm_frames=3), [1, 1, 0, 1, 1, 1]) == [5]
    immediate = ALARM.model_copy(update={"immediate": True})
    assert trips(Interlocks([immediate]), [0, 1, 0]) == [1]


def test_an_interlock_channel_is_found_in_its_own_table():
    text = (
        '[[interlocks]]\nname = "a"\nchannel = "x.y"\n\n'
        '[[interlocks]]\nname = "b"\nkind = "alarm"\nchannel = "heat_pump.nope"\n'
    )
    assert declared_line(text, 1, "channel") == 8
    assert declared_line(text, 0, "channel") == 3
    assert declared_line(text, 1, "limit") == 5
