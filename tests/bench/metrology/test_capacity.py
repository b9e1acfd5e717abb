"""Capacity, power, COP and the transient integration (docs/standards.md §2, §3)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.metrology import water
from bench.metrology.capacity import (
    PumpCorrection,
    cop,
    effective_power,
    heating_capacity,
    integrate,
    steady_point,
    trapezoid,
    whole_cycles,
)


# --- the worked check of docs/standards.md §3 [X]: IF97, 3 bar, 1.2 m³/h, 30 → 35 °C ----------
@pytest.mark.parametrize(("meter", "published_w"), [("inlet", 6935.1), ("outlet", 6923.9)])
def test_worked_capacity_example(meter, published_w):
    phi = heating_capacity(1.2, 30.0, 35.0, p_pa=3e5, meter=meter)
    assert phi == pytest.approx(published_w, rel=5e-4)  # 0.05 %
    assert abs(phi - published_w) <= 0.5


def test_constant_properties_would_overstate_by_about_0_9_percent():
    # §3 [X]: ρ = 1000, cp = 4.2 overstate Φh by about 0.9 %.
    constants = 1.2 / 3600 * 1000 * 4200 * 5
    phi = heating_capacity(1.2, 30.0, 35.0, p_pa=3e5, meter="inlet")
    assert constants / phi - 1 == pytest.approx(0.009, abs=0.001)


def test_enthalpy_route_agrees():
    # §3: equivalently qm·(h_out − h_in), qm from ρ at the meter.
    qm = 1.2 / 3600 * water.density(30.0, 3e5)
    via_h = qm * (water.enthalpy(35.0, 3e5) - water.enthalpy(30.0, 3e5))
    assert heating_capacity(1.2, 30.0, 35.0, p_pa=3e5, meter="inlet") == pytest.approx(
        via_h, rel=1e-4
    )


@given(
    qv=st.floats(0.01, 10),
    t_in=st.floats(5, 60),
    dt=st.floats(-4, 12),
    meter=st.sampled_from(["inlet", "outlet"]),
)
def test_capacity_has_the_sign_of_the_temperature_rise(qv, t_in, dt, meter):
    t_out = t_in + dt
    rise = t_out - t_in  # as the floats have it
    phi = heating_capacity(qv, t_in, t_out, p_pa=3e5, meter=meter)
    assert (phi > 0) == (rise > 0) and (phi < 0) == (rise < 0)
    # magnitude: within 2 % of ρ·cp ≈ 4.15 MJ/(m³·K) for 5–70 °C water
    assert abs(phi) == pytest.approx(qv / 3600 * 4.15e6 * abs(rise), rel=0.02)


def test_bad_meter_position_and_flow():
    with pytest.raises(ValueError, match="flow meter position"):
        heating_capacity(1.2, 30, 35, p_pa=3e5, meter="middle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="volume flow"):
        heating_capacity(-1.0, 30, 35, p_pa=3e5, meter="inlet")


# --- effective power input and COP ---------------------------------------------------------
def test_power_is_raw_without_a_pump_correction():
    p = effective_power(2000.0, qv_m3h=1.2, dp_pa=30_000)
    assert (p.raw_w, p.pump_w, p.effective_w) == (2000.0, 0.0, 2000.0)


def test_pump_correction_is_q_dp_over_eta():
    # 1.2 m³/h = 1/3000 m³/s; × 30 kPa = 10 W hydraulic; / η 0.3 = 33.33 W.  η is [U].
    integrated = PumpCorrection(efficiency=0.3)
    p = effective_power(2000.0, qv_m3h=1.2, dp_pa=30_000, pump=integrated)
    assert p.pump_w == pytest.approx(-100 / 3)
    assert p.effective_w == pytest.approx(2000 - 100 / 3)
    external = PumpCorrection(efficiency=0.3, mode="external")
    assert effective_power(2000.0, qv_m3h=1.2, dp_pa=30_000, pump=external).pump_w == (
        pytest.approx(100 / 3)
    )


def test_steady_point_reports_raw_and_corrected_cop():
    r = steady_point(
        1.2,
        30,
        35,
        2000.0,
        p_pa=3e5,
        meter="inlet",
        dp_pa=30_000,
        pump=PumpCorrection(efficiency=0.3),
    )
    assert r.cop_raw == pytest.approx(r.phi_w / 2000.0)
    assert r.cop == pytest.approx(r.phi_w / (2000 - 100 / 3))
    assert r.cop > r.cop_raw


@pytest.mark.parametrize("eta", [0.0, -0.1, 1.5])
def test_pump_efficiency_must_be_a_fraction(eta):
    with pytest.raises(ValueError, match="efficiency"):
        PumpCorrection(efficiency=eta)


def test_cop_needs_positive_power():
    assert cop(6000.0, 2000.0) == 3.0
    with pytest.raises(ValueError, match="positive"):
        cop(6000.0, 0.0)


# --- transient points: trapezoid over whole defrost cycles ---------------------------------
def test_trapezoid_is_exact_for_a_ramp():
    # ∫ from 0 to 100 s of a 1000 → 3000 W ramp = 100 s × 2000 W mean = 200 kJ.
    ts = [0.0, 10.0, 35.0, 100.0]
    assert trapezoid(ts, [1000 + 20 * t for t in ts]) == pytest.approx(200_000.0)


def test_whole_cycles_cuts_partial_cycles():
    #        0  1  2  3  4  5  6  7  8  9 10 11 12
    flags = [0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0]
    window, n = whole_cycles([bool(f) for f in flags])
    assert (window, n) == (slice(3, 12), 2)  # from the end of the 1st defrost to the 3rd


def test_whole_cycles_needs_one_complete_cycle():
    with pytest.raises(ValueError, match="complete defrost cycle"):
        whole_cycles([False, True, False, False])


def test_integrated_defrost_cycle_by_hand():
    # 20 min heating at 1.2 m³/h 30 → 35 °C and 2000 W, then a 2-min defrost drawing heat
    # (35 → 30 °C, reversed rise) at 1500 W; samples every 60 s, steps between samples.
    ts = [60.0 * i for i in range(23)]
    heating = [True] * 21 + [False] * 2  # samples 0–20 heating, 21–22 defrost
    t_in = [30.0 if h else 35.0 for h in heating]
    t_out = [35.0 if h else 30.0 for h in heating]
    p = [2000.0 if h else 1500.0 for h in heating]
    qv = [1.2] * 23
    r = integrate(ts, qv, t_in, t_out, p, p_pa=3e5, meter="inlet")
    phi_h = heating_capacity(1.2, 30, 35, p_pa=3e5, meter="inlet")  # 6935.1 W
    phi_d = heating_capacity(1.2, 35, 30, p_pa=3e5, meter="inlet")  # −6923.9 W (ρ at 35 °C)
    # trapezoids: 20 intervals heating, 1 mixed (20→21), 1 defrost (21→22)
    heat = 60 * (20 * phi_h + (phi_h + phi_d) / 2 + phi_d)
    elec = 60 * (20 * 2000 + (2000 + 1500) / 2 + 1500)
    assert r.duration_s == 1320.0
    assert r.heat_j == pytest.approx(heat)
    assert r.electric_j == r.electric_raw_j == pytest.approx(elec)
    assert r.phi_w == pytest.approx(heat / 1320)
    assert r.cop == pytest.approx(heat / elec)
    assert r.cop < phi_h / 2000  # defrost costs COP


@given(
    n=st.integers(2, 30),
    step=st.floats(0.5, 20),
    qv=st.floats(0.2, 5),
    dt=st.floats(1, 10),
    p=st.floats(200, 8000),
)
def test_integrating_a_steady_series_gives_the_steady_point(n, step, qv, dt, p):
    ts = [i * step for i in range(n)]
    r = integrate(ts, [qv] * n, [30.0] * n, [30 + dt] * n, [p] * n, p_pa=2e5, meter="outlet")
    s = steady_point(qv, 30.0, 30 + dt, p, p_pa=2e5, meter="outlet")
    assert r.phi_w == pytest.approx(s.phi_w, rel=1e-9)
    assert r.p_e_w == pytest.approx(p, rel=1e-9)
    assert r.cop == pytest.approx(s.cop, rel=1e-9)


def test_integrate_rejects_bad_series():
    with pytest.raises(ValueError, match="increase"):
        integrate([0, 0], [1, 1], [30, 30], [35, 35], [1, 1], p_pa=3e5, meter="inlet")
    with pytest.raises(ValueError, match="samples"):
        integrate([0, 1], [1], [30, 30], [35, 35], [1, 1], p_pa=3e5, meter="inlet")
    with pytest.raises(ValueError, match="at least two"):
        integrate([0], [1], [30], [35], [1], p_pa=3e5, meter="inlet")
