"""The heat-meter cross-check: the meter found by its driver's role, its mean power over the
window, the EN 1434 error limit, the combined uncertainty, and the report's table. Every
expected number is worked out by hand in the comment beside it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bench.export.heat_meter import compare, en1434_mpe_pct, find_meter, point_check
from bench.export.report_html import _environment
from bench.export.rundata import RunData, Series

# the general station form (FORMAT.md): the meter has a free name and is found by its driver
STATION = """
[instruments.chamber]
driver = "espec"
address = "sim:climate_chamber_tty"
[instruments.wm]
driver = "kamstrup_multical"
address = "tcp://192.168.0.27:502"
accuracy = { en1434_class = 2, qp_m3h = 1.5, dtheta_min_k = 3 }
"""
BENCH_U = {"available": True, "k": 2.0, "capacity_w": {"u": 70.0, "U": 140.0, "u_rel": 0.01}}


def run_data(station: str, series: Series) -> RunData:
    """Only what the check reads: the recorded station text and the frames (the other parts
    need a four-role station, which cannot name a heat meter yet)."""
    return RunData(
        run_dir=Path("."),
        meta={"station_text": station},
        channels={},
        series=series,
        points=[],
        snapshots=[],
        events=[],
        gaps=[],
        settings=None,  # type: ignore[arg-type]
        plan=None,
        plan_problem="",
        plan_doc={},
    )


def test_the_meter_is_found_by_its_drivers_role_not_its_name() -> None:
    found = find_meter(STATION)
    assert found is not None and found[0] == "wm" and found[1]["driver"] == "kamstrup_multical"
    without = STATION.replace("kamstrup_multical", "modbus_hydraulic")
    assert find_meter(without) is None
    assert find_meter("not [toml") is None


def test_en1434_limits_by_hand() -> None:
    # class 2 at q = 1.2 m³/h (qp 1.5), Δθ = 5 K (Δθmin 3 K):
    # Ef = 2 + 0.02·1.5/1.2 = 2.025, Et = 0.5 + 3·3/5 = 2.3, Ec = 0.5 + 3/5 = 1.1 -> 5.425 %
    assert en1434_mpe_pct(2, 1.5, 3.0, 1.2, 5.0) == pytest.approx(5.425)
    # class 3 far below qp: 3 + 0.05·1.5/0.01 = 10.5 % is capped at 5 %; Δθ = 30 K, Δθmin 3 K:
    # Et = 0.5 + 0.3 = 0.8, Ec = 0.5 + 0.1 = 0.6 -> 6.4 %
    assert en1434_mpe_pct(3, 1.5, 3.0, 0.01, 30.0) == pytest.approx(6.4)


def test_a_point_from_the_frames() -> None:
    # four frames; the second has an INVALID meter power (None): mean of 7.0, 7.2, 7.1 kW
    # = 7.1 kW = 7100 W. Flow 1200 l/h = 1.2 m³/h, t1 - t2 = 35 - 30 = 5 K: MPE 5.425 % (above)
    # u(meter) = 7100 · 0.05425 / √3 = 222.38 W; u(Φ) = 70 W; U = 2·√(70² + 222.38²) = 466.28 W
    # difference 7100 - 7000 = +100 W = +1.43 %; E_n = 100 / 466.28 = 0.2145: agrees
    series = Series(
        seq=[1, 2, 3, 4],
        t=[0.0, 5.0, 10.0, 15.0],
        values={
            "wm.power": [7.0, None, 7.2, 7.1],
            "wm.flow_v1": [1200.0] * 4,
            "wm.t1_supply": [35.0] * 4,
            "wm.t2_return": [30.0] * 4,
        },
    )
    check = point_check(run_data(STATION, series), range(0, 4), {"capacity_w": 7000.0}, BENCH_U)
    assert check is not None
    u_meter = 7100.0 * 0.05425 / math.sqrt(3.0)
    combined = 2.0 * math.hypot(70.0, u_meter)
    assert check["instrument"] == "wm" and check["driver"] == "kamstrup_multical"
    assert check["meter_power_w"] == pytest.approx(7100.0)
    assert check["difference_w"] == pytest.approx(100.0)
    assert check["difference_pct"] == pytest.approx(100.0 / 70.0)
    assert check["U_bench_w"] == 140.0 and check["U_meter_w"] == pytest.approx(2 * u_meter)
    assert check["U_combined_w"] == pytest.approx(466.28, abs=0.01)
    assert check["U_combined_w"] == pytest.approx(combined)
    assert check["en"] == pytest.approx(0.2145, abs=1e-4) and check["agrees"] is True
    assert "class 2" in check["meter_accuracy"]
    # the window is the point's rows only: frames 3-4 alone give (7.2 + 7.1) / 2 = 7.15 kW
    assert point_check(run_data(STATION, series), range(2, 4), {"capacity_w": 7000.0}, BENCH_U)[
        "meter_power_w"
    ] == pytest.approx(7150.0)


def test_a_station_without_a_heat_meter_has_no_check() -> None:
    station = '[instruments.hydraulic_module]\ndriver = "modbus_hydraulic"\naddress = "x"\n'
    assert point_check(run_data(station, Series()), range(0), {"capacity_w": 1.0}, BENCH_U) is None


def test_station_percent_accuracy_and_a_difference_beyond_u() -> None:
    # ±1 % of reading from a k = 2 certificate: u = 7600 · 0.01 / 2 = 38 W; u(Φ) = 70 W
    # U = 2·√(70² + 38²) = 159.30 W; difference +600 W: E_n = 3.77, differs
    check = compare(
        "wm", "kamstrup_multical", {"power_pct": 1.0, "power_divisor": 2},
        meter_power_w=7600.0, q_m3h=None, dtheta_k=None,
        results={"capacity_w": 7000.0}, uncertainty=BENCH_U,
    )  # fmt: skip
    assert check["U_meter_w"] == pytest.approx(76.0)
    assert check["U_combined_w"] == pytest.approx(159.30, abs=0.01)
    assert check["en"] == pytest.approx(3.766, abs=1e-3) and check["agrees"] is False


@pytest.mark.parametrize(
    ("accuracy", "uncertainty", "reason"),
    [
        ({}, BENCH_U, "no accuracy"),
        ({"power_pct": 1.0, "power_divsor": 2}, BENCH_U, "accuracy keys"),  # misspelt
        ({"power_pct": "1 %"}, BENCH_U, "power_pct: not a positive number"),
        ({"en1434_class": 1, "qp_m3h": 1.5, "dtheta_min_k": 3}, BENCH_U, "only classes 2 and 3"),
        ({"power_pct": 1.0}, {"available": False, "reason": "x"}, "has no uncertainty"),
    ],
)
def test_no_combined_uncertainty_is_said_not_guessed(
    accuracy: dict[str, Any], uncertainty: dict[str, Any], reason: str
) -> None:
    check = compare(
        "wm", "kamstrup_multical", accuracy, meter_power_w=7100.0, q_m3h=1.2, dtheta_k=5.0,
        results={"capacity_w": 7000.0}, uncertainty=uncertainty,
    )  # fmt: skip
    assert check["difference_w"] == pytest.approx(100.0)
    assert check["U_combined_w"] is None and check["agrees"] is None
    assert reason in check["reason"]


def test_the_report_table() -> None:
    check = compare(
        "wm", "kamstrup_multical", {"power_pct": 1.0, "power_divisor": 2},
        meter_power_w=7600.0, q_m3h=None, dtheta_k=None,
        results={"capacity_w": 7000.0}, uncertainty=BENCH_U,
    )  # fmt: skip
    html = (
        _environment()
        .get_template("_heat_meter.html.j2")
        .render(heat_meter=[{"id": "A7W35", "heat_meter_check": check}])
    )
    row = html.split("<td>A7W35</td>", 1)[1].split("</tr>", 1)[0]
    for cell in ("wm (kamstrup_multical)", "7 000", "7 600", "+600", "+8.6 %", "159", "3.77"):
        assert cell in row, cell
    assert "differs beyond U" in row
