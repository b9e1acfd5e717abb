"""Shipped plans by name: `hpbench plans`, bare names on run / validate, `hpbench --version`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from bench.cli import main
from bench.plan.catalog import SHIPPED_PLANS, find_plan, shipped_plans

REPO = Path(__file__).resolve().parents[3]


def test_the_shipped_plans_are_the_repositorys_test_plans():
    assert [p.name for p in shipped_plans()] == sorted(
        p.name for p in (REPO / "test_plans").iterdir() if p.suffix == ".yaml"
    )


@pytest.mark.parametrize("argument", ["demo", "demo.yaml"])
def test_a_bare_name_is_the_shipped_plan(argument, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Path(find_plan(argument)).read_bytes() == (REPO / "test_plans/demo.yaml").read_bytes()


def test_a_path_that_exists_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo").write_text("name: mine\n")
    assert find_plan("demo") == "demo"


@pytest.mark.parametrize("argument", ["no_such_plan", "plans/demo", "./demo"])
def test_anything_else_is_left_as_typed_for_the_loaders_message(argument, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_plan(argument) == argument


def test_validate_runs_a_shipped_plan_by_name_from_anywhere(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "en14511_rating"]) == 0
    assert f"({SHIPPED_PLANS / 'en14511_rating.yaml'})" in capsys.readouterr().out


def test_an_unknown_bare_name_is_bad_input_naming_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "no_such_plan"]) == 2
    assert "no_such_plan" in capsys.readouterr().err


def test_plans_lists_every_shipped_plan_with_its_standard_and_points(capsys):
    assert main(["plans"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    for path in (REPO / "test_plans").glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        row = rows[path.stem].split()
        assert row[1].rstrip(",") == data.get("standard", row[1].rstrip(","))
        if "extends" not in data:  # a child adds to its parent's points
            assert str(len(data["points"])) in row


def test_version_is_the_installed_distributions(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert capsys.readouterr().out == f"hpbench {declared}\n"
