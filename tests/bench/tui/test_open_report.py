"""A run's report opens from the Runs screen: with $BROWSER (a real process started with the
report's file URL), and without a browser the path is shown instead of a text browser taking
over the terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.tui.app import HpbenchApp

from .conftest import QUICK_PLAN, screen_text, until
from .test_finish import headless_run

MakeApp = Callable[..., HpbenchApp]


async def test_o_opens_the_report_of_the_past_run_under_the_cursor(
    make_app: MakeApp, results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = headless_run(QUICK_PLAN, results)
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(f"import sys\nopen({str(opened)!r}, 'w').write(sys.argv[1])\n")
    monkeypatch.setenv("BROWSER", f"{sys.executable} {browser}")
    app = make_app()
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await until(pilot, lambda: app.session.connected)
        await pilot.press("r", "2")
        await until(pilot, lambda: run_dir.name in screen_text(app))
        await pilot.press("o")
        await until(pilot, lambda: "report opened" in screen_text(app))
        await until(pilot, lambda: opened.is_file() and opened.read_text() != "")
    assert opened.read_text() == (run_dir / "report.html").as_uri()


async def test_without_a_browser_the_report_path_is_shown(
    make_app: MakeApp, results: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = headless_run(QUICK_PLAN, results)
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    app = make_app()
    async with app.run_test(size=(160, 30), notifications=True) as pilot:
        await until(pilot, lambda: app.session.connected)
        await pilot.press("r", "2")
        await until(pilot, lambda: run_dir.name in screen_text(app))
        await pilot.press("o")
        await until(pilot, lambda: "no browser here" in screen_text(app))
        assert "report.html" in screen_text(app)
