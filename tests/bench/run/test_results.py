"""A point's validity needs numbers: stable set points alone never make it valid (issue 11)."""

from __future__ import annotations

import pytest

from bench.run.frame import Frame
from bench.run.points import POWER, WATER_FLOW, WATER_IN, WATER_OUT
from bench.run.results import PointSettings, missing_results, point_results
from bench.run.sequencer import PointOutcome
from instruments.base import Reading


def frames(power: Reading) -> list[Frame]:
    return [
        Frame(
            i,
            1000.0 + 5 * i,
            {
                WATER_FLOW: Reading.ok(1.6, "m³/h"),
                WATER_IN: Reading.ok(30.0, "°C"),
                WATER_OUT: Reading.ok(35.0, "°C"),
                POWER: power,
            },
        )
        for i in range(10)
    ]


def outcome(fs: list[Frame]) -> PointOutcome:
    return PointOutcome(spec=None, status="valid", reason="", started=0, ended=1, frames=fs)  # type: ignore[arg-type]


def test_a_point_with_power_invalid_throughout_has_no_valid_result():
    results = point_results(outcome(frames(Reading.invalid("W", "NAN"))), PointSettings())
    assert "capacity_w" not in results
    why = missing_results(results)
    assert why is not None and "power" in why


def test_a_point_with_both_numbers_is_not_refused():
    results = point_results(outcome(frames(Reading.ok(2500.0, "W"))), PointSettings())
    # by hand: 1.6 m³/h at 30 °C (995.6 kg/m³) x 4.18 kJ/(kg K) x 5 K = 9.25 kW
    assert results["capacity_w"] == pytest.approx(1.6 / 3600 * 995.6 * 4179 * 5, rel=0.005)
    assert missing_results(results) is None


@pytest.mark.parametrize("key", ["capacity_w", "power_w"])
def test_a_missing_or_non_finite_number_is_named(key):
    complete = {"capacity_w": 8000.0, "power_w": 2500.0}
    assert missing_results(complete) is None
    assert missing_results({**complete, key: float("nan")}) is not None
    assert missing_results({k: v for k, v in complete.items() if k != key}) is not None
