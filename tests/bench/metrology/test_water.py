"""Water properties against the published table of docs/standards.md §3 [X]."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.metrology import water

P_TABLE = 101_325.0  # the table is at 0.101325 MPa

# T °C: (ρ IF97 kg/m³, cp IF97 kJ/(kg·K), ρ IAPWS-95, cp IAPWS-95) — docs/standards.md §3 [X]
TABLE = {
    7: (999.904, 4.2007, 999.904, 4.2006),
    30: (995.652, 4.1800, 995.649, 4.1798),
    35: (994.039, 4.1789, 994.033, 4.1793),
    45: (990.223, 4.1788, 990.213, 4.1801),
    55: (985.707, 4.1809, 985.693, 4.1830),
}

# Honest tolerance: the table is printed to 0.001 kg/m³ and 0.0001 kJ/(kg·K), so a correct
# value lies within half a unit of the last printed digit (plus float noise).
HALF_RHO = 0.0005 + 1e-9
HALF_CP_KJ = 0.00005 + 1e-9


@pytest.mark.parametrize("t_c", sorted(TABLE))
def test_if97_matches_table_to_printed_digits(t_c):
    rho, cp, _, _ = TABLE[t_c]
    assert abs(water.density(t_c, P_TABLE) - rho) <= HALF_RHO
    assert abs(water.specific_heat(t_c, P_TABLE) / 1000 - cp) <= HALF_CP_KJ


@pytest.mark.parametrize("t_c", sorted(TABLE))
def test_iapws95_matches_table_to_printed_digits(t_c):
    _, _, rho, cp = TABLE[t_c]
    assert abs(water.density(t_c, P_TABLE, "IAPWS-95") - rho) <= HALF_RHO
    assert abs(water.specific_heat(t_c, P_TABLE, "IAPWS-95") / 1000 - cp) <= HALF_CP_KJ


def test_worked_example_cp_at_mean_temperature():
    # docs/standards.md §3: cp(32.5 °C, 3 bar) = 4.1789 kJ/(kg·K) (IF97)
    assert abs(water.specific_heat(32.5, 3e5) / 1000 - 4.1789) <= HALF_CP_KJ


def test_enthalpy_difference_is_cp_integral():
    # h(35) − h(30) ≈ cp(32.5)·5 K: the two routes of §3 (qm·Δh and qm·cp·ΔT) agree to 1e-5.
    dh = water.enthalpy(35, 3e5) - water.enthalpy(30, 3e5)
    assert dh == pytest.approx(water.specific_heat(32.5, 3e5) * 5, rel=1e-5)


@pytest.mark.parametrize(
    ("t_c", "p_pa", "match"),
    [
        (-1.0, 101_325, "outside the liquid range"),
        (100.0, 101_325, "not liquid.*boils at 99.97"),
        (150.0, 3e5, "not liquid"),
        (30.0, 100.0, "pressure"),
        (30.0, 2e8, "pressure"),
        (math.nan, 101_325, "not a number"),
        (30.0, math.inf, "pressure"),
    ],
)
def test_outside_liquid_range_is_a_clear_value_error(t_c, p_pa, match):
    with pytest.raises(ValueError, match=match):
        water.density(t_c, p_pa)


def test_unknown_formulation():
    with pytest.raises(ValueError, match="unknown water formulation"):
        water.density(30, 1e5, "ideal")  # type: ignore[arg-type]


@given(st.floats(0.5, 95), st.floats(1.1e5, 6e5))
def test_liquid_properties_are_plausible_everywhere_on_a_bench(t_c, p_pa):
    assert 955 < water.density(t_c, p_pa) < 1000.3
    assert 4170 < water.specific_heat(t_c, p_pa) < 4220
