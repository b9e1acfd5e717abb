"""The simulator's map must reproduce the published NIBE S2125-12 table at its grid points."""

import json
from pathlib import Path

import pytest

from instruments.sim.perfmap import PerformanceMap

PACKAGED = Path(__file__).resolve().parents[3] / "instruments/sim/data/perfmap_nibe_s2125_12.json"


@pytest.fixture(scope="module")
def perfmap() -> PerformanceMap:
    return PerformanceMap.nibe_s2125_12()


def test_packaged_copy_is_the_published_map():
    published = json.loads(PACKAGED.read_text())
    assert "AixLib" in published["source"] and "NIBE S2125" in published["source"]


@pytest.mark.parametrize(
    ("air", "outlet", "capacity", "power"),
    [
        (-10.0, 35, 7580.0, 2260.0),  # capacity axis index 2, power axis index 3
        (-20.0, 55, 5610.0, 2800.0),
        (10.0, 45, 9590.0, 2260.0),
        (12.5, 35, 9690.0, 1830.0),
    ],
)
def test_grid_points_are_the_published_values(perfmap, air, outlet, capacity, power):
    assert perfmap.max_capacity_w(air, outlet) == pytest.approx(capacity)
    assert perfmap.max_power_w(air, outlet) == pytest.approx(power)


def test_between_grid_points_is_linear(perfmap):
    # -5 C lies half-way between -10 (7580 W) and 0 C (9310 W) on the W35 capacity curve
    assert perfmap.max_capacity_w(-5.0, 35) == pytest.approx((7580 + 9310) / 2)
    # W40 lies half-way between the W35 and W45 curves at -10 C
    assert perfmap.max_power_w(-10.0, 40) == pytest.approx((2260 + 2680) / 2)


def test_outside_the_map(perfmap):
    # outdoor temperature clamps to the axis ends
    assert perfmap.max_capacity_w(-40.0, 35) == pytest.approx(4700.0)
    # a lower outlet temperature than the map's 35 C needs less power (extrapolated trend)
    assert perfmap.max_power_w(7.0, 24) < perfmap.max_power_w(7.0, 35)
    assert perfmap.cop_at_full_load(7.0, 24) > perfmap.cop_at_full_load(7.0, 35)
    # extrapolation stops at 20 C
    assert perfmap.max_power_w(7.0, 0) == pytest.approx(perfmap.max_power_w(7.0, 20))
