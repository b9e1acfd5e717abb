"""Humid air conversions against docs/standards.md §1 (at 101 325 Pa)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.metrology import psychro

P_STD = 101_325.0

# dry bulb °C, wet bulb °C, RH % — docs/standards.md §1 (EN 14511 points and 20/15)
POINTS = [(7, 6, 86.8), (2, 1, 83.9), (-7, -8, 74.7), (12, 11, 88.9), (20, 15, 59.0)]


@pytest.mark.parametrize(("t_db", "t_wb", "rh"), POINTS)
def test_rh_from_wet_bulb_matches_standards(t_db, t_wb, rh):
    assert psychro.relative_humidity(t_db, t_wb, p_pa=P_STD) == pytest.approx(rh, abs=0.05)


@pytest.mark.parametrize(("t_db", "t_wb", "rh"), POINTS)
def test_wet_bulb_from_published_rh(t_db, t_wb, rh):
    # RH is published to 0.1 %, which is worth about 0.01 K of wet bulb here.
    assert psychro.wet_bulb(t_db, rh, p_pa=P_STD) == pytest.approx(t_wb, abs=0.02)


def test_barometric_pressure_matters():
    # Why p_pa is required: at a high-altitude lab the same bulbs mean another RH.
    low = psychro.relative_humidity(7, 6, p_pa=85_000)
    assert abs(low - psychro.relative_humidity(7, 6, p_pa=P_STD)) > 0.5


@given(
    t_db=st.floats(-20, 40),
    rh=st.floats(20, 100),
    p_pa=st.floats(85_000, 105_000),
)
def test_round_trip_rh_wet_bulb_rh(t_db, rh, p_pa):
    t_wb = psychro.wet_bulb(t_db, rh, p_pa=p_pa)
    assert t_wb <= t_db
    assert psychro.relative_humidity(t_db, t_wb, p_pa=p_pa) == pytest.approx(rh, abs=0.01)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: psychro.relative_humidity(7, 8, p_pa=P_STD), "above dry bulb"),
        (lambda: psychro.relative_humidity(7, -40, p_pa=P_STD), "no humid-air state"),
        (lambda: psychro.wet_bulb(7, 120, p_pa=P_STD), "outside 0 to 100"),
        (lambda: psychro.wet_bulb(7, 50, p_pa=0), "must be positive"),
        (lambda: psychro.wet_bulb(float("nan"), 50, p_pa=P_STD), "not a finite number"),
    ],
)
def test_bad_inputs_are_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
