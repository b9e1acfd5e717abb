"""Load-based points of a plan (docs/standards.md §7), resolved into what the bench runs.

A load-based point takes its water flow from the building, not from the plan: the design mass
flow ṁ_design = Φ_design/(cp·ΔT_design) of the application's heat-distribution system, as a
volume flow at the return temperature the emulation starts from. Its warm-up and duration
stand in for the equilibrium and collection periods, so the estimate and the ETA need nothing
new. Its samples come every emulation step unless the point's `timing.sample_s` says
otherwise (the loop then works on inputs up to one sample old: a time-warped dry run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bench.metrology import water
from bench.metrology.building import (
    DISTRIBUTIONS,
    TAU_BUILDING_S,
    WATER_PRESSURE_PA,
    Application,
    Building,
    Distribution,
    Sizing,
    build,
    size,
)
from bench.plan.errors import Loc
from bench.plan.model import LoadBasedSpec
from bench.plan.resolved import Timing, VolumeFlow

STABILISE_MARGIN_MIN = 60.0  # the air must hold a whole warm-up within 2 warm-ups plus this


@dataclass(frozen=True)
class LoadBasedSetting:
    """Everything the emulation needs for one point, every default applied."""

    plc: float
    building: Literal["one_mass", "two_mass"]
    application: Application
    design_w: float
    t_flow_c: float  # t_F,plc: the point's flow temperature
    t_out_c: float  # outdoor dry bulb (the two-mass building loses heat to it)
    tau_h_s: float
    tau_b_s: float
    warm_up_s: float
    duration_s: float
    cycles: int | None
    step_s: float

    @property
    def distribution(self) -> Distribution:
        d = DISTRIBUTIONS[self.application]
        return Distribution(self.tau_h_s, d.delta_t_design_k, d.t_flow_design_c)

    def sizing(self) -> Sizing:
        return size(self.design_w, self.plc, self.t_flow_c, self.distribution)

    def make_building(self) -> Building:
        return build(
            self.building,
            design_w=self.design_w,
            plc=self.plc,
            t_flow_plc_c=self.t_flow_c,
            application=self.application,
            t_out_c=self.t_out_c,
            tau_h_s=self.tau_h_s,
            tau_b_s=self.tau_b_s,
        )[0]

    def flow_m3h(self) -> float:
        """ṁ_design as the volume flow the hydraulic module is set to (ρ at the return)."""
        s = self.sizing()
        return s.m_design_kg_s * 3600.0 / water.density(s.t_h0_c, WATER_PRESSURE_PA)

    def as_dict(self) -> dict[str, object]:
        s = self.sizing()
        return {
            "plc": self.plc,
            "building": self.building,
            "application": self.application,
            "design_w": self.design_w,
            "t_flow_c": self.t_flow_c,
            "t_out_c": self.t_out_c,
            "tau_h_s": self.tau_h_s,
            "tau_b_s": self.tau_b_s,
            "step_s": self.step_s,
            "m_design_kg_s": s.m_design_kg_s,
            "ua_hb_w_k": s.ua_hb_w_k,
            "c_h_j_k": s.c_h_j_k,
            "t_h0_c": s.t_h0_c,
            "load_w": s.load_w,
        }


def resolve_load_based(
    spec: LoadBasedSpec,
    *,
    t_flow_c: float,
    t_out_c: float,
    design_kw: float | None,
    application: Application | None,
    at: Callable[[Loc, str], str],
    problems: list[str],
    sample_s: float | None = None,
) -> tuple[LoadBasedSetting, VolumeFlow, Timing] | None:
    """The point's setting, flow and timing; a problem (`at(loc, message)` names the point's
    file:line) if the plan lacks what sizes the building."""
    missing = []
    if design_kw is None:
        missing.append("unit.pdesignh_kw (the design load Φ_design)")
    if application is None:
        missing.append("application (low or medium: the heat-distribution defaults)")
    if design_kw is None or application is None:
        problems.append(at(("load_based",), "a load-based point needs " + " and ".join(missing)))
        return None
    dist = DISTRIBUTIONS[application]
    setting = LoadBasedSetting(
        plc=spec.plc,
        building=spec.building,
        application=application,
        design_w=design_kw * 1000.0,
        t_flow_c=t_flow_c,
        t_out_c=t_out_c,
        tau_h_s=spec.tau_h_s or dist.tau_h_s,
        tau_b_s=spec.tau_b_s or TAU_BUILDING_S,
        warm_up_s=spec.warm_up_min * 60.0,
        duration_s=spec.duration_min * 60.0,
        cycles=spec.cycles,
        step_s=spec.step_s,
    )
    try:
        flow = VolumeFlow(round(setting.flow_m3h(), 4))
        if spec.building == "two_mass":
            setting.make_building()
    except ValueError as exc:
        problems.append(at(("load_based",), str(exc)))
        return None
    timing = Timing(
        equilibrium_min=spec.warm_up_min,
        collection_min=spec.duration_min,
        stabilise_timeout_min=2 * spec.warm_up_min + STABILISE_MARGIN_MIN,
        sample_s=sample_s or spec.step_s,
    )
    return setting, flow, timing
