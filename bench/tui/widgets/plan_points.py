"""A plan's points as they will run, with the estimated start and length of each."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from bench.plan import Estimate, Plan
from bench.plan.estimate import format_minutes


class PlanPoints(DataTable[str]):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", **kwargs)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        for label in ("point", "air db/wb °C", "water out", "flow", "load", "eq/coll", "start"):
            self.add_column(label)

    def show(self, plan: Plan | None, estimate: Estimate | None) -> None:
        self.clear()
        if plan is None or estimate is None:
            return
        for point, est in zip(plan.points, estimate.points, strict=True):
            timing = point.timing
            self.add_row(
                point.id,
                f"{point.air_dry_bulb_c:g}/{point.air_wet_bulb_c:.1f}",
                f"{point.water_outlet_c:g} °C",
                point.flow.describe(),
                point.part_load.describe() if point.part_load else "-",
                f"{timing.equilibrium_min:g}/{timing.collection_min:g} min",
                Text(format_minutes(est.start_min), justify="right"),  # type: ignore[arg-type]
            )
