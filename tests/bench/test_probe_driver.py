"""`hpbench probe --sim --driver NAME`: each new device's simulator, probed through its driver."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from bench.cli import main
from bench.probe import run_driver_probe
from instruments import registry
from instruments.sim.catalog import CATALOG


@pytest.mark.parametrize("driver", sorted(CATALOG))
async def test_every_channel_is_shown(manual_clock, driver: str) -> None:
    out = io.StringIO()
    console = Console(file=out, width=10_000, force_terminal=False)
    code = await run_driver_probe(driver, manual_clock, console, period_s=0.2, duration_s=0.5)
    text = out.getvalue()
    assert code == 0, text
    assert ":error=" not in text, text
    # the first poll may land after the first line: the last line has every channel
    line = text.strip().splitlines()[-1]
    shown = set(re.findall(rf"{driver}\.([A-Za-z0-9_]+)=", line))
    example = registry.DRIVERS[driver].address_example
    expected = set(registry.create(driver, "x", example, **CATALOG[driver].options).channels())
    assert shown == expected, line


def test_catalog_covers_every_new_driver() -> None:
    new = set(registry.DRIVERS) - {
        "yokogawa_wt300",
        "espec",
        "modbus_heat_pump",
        "modbus_hydraulic",
    }
    assert new == set(CATALOG)


def test_cli_refuses_an_unknown_driver_and_one_without_sim(capsys) -> None:
    assert main(["probe", "--sim", "--driver", "espec"]) == 2
    assert "--driver: one of" in capsys.readouterr().err
    assert main(["probe", "--station", "x.toml", "--sim", "--driver", "zes_lmg670"]) == 2
    assert "--driver needs --sim (and no --station)" in capsys.readouterr().err
