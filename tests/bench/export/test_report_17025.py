"""The ISO/IEC 17025 (7.8.2) content of report.html: identification of lab, customer, item and
dates; the incomplete SCOP said on the first page; and the result.json 1.1 fields (budget,
coverage, deviations, validity, transient cycles, sensors, barometric pressure) shown when a
result carries them, as docs/result-files.md describes them."""

from __future__ import annotations

import copy
import dataclasses
import re

import pytest

from bench.export.report_html import accuracy_words, report_html
from bench.export.result import build_result
from bench.export.rundata import load_run
from bench.export.settings import bench_settings

LAB = """
[laboratory]
name = "Prüflabor Nord GmbH"
address = "Am Prüfstand 3, 24103 Kiel"
location = "Hall 2, climate chamber K1"
report_prefix = "PLN"
"""
CUSTOMER = {"name": "ACME Wärme AG", "address": "Hauptstr. 1, 10115 Berlin"}

BUDGET_ROW = {
    "name": "outlet temperature sensor, certificate",
    "type": "B",
    "value": 34.0,
    "value_unit": "°C",
    "u": 0.015,
    "u_unit": "K",
    "divisor": 2.0,
    "sensitivity": 1650.0,
    "sensitivity_unit": "W/K",
    "contribution": 24.75,
    "source": "certificate DKD-K-12345 2026-03, U = 0.03 K (k = 2)",
}


def text_of(html: str) -> str:
    """The page's words, tags removed: what a reader sees."""
    body = re.sub(r"<svg .*?</svg>", " ", html, flags=re.S)
    body = re.sub(r"<style>.*?</style>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def first_page(html: str) -> str:
    return text_of(html.split('<section class="sec">', 1)[0])


def with_one_point_failed(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    failed = doc["points"][1]
    failed["status"], failed["reason"] = "invalid", "water_outlet: mean deviation beyond ±0.3 K"
    doc["scop"].update(complete=False, missing_roles=[failed["id"]])
    if "completeness" in doc:  # result.json 1.1 states it, as a run with this point failed would
        doc["completeness"].update(complete=False, points_valid=len(doc["points"]) - 1)
        doc["completeness"]["missing"] = [
            {"point": failed["id"], "status": "invalid", "reason": failed["reason"]}
        ]
    return doc


def upgraded(doc: dict) -> dict:
    """The run's document with the schema 1.1 fields of docs/result-files.md filled in."""
    doc = copy.deepcopy(doc)
    doc["schema_version"] = "1.1"
    first = doc["points"][0]
    doc["completeness"] = {
        "complete": False,
        "points_total": len(doc["points"]),
        "points_valid": len(doc["points"]) - 1,
        "missing": [{"point": first["id"], "status": "invalid", "reason": "sample gap 60 s"}],
    }
    doc["deviations"] = [
        {
            "kind": "sample_gap",
            "point": first["id"],
            "message": "a 60 s gap in the collection window (limit 10 s)",
            "source": "profile en14511-3 sample_max_s",
        },
        {
            "kind": "fallback",
            "point": None,
            "message": "barometric pressure from the plan: no barometer channel",
            "source": "plan defaults.barometric_pa",
        },
    ]
    doc["validity_rule"] = {
        "text": "Valid when every check passes; the uncertainty is not subtracted.",
        "source": "profile en14511-3 decision_rule",
    }
    doc["coverage"] = "U = k·u with k = 2 (about 95 % coverage), stated as value ± U."
    doc["barometric"] = {
        "pa": 101325.0,
        "source": "plan (fallback)",
        "channel": None,
        "flagged": True,
    }
    doc["unit"]["serial_check"] = "mismatch"
    first["validity"] = {
        "rule": doc["validity_rule"]["text"],
        "valid": False,
        "reasons": ["sample gap of 60 s beyond 10 s"],
        "checks": [
            {"name": "deviations", "ok": True, "detail": ""},
            {"name": "sample_gaps", "ok": False, "detail": "max 60 s"},
        ],
    }
    first["transient_record"] = {
        "cycles_required": 3,
        "window_required_s": 10800,
        "cycle_count": 3,
        "window": {
            "start": "2026-12-05T01:00:00Z",
            "end": "2026-12-05T03:30:00Z",
            "duration_s": 9000,
        },
        "rule_met": True,
        "rule": ">= 3 cycles or 3 h",
        "cycles": [
            {
                "index": i,
                "start": "2026-12-05T01:00:00Z",
                "end": "2026-12-05T01:50:00Z",
                "duration_s": 3000,
                "defrost_s": 240,
                "capacity_w": 6100.0 + i,
                "power_w": 2000.0,
                "cop": 3.05,
            }
            for i in (1, 2, 3)
        ],
        "type_a": {"capacity_w": 12.5},
    }
    first["sensors"] = [
        {
            "quantity": "water_outlet",
            "channel": "hydraulic_module.outlet_temp",
            "instrument": "hydraulic_module",
            "serial": "PT100-7781",
            "range": None,
            "range_unit": None,
            "range_source": None,
            "certificate": "DKD-K-12345-2026-03",
            "certificate_U": 0.03,
            "certificate_k": 2,
            "calibrated": "2026-03-01",
            "calibration_due": "2027-03-01",
        }
    ]
    first["uncertainty"]["budget"] = {"capacity_w": [BUDGET_ROW]}
    first["uncertainty"]["n_eff"] = {"hydraulic_module.outlet_temp": 17.4}
    doc["scop"]["U_scop"] = 0.123
    doc["scop"]["aux_w"] = None
    doc["scop"]["scop"] = None
    doc["scop"]["aux_source"] = "auxiliary powers neither measured nor declared in the plan"
    return doc


@pytest.fixture(scope="module")
def run(en14825_run):
    data = load_run(en14825_run.dir)
    return data, build_result(data)


@pytest.fixture(scope="module")
def full(run):
    """The 1.1 document, a station with [laboratory], a plan with customer and received."""
    data, doc = run
    station = data.meta["station_text"] + LAB
    plan_doc = {**data.plan_doc, "customer": CUSTOMER}
    plan_doc["unit"] = {**plan_doc["unit"], "received": "2026-11-20"}
    data = dataclasses.replace(data, settings=bench_settings(station, "test"), plan_doc=plan_doc)
    doc = upgraded(doc)
    return doc, report_html(data, doc)


def test_the_first_page_identifies_lab_customer_item_method_and_dates(full):
    doc, html = full
    page = first_page(html)
    for words in (
        "Prüflabor Nord GmbH, Am Prüfstand 3, 24103 Kiel",
        "Hall 2, climate chamber K1",
        "ACME Wärme AG, Hauptstr. 1, 10115 Berlin",
        f"NIBE S2125-12, serial {doc['unit']['serial']}",
        "unit received 2026-11-20",
        f"tested {doc['run']['first_frame'][:10]}",
        "report issued not issued: awaiting approval",
        f"profile {doc['profile']['name']} {doc['profile']['version']}",
        "The results relate only to the item tested",
    ):
        assert words in page, words
    number = f"PLN-{doc['run']['created'][:10].replace('-', '')}-{doc['run']['id']}"
    assert f"Report No. {number}" in page
    # the page-margin boxes print it on every page, with "Page x of y"
    assert f'@top-right {{ content: "Test report {number}"' in html
    assert 'content: "Page " counter(page) " of " counter(pages)' in html
    assert f"End of report {number}" in text_of(html)


def test_an_incomplete_set_is_said_on_the_first_page(run):
    data, doc = run
    failed = with_one_point_failed(doc)
    page = first_page(report_html(data, failed))
    assert "No SCOP rating: the set is incomplete" in page
    point = failed["points"][1]["id"]
    assert f"no valid point for {point}" in page
    assert f"{point} (invalid: water_outlet: mean deviation beyond ±0.3 K)" in page


def test_the_result_1_1_fields_are_shown(full):
    doc, html = full
    text = text_of(html)
    first = doc["points"][0]["id"]
    # uncertainty budget row: every column, and the coverage statement
    for words in (
        "outlet temperature sensor, certificate",
        "34 °C",
        "0.015 K",
        "1 650 W/K",
        "24.8",
        "certificate DKD-K-12345 2026-03, U = 0.03 K (k = 2)",
        doc["coverage"],
        "hydraulic_module.outlet_temp 17.4",
    ):
        assert words in text, words
    # deviations, decision rule, validity, cycles, sensors, barometric pressure, identity
    assert "a 60 s gap in the collection window (limit 10 s)" in text
    assert "profile en14511-3 sample_max_s" in text
    assert "barometric pressure from the plan: no barometer channel" in text
    assert doc["validity_rule"]["text"] in text
    assert "✗ sample gaps (max 60 s)" in text and "sample gap of 60 s beyond 10 s" in text
    assert f"Point {first}: transient test, 3 whole cycle(s)" in text
    assert "rule met" in text and "6 103" in text
    assert "PT100-7781" in text and "DKD-K-12345-2026-03" in text and "0.03 (k = 2)" in text
    assert "101.33 kPa, plan (fallback) — flagged: not measured" in text
    assert "serial check: mismatch" in text
    # completeness as result.json states it, and no SCOP without auxiliary powers
    assert f"{len(doc['points']) - 1} of {len(doc['points'])} point(s) valid" in first_page(html)
    assert "auxiliary powers neither measured nor declared in the plan" in first_page(html)
    assert "SCOP – (not given: auxiliary powers neither measured" in text


def test_accuracy_is_said_in_words_and_units():
    assert accuracy_words({"temperature_k": 0.03, "flow_pct": 0.2}) == (
        "each temperature ±0.03 K, flow ±0.2 % of reading"
    )
    assert accuracy_words({"reading_pct": 0.1, "range_pct": 0.1, "range_w": 6000.0}) == (
        "power ±0.1 % of reading, ±0.1 % of range, range 6000 W"
    )
    assert accuracy_words({"new_key": 1.5}) == "new key 1.5"
    assert accuracy_words({}) == "–"
