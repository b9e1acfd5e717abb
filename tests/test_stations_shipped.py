"""Every station in stations/ loads (drivers, options, [commands], [quantities], interlock
channels and `sim:` endpoints checked with file:line) and meets the channel contract of every
shipped plan it is meant to run; the plans it cannot run are refused, and for the reason said."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.plan.loader import SHIPPED_PLANS, load_plan
from bench.run.planning import point_specs, unmeasured
from bench.station import load_station, sim_station_path

STATIONS = Path(__file__).parents[1] / "stations"
PLANS = sorted(p.stem for p in SHIPPED_PLANS.glob("*.yaml"))
# station -> plan -> what the refusal says (anything else must run)
CANNOT_RUN = {
    "lab_wt333e_daq970a_f4t_nibe": {
        # NIBE's map has no compressor state: load-based cycles cannot be counted
        "load_based_average_medium": "provides no hp.compressor_on",
    },
}


def test_the_shipped_set():
    assert sorted(p.name for p in STATIONS.glob("*.toml")) == [
        "lab_wt1800e_pt100_simserv_stiebel.toml",
        "lab_wt333e_daq970a_f4t_nibe.toml",
        "sim.toml",
    ]
    # one source: the simulator's default is the packaged station
    assert (STATIONS / "sim.toml").samefile(sim_station_path())


@pytest.mark.parametrize("station", sorted(p.stem for p in STATIONS.glob("*.toml")))
@pytest.mark.parametrize("plan", PLANS)
def test_a_station_meets_the_contract_of_the_plans_it_runs(station, plan):
    loaded = load_station(STATIONS / f"{station}.toml")
    doc = load_plan(SHIPPED_PLANS / f"{plan}.yaml")
    refused = CANNOT_RUN.get(station, {}).get(plan)
    missing = unmeasured(doc, loaded)
    if refused is None:
        assert missing == []
        assert len(point_specs(doc, loaded)) == len(doc.points)
    else:
        assert missing and all(refused in line for line in missing), missing
