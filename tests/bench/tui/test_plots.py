"""Plots a lab engineer can read: round ticks, no capacity or COP while the unit is off or
defrosting (no -2885 W, no negative COP), collection periods found from the state events."""

from __future__ import annotations

import math

from bench.run.engine import Event
from bench.run.frame import Frame
from bench.run.points import AIR_T, HP_DEFROST, POWER, WATER_FLOW, WATER_IN, WATER_OUT
from bench.run.results import WaterSide
from bench.tui.history import SERIES, derive
from bench.tui.widgets.plots import collection_windows, round_ticks, time_ticks
from instruments.base import Reading

T0 = 1_800_000_000.0


def _frame(power_w: float, t_in: float, t_out: float, defrost: float = 0.0) -> Frame:
    values = {
        AIR_T: (7.0, "°C"),
        WATER_IN: (t_in, "°C"),
        WATER_OUT: (t_out, "°C"),
        WATER_FLOW: (1.6, "m³/h"),
        POWER: (power_w, "W"),
        HP_DEFROST: (defrost, ""),
    }
    return Frame(0, T0, {cid: Reading.ok(v, unit) for cid, (v, unit) in values.items()})


def _derived(frame: Frame) -> dict[str, float]:
    return dict(zip(SERIES, derive(frame, WaterSide()), strict=True))


def test_capacity_and_cop_only_while_the_unit_heats() -> None:
    heating = _derived(_frame(1900.0, 30.0, 35.0))
    assert 9000 < heating["capacity"] < 9500 and 4.5 < heating["cop"] < 5.0
    assert heating["delta_t"] == 5.0
    off = _derived(_frame(12.0, 30.0, 28.5))  # the water cools through a unit that is off
    assert math.isnan(off["capacity"]) and math.isnan(off["cop"])
    assert off["delta_t"] == -1.5  # the water side itself is still shown
    defrosting = _derived(_frame(1500.0, 30.0, 27.0, defrost=1.0))
    assert math.isnan(defrosting["capacity"]) and math.isnan(defrosting["cop"])


def test_ticks_fall_on_round_values() -> None:
    assert round_ticks(-57.6, 14.4) == ([-60, -40, -20, 0, 20], 0)
    ticks, decimals = round_ticks(4.31, 4.9)
    assert [f"{t:.{decimals}f}" for t in ticks] == ["4.2", "4.4", "4.6", "4.8", "5.0"]
    ticks, decimals = round_ticks(4.3, 5.3)  # a step of 0.25 keeps its two decimals
    assert [f"{t:.{decimals}f}" for t in ticks][:3] == ["4.25", "4.50", "4.75"]
    assert time_ticks(T0 + 10, T0 + 610) == [T0 + 300, T0 + 600]  # 5-minute steps in 10 min


def test_collection_windows_from_state_events() -> None:
    def state(t: float, old: str, new: str) -> Event:
        return Event(t, "state", f"{old} -> {new}", {"from": old, "to": new})

    events = [
        state(T0, "equilibrium", "collecting"),
        state(T0 + 600, "collecting", "computing"),
        state(T0 + 900, "equilibrium", "collecting"),
    ]
    assert collection_windows(events) == [(T0, T0 + 600), (T0 + 900, None)]
