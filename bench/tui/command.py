"""`hpbench tui [PLAN] (--station FILE | --sim) [--speed N] [--mqtt URL]`: the interactive
face of the engine.

`tui_command` is what the `hpbench` CLI calls once `bench/cli.py` has parsed and checked the
arguments, with the same definitions as `hpbench run`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.run.runner import RunRefused, check_results_dir
from bench.station import StationError

EXIT_BAD_INPUT = 2


def _error(message: str) -> int:
    print(f"hpbench tui: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def tui_command(
    plan: str | None,
    station: str | None,
    sim: bool,
    speed: float,
    *,
    results: str = "results",
    mqtt: str | None = None,
    resume: str | None = None,
) -> int:
    """Run the TUI until the operator quits; the bench is left in its safe state."""
    if plan is not None and not Path(plan).is_file():
        return _error(f"{plan}: no such plan file")
    if resume is not None and plan is not None:
        return _error("give a PLAN or --resume RUNDIR, not both")
    if resume is not None and not (Path(resume) / "run.sqlite").is_file():
        return _error(f"{resume}: not a run directory (no run.sqlite)")
    from bench.telemetry.commands import TelemetryUnavailable, telemetry_for_run
    from bench.tui.app import HpbenchApp
    from bench.tui.session import Session, open_bench

    try:
        # before the bench is opened: an unusable folder is refused without starting anything
        check_results_dir(Path(results), 0.0)
        with open_bench(Path(station) if station else None, sim=sim, speed=speed) as bench:
            where = str(bench.station_path or "the simulated bench's station")
            telemetry = telemetry_for_run(mqtt, bench.station_text, where)
            check_results_dir(Path(results), bench.station.station.min_free_mb)
            session = Session(bench, Path(results), telemetry=telemetry)
            app = HpbenchApp(
                session, Path(plan) if plan else None, resume=Path(resume) if resume else None
            )
            code = app.run()
    except (StationError, TelemetryUnavailable, RunRefused) as exc:
        return _error(str(exc))
    finished = session.finished
    if finished is not None:  # the terminal is back: the run's end, as `hpbench run` says it
        print(f"outcome: {finished.outcome}  {finished.run_dir}")
        if finished.export_error:
            why = finished.export_error
            print(f"hpbench tui: result files not written: {why}", file=sys.stderr)
        if finished.resumable:
            print(f"resume with: hpbench run --resume {finished.run_dir}")
    return code or 0
