"""One point calculation (issue 12 §4): with the station's pump correction on, a point's COP is
the same number in the engine's point record, on MQTT, in the TUI and in result.json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.export import export_run
from bench.station import sim_station_path
from bench.store import RunStore
from bench.telemetry.commands import telemetry_for_run
from bench.tui.app import HpbenchApp
from bench.tui.screens.summary import SummaryScreen
from bench.tui.session import Bench, Session, open_bench

from .conftest import QUICK_PLAN, SPEED, screen_text, until
from .test_telemetry import bodies

PUMP = "pump_correction = { mode = 'integrated', efficiency = 0.25, dp_pa = 40000 }\n"


@pytest.fixture
def pump_bench(tmp_path: Path) -> Iterator[Bench]:
    text = sim_station_path().read_text(encoding="utf-8")
    assert "[station]\n" in text
    path = tmp_path / "pump.toml"
    path.write_text(text.replace("[station]\n", "[station]\n" + PUMP, 1), encoding="utf-8")
    with open_bench(path, sim=True, speed=SPEED) as bench:
        yield bench


async def test_the_cop_is_one_number_in_record_mqtt_tui_and_result_json(
    pump_bench: Bench, results: Path, broker, subscriber
) -> None:
    mqtt = broker()
    sub = subscriber(mqtt, ["hpbench/#"])
    telemetry = telemetry_for_run(mqtt.url(), pump_bench.station_text, "pump station")
    assert telemetry is not None
    session = Session(pump_bench, results, telemetry=telemetry)
    app = HpbenchApp(session, QUICK_PLAN)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: session.connected)
        await pilot.press("p")
        await until(pilot, lambda: "2 points (A15W35, A12W35)" in screen_text(app))
        await pilot.press("g")
        await until(pilot, lambda: any(r["event"] == "end" for r in bodies(sub, "run")))
        await until(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("escape", "q")
        await until(pilot, lambda: not app.is_running)

    with RunStore.open(session.run_dir) as store:
        records = {r.point_id: r.record["results"] for r in store.points()}
    mqtt_points = {p["id"]: p["results"] for p in bodies(sub, "point")}
    tui = {p.id: p.cop for p in session.points}
    export_run(session.run_dir)
    doc = json.loads((session.run_dir / "result.json").read_text(encoding="utf-8"))
    exported = {p["id"]: p["results"] for p in doc["points"] if p["results"]}

    assert doc["bench"]["pump_correction"] == {
        "mode": "integrated",
        "efficiency": 0.25,
        "dp_pa": 40000.0,
    }
    # a loaded machine can leave a quick point without a collection: then it has a COP nowhere;
    # at least one point must have one, or the comparison below would prove nothing
    assert exported and set(exported) <= {"A15W35", "A12W35"}
    for point_id in {"A15W35", "A12W35"} - set(exported):
        assert (records.get(point_id) or {}).get("cop") is None, point_id
        assert tui.get(point_id) is None, point_id
    for point_id, result in exported.items():
        # the correction is applied (the unit's own pump: its share is taken off the power)
        assert result["cop"] > result["cop_raw"] > 0, point_id
        assert records[point_id]["cop"] == result["cop"], point_id
        assert mqtt_points[point_id]["cop"] == result["cop"], point_id
        assert tui[point_id] == result["cop"], point_id
        for key in ("capacity_w", "power_raw_w", "power_w", "cop_raw"):
            assert records[point_id][key] == result[key], (point_id, key)
