"""points.csv and samples.csv, read back with the csv module and checked against the store
and against a capacity recomputed here from the sample file alone."""

from __future__ import annotations

import csv
import io
import math
import statistics
import tomllib

import pytest
from CoolProp.CoolProp import PropsSI

from bench.export.csvfiles import points_csv, samples_csv
from bench.export.result import build_result
from bench.export.rundata import load_run
from bench.store import RunStore


@pytest.fixture(scope="module")
def made(en14511_run):
    data = load_run(en14511_run.dir)
    doc = build_result(data)
    return data, doc


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_points_csv_has_one_row_per_point_with_the_results(made):
    _, doc = made
    table = rows(points_csv(doc))
    assert [r["point"] for r in table] == [p["id"] for p in doc["points"]]
    by_id = {r["point"]: r for r in table}
    for p in doc["points"]:
        row = by_id[p["id"]]
        assert row["status"] == p["status"]
        if p["results"] is None:
            assert row["capacity_w"] == "" and row["cop"] == ""
            continue
        assert float(row["capacity_w"]) == p["results"]["capacity_w"]  # repr round-trips
        assert float(row["cop"]) == p["results"]["cop"]
        assert float(row["U_capacity_w"]) == p["uncertainty"]["capacity_w"]["U"]
        assert float(row["measured_water_outlet_c"]) == p["measured"]["water_outlet_c"]
        assert row["water_outlet_ok"] == "true"
    assert "not stable" in by_id["A12W35"]["reason"]


def test_samples_csv_holds_every_frame_as_stored(made, en14511_run):
    data, doc = made
    table = rows(samples_csv(data, doc))
    with RunStore.open(en14511_run.dir) as store:
        frames = list(store.frames())
        units = store.channels()
    assert len(table) == len(frames)
    header = list(table[0])
    assert header[:4] == ["seq", "t", "time_utc", "collecting"] and header[-1] == "not_ok"
    assert "hydraulic_module.volume_flow [m³/h]" in header
    for row, frame in zip(table[::97], frames[::97], strict=True):
        assert int(row["seq"]) == frame.seq and float(row["t"]) == frame.t
        for cid, unit in units.items():
            cell = row[f"{cid} [{unit}]" if unit else cid]
            expected = frame.value(cid)
            assert (cell == "") if expected is None else float(cell) == expected


def test_capacity_recomputed_from_the_sample_file_alone(made, en14511_run):
    """Mark the rows of a steady point's window, average them, and apply
    Φ = qV·ρ(t_in)·cp(t_mean)·ΔT with IF97 at the station's water pressure."""
    data, doc = made
    station = tomllib.loads(en14511_run.station.read_text())["station"]
    assert station["flow_meter"] == "inlet"
    p_pa = station["water_pressure_pa"]
    table = rows(samples_csv(data, doc))
    window = [r for r in table if r["collecting"] == "A7W35"]
    point = next(p for p in doc["points"] if p["id"] == "A7W35")
    assert len(window) == point["window"]["frames"]

    def mean(column: str) -> float:
        return statistics.fmean(float(r[column]) for r in window)

    q = mean("hydraulic_module.volume_flow [m³/h]")
    t_in = mean("hydraulic_module.inlet_temp [°C]")
    t_out = mean("hydraulic_module.outlet_temp [°C]")
    rho = PropsSI("D", "T", t_in + 273.15, "P", p_pa, "IF97::Water")
    cp = PropsSI("C", "T", (t_in + t_out) / 2 + 273.15, "P", p_pa, "IF97::Water")
    assert point["results"]["capacity_w"] == pytest.approx(
        q / 3600 * rho * cp * (t_out - t_in), rel=1e-9
    )
    power = mean("power_analyser.P [W]")
    assert point["results"]["cop"] == pytest.approx(point["results"]["capacity_w"] / power)
    assert math.isclose(point["measured"]["water_flow_m3h"], q, rel_tol=1e-12)


def test_csv_text_is_rfc4180(made):
    data, doc = made
    for text in (points_csv(doc), samples_csv(data, doc)):
        assert text.endswith("\r\n")
        lines = text.split("\r\n")[:-1]
        widths = {len(next(csv.reader([line]))) for line in lines if '"' not in line}
        assert len(widths) == 1
