"""Virtual buildings for load-based (compensation-method) testing, docs/standards.md §7.

The bench leaves the heat pump on its own controls and, every step, sets the water returning
to it to what a building would send back given what the unit actually delivered. Two models:

- `OneMass`: the heat-distribution system H (capacity C_H) against a building held at
  t_B = 20 °C — the BAM reference model [S]:
  Φ_HP = ṁ·cp·(t_S − t_R);  Φ_HB = UA_HB·((t_S + t_H)/2 − t_B);
  t_H ← t_H + (Φ_HP − Φ_HB)·Δt / C_H;  return set point = t_H.
- `TwoMass`: the same system H, feeding a building mass B (capacity C_B, τ_B ≈ 209 000 s [S])
  that loses Φ_BA = UA_BA·(t_B − t_out) to the outdoor air; t_B then moves.

Both integrate by explicit Euler, as the reference does: a step is exactly reproducible from
its stored inputs (the replay check), and the stored energy changes by exactly Σ(in − out)·Δt.

cp is water's IAPWS-IF97 value (bench.metrology.water) at the mean of the two temperatures,
not the reference's constant 4183 J/(kg·K) (≈ 0.1 % apart, §7); a model takes any cp function,
so a test can pin the reference's constant.

Units: temperatures °C, mass flow kg/s, heat flows W, capacities J/K, times s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bench.metrology import water

Application = Literal["low", "medium"]
CpFunction = Callable[[float], float]

T_BUILDING_C = 20.0  # the building's held temperature [S: §7]
T_DESIGN_OUTDOOR_C = -10.0  # average climate design temperature [S: §7]
TAU_BUILDING_S = 209_000.0  # building mass, older BAM configuration (≈ 58 h) [S: §7]
WATER_PRESSURE_PA = 3.0e5  # a heating circuit's static pressure; cp barely depends on it


@dataclass(frozen=True)
class Distribution:
    """A heat-distribution system as §7 parametrises it [S]."""

    tau_h_s: float
    delta_t_design_k: float
    t_flow_design_c: float


DISTRIBUTIONS: dict[Application, Distribution] = {
    "medium": Distribution(tau_h_s=1957.0, delta_t_design_k=8.0, t_flow_design_c=55.0),
    "low": Distribution(tau_h_s=21_380.0, delta_t_design_k=5.0, t_flow_design_c=35.0),
}


def if97_cp(t_c: float) -> float:
    """cp of the circuit's water, J/(kg·K), IAPWS-IF97 at `WATER_PRESSURE_PA`."""
    return water.specific_heat(t_c, WATER_PRESSURE_PA)


@dataclass(frozen=True)
class Flows:
    """What one step moved, W: into the water from the unit, to the building, to outdoors."""

    phi_hp_w: float
    phi_hb_w: float
    phi_ba_w: float = 0.0


@dataclass(frozen=True)
class Sizing:
    """The §7 parameters of one point, derived from the unit's design load."""

    m_design_kg_s: float
    delta_t_plc_k: float
    ua_hb_w_k: float
    c_h_j_k: float
    t_h0_c: float
    load_w: float  # Φ_design · PLC: what the building demands at this point


def size(
    design_w: float,
    plc: float,
    t_flow_plc_c: float,
    distribution: Distribution,
    *,
    t_building_c: float = T_BUILDING_C,
    cp: CpFunction = if97_cp,
) -> Sizing:
    """§7 [S]: ṁ_design = Φ_design/(cp·ΔT_design); ΔT_plc = Φ_design·PLC/(ṁ_design·cp);
    UA_HB = Φ_design·PLC/(t_F,plc − ΔT_plc/2 − t_B); UA_design = Φ_design/(t_F,design −
    ΔT_design/2 − t_B); C_H = τ_H·UA_design; t_H(0) = t_F,plc − ΔT_plc.

    cp is taken at each circuit's mean temperature; ΔT_plc depends on its own mean, so it is
    found by fixed-point iteration (it converges in a few rounds: cp changes ~1e-4 per K).
    """
    if design_w <= 0 or not 0 < plc <= 1.5:
        raise ValueError(f"design load {design_w!r} W and PLC {plc!r} must be positive")
    d = distribution
    cp_design = cp(d.t_flow_design_c - d.delta_t_design_k / 2)
    m_design = design_w / (cp_design * d.delta_t_design_k)
    load = design_w * plc
    delta = load / (m_design * cp_design)
    for _ in range(20):
        nxt = load / (m_design * cp(t_flow_plc_c - delta / 2))
        if abs(nxt - delta) < 1e-13:
            break
        delta = nxt
    over = t_flow_plc_c - delta / 2 - t_building_c
    if over <= 0:
        raise ValueError(f"flow {t_flow_plc_c:g} °C leaves no mean temperature above the building")
    ua_design = design_w / (d.t_flow_design_c - d.delta_t_design_k / 2 - t_building_c)
    return Sizing(
        m_design_kg_s=m_design,
        delta_t_plc_k=delta,
        ua_hb_w_k=load / over,
        c_h_j_k=d.tau_h_s * ua_design,
        t_h0_c=t_flow_plc_c - delta,
        load_w=load,
    )


def heat_from_unit(t_s: float, t_r: float, m_kg_s: float, cp: CpFunction = if97_cp) -> float:
    """Φ_HP = ṁ·cp·(t_S − t_R), W; negative while the unit defrosts (it takes heat back)."""
    return m_kg_s * cp((t_s + t_r) / 2) * (t_s - t_r)


@dataclass
class OneMass:
    """Heat-distribution system against a building held at `t_b_c` (§7 reference model)."""

    ua_hb_w_k: float
    c_h_j_k: float
    t_h_c: float
    t_b_c: float = T_BUILDING_C
    cp: CpFunction = if97_cp
    kind: str = "one_mass"

    @classmethod
    def sized(cls, sizing: Sizing, cp: CpFunction = if97_cp) -> OneMass:
        return cls(sizing.ua_hb_w_k, sizing.c_h_j_k, sizing.t_h0_c, cp=cp)

    @property
    def return_c(self) -> float:
        return self.t_h_c

    def stored_j(self) -> float:
        """Energy in the masses above 0 °C, J (only its changes mean anything)."""
        return self.c_h_j_k * self.t_h_c

    def state(self) -> dict[str, float]:
        return {"t_h_c": self.t_h_c, "t_b_c": self.t_b_c}

    def step(self, t_s: float, t_r: float, m_kg_s: float, dt_s: float) -> Flows:
        phi_hp = heat_from_unit(t_s, t_r, m_kg_s, self.cp)
        phi_hb = self.ua_hb_w_k * ((t_s + self.t_h_c) / 2 - self.t_b_c)
        self.t_h_c += (phi_hp - phi_hb) * dt_s / self.c_h_j_k
        return Flows(phi_hp, phi_hb)


@dataclass
class TwoMass(OneMass):
    """`OneMass` whose building is a second mass losing heat to the outdoor air."""

    ua_ba_w_k: float = 0.0
    c_b_j_k: float = 1.0
    t_out_c: float = T_DESIGN_OUTDOOR_C
    kind: str = "two_mass"

    @classmethod
    def sized_two(
        cls,
        sizing: Sizing,
        design_w: float,
        t_out_c: float,
        *,
        tau_b_s: float = TAU_BUILDING_S,
        t_design_out_c: float = T_DESIGN_OUTDOOR_C,
        cp: CpFunction = if97_cp,
    ) -> TwoMass:
        """UA_BA such that the building at 20 °C loses the point's load to `t_out_c` (so the
        §7 fixed point is one of this model too); C_B = τ_B·UA_BA at design [S: §7 τ_B]."""
        if t_out_c >= T_BUILDING_C:
            raise ValueError(f"outdoor {t_out_c:g} °C is not below the building's 20 °C")
        ua_ba = sizing.load_w / (T_BUILDING_C - t_out_c)
        ua_ba_design = design_w / (T_BUILDING_C - t_design_out_c)
        return cls(
            sizing.ua_hb_w_k,
            sizing.c_h_j_k,
            sizing.t_h0_c,
            cp=cp,
            ua_ba_w_k=ua_ba,
            c_b_j_k=tau_b_s * ua_ba_design,
            t_out_c=t_out_c,
        )

    def stored_j(self) -> float:
        return self.c_h_j_k * self.t_h_c + self.c_b_j_k * self.t_b_c

    def step(self, t_s: float, t_r: float, m_kg_s: float, dt_s: float) -> Flows:
        phi_hp = heat_from_unit(t_s, t_r, m_kg_s, self.cp)
        phi_hb = self.ua_hb_w_k * ((t_s + self.t_h_c) / 2 - self.t_b_c)
        phi_ba = self.ua_ba_w_k * (self.t_b_c - self.t_out_c)
        self.t_h_c += (phi_hp - phi_hb) * dt_s / self.c_h_j_k
        self.t_b_c += (phi_hb - phi_ba) * dt_s / self.c_b_j_k
        return Flows(phi_hp, phi_hb, phi_ba)


Building = OneMass  # TwoMass is a OneMass: the emulation loop speaks to either


def build(
    model: Literal["one_mass", "two_mass"],
    *,
    design_w: float,
    plc: float,
    t_flow_plc_c: float,
    application: Application,
    t_out_c: float,
    tau_h_s: float | None = None,
    tau_b_s: float = TAU_BUILDING_S,
) -> tuple[Building, Sizing]:
    """A point's building from its plan settings, §7 defaults for the application."""
    dist = DISTRIBUTIONS[application]
    if tau_h_s is not None:
        dist = Distribution(tau_h_s, dist.delta_t_design_k, dist.t_flow_design_c)
    sizing = size(design_w, plc, t_flow_plc_c, dist)
    if model == "one_mass":
        return OneMass.sized(sizing), sizing
    return TwoMass.sized_two(sizing, design_w, t_out_c, tau_b_s=tau_b_s), sizing
