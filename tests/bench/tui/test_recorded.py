"""Past runs as the Runs screen lists them: the points column counts a run in progress against
its whole plan ("1/2 done, 1 valid", not "1/1 valid of 2")."""

from __future__ import annotations

from pathlib import Path

from bench.store import RunStore
from bench.tui.recorded import list_runs

from .conftest import QUICK_PLAN


def test_a_run_in_progress_counts_its_points_against_the_plan(tmp_path: Path) -> None:
    run_dir = tmp_path / "2027-01-15_quick_abc123"
    store = RunStore.create(
        run_dir / "run.sqlite",
        run_id="abc123",
        plan_name="quick",
        plan_text=QUICK_PLAN.read_text(encoding="utf-8"),
        station_text="",
        channels={"power_analyser.P": "W"},
    )
    store.put_point(0, "A15W35", "valid", {"results": {"cop": 4.8}})
    store.put_point(1, "A12W35", "running", {})
    store.close()
    (listing,) = list_runs(tmp_path)
    assert listing.outcome == "unfinished"
    assert listing.points == "1/2 done, 1 valid"
