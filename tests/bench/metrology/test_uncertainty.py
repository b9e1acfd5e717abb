"""GUM propagation: a case worked by hand, and the properties the model must have."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.metrology.capacity import PumpCorrection, heating_capacity
from bench.metrology.parts import PartAccuracy
from bench.metrology.uncertainty import Accuracies, PointStats, point_uncertainty

ANALYSER = (PartAccuracy(pct_reading=0.1),)

STATION = Accuracies(
    u_t_in_k=0.05,  # standard uncertainty of each Pt100, K
    u_t_out_k=0.05,
    r_t=0.0,  # calibrated independently
    flow_pct_reading=0.5,  # ±0.5 % of reading, rectangular → /√3
    # ±(0.1 % of reading + 0.1 % of range), rectangular → /√3
    power_parts=(PartAccuracy(pct_reading=0.1, pct_range=0.1, range_w=3000.0),),
)
POINT = PointStats(
    t_in_c=30.0,
    t_out_c=35.0,
    qv_m3h=1.2,
    p_w=2000.0,
    s_t_in=0.02,
    s_t_out=0.02,
    s_qv=0.0012,
    s_p=4.0,
)


def test_hand_computed_case():
    r = point_uncertainty(POINT, STATION, p_pa=3e5, meter="inlet")
    phi = heating_capacity(1.2, 30.0, 35.0, p_pa=3e5, meter="inlet")  # 6935.1 W (§3)

    # ΔT: u² = 0.05² + 0.05² (sensors, r = 0) + 0.02² + 0.02² (scatter) = 0.0058 K²
    #     (u/ΔT)² = 0.0058 / 5² = 2.32e-4
    # qV: (u/qV)² = (0.005/√3)² + (0.0012/1.2)² = 8.3333e-6 + 1.0e-6 = 9.3333e-6
    # Φ:  (u/Φ)²  = 2.32e-4 + 9.3333e-6 = 2.413333e-4 → u/Φ = 0.0155349
    rel_phi = math.sqrt(0.0058 / 25 + (0.005 / math.sqrt(3)) ** 2 + 0.001**2)
    assert rel_phi == pytest.approx(0.0155349, rel=1e-5)
    assert r.phi_w.value == pytest.approx(phi)
    assert r.phi_w.u == pytest.approx(rel_phi * phi, rel=1e-9)
    assert r.phi_w.u == pytest.approx(107.74, abs=0.01)

    # P: u² = ((0.001·2000 + 0.001·3000)/√3)² + 4² = 25/3 + 16 = 24.3333 W² → u = 4.93288 W
    assert r.p_raw_w.u == pytest.approx(4.93288, abs=1e-5)
    assert r.p_e_w.u == r.p_raw_w.u

    # COP = 6935.11/2000 = 3.46756; (u/COP)² = 2.413333e-4 + 24.3333/2000² = 2.474167e-4
    #     → u/COP = 0.0157295, u = 0.054543, U(k=2) = 0.10909
    assert r.cop.value == pytest.approx(phi / 2000)
    assert r.cop.u_rel == pytest.approx(0.0157295, rel=1e-5)
    assert r.cop.expanded == pytest.approx(0.10909, abs=1e-4)


def test_budget_adds_up_to_u():
    r = point_uncertainty(POINT, STATION, p_pa=3e5, meter="outlet")
    assert math.hypot(*r.budget_phi_w.values()) == pytest.approx(r.phi_w.u)
    assert math.hypot(*r.budget_p_w.values()) == pytest.approx(r.p_e_w.u)
    assert max(r.budget_phi_w, key=r.budget_phi_w.get) == "temperature sensors"


def test_k_scales_only_the_expanded_uncertainty():
    r2 = point_uncertainty(POINT, STATION, p_pa=3e5, meter="inlet")
    r3 = point_uncertainty(POINT, STATION, p_pa=3e5, meter="inlet", k=3.0)
    for e2, e3 in [(r2.phi_w, r3.phi_w), (r2.p_e_w, r3.p_e_w), (r2.cop, r3.cop)]:
        assert e2.expanded == pytest.approx(2 * e2.u)
        assert e3.expanded == pytest.approx(3 * e3.u)
        assert e2.u == e3.u


def test_zero_inputs_give_zero_uncertainty():
    exact = Accuracies(
        u_t_in_k=0, u_t_out_k=0, flow_pct_reading=0, power_parts=(PartAccuracy(pct_reading=0),)
    )
    steady = PointStats(t_in_c=30.0, t_out_c=35.0, qv_m3h=1.2, p_w=2000.0)
    r = point_uncertainty(steady, exact, p_pa=3e5, meter="inlet")
    assert (r.phi_w.u, r.p_e_w.u, r.cop.u, r.cop.expanded) == (0, 0, 0, 0)


def test_fully_correlated_identical_sensors_cancel_in_delta_t():
    pair = Accuracies(
        u_t_in_k=0.05, u_t_out_k=0.05, r_t=1.0, flow_pct_reading=0.5, power_parts=ANALYSER
    )
    r = point_uncertainty(POINT, pair, p_pa=3e5, meter="inlet")
    assert r.budget_phi_w["temperature sensors"] == pytest.approx(0, abs=1e-9)


def test_pump_correction_changes_cop_not_u_of_power():
    pump = PumpCorrection(efficiency=0.3)
    r = point_uncertainty(POINT, STATION, p_pa=3e5, meter="inlet", dp_pa=30_000, pump=pump)
    assert r.p_e_w.value == pytest.approx(2000 - 100 / 3)
    assert r.p_e_w.u == r.p_raw_w.u
    assert r.cop.value > r.cop_raw.value


def test_from_series_uses_the_scatter_of_delta_t_itself():
    # inlet wanders, outlet follows 5 K above: ΔT has no scatter although t_in does.
    t_in = [30.0, 30.2, 29.8, 30.0]
    t_out = [t + 5 for t in t_in]
    p = [1990.0, 2010.0, 2000.0, 2000.0]  # s = √(200/3) = 8.165, s/√4 = 4.0825
    s = PointStats.from_series(t_in, t_out, [1.2] * 4, p)
    assert s.p_w == 2000.0
    assert s.s_p == pytest.approx(math.sqrt(200 / 3) / 2)
    assert s.s_t_in == pytest.approx(math.sqrt(0.08 / 3) / 2)
    assert s.s_delta_t == pytest.approx(0, abs=1e-12)
    # from means only, the same fluctuation would be counted twice, as if independent
    means_only = PointStats(t_in_c=30, t_out_c=35, qv_m3h=1.2, p_w=2000, s_t_in=0.1, s_t_out=0.1)
    assert means_only.s_delta_t == pytest.approx(math.hypot(0.1, 0.1))


@pytest.mark.parametrize(
    "bad",
    [dict(u_t_in_k=-0.1), dict(r_t=1.5), dict(flow_divisor=0), dict(power_parts=())],
)
def test_accuracies_are_checked(bad):
    base = dict(u_t_in_k=0.05, u_t_out_k=0.05, flow_pct_reading=0.5, power_parts=ANALYSER)
    with pytest.raises(ValueError):
        Accuracies(**(base | bad))


@pytest.mark.parametrize("bad", [dict(pct_range=math.nan), dict(range_w=-1.0), dict(divisor=0)])
def test_a_power_parts_limits_are_checked(bad):
    with pytest.raises(ValueError):
        PartAccuracy(**({"pct_reading": 0.1} | bad))


positive = st.floats(0.0, 1.0)


@given(u_in=positive, u_out=positive, flow=positive, prd=positive, prg=positive, sp=positive)
def test_cop_relative_uncertainty_is_quadrature_sum(u_in, u_out, flow, prd, prg, sp):
    acc = Accuracies(
        u_t_in_k=u_in,
        u_t_out_k=u_out,
        flow_pct_reading=flow,
        power_parts=(PartAccuracy(pct_reading=prd, pct_range=prg, range_w=5000.0),),
    )
    stats = PointStats(t_in_c=40, t_out_c=45, qv_m3h=1.5, p_w=2500, s_p=10 * sp, s_t_out=sp)
    r = point_uncertainty(stats, acc, p_pa=2e5, meter="outlet")
    assert r.cop.u_rel**2 == pytest.approx(r.phi_w.u_rel**2 + r.p_e_w.u_rel**2, rel=1e-9, abs=1e-18)


# -- issue 13: effective sample count, the full budget ---------------------------------------


def test_effective_samples_of_white_noise_and_of_an_ar1_series():
    """n_eff = n(1 - r1)/(1 + r1) (Zhang 2006): about n for independent samples; for an AR(1)
    series with phi = 0.8 about n/9 (the lag-1 autocorrelation of AR(1) is phi)."""
    import random

    from bench.metrology.uncertainty import effective_samples

    rng = random.Random(7)
    white = [rng.gauss(0, 1) for _ in range(4000)]
    assert effective_samples(white) == pytest.approx(4000, rel=0.1)
    x, ar = 0.0, []
    for _ in range(4000):
        x = 0.8 * x + rng.gauss(0, 1)
        ar.append(x)
    assert effective_samples(ar) == pytest.approx(4000 * 0.2 / 1.8, rel=0.15)
    assert effective_samples([1.0, 1.0, 1.0]) == 3.0  # no scatter: nothing to correct


def test_the_full_budget_adds_up_with_the_correlation_row_negative():
    from bench.metrology.uncertainty import combine

    acc = Accuracies(
        u_t_in_k=0.025,
        u_t_out_k=0.025,
        r_t=0.5,
        u_t_drift_k=0.02 / math.sqrt(3),
        flow_pct_reading=0.5,
        flow_divisor=2.0,
        u_flow_drift_rel=0.0025 / math.sqrt(3),
        power_parts=(PartAccuracy(pct_reading=0.1, pct_range=0.1, range_w=6000.0),),
        u_cp_rel=0.0005,
        u_heat_loss_w=50 / math.sqrt(3),
        phi_per_k_air=0.03,
    )
    r = point_uncertainty(POINT, acc, p_pa=3e5, meter="inlet")
    rows = {row.name: row for row in r.rows_phi}
    corr = rows["ΔT pair correlation (r = 0.5)"]
    c_t = rows["t_out sensor"].sensitivity
    # GUM eq. 16: -2 r c² u_in u_out, shown as a signed row
    assert corr.contribution == pytest.approx(-math.sqrt(2 * 0.5 * c_t**2 * 0.025**2))
    assert combine(r.rows_phi) == pytest.approx(r.phi_w.u)
    assert rows["heat loss of the test section"].contribution == pytest.approx(50 / math.sqrt(3))
    assert rows["cp (IAPWS-IF97)"].contribution == pytest.approx(0.0005 * r.phi_w.value)
    # the air condition term is zero when the air sat exactly on its set value
    assert rows["condition: air mean deviation"].contribution == 0.0
