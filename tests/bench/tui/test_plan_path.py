"""The Plan screen's path field completes folders, plan files and shipped plan names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input

from bench.plan.catalog import shipped_plans
from bench.tui.app import HpbenchApp
from bench.tui.plan_path import complete_plan_path

from .conftest import screen_text, until

MakeApp = Callable[..., HpbenchApp]


def test_folders_and_plan_files_complete_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "night.yaml").write_text("")
    (tmp_path / "plans" / "notes.txt").write_text("")
    (tmp_path / "plans" / ".hidden.yaml").write_text("")
    assert complete_plan_path("pl", tmp_path) == "plans/"
    assert complete_plan_path("plans/n", tmp_path) == "plans/night.yaml"
    assert complete_plan_path("plans/", tmp_path) == "plans/night.yaml"
    assert complete_plan_path("plans/x", tmp_path) is None
    assert complete_plan_path("plans/night.yaml", tmp_path) is None  # nothing more to add
    assert complete_plan_path("nowhere/n", tmp_path) is None
    absolute = f"{tmp_path}/plans/ni"
    assert complete_plan_path(absolute, Path("/")) == f"{tmp_path}/plans/night.yaml"


def test_a_bare_word_completes_to_a_shipped_plan_name(tmp_path: Path) -> None:
    names = [p.stem for p in shipped_plans()]
    assert "demo" in names
    assert complete_plan_path("dem", tmp_path) == "demo"
    rating = {n for n in names if n.startswith("en14511_r")}
    assert complete_plan_path("en14511_r", tmp_path) in rating


async def test_typing_a_shipped_name_completes_and_loads_it(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.session.connected)
        await pilot.press("p")
        field = app.screen.query_one("#plan-path", Input)
        await until(pilot, lambda: field.has_focus)
        await pilot.press("d", "e", "m")
        await until(pilot, lambda: "demo" in screen_text(app))  # shown greyed after "dem"
        await pilot.press("right", "enter")
        assert field.value == "demo"
        await until(pilot, lambda: "points (" in screen_text(app) and "demo" in screen_text(app))
        assert "not a valid plan" not in screen_text(app)
