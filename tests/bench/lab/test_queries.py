"""`hpbench lab runs | points | compare` on runs synced from two benches; E_n computed here
from the two result.json files (ISO 13528:2022 §9.7), not from the database."""

from __future__ import annotations

import json
import math

import pytest

from tests.bench.lab.conftest import hpbench


@pytest.fixture
def synced(lab_url, demo_runs):
    for run_dir in demo_runs.values():
        done = hpbench("lab", "sync", str(run_dir), "--db", lab_url)
        assert done.returncode == 0, done.stderr
    return {name: json.loads((d / "result.json").read_text()) for name, d in demo_runs.items()}


def test_runs_filters_by_unit_serial_and_date(lab_url, synced):
    rows = json.loads(hpbench("lab", "runs", "--db", lab_url, "--json").stdout)
    assert {r["station"] for r in rows} == {"bench-a", "bench-b"}
    assert {r["run_id"] for r in rows} == {d["run"]["id"] for d in synced.values()}
    for row in rows:
        (doc,) = [d for d in synced.values() if d["run"]["id"] == row["run_id"]]
        assert row["points"] == len(doc["points"]) == 2
        assert row["valid"] == sum(p["status"] == "valid" for p in doc["points"])
    for args, expected in [
        (["--unit", "s2125-12"], 2),
        (["--unit", "F2040"], 0),
        (["--serial", "SIM-0001"], 2),
        (["--serial", "other"], 0),
        (["--since", "2000-01-01"], 2),
        (["--since", "2999-01-01"], 0),
    ]:
        done = hpbench("lab", "runs", "--db", lab_url, "--json", *args)
        assert len(json.loads(done.stdout)) == expected, args
    table = hpbench("lab", "runs", "--db", lab_url).stdout
    assert "bench-a" in table and "S2125-12" in table


def test_points_gives_cop_with_u_on_every_bench(lab_url, synced):
    rows = json.loads(
        hpbench(
            "lab", "points", "--db", lab_url, "--unit", "S2125-12", "--point", "A7W35", "--json"
        ).stdout
    )
    expected = {}
    for name, doc in synced.items():
        (point,) = [p for p in doc["points"] if p["id"] == "A7W35"]
        u = (point.get("uncertainty") or {}).get("cop") or {}
        expected[name] = ((point.get("results") or {}).get("cop"), u.get("U"))
    assert {r["station"]: (r["cop"], r["cop_u"]) for r in rows} == expected


def test_compare_gives_en_numbers_against_combined_uncertainty(lab_url, synced):
    a, b = synced["bench-a"], synced["bench-b"]
    done = hpbench("lab", "compare", a["run"]["id"], b["run"]["id"], "--db", lab_url, "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    measured = [  # points with results on both benches (a failed point has none)
        p["id"]
        for p in a["points"]
        if (p.get("results") or {}).get("cop") is not None
        and any(q["id"] == p["id"] and (q.get("results") or {}).get("cop") for q in b["points"])
    ]
    assert measured and len(rows) == 3 * len(measured)  # capacity, power, COP each
    for row in rows:
        (p1,) = [p for p in a["points"] if p["id"] == row["point"]]
        (p2,) = [p for p in b["points"] if p["id"] == row["point"]]
        q = row["quantity"]
        d = p2["results"][q] - p1["results"][q]
        u1, u2 = p1["uncertainty"][q]["U"], p2["uncertainty"][q]["U"]
        en = abs(d) / math.sqrt(u1**2 + u2**2)
        assert row["difference"] == pytest.approx(d, rel=1e-12)
        assert row["En"] == pytest.approx(en, rel=1e-12)
        assert row["agree"] == (en <= 1)
    table = hpbench("lab", "compare", a["run"]["id"], b["run"]["id"], "--db", lab_url).stdout
    assert "E_n" in table and ("all |E_n| ≤ 1" in table or "|E_n| > 1" in table)


def test_compare_refuses_an_unknown_run_in_one_line(lab_url, synced):
    done = hpbench("lab", "compare", "nosuch", synced["bench-a"]["run"]["id"], "--db", lab_url)
    assert done.returncode == 2
    assert done.stderr.strip() == "hpbench lab compare: run nosuch: not in the lab database"
