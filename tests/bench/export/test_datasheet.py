"""datasheet.csv: Keymark codes and dimensions; the SCOP figures against a published sheet."""

from __future__ import annotations

import csv
import io

import pytest

from bench.export.datasheet import datasheet_csv, datasheet_rows
from bench.export.result import build_result
from bench.export.rundata import load_run
from bench.export.seasonal import scop_block

# Heat Pump Keymark data sheet, Groupe Atlantic Loria 6010, low temperature, average climate
# (docs/standards.md §4): declared points (Tj: Pdh kW, COP), all Cdh 0.9; published SCOP 4.47,
# ηs 176 %.
LORIA = {-10: (7.51, 2.37), -7: (8.05, 2.54), 2: (4.90, 4.46), 7: (3.15, 6.20), 12: (4.20, 9.02)}
LORIA_IDS = {-10: "E", -7: "A", 2: "B", 7: "C", 12: "D"}


LORIA_AUX = {"poff": 7, "pto": 52, "psb": 7, "pck": 0, "source": "Loria 6010 Keymark sheet"}


def loria_doc(failed: str = "", aux: dict | None = LORIA_AUX) -> dict:
    """A result document as a run measuring exactly the sheet's points would have it; the
    point `failed` failed, `aux` the plan's declared auxiliary powers."""
    points = [
        {
            "id": LORIA_IDS[tj],
            "status": "failed" if LORIA_IDS[tj] == failed else "valid",
            "reason": "did not stabilise within 180 min" if LORIA_IDS[tj] == failed else "",
            "set": {"air_dry_bulb_c": float(tj), "water_outlet_c": None},
            "results": {"capacity_w": pdh * 1000, "cop": cop, "power_w": pdh * 1000 / cop},
        }
        for tj, (pdh, cop) in LORIA.items()
    ]
    scop = scop_block(
        climate="average",
        pdesignh_kw=9.0,
        tbiv_c=-7.0,
        tol_c=-10.0,
        points=[
            {
                "id": p["id"],
                "status": p["status"],
                "reason": p["reason"],
                "tj_c": p["set"]["air_dry_bulb_c"],
                **p["results"],
            }
            for p in points
        ],
        plan_cdh=0.9,
        plan_aux_w=aux,
    )
    return {"plan": {"standard": "en14825", "application": "low"}, "points": points, "scop": scop}


def table(rows) -> dict[str, tuple]:
    return {r[0]: r for r in rows}


def test_the_published_loria_sheet_is_reproduced_under_keymark_codes():
    rows = table(datasheet_rows(loria_doc()))
    assert rows["EN14825_003"][2] == "4.47"  # published SCOP
    assert rows["EN14825_001"][2] == "176"  # published ηs, %
    assert rows["EN14825_002"][2] == "9.00"
    assert rows["EN14825_004"][2] == "-7" and rows["EN14825_005"][2] == "-10"
    assert rows["EN14825_008"][2:4] == ("8.05", "kW") and rows["EN14825_009"][2] == "2.54"
    assert rows["EN14825_018"][2] == "7.51" and rows["EN14825_019"][2] == "2.37"
    # Tbiv = -7 °C and no separate F point: the A point stands for Tbiv, and says so
    assert rows["EN14825_016"][2] == "8.05" and "from point A" in rows["EN14825_016"][6]
    assert rows["EN14825_023"][2] == "7" and rows["EN14825_024"][2] == "52"
    assert "Loria 6010 Keymark sheet" in rows["EN14825_023"][6]
    assert rows["HPBENCH_STATUS"][2] == "complete"
    for code, row in rows.items():
        if code != "HPBENCH_STATUS":
            assert row[1] == "4_3_0_0", code  # low temperature (4), average climate (3)


def test_an_incomplete_set_exports_no_scop_and_says_which_point_is_missing():
    """Issue 13 item 1: point B failed; the codes stay, the values are empty, and why."""
    rows = table(datasheet_rows(loria_doc(failed="B")))
    for code in ("EN14825_001", "EN14825_003", "EN14825_029", "EN14825_028"):
        assert rows[code][2] is None, code
        assert "incomplete" in rows[code][6] and "B (B: failed)" in rows[code][6], code
    status = rows["HPBENCH_STATUS"]
    assert status[2] == "incomplete"
    assert "B (failed: did not stabilise within 180 min)" in status[6]
    # the measured points themselves are still declared
    assert rows["EN14825_008"][2] == "8.05" and rows["EN14825_010"][2] is None
    text = datasheet_csv(loria_doc(failed="B"))
    line = next(x for x in text.splitlines() if x.startswith("EN14825_003,"))
    assert line.split(",")[2] == ""


def test_without_declared_auxiliary_powers_no_scop_and_nothing_borrowed():
    """Issue 13 item 2: POFF..PCK are never another product's; SCOP needs them, SCOPon not."""
    doc = loria_doc(aux=None)
    assert doc["scop"]["scop"] is None and doc["scop"]["aux_w"] is None
    assert doc["scop"]["scop_on"] == pytest.approx(loria_doc()["scop"]["scop_on"])
    rows = table(datasheet_rows(doc))
    for code in ("EN14825_023", "EN14825_024", "EN14825_025", "EN14825_026"):
        assert rows[code][2] is None and "not given" in rows[code][6], code
    for code in ("EN14825_001", "EN14825_003", "EN14825_029"):
        assert rows[code][2] is None and "auxiliary" in rows[code][6], code


def test_wtol_and_psup_are_declared():
    doc = loria_doc()
    for p in doc["points"]:
        p["set"]["water_outlet_c"] = 35.0 if p["id"] == "E" else 30.0
    doc["scop"] = scop_block(
        climate="average",
        pdesignh_kw=9.0,
        tbiv_c=-7.0,
        tol_c=-10.0,
        points=[
            {
                "id": p["id"],
                "status": "valid",
                "tj_c": p["set"]["air_dry_bulb_c"],
                "outlet_c": p["set"]["water_outlet_c"],
                **p["results"],
            }
            for p in doc["points"]
        ],
        plan_cdh=0.9,
        plan_aux_w=LORIA_AUX,
    )
    rows = table(datasheet_rows(doc))
    assert rows["EN14825_022"][2:4] == ("35", "°C")
    # Tdesignh = TOL = -10 °C: Ph 9 kW, Pdh 7.51 kW, so elbu = PSUP = 1.49 kW (docs/standards.md §4)
    assert rows["EN14825_028"][2:4] == ("1.49", "kW")


@pytest.fixture(scope="module")
def docs(en14511_run, en14825_run):
    return build_result(load_run(en14511_run.dir)), build_result(load_run(en14825_run.dir))


def test_an_en14825_run_fills_the_en14825_fields(docs):
    _, doc = docs
    rows = table(datasheet_rows(doc))
    numbers = (1, 2, 3, 4, 5, *range(8, 27), 28, 29)
    expected = {f"EN14825_{n:03d}" for n in numbers}
    assert expected <= set(rows)
    if doc["scop"]["complete"]:
        assert rows["EN14825_003"][2] == f"{doc['scop']['scop']:.2f}"
    else:
        assert rows["EN14825_003"][2] is None and "incomplete" in rows["EN14825_003"][6]
        assert rows["HPBENCH_STATUS"][2] == "incomplete"
    by_id = {p["id"]: p for p in doc["points"]}
    for code, role in (("EN14825_008", "A"), ("EN14825_012", "C"), ("EN14825_018", "E")):
        point = by_id[role]
        if point["status"] == "valid":
            assert rows[code][2] == f"{point['results']['capacity_w'] / 1000:.2f}"
            assert rows[code][5] == role
    assert "test declaration" in rows["EN14825_023"][6]


def test_an_en14511_run_gives_the_rating_point_fields(docs):
    doc, _ = docs
    rows = table(datasheet_rows(doc))
    a7 = next(p for p in doc["points"] if p["id"] == "A7W35")
    assert rows["EN14511_2_001"] == (
        "EN14511_2_001",
        "4_0_0_0",
        f"{a7['results']['capacity_w'] / 1000:.2f}",
        "kW",
        "heating capacity at the standard rating point",
        "A7W35",
        "",
    )
    assert rows["EN14511_2_003"][2] == f"{a7['results']['cop']:.2f}"
    assert not any(code.startswith("EN14825") for code in rows)


def test_the_file_is_csv_with_a_header(docs):
    text = datasheet_csv(docs[1])
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[0] == ["code", "dimension", "value", "unit", "description", "point", "note"]
    assert all(len(r) == 7 for r in parsed)


def test_scop_uncertainty_is_propagated_from_the_points():
    """u(SCOP) by finite differences of the points' u(Pdh), u(COP): a 1 % standard uncertainty
    on every COP moves SCOPon by about 1 % when all move together (SCOPon is nearly
    proportional to the COPs; back-up heat at TOL dilutes it slightly)."""
    doc = loria_doc()
    points = [
        {
            "id": p["id"],
            "status": "valid",
            "tj_c": p["set"]["air_dry_bulb_c"],
            **p["results"],
            "u_capacity_w": 0.0,
            "u_cop": 0.01 * p["results"]["cop"],
        }
        for p in doc["points"]
    ]
    block = scop_block(
        climate="average",
        pdesignh_kw=9.0,
        tbiv_c=-7.0,
        tol_c=-10.0,
        points=points,
        plan_cdh=0.9,
        plan_aux_w=LORIA_AUX,
    )
    rel = block["u_scop_on"] / block["scop_on"]
    assert 0.008 < rel <= 0.0101
    assert block["U_scop_on"] == pytest.approx(2 * block["u_scop_on"])
    assert block["U_scop"] == pytest.approx(2 * block["u_scop"])
