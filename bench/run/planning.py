"""From a loaded plan, its profile and the station to what the sequencer runs."""

from __future__ import annotations

from collections.abc import Mapping

from bench import channels
from bench.plan import Plan
from bench.plan.resolved import (
    FlowFrom,
    InletTemperature,
    ResolvedPoint,
    TemperatureDifference,
    VolumeFlow,
)
from bench.profiles import Profile
from bench.run.points import PointSpec
from bench.run.sequencer import Judgement
from bench.run.stability import Tolerance
from bench.station import BenchLimits, Station


class PlanNotRunnable(Exception):
    """The plan is valid, but this bench cannot run it; str() says which point and why."""


def point_specs(plan: Plan, station: Station) -> list[PointSpec]:
    """The points as the sequencer runs them. Raises PlanNotRunnable for a point this bench
    cannot run: a part load it cannot set, a set point outside the station's `[limits]`, or a
    quantity its points need that the station's instruments do not provide."""
    if unmet := unmeasured(plan, station):
        raise PlanNotRunnable("\n".join(unmet))
    specs = []
    for index, p in enumerate(plan.points):
        _check_limits(p, station.limits)
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
                inlet_range_c=station.limits.water_inlet_c,
                flow_range_m3h=station.limits.water_flow_m3h,
                load_based=p.load_based,
            )
        )
    return specs


def unmeasured(plan: Plan, station: Station, live: Mapping[str, str] | None = None) -> list[str]:
    """What the plan's points need that the station does not provide (bench/channels.py);
    `live`: the connected instruments' channels, checked once they answered."""
    return channels.unmet(station, (channels.PointNeed.of(p) for p in plan.points), live)


def _check_limits(p: ResolvedPoint, limits: BenchLimits) -> None:
    inlet = p.flow.inlet_c if isinstance(p.flow, InletTemperature) else None
    flow = p.flow.flow_m3h if isinstance(p.flow, VolumeFlow) else None
    wanted = [  # (the station's [limits] field, what the point sets, its value, unit)
        ("air_temperature_c", "air dry bulb", p.air_dry_bulb_c, "°C"),
        ("air_humidity_pct", "air humidity", p.air_rh_pct, "%RH"),
        ("hp_flow_temperature_c", "water outlet", p.water_outlet_c, "°C"),
        ("water_inlet_c", "water inlet", inlet, "°C"),
        ("water_flow_m3h", "water flow", flow, "m³/h"),
        ("hp_demand_pct", "demand", p.part_load.demand_pct if p.part_load else None, "%"),
    ]
    for field_name, what, value, unit in wanted:
        bounds = getattr(limits, field_name)
        if value is None or bounds is None or bounds[0] <= value <= bounds[1]:
            continue
        raise PlanNotRunnable(
            f"{p.source}: point {p.id}: {what} {value:.4g} {unit} is outside this bench's "
            f"range, station limits.{field_name} = [{bounds[0]:g}, {bounds[1]:g}]"
        )


def judgement(profile: Profile, station: Station, *, warped_sim: bool = False) -> Judgement:
    """The profile's limits. It names no separate transient limits, so a transient point is
    judged on the same ones, with defrosts and the readings after them left out."""
    tolerances: dict[str, Tolerance] = {
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
        sample_max_s=timing.sample_max_s.value,
        excuse_skipped_periods=warped_sim,
        collection_restarts_max=(
            int(timing.collection_restarts_max.value) if timing.collection_restarts_max else 3
        ),
    )
