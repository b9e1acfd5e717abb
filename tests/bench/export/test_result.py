"""result.json from real runs on the simulated bench: schema, traceability, numbers.

References: the engine's own record written during the run (the same calculation, on the
frames in memory rather than the stored ones), the station file as written, a GUM budget
recomputed here by hand from the stored frames with CoolProp called directly, and published
EN 14825 figures.
"""

from __future__ import annotations

import json
import math
import sqlite3
import statistics
import tomllib

import pytest
from CoolProp.CoolProp import PropsSI
from jsonschema import Draft202012Validator

from bench.export import export_run
from bench.export.result import SCHEMA_VERSION, build_result, dumps, schema, schema_problems
from bench.export.rundata import load_run
from bench.export.settings import bench_settings
from bench.metrology.parts import RANGE_DECLARED, part_range
from bench.station import load_station, sim_station_path
from bench.store import RunStore
from tests.bench.export.conftest import EN14511_PLAN, full_station_text, run_plan

P = "power_analyser.P"
Q = "hydraulic_module.volume_flow"
T_IN = "hydraulic_module.inlet_temp"
T_OUT = "hydraulic_module.outlet_temp"
U_RNG = "power_analyser.Urange"
I_RNG = "power_analyser.Irange"


def result_of(run_dir) -> dict:
    return build_result(load_run(run_dir))


@pytest.fixture(scope="module")
def doc14511(en14511_run) -> dict:
    return result_of(en14511_run.dir)


@pytest.fixture(scope="module")
def doc14825(en14825_run) -> dict:
    return result_of(en14825_run.dir)


def test_the_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_both_runs_validate_against_the_schema(doc14511, doc14825):
    for doc in (doc14511, doc14825):
        Draft202012Validator(schema()).validate(doc)
        assert schema_problems(doc) == []
        assert doc["format"] == "hpbench-result"
        assert doc["schema_version"] == SCHEMA_VERSION


def test_schema_problems_name_where(doc14511):
    broken = json.loads(dumps(doc14511))
    broken["points"][0]["status"] = "great"
    del broken["run"]["id"]
    problems = schema_problems(broken)
    assert any(p.startswith("points/0/status:") for p in problems)
    assert any(p.startswith("run:") and "'id'" in p for p in problems)


def test_instruments_carry_the_station_files_serials_and_calibration(en14511_run, doc14511):
    station = tomllib.loads(en14511_run.station.read_text())
    listed = {i["role"]: i for i in doc14511["instruments"]}
    assert set(listed) == set(station["instruments"])
    for role, entry in station["instruments"].items():
        assert listed[role]["serial"] == entry["serial"]
        due = entry.get("calibration_due")
        assert listed[role]["calibration_due"] == (due.isoformat() if due else None)
        assert listed[role]["accuracy"] == entry.get("accuracy", {})
        assert listed[role]["name"] == role  # the four-role station: named as the role
        assert listed[role]["certificate"] == entry.get("calibration_certificate", "")
        calibrated = entry.get("calibrated")
        assert listed[role]["calibrated"] == (calibrated.isoformat() if calibrated else None)
    # the simulated WT310E reports the serial the station file names
    assert listed["power_analyser"]["serial_check"] == "match"
    assert listed["power_analyser"]["reported"]["model"] == "WT310E"


def test_unit_plan_and_profile_are_named(doc14511):
    assert doc14511["unit"]["serial"] == "T-EXPORT-1"
    assert doc14511["plan"]["standard"] == "en14511"
    assert doc14511["plan"]["resolved"] is True
    assert doc14511["profile"]["name"] == "en14511-3"
    assert doc14511["profile"]["version"]
    assert doc14511["run"]["simulated"] is True
    assert doc14511["scop"] is None


def test_recomputed_results_equal_the_engines_record(en14511_run, en14825_run):
    """`hpbench report` reproduces, from run.sqlite alone, what the engine computed live."""
    checked = 0
    for run in (en14511_run, en14825_run):
        doc = result_of(run.dir)
        with RunStore.open(run.dir) as store:
            records = {r.point_id: r.record for r in store.points()}
        for point in doc["points"]:
            live = records[point["id"]].get("results") or {}
            if "capacity_w" not in live:
                assert point["results"] is None
                continue
            for key in ("capacity_w", "power_w", "power_raw_w", "cop"):
                assert point["results"][key] == live[key], key  # one calculation, same floats
            checked += 1
    assert checked >= 7


def test_set_conditions_validity_and_deviations(doc14511):
    points = {p["id"]: p for p in doc14511["points"]}
    a7 = points["A7W35"]
    assert a7["status"] == "valid" and a7["reason"] == ""
    assert a7["set"]["air_dry_bulb_c"] == 7.0
    assert a7["set"]["air_wet_bulb_c"] == 6.0
    assert a7["set"]["water_outlet_c"] == 35.0
    assert a7["set"]["flow_setting"] == "ΔT 5 K"
    assert a7["measured"]["water_outlet_c"] == pytest.approx(35.0, abs=0.3)
    for name, dev in a7["deviations"].items():
        assert dev["ok"] is True, name
        assert abs(dev["mean_deviation"]) <= dev["mean_limit"]
    failed = points["A12W35"]
    assert failed["status"] == "failed"
    assert "not stable within 5 min" in failed["reason"]
    assert failed["results"] is None and failed["window"] is None


def n_eff(xs: list[float]) -> float:
    """Effective sample count from the lag-1 autocorrelation (Zhang 2006), written out here."""
    n, m = len(xs), statistics.fmean(xs)
    d = [x - m for x in xs]
    var = sum(v * v for v in d)
    r1 = sum(d[i] * d[i + 1] for i in range(n - 1)) / var if var else 0.0
    return float(n) if r1 <= 0 else max(1.0, n * (1 - r1) / (1 + r1))


def test_a_steady_points_uncertainty_recomputed_by_hand(en14511_run, doc14511):
    """The GUM budget from first principles: the stored frames, CoolProp IF97 called here, the
    station file's limits and divisors, and Type A with n_eff, as docs/result-files.md defines;
    then U(k=2) of the capacity at A7/W35 on the simulator's station lies in 1.5-3 % (issue 13)
    and every term of the model is a row of the budget."""
    point = next(p for p in doc14511["points"] if p["id"] == "A7W35")
    station = tomllib.loads(en14511_run.station.read_text())
    acc = station["instruments"]
    p_pa = station["station"]["water_pressure_pa"]
    assert station["station"]["flow_meter"] == "inlet"
    hm = acc["hydraulic_module"]["accuracy"]
    pa = acc["power_analyser"]["accuracy"]
    unc_table = station["uncertainty"]
    with RunStore.open(en14511_run.dir) as store:
        frames = list(store.frames(point["first_seq"], point["last_seq"]))
    rows = [
        (f.value(Q), f.value(T_IN), f.value(T_OUT), f.value(P), f.value(U_RNG), f.value(I_RNG))
        for f in frames
        if None not in (f.value(Q), f.value(T_IN), f.value(T_OUT), f.value(P))
    ]
    q, ti, to, p, u_rng, i_rng = (list(c) for c in zip(*rows, strict=True))
    # the % of range term on the range the analyser reported during the window (largest)
    range_w = max(u * i for u, i in zip(u_rng, i_rng, strict=True))
    dt = [b - a for a, b in zip(ti, to, strict=True)]

    def sdm(xs):
        return statistics.stdev(xs) / math.sqrt(n_eff(xs))

    qm, tim, tom, pm = (statistics.fmean(c) for c in (q, ti, to, p))
    rho = PropsSI("D", "T", tim + 273.15, "P", p_pa, "IF97::Water")  # flow meter at the inlet
    cp = PropsSI("C", "T", (tim + tom) / 2 + 273.15, "P", p_pa, "IF97::Water")
    phi = qm / 3600 * rho * cp * (tom - tim)
    c_t = qm / 3600 * rho * cp
    c_q = rho * cp * (tom - tim) / 3600
    r3 = math.sqrt(3)
    u_cert = hm["temperature_k"] / hm["temperature_divisor"]
    u_drift = hm["temperature_drift_k"] / r3
    u_flow = qm * math.hypot(hm["flow_pct"] / hm["flow_divisor"], hm["flow_drift_pct"] / r3) / 100
    dev = {k: point["deviations"][k]["mean_deviation"] for k in ("water_outlet", "air_dry_bulb")}
    terms = [
        c_t * math.sqrt(2 * u_cert**2 + 2 * u_drift**2),  # two sensors, r = 0
        c_t * sdm(dt),
        c_q * u_flow,
        c_q * sdm(q),
        phi * unc_table["rho_pct"]["value"] / 100 / r3,
        phi * unc_table["cp_pct"]["value"] / 100 / unc_table["cp_pct"]["divisor"],
        unc_table["heat_loss_w"]["value"] / r3,
        phi * unc_table["capacity_per_k_outlet_pct"]["value"] / 100 * abs(dev["water_outlet"]) / r3,
        phi * unc_table["capacity_per_k_air_pct"]["value"] / 100 * abs(dev["air_dry_bulb"]) / r3,
    ]
    u_phi = math.sqrt(sum(t * t for t in terms))
    u_p = math.sqrt(
        ((pa["reading_pct"] / 100 * pm + pa["range_pct"] / 100 * range_w) / r3) ** 2
        + (pa["drift_pct"] / 100 * pm / r3) ** 2
        + (unc_table["power_per_k_outlet_pct"]["value"] / 100 * pm * dev["water_outlet"] / r3) ** 2
        + (unc_table["power_per_k_air_pct"]["value"] / 100 * pm * dev["air_dry_bulb"] / r3) ** 2
        + sdm(p) ** 2
    )
    cop = phi / pm
    u_cop = cop * math.hypot(u_phi / phi, u_p / pm)

    unc = point["uncertainty"]
    assert point["results"]["capacity_w"] == pytest.approx(phi, rel=1e-9)
    assert unc["capacity_w"]["u"] == pytest.approx(u_phi, rel=1e-6)
    assert unc["power_w"]["u"] == pytest.approx(u_p, rel=1e-6)
    assert unc["cop"]["u"] == pytest.approx(u_cop, rel=1e-6)
    for key in ("capacity_w", "power_w", "cop"):
        assert unc[key]["U"] == pytest.approx(2 * unc[key]["u"], rel=1e-12)  # k = 2
    # issue 13 acceptance: U(k=2) of the capacity in 1.5-3 %, every term a named budget row
    assert 0.015 <= unc["capacity_w"]["U"] / phi <= 0.03
    names = " | ".join(r["name"] for r in unc["budget"]["capacity_w"])
    for term in (
        "t_in sensor",
        "t_out sensor",
        "ΔT pair correlation",
        "t_in drift",
        "t_out drift",
        "flow meter",
        "flow meter drift",
        "ρ (IAPWS-IF97)",
        "cp (IAPWS-IF97)",
        "heat loss",
        "condition: outlet",
        "condition: air",
        "ΔT scatter (Type A)",
        "flow scatter (Type A)",
    ):
        assert term in names, term
    rows_u = math.sqrt(
        sum(
            math.copysign(r["contribution"] ** 2, r["contribution"])
            for r in unc["budget"]["capacity_w"]
        )
    )
    assert rows_u == pytest.approx(unc["capacity_w"]["u"], rel=1e-9)
    assert all(r["source"] for r in unc["budget"]["capacity_w"])
    assert "coverage probability of about 95 %" in unc["coverage"]


def test_a_transient_point_is_integrated_with_cycle_scatter(doc14511):
    point = next(p for p in doc14511["points"] if p["id"] == "A2W35")
    assert point["transient"] is True and point["defrosts"] >= 3
    results, unc = point["results"], point["uncertainty"]
    assert results["method"] == "integrated over complete defrost cycles"
    assert results["cycles"] >= 2
    assert results["cop"] == pytest.approx(results["heat_kwh"] / results["electric_kwh"])
    assert unc["available"] is True
    assert "cycle-to-cycle scatter" in unc["type_a"]
    assert unc["budget_capacity_w"]["cycle-to-cycle scatter"] > 0
    assert 0 < unc["cop"]["u_rel"] < 0.05


def test_the_heat_pumps_own_values_are_kept_beside_never_used(doc14511):
    point = next(p for p in doc14511["points"] if p["id"] == "A7W35")
    own = point["heat_pump_reported"]["heat_output_w"]
    assert own is not None and own != point["results"]["capacity_w"]


def test_pump_correction_from_the_station(run_copy):
    """A station with `[station.pump_correction]`: the report reads it from the station text
    stored with the run (given it here after the run, so the numbers are the report's own)."""
    db = run_copy / "run.sqlite"
    conn = sqlite3.connect(db)
    (text,) = conn.execute("SELECT value FROM meta WHERE key = 'station_text'").fetchone()
    station_text = json.loads(text).replace(
        "[station]\n",
        "[station]\npump_correction = { mode = 'integrated', efficiency = 0.25, dp_pa = 40000 }\n",
        1,
    )
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'station_text'", (json.dumps(station_text),)
    )
    conn.commit()
    conn.close()
    doc = result_of(run_copy)
    assert doc["bench"]["pump_correction"] == {
        "mode": "integrated",
        "efficiency": 0.25,
        "dp_pa": 40000.0,
    }
    point = next(p for p in doc["points"] if p["id"] == "A7W35")
    r = point["results"]
    assert point["window"]["frames_used"] == point["window"]["frames"]
    share = point["measured"]["water_flow_m3h"] / 3600 * 40000 / 0.25  # q·Δp/η, W
    assert r["pump_correction_w"] == pytest.approx(-share, rel=1e-9)
    assert r["power_w"] == pytest.approx(r["power_raw_w"] - share, rel=1e-9)
    assert r["cop"] == pytest.approx(r["capacity_w"] / r["power_w"], rel=1e-12)
    assert r["cop_raw"] == pytest.approx(r["capacity_w"] / r["power_raw_w"], rel=1e-12)
    assert schema_problems(doc) == []


def test_a_station_without_the_power_range_gives_no_uncertainty_and_says_why(tmp_path):
    text = sim_station_path().read_text().replace(", range_w = 6000", "")
    path = tmp_path / "station.toml"
    path.write_text(text)
    settings = load_station(path).point_settings()
    accuracies, reason = settings.accuracies, settings.accuracy_problem
    assert accuracies is None
    assert "range_w" in reason and "power_analyser" in reason


def test_the_shipped_sim_station_gives_every_accuracy():
    settings = load_station(sim_station_path()).point_settings()
    accuracies, reason = settings.accuracies, settings.accuracy_problem
    assert accuracies is not None and reason == ""
    assert accuracies.power_parts[0].range_w == 6000.0


def test_a_misspelt_accuracy_key_makes_the_uncertainty_not_available(tmp_path):
    text = sim_station_path().read_text().replace("flow_pct = 0.5", "flow_pc = 0.5")
    path = tmp_path / "station.toml"
    path.write_text(text)
    settings = load_station(path).point_settings()
    accuracies, reason = settings.accuracies, settings.accuracy_problem
    assert accuracies is None
    assert "unknown keys flow_pc" in reason


def test_building_twice_gives_the_same_bytes(en14511_run):
    assert dumps(result_of(en14511_run.dir)) == dumps(result_of(en14511_run.dir))


# -- EN 14825: the acceptance test ---------------------------------------------------------


def test_an_en14825_run_yields_a_scop_block(en14825_run, doc14825):
    scop = doc14825["scop"]
    assert scop is not None and scop["error"] is None
    assert 2.0 < scop["scop"] < 7.0
    assert scop["scop"] <= scop["scop_on"] <= scop["scop_net"]  # aux and back-up only cost
    assert scop["climate"] == "average" and scop["pdesignh_kw"] == 9.0
    # every bin of the average climate: -10..+15 °C, 4910 h in all, and the part-load hours
    # HHE = 2066 h of Reg. (EU) 811/2013 Annex VII
    tj = [b["tj_c"] for b in scop["bins"]]
    assert tj == [float(t) for t in range(-10, 16)]
    assert sum(b["hours"] for b in scop["bins"]) == 4910
    hhe = sum(b["hours"] * b["ph_kw"] for b in scop["bins"]) / scop["pdesignh_kw"]
    assert hhe == pytest.approx(2066, abs=0.5)
    # the figures follow from the bin rows (docs/standards.md §4 formulas)
    load = sum(b["hours"] * b["ph_kw"] for b in scop["bins"])
    spent = sum(
        b["hours"] * ((b["ph_kw"] - b["elbu_kw"]) / b["cop_bin"] + b["elbu_kw"])
        if b["cop_bin"]
        else b["hours"] * b["elbu_kw"]
        for b in scop["bins"]
    )
    assert scop["scop_on"] == pytest.approx(load / spent, rel=1e-9)
    aux = scop["aux_w"]
    aux_kwh = (179 * aux["pto"] + 0 * aux["psb"] + 3851 * aux["pck"] + 3672 * aux["poff"]) / 1e3
    qh = 9.0 * 2066
    assert scop["scop"] == pytest.approx(qh / (qh / scop["scop_on"] + aux_kwh), rel=1e-9)
    # the measured points, mapped to Tj = their air set value
    points = {p["id"]: p for p in doc14825["points"]}
    assert set(points) == set("ABCDEF")
    for used in scop["points_used"]:
        p = points[used["point"]]
        assert p["status"] == "valid"
        assert used["tj_c"] == p["set"]["air_dry_bulb_c"]
        assert used["pdh_kw"] == pytest.approx(p["results"]["capacity_w"] / 1000)
        assert used["cop"] == pytest.approx(p["results"]["cop"])
    assert {u["tj_c"] for u in scop["points_used"]} <= {-10.0, -7.0, 2.0, 7.0, 12.0}
    # A and F share -7 °C: only one is used, and the other is said why
    valid = {k for k, p in points.items() if p["status"] == "valid"}
    if {"A", "F"} <= valid:
        assert {"point": "F", "reason": "same Tj -7 °C as point A, which is kept"} in scop[
            "points_left_out"
        ]
    assert scop["complete"] == (valid >= set("ABCDEF"))
    # the auxiliary powers are the plan's declaration, named as such; Cdh the standard default
    assert scop["aux_w"] == {"poff": 10.0, "pto": 20.0, "psb": 10.0, "pck": 0.0}
    assert scop["aux_source"] == "plan: test declaration, not a real unit"
    assert scop["cdh_source"].startswith("en14825-defaults")


def test_export_run_writes_every_file(en14825_run, tmp_path):
    import shutil

    target = tmp_path / "run"
    shutil.copytree(en14825_run.dir, target)
    written = export_run(target)
    assert [p.name for p in written] == [
        "result.json",
        "points.csv",
        "samples.csv",
        "datasheet.csv",
        "report.html",
        "SHA256SUMS",
    ]
    assert json.loads((target / "result.json").read_text())["scop"]["scop"] > 2
    assert not list(target.glob(".*.tmp"))  # no temporary file left behind


def test_an_en14825_result_without_declared_auxiliary_powers_still_validates(doc14825):
    """No unit.aux_w: SCOP, ηs and QHE are null (SCOPon is given) and the document is valid."""
    from bench.export.seasonal import scop_block

    scop = doc14825["scop"]
    inputs = [
        {
            "id": p["id"],
            "status": p["status"],
            "tj_c": p["set"]["air_dry_bulb_c"],
            "capacity_w": (p["results"] or {}).get("capacity_w"),
            "cop": (p["results"] or {}).get("cop"),
        }
        for p in doc14825["points"]
    ]
    block = scop_block(
        climate=scop["climate"],
        pdesignh_kw=scop["pdesignh_kw"],
        tbiv_c=scop["tbiv_c"],
        tol_c=scop["tol_c"],
        points=inputs,
    )
    assert block["aux_w"] is None and block["scop"] is None and block["eta_s_percent"] is None
    doc = {**doc14825, "scop": block}
    assert schema_problems(doc) == []


def _power_sensor(point: dict) -> dict:
    return next(s for s in point["sensors"] if s["channel"] == P)


def test_each_point_records_the_power_range_read_back_in_its_window(en14511_run, doc14511):
    """The stored frames' Urange x Irange (auto range on the shipped station), not the
    station's declared 6000 W, is the range of the point's sensor record and budget row."""
    for point in doc14511["points"]:
        if point["first_seq"] is None or not point["uncertainty"]["available"]:
            continue
        with RunStore.open(en14511_run.dir) as store:
            frames = list(store.frames(point["first_seq"], point["last_seq"]))
        used = [f for f in frames if None not in (f.value(Q), f.value(T_IN), f.value(T_OUT))]
        used = [f for f in used if f.value(P) is not None]
        u, i = max(((f.value(U_RNG), f.value(I_RNG)) for f in used), key=lambda r: r[0] * r[1])
        sensor = _power_sensor(point)
        assert (sensor["range"], sensor["range_unit"]) == (u * i, "W")
        assert sensor["range_declared"] is False and f"Urange {u:g} V" in sensor["range_source"]
        volts = next(s for s in point["sensors"] if s["channel"] == "power_analyser.U")
        assert (volts["range"], volts["range_unit"]) == (u, "V")
        row = next(
            r for r in point["uncertainty"]["budget"]["power_w"] if "% of range" in r["name"]
        )
        assert row["value"] == u * i and "read back" in row["source"]


def test_each_point_lists_its_power_part_with_range_and_uncertainty(en14511_run, doc14511):
    """The four-role station: one part, the analyser's P, on the range its sensor row names;
    its Type B u from the station's limits by hand, and all of the analysers' share."""
    pa = tomllib.loads(en14511_run.station.read_text())["instruments"]["power_analyser"]
    acc = pa["accuracy"]
    checked = 0
    for point in doc14511["points"]:
        if point["window"] is None:
            assert point["power_parts"] == []
            continue
        (part,) = point["power_parts"]
        assert (part["channel"], part["instrument"]) == (P, "power_analyser")
        assert part["range"]["power_w"] == _power_sensor(point)["range"]
        (element,) = part["range"]["elements"]
        assert (element["voltage"], element["current"]) == (U_RNG, I_RNG)
        mean, rng = part["mean_w"], part["range"]["power_w"]
        limit = (acc["reading_pct"] * mean + acc["range_pct"] * rng) / 100 / math.sqrt(3)
        drift = acc["drift_pct"] / 100 * mean / math.sqrt(3)
        assert part["u_w"] == pytest.approx(math.hypot(limit, drift), rel=1e-12)
        assert part["u_share"] == 1.0
        checked += 1
    assert checked >= 2


def test_ranges_fixed_in_the_station_options_are_the_ones_recorded(tmp_path):
    """600 V x 20 A set by the driver at setup: 12 000 W in the record, twice the declared."""
    text = full_station_text().replace(
        'address = "sim:power_analyser"\n',
        'address = "sim:power_analyser"\noptions = { voltage_range = 600, current_range = 20 }\n',
        1,
    )
    assert "voltage_range = 600" in text
    run = run_plan(tmp_path, EN14511_PLAN.split("points:")[0], text)  # A7W35 alone
    doc = result_of(run.dir)
    point = next(p for p in doc["points"] if p["id"] == "A7W35")
    sensor = _power_sensor(point)
    assert (sensor["range"], sensor["range_declared"]) == (12000.0, False)
    assert "Urange 600 V" in sensor["range_source"] and "Irange 20 A" in sensor["range_source"]
    assert schema_problems(doc) == []


def test_without_a_range_from_the_analyser_the_declared_one_is_used_and_flagged():
    settings = bench_settings(sim_station_path().read_text(), "sim.toml")
    (part,) = settings.sensors.power
    declared = settings.accuracies.power_parts[0].range_w
    ranges = part_range(part, {U_RNG: [None, None], I_RNG: [300.0, None]}, [0, 1], declared)
    assert ranges.as_dict() == {
        "elements": [],
        "power_w": 6000.0,
        "source": RANGE_DECLARED,
        "declared": True,
    }
    read = part_range(part, {U_RNG: [300.0, 300.0], I_RNG: [10.0, 20.0]}, [0, 1], declared)
    assert (read.power_w, read.elements[0].current_a, read.declared) == (6000.0, 20.0, False)
