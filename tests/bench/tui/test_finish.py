"""A run started in the TUI ends as `hpbench run` ends one (issue 14, defect 4): the same result
files, checksums that `hpbench verify` accepts, a summary; interrupted runs resume from the
Runs screen; an unusable results folder is refused at start."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.export.commands import verify_command
from bench.store import RunStore
from bench.tui.app import HpbenchApp
from bench.tui.command import tui_command
from bench.tui.screens.confirm import ConfirmScreen
from bench.tui.screens.summary import SummaryScreen
from bench.tui.session import Bench, Session

from .conftest import QUICK_PLAN, REPO, SPEED, next_event, screen_text, state_to, until
from .test_pilot import start_plan

MakeApp = Callable[..., HpbenchApp]


def headless_run(plan: Path, results: Path) -> Path:
    command = ["run", "--sim", "--speed", str(SPEED), str(plan), "--results", str(results)]
    done = subprocess.run(
        [sys.executable, "-m", "bench.cli", *command],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    (run_dir,) = results.iterdir()
    return run_dir


async def test_a_tui_run_ends_with_the_files_of_a_headless_run(
    make_app: MakeApp, session: Session, tmp_path: Path
) -> None:
    app = make_app(QUICK_PLAN)
    events = session.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_plan(pilot, app)
        await until(pilot, lambda: session.run_dir is not None)
        run_dir = session.run_dir
        assert run_dir is not None
        await next_event(events, state_to("done"), timeout=120)
        shown = ("run done · 2 points", "COP ± U", "SHA256SUMS", run_dir.name[-6:])
        await until(pilot, lambda: all(part in screen_text(app) for part in shown))
        assert isinstance(app.screen, SummaryScreen)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SummaryScreen))
        header = screen_text(app).splitlines()[0]
        assert "DONE" in header and "in phase" not in header  # defect 8: no clock after DONE
        await pilot.press("4")  # the plan's points, each with its COP ± U from result.json
        cop_u = re.compile(r"\d\.\d\d ± \d\.\d\d")
        await until(pilot, lambda: len(cop_u.findall(screen_text(app))) == 2)

    out, err = io.StringIO(), io.StringIO()
    assert verify_command(str(run_dir), out, err) == 0, out.getvalue() + err.getvalue()
    headless_results = tmp_path / "headless"
    headless_results.mkdir()
    headless = headless_run(QUICK_PLAN, headless_results)
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(p.name for p in headless.iterdir())


async def test_an_interrupted_run_resumes_from_the_runs_screen(
    sim_bench: Bench, results: Path
) -> None:
    first = Session(sim_bench, results)
    app = HpbenchApp(first, QUICK_PLAN)
    events = first.events.subscribe("test", maxsize=10_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_plan(pilot, app)
        await next_event(events, state_to("setting"))
        # paused, so that a loaded machine cannot finish the quick plan before the signal
        assert first.pause()
        await next_event(events, state_to("paused"))
        run_dir = first.run_dir
        await pilot.press("r", "2")
        await until(pilot, lambda: "running" in screen_text(app) and "/2 done" in screen_text(app))
        app.stop_on_signal(15)  # as SIGTERM does
        await until(pilot, lambda: not app.is_running)
    assert app.return_value == 3

    second = Session(sim_bench, results)
    app = HpbenchApp(second)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: second.connected)
        await pilot.press("r", "2")
        await until(pilot, lambda: "interrupted" in screen_text(app))
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert f"Resume {run_dir.name}?" in screen_text(app)
        await pilot.press("y")
        await until(pilot, lambda: second.running)
        assert second.run_dir == run_dir
        await until(pilot, lambda: "run done · 2 points" in screen_text(app), timeout=120)
        assert isinstance(app.screen, SummaryScreen)
    store = RunStore.open(run_dir)
    try:
        assert store.meta()["outcome"] == "done"
        assert [e.kind for e in store.events({"gap"})] == ["gap"]
    finally:
        store.close()
    assert (run_dir / "SHA256SUMS").is_file()


def test_an_unusable_results_folder_is_refused_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    results.write_text("not a folder")
    assert tui_command(None, None, True, 1.0, results=str(results)) == 2
    err = capsys.readouterr().err
    assert err == f"hpbench tui: {results}: results directory is not a directory\n"
