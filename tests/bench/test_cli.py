"""`hpbench` argument parsing: `tui` takes the bench and plan options `run` takes, from the one
parser in bench/cli.py, and refuses the same bad values with the same words."""

from __future__ import annotations

import pytest

from bench.cli import build_parser, main


def refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The last line `hpbench` prints when it refuses `argv` with exit code 2."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("speed", ["0", "-1", "abc", "100001"])
def test_tui_refuses_a_speed_as_run_does(speed, capsys):
    run = refusal(["run", "demo", "--sim", "--speed", speed], capsys)
    tui = refusal(["tui", "demo", "--sim", "--speed", speed], capsys)
    assert "argument --speed" in run
    assert tui == run.replace("hpbench run", "hpbench tui")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--speed", "10", "--station", "x.toml"], "--speed needs --sim"),
        ([], "give --station FILE, or --sim"),
    ],
)
def test_tui_refuses_a_bench_as_run_does(args, message, capsys):
    for command in ("run", "tui"):
        assert main([command, "test_plans/demo.yaml", *args]) == 2
        assert capsys.readouterr().err.startswith(f"hpbench {command}: {message}")


def test_tui_and_run_read_the_same_options_alike():
    argv = ["demo.yaml", "--station", "lab.toml", "--sim", "--speed", "2.5", "--results", "out"]
    argv += ["--mqtt", "mqtt://broker:1883"]
    run = vars(build_parser().parse_args(["run", *argv]))
    tui = vars(build_parser().parse_args(["tui", *argv]))
    assert run.pop("fault_campaign") is None  # `run` alone injects faults
    assert {k: v for k, v in run.items() if k not in ("command", "func")} == {
        k: v for k, v in tui.items() if k not in ("command", "func")
    }
    assert tui["speed"] == 2.5
