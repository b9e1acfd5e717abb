"""A frame packed as a run-store row: every quality, absent channels, and what cannot be packed."""

from __future__ import annotations

import json
import math

import pytest

from bench.run.frame import ABSENT, QUALITY_CODES, FrameLayout
from instruments.base import Quality, Reading

IDS = ("chamber.t_air", "hydraulic_module.flow", "power_analyser.p")


def test_every_channel_ok_packs_values_in_layout_order():
    readings = {
        "power_analyser.p": Reading.ok(1500.0, "W"),
        "chamber.t_air": Reading.ok(7.0, "degC"),
        "hydraulic_module.flow": Reading.ok(1.25, "m3/h"),
    }
    frame = FrameLayout(IDS).frame(3, 10.5, readings)
    seq, t, value, quality, detail = frame.row
    assert (seq, t, detail) == (3, 10.5, None)
    assert FrameLayout(IDS).unpack(value) == (7.0, 1.25, 1500.0)
    assert quality == bytes([QUALITY_CODES[Quality.OK]] * 3)


def test_stale_invalid_and_absent_channels_keep_their_quality_and_detail():
    readings = {
        "chamber.t_air": Reading.ok(7.0, "degC").stale("no answer for 3 s"),
        "power_analyser.p": Reading.invalid("W", "over range"),
    }
    _, _, value, quality, detail = FrameLayout(IDS).row(0, 0.0, readings)
    t_air, flow, power = FrameLayout(IDS).unpack(value)
    assert t_air == 7.0 and math.isnan(flow) and math.isnan(power)
    assert list(quality) == [QUALITY_CODES[Quality.STALE], ABSENT, QUALITY_CODES[Quality.INVALID]]
    assert json.loads(detail) == {
        "chamber.t_air": "no answer for 3 s",
        "power_analyser.p": "over range",
    }


def test_a_channel_outside_the_layout_leaves_the_frame_unpacked_and_the_row_refused():
    readings = {"chamber.t_air": Reading.ok(7.0, "degC"), "chamber.rh": Reading.ok(50.0, "%")}
    frame = FrameLayout(IDS).frame(0, 0.0, readings)
    assert frame.row is None and frame.layout is None and frame.readings == readings
    with pytest.raises(ValueError, match=r"chamber\.rh"):
        FrameLayout(IDS).row(0, 0.0, readings)
