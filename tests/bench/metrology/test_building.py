"""The virtual buildings of docs/standards.md §7, against hand computation."""

from __future__ import annotations

import math
import random

import pytest

from bench.metrology.building import (
    DISTRIBUTIONS,
    OneMass,
    TwoMass,
    build,
    if97_cp,
    size,
)

DESIGN_W = 10_000.0
CP_REF = 4183.0  # the BAM reference's constant cp, J/(kg K) [S: §7]


def _const_cp(_t: float) -> float:
    return CP_REF


def test_sizing_by_hand_with_the_reference_cp() -> None:
    # point A, medium temperature: PLC 0.8846, t_F 52 °C (§7)
    s = size(DESIGN_W, 0.8846, 52.0, DISTRIBUTIONS["medium"], cp=_const_cp)
    m = 10_000 / (4183 * 8)  # 0.29883 kg/s
    dt = 8846 / (m * 4183)  # 7.0768 K
    assert s.m_design_kg_s == pytest.approx(m, rel=1e-12)
    assert s.delta_t_plc_k == pytest.approx(0.8846 * 8, rel=1e-12)
    assert s.ua_hb_w_k == pytest.approx(8846 / (52 - dt / 2 - 20), rel=1e-12)
    assert s.c_h_j_k == pytest.approx(1957 * 10_000 / (55 - 4 - 20), rel=1e-12)
    assert s.t_h0_c == pytest.approx(52 - 0.8846 * 8, rel=1e-12)


def test_if97_cp_is_about_a_tenth_of_a_percent_from_the_reference() -> None:
    assert abs(if97_cp(45.0) / CP_REF - 1) < 0.002


@pytest.mark.parametrize("model", ["one_mass", "two_mass"])
@pytest.mark.parametrize(
    ("application", "plc", "t_flow", "t_out"),
    [("medium", 0.8846, 52.0, -7.0), ("medium", 0.1538, 30.0, 12.0), ("low", 0.5385, 30.0, 2.0)],
)
def test_steady_state_identity(
    model: str, application: str, plc: float, t_flow: float, t_out: float
) -> None:
    """At ṁ_design, t_S = t_F,plc, t_R = t_F,plc − ΔT_plc is a fixed point with
    Φ_HP = Φ_HB (= Φ_BA) = Φ_design·PLC (§7)."""
    building, s = build(
        model,  # type: ignore[arg-type]
        design_w=DESIGN_W,
        plc=plc,
        t_flow_plc_c=t_flow,
        application=application,  # type: ignore[arg-type]
        t_out_c=t_out,
    )
    for _ in range(3600):
        flows = building.step(t_flow, building.return_c, s.m_design_kg_s, 1.0)
    assert building.return_c == pytest.approx(t_flow - s.delta_t_plc_k, abs=1e-9)
    assert building.t_b_c == pytest.approx(20.0, abs=1e-9)
    assert flows.phi_hp_w == pytest.approx(DESIGN_W * plc, rel=1e-9)
    assert flows.phi_hb_w == pytest.approx(DESIGN_W * plc, rel=1e-9)
    if model == "two_mass":
        assert flows.phi_ba_w == pytest.approx(DESIGN_W * plc, rel=1e-9)


@pytest.mark.parametrize("model", ["one_mass", "two_mass"])
def test_energy_is_conserved_over_random_steps(model: str) -> None:
    """Stored energy change = Σ in − Σ out over 10 000 random steps, to rounding (out: to the
    held building for one mass, to the outdoor air for two)."""
    building, _ = build(
        model,  # type: ignore[arg-type]
        design_w=DESIGN_W,
        plc=0.5385,
        t_flow_plc_c=42.0,
        application="medium",
        t_out_c=2.0,
    )
    rng = random.Random(15)
    e0 = building.stored_j()
    net = 0.0
    for _ in range(10_000):
        dt = rng.uniform(0.2, 3.0)
        t_s = rng.uniform(20.0, 60.0)
        t_r = building.return_c + rng.gauss(0, 0.5)
        flows = building.step(t_s, t_r, rng.uniform(0.0, 0.5), dt)
        lost = flows.phi_ba_w if model == "two_mass" else flows.phi_hb_w
        net += (flows.phi_hp_w - lost) * dt
    assert building.stored_j() - e0 == pytest.approx(net, rel=1e-9, abs=1e-3)
    assert abs(net) > 1e5  # the test moved real energy


def test_step_response_is_the_hand_derived_exponential() -> None:
    """Supply held at t_S, return following t_H: C_H·dt_H/dt = ṁcp(t_S − t_H) −
    UA((t_S + t_H)/2 − t_B), so t_H → t∞ = (ṁcp·t_S − UA(t_S/2 − t_B))/(ṁcp + UA/2) with
    τ = C_H/(ṁcp + UA/2). Euler at Δt = 1 s ≪ τ follows it within Δt/τ of the step."""
    ua, c_h, m, t_s, t0 = 300.0, 600_000.0, 0.3, 45.0, 30.0
    building = OneMass(ua, c_h, t0, cp=_const_cp)
    g = m * CP_REF + ua / 2
    tau = c_h / g
    t_inf = (m * CP_REF * t_s - ua * (t_s / 2 - 20.0)) / g
    worst = 0.0
    for n in range(1, 3001):
        building.step(t_s, building.return_c, m, 1.0)
        exact = t_inf + (t0 - t_inf) * math.exp(-n / tau)
        worst = max(worst, abs(building.return_c - exact))
    assert tau == pytest.approx(427.08, abs=0.01)
    assert worst < abs(t_inf - t0) / tau
    assert building.return_c == pytest.approx(t_inf, abs=0.01)


def test_two_mass_building_cools_towards_outdoors_with_tau_b() -> None:
    """No heat from the unit and no distribution loss: C_B·dt_B/dt = −UA_BA(t_B − t_out)."""
    b = TwoMass(0.0, 1.0, 20.0, cp=_const_cp, ua_ba_w_k=100.0, c_b_j_k=2.09e7, t_out_c=-10.0)
    for _ in range(20_900):
        b.step(20.0, 20.0, 0.0, 10.0)
    assert b.t_b_c == pytest.approx(-10 + 30 * math.exp(-1), abs=0.01)
