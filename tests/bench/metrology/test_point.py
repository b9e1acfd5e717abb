"""The one point calculation and the station settings it takes (issue 12 §4).

Reference values are computed here from the formulas of docs/standards.md §3 with CoolProp
called directly (IAPWS-IF97, the default formulation), not through bench.metrology."""

from __future__ import annotations

import pytest
from CoolProp.CoolProp import PropsSI

from bench.metrology.point import PointSettings, Samples, calculate
from bench.station import StationError, parse_station, sim_station_path

SIM = sim_station_path().read_text(encoding="utf-8")
PUMP = "pump_correction = { mode = 'integrated', efficiency = 0.25, dp_pa = 40000 }\n"


def with_pump(line: str = PUMP) -> str:
    text = SIM.replace("[station]\n", "[station]\n" + line, 1)
    assert text != SIM
    return text


def samples(power: list[float | None]) -> Samples:
    n = len(power)
    return Samples(
        t=[5.0 * i for i in range(n)],
        flow_m3h=[1.6] * n,
        inlet_c=[30.0] * n,
        outlet_c=[35.0] * n,
        power={"power_analyser.P": power},
        defrost=[0.0] * n,
        ranges={},
    )


def test_the_station_pump_correction_is_applied_to_power_and_cop():
    settings = parse_station(with_pump(), "st.toml").point_settings()
    out = calculate(samples([2000.0, None, 2000.0, 2000.0]), transient=False, settings=settings)
    assert out["usable"] == [True, False, True, True]
    r = out["results"]
    rho = PropsSI("D", "T", 303.15, "P", 3.0e5, "IF97::Water")  # at the inlet meter
    cp = PropsSI("C", "T", 305.65, "P", 3.0e5, "IF97::Water")  # at the mean t
    phi = 1.6 / 3600 * rho * cp * 5.0
    share = 1.6 / 3600 * 40000 / 0.25  # q·Δp/η
    assert r["capacity_w"] == pytest.approx(phi, rel=1e-9)
    assert r["power_raw_w"] == 2000.0
    assert r["power_w"] == pytest.approx(2000.0 - share, rel=1e-12)
    assert r["cop"] == pytest.approx(phi / (2000.0 - share), rel=1e-9)
    assert r["cop_raw"] == pytest.approx(phi / 2000.0, rel=1e-9)
    assert out["uncertainty"]["available"] is True


def test_a_disabled_pump_correction_leaves_the_power_raw():
    off = with_pump(PUMP.replace("dp_pa = 40000", "dp_pa = 40000, enabled = false"))
    settings = parse_station(off, "st.toml").point_settings()
    assert settings.pump is None
    r = calculate(samples([2000.0] * 3), transient=False, settings=settings)["results"]
    assert r["power_w"] == r["power_raw_w"] == 2000.0 and r["cop"] == r["cop_raw"]


def test_a_bad_pump_correction_names_file_and_line():
    text = with_pump(PUMP.replace("efficiency = 0.25", "efficiency = 1.5"))
    with pytest.raises(StationError) as caught:
        parse_station(text, "st.toml")
    assert str(caught.value).startswith("st.toml:5: station.pump_correction.efficiency")


def test_too_few_usable_samples_or_no_power_give_an_error_not_numbers():
    few = calculate(samples([2000.0, None, None]), transient=False, settings=PointSettings())
    assert "fewer than two frames" in few["results"]["error"]
    assert few["uncertainty"]["available"] is False
    zero = calculate(samples([0.0, 0.0]), transient=False, settings=PointSettings())
    assert "must be positive" in zero["results"]["error"]
