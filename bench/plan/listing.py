"""`hpbench plans`: the shipped plans a bare name can run, with what each does and its length."""

from __future__ import annotations

from typing import TextIO

from bench.plan.catalog import SHIPPED_PLANS, shipped_plans
from bench.plan.errors import PlanError
from bench.plan.estimate import estimate, format_minutes
from bench.plan.loader import load_plan
from bench.plan.validate import format_table

_HEADER = ("name", "standard", "points", "estimate")


def plans_command(out: TextIO, err: TextIO) -> int:
    """One row per shipped plan; a shipped plan that does not load is named on `err`, exit 1."""
    rows, status = [_HEADER], 0
    for path in shipped_plans():
        try:
            plan = load_plan(path)
        except PlanError as exc:
            print(exc, file=err)
            status = 1
            continue
        spec = plan.spec
        standard = f"{spec.standard}, {spec.climate} climate" if spec.climate else spec.standard
        minutes = format_minutes(estimate(plan.points).total_min)
        rows.append((path.stem, standard, str(len(plan.points)), minutes))
    print("\n".join(format_table(rows)), file=out)
    print(f"\n{SHIPPED_PLANS}; run one by name: hpbench run NAME --sim", file=out)
    return status
