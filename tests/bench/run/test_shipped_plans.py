"""Issue 13: every shipped plan completes on the simulated bench with every point valid, for
seeds 1-3 of the simulator's noise, under time-warp.

Each plan runs as shipped (its points, conditions, water settings, profile and standard), only
with the profile's equilibrium and collection times shortened so the suite stays fast; the
transient (defrost) rule is the profile's: whole cycles, >= 3 cycles or 3 h. Validity is
judged by the exporter from the stored frames, as a certification body sees it (result.json),
not only by the sequencer's verdict.
"""

from __future__ import annotations

import re

import pytest
import yaml

from bench.export.report_html import report_html
from bench.export.result import build_result
from bench.export.rundata import load_run
from bench.plan.loader import SHIPPED_PLANS
from bench.run.sequencer import Phase
from tests.bench.run.conftest import run_on_sim

SPEED = 1000.0  # bench seconds per wall second (docs/decisions/0130: the highest that held)
SHIPPED = ("demo", "en14511_rating", "en14825_average_low_temp", "overnight")
SHORT = {"equilibrium_min": 5, "collection_min": 10, "stabilise_timeout_min": 400, "sample_s": 5}


def shortened(name: str) -> str:
    doc = yaml.safe_load((SHIPPED_PLANS / f"{name}.yaml").read_text(encoding="utf-8"))
    defaults = doc.setdefault("defaults", {})
    defaults["timing"] = {**(defaults.get("timing") or {}), **SHORT}
    for point in doc.get("points", []):
        point.pop("timing", None)
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", SHIPPED)
async def test_a_shipped_plan_completes_with_every_point_valid(tmp_path, name, seed):
    done = await run_on_sim(tmp_path, shortened(name), speed=SPEED, seed=seed, limit_s=600)
    assert done.phase == Phase.DONE
    doc = build_result(load_run(done.prepared.run_dir))
    not_valid = {
        p["id"]: (p["status"], p["reason"]) for p in doc["points"] if p["status"] != "valid"
    }
    assert not not_valid
    assert doc["completeness"]["complete"], doc["completeness"]
    for p in doc["points"]:
        if p["transient"]:
            assert p["transient_record"]["rule_met"], p["transient_record"]["rule"]


LOAD_BASED = "load_based_average_medium"
SHORT_LOAD_BASED = {"warm_up_min": 20, "duration_min": 60}  # the shipped buildings and cycles
LOAD_BASED_SPEED = 300.0  # B read the same at 150x: not a time-warp artefact


def shortened_load_based() -> str:
    """The shipped load-based plan with shorter warm-ups and fixed times, 5 s samples (the
    loop still steps every second, on the latest frame)."""
    doc = yaml.safe_load((SHIPPED_PLANS / f"{LOAD_BASED}.yaml").read_text(encoding="utf-8"))
    for point in doc["points"]:
        point["load_based"] = {**point["load_based"], **SHORT_LOAD_BASED}
        point["timing"] = {"sample_s": 5}
    return yaml.safe_dump(doc, sort_keys=False)


@pytest.mark.timeout(600)
async def test_the_shipped_load_based_plan_meets_every_demanded_load(tmp_path):
    done = await run_on_sim(tmp_path, shortened_load_based(), speed=LOAD_BASED_SPEED, limit_s=400)
    assert done.phase == Phase.DONE
    doc = build_result(load_run(done.prepared.run_dir))
    not_valid = {
        p["id"]: (p["status"], p["reason"]) for p in doc["points"] if p["status"] != "valid"
    }
    assert not not_valid
    achieved = {p["id"]: p["load_based"]["load_achieved_pct"] for p in doc["points"]}
    cops = {p["id"]: p["load_based"]["cop"] for p in doc["points"]}
    report = report_html(load_run(done.prepared.run_dir), doc)
    rows = re.findall(r'<tr class="lb-point"><td>(\w)</td>(.*?)</tr>', report, re.S)
    assert [point for point, _ in rows] == ["A", "B", "C", "D"]
    for point, row in rows:  # demanded and achieved load, the achieved share, the COP
        cells = re.findall(r'<td class="n">([^<]*)</td>', row)
        assert cells[2] == f"{achieved[point]:.1f}" and cells[3].startswith(f"{cops[point]:.2f}")
    shown = report.split('class="kv lb-scop"')[1].split("</table>")[0]
    assert "Load-based SCOP" in shown
    if (scop_on := doc["load_based_scop"].get("scop_on")) is not None:
        assert f"SCOPon {scop_on:.2f}" in shown
    # OPEN (decision 0150): B, the point that defrosts, meets 86-88 % of its load over whole
    # defrost cycles on the bench, 98 % with the same unit and building in-process
    # (tests/instruments/sim/test_owncontrol.py); not yet explained, so held to 15 % here
    limits = {"A": 5.0, "B": 15.0, "C": 5.0, "D": 5.0}
    assert all(abs(achieved[p] - 100.0) <= limits[p] for p in limits), achieved
    assert doc["load_based_scop"] is not None
