"""docs/instruments.md stays true: every driver is in its table, its station examples build."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from instruments import registry

DOC = Path(__file__).parents[2] / "docs" / "instruments.md"


def test_every_registered_driver_has_a_row() -> None:
    rows = set(re.findall(r"^\| `([a-z0-9_]+)` \|", DOC.read_text(encoding="utf-8"), re.M))
    assert rows == set(registry.DRIVERS)


def test_station_examples_build_their_drivers() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    built = 0
    for block in blocks:
        for name, entry in tomllib.loads(block)["instruments"].items():
            inst = registry.create(
                entry["driver"], name, entry["address"], **entry.get("options", {})
            )
            assert inst.channels(), name
            built += 1
    assert built == 8


def test_register_map_doc_has_the_new_vendor_maps() -> None:
    from instruments.modbus.regmap import load_map, render_markdown

    doc = (DOC.parent / "register_maps.md").read_text(encoding="utf-8")
    for name in ("nibe_s_series", "daikin_altherma_ekrhh", "watlow_f4t", "kamstrup_multical"):
        assert render_markdown(load_map(name)) in doc, f"paste render_markdown({name!r})"
