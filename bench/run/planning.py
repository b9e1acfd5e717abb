"""From a loaded plan, its profile and the station to what the sequencer runs."""

from __future__ import annotations

from bench.plan import Plan
from bench.plan.resolved import FlowFrom, InletTemperature, TemperatureDifference, VolumeFlow
from bench.profiles import Profile
from bench.run.points import PointSpec
from bench.run.sequencer import Judgement
from bench.run.stability import Tolerance
from bench.station import Station


class PlanNotRunnable(Exception):
    """The plan is valid, but this bench cannot run it; str() says which point and why."""


def point_specs(plan: Plan, station: Station) -> list[PointSpec]:
    specs = []
    for index, p in enumerate(plan.points):
        if p.part_load is not None and p.part_load.compressor_hz is not None:
            raise PlanNotRunnable(
                f"{p.source}: point {p.id}: part_load.compressor_hz: the heat-pump drivers "
                "take a demand share (demand_pct), not a compressor frequency"
            )
        flow = p.flow
        specs.append(
            PointSpec(
                index=index,
                id=p.id,
                air_c=p.air_dry_bulb_c,
                rh_pct=p.air_rh_pct,
                wet_bulb_c=p.air_wet_bulb_c,
                outlet_c=p.water_outlet_c,
                inlet_c=flow.inlet_c if isinstance(flow, InletTemperature) else None,
                delta_t_k=flow.delta_t_k if isinstance(flow, TemperatureDifference) else None,
                flow_m3h=flow.flow_m3h if isinstance(flow, VolumeFlow) else None,
                flow_from=flow.point_id if isinstance(flow, FlowFrom) else None,
                demand_pct=p.part_load.demand_pct if p.part_load else None,
                equilibrium_s=p.timing.equilibrium_s,
                collection_s=p.timing.collection_s,
                stabilise_timeout_s=p.timing.stabilise_timeout_s,
                sample_s=p.timing.sample_s,
                on_unstable=p.on_unstable,
                initial_flow_m3h=station.station.initial_flow_m3h,
            )
        )
    return specs


def judgement(profile: Profile, station: Station) -> Judgement:
    """The profile's limits. It names no separate transient limits, so a transient point is
    judged on the same ones, with defrosts and the readings after them left out."""
    tolerances = {
        name: Tolerance(
            mean=q.mean_limit,
            individual=q.individual_limit,
            relative=q.relative,
            unit="%" if q.relative else "K",
        )
        for name, q in profile.quantities.items()
    }
    timing = profile.timing
    return Judgement(
        tolerances=tolerances,
        transient_tolerances=tolerances,
        transient_cycles=int(timing.transient_defrost_cycles.value),
        transient_max_s=timing.transient_collection_min.value * 60.0,
        exclude_after_defrost_s=timing.defrost_exclusion_min.value * 60.0,
        nominal_voltage_v=station.station.nominal_voltage_v,
    )
