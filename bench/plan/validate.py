"""`hpbench validate PLAN`: what a plan will do and how long it takes, before a night is spent.

Prints the resolved points and the estimated bench time to `out`; problems (and warnings, such
as timings shorter than the profile's) to `err`, one `file:line: field: message` per line.
Exit status 0 when the plan is valid, 2 when it is not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from bench.plan.errors import PlanError
from bench.plan.estimate import Estimate, estimate, format_minutes
from bench.plan.loader import load_plan
from bench.plan.resolved import Plan, ResolvedPoint

EXIT_OK = 0
EXIT_BAD_INPUT = 2

_HEADER = ("id", "air °C db/wb", "RH %", "water out °C", "flow", "part load", "eq/coll min")


def _row(point: ResolvedPoint) -> tuple[str, ...]:
    given = point.humidity_given == "wet_bulb"
    wet = f"{point.air_wet_bulb_c:g}" if given else f"{point.air_wet_bulb_c:.1f}*"
    return (
        point.id,
        f"{point.air_dry_bulb_c:g}/{wet}",
        f"{point.air_rh_pct:.1f}",
        f"{point.water_outlet_c:g}",
        point.flow.describe(),
        point.part_load.describe() if point.part_load else "-",
        f"{point.timing.equilibrium_min:g}/{point.timing.collection_min:g}",
    )


def format_table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def describe(plan: Plan, est: Estimate) -> list[str]:
    spec = plan.spec
    standard = spec.standard
    if spec.climate:
        standard += f", {spec.climate} climate, {spec.application} temperature"
    unit = spec.unit
    lines = [
        f"plan      {spec.name} ({plan.path})",
        f"standard  {standard}; profile {plan.profile.name} {plan.profile.version}",
        f"unit      {unit.make} {unit.model}, serial {unit.serial}, {unit.refrigerant}",
        f"operator  {spec.operator}",
        "",
        *format_table([_HEADER, *(_row(p) for p in plan.points)]),
    ]
    if any(p.humidity_given == "rh" for p in plan.points):
        lines.append("* wet bulb computed from the RH the plan gives")
    lines += [
        "",
        f"{len(plan.points)} points, estimated {format_minutes(est.total_min)} of bench time: "
        f"set {format_minutes(est.part_min('ramp'))} (air ramps at "
        f"{est.ramp_k_per_min:g} K/min from {est.start_air_c:g} °C), equilibrium "
        f"{format_minutes(est.part_min('equilibrium'))}, collection "
        f"{format_minutes(est.part_min('collection'))}",
        f"at most {format_minutes(est.worst_min)} if every point waits for its stabilise "
        "timeout; defrost (transient) points take longer",
    ]
    return lines


def validate_command(
    path: str,
    out: TextIO,
    err: TextIO,
    *,
    on_bench: Callable[[Plan], str | None] | None = None,
) -> int:
    """`hpbench validate`; `on_bench` says why a valid plan cannot run on the station given
    (None: it can), so a plan is checked against the bench before a night is planned on it."""
    try:
        plan = load_plan(path)
    except PlanError as exc:
        print(exc, file=err)
        return EXIT_BAD_INPUT
    for warning in plan.warnings:
        print(warning, file=err)
    print("\n".join(describe(plan, estimate(plan.points))), file=out)
    problem = on_bench(plan) if on_bench is not None else None
    if problem:
        print(problem, file=err)
        return EXIT_BAD_INPUT
    return EXIT_OK
