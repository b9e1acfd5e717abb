"""EN 14825 SCOP against docs/standards.md §4 and the Loria 6010 Keymark sheet."""

import json
from importlib.resources import files

import pytest

from bench.metrology import scop as en14825
from bench.metrology.scop import AuxPowers, DeclaredPoint, climate, part_load, seasonal

# Groupe Atlantic Loria 6010, low temperature, average climate (docs/standards.md §4) [X]
LORIA_POINTS = [
    DeclaredPoint(-10, 7.51, 2.37),
    DeclaredPoint(-7, 8.05, 2.54),
    DeclaredPoint(2, 4.90, 4.46),
    DeclaredPoint(7, 3.15, 6.20),
    DeclaredPoint(12, 4.20, 9.02),
]
LORIA_AUX = AuxPowers(poff_w=7, pto_w=52, psb_w=7, pck_w=0)


def loria(**kw):
    return seasonal("average", 9.0, -10, LORIA_POINTS, LORIA_AUX, **kw)


def test_loria_6010_reproduces_the_certificate():
    r = loria()
    assert abs(r.scop - 4.47) <= 0.01  # published SCOP 4.47
    assert round(r.eta_s_percent) == 176  # published ηs 176 %
    assert r.scop == pytest.approx(4.472, abs=0.0005)  # "the method above gives 4.472"


def test_loria_sanity_of_scop_on_net_and_energies():
    r = loria()
    # auxiliary modes only add consumption, backup heater only lowers SCOPon
    assert r.scop < r.scop_on < r.scop_net
    assert 4.4 < r.scop_on < 4.6 and 4.4 < r.scop_net < 4.7
    assert r.qh_kwh == pytest.approx(9.0 * 2066)
    assert r.qhe_kwh == pytest.approx(r.qh_kwh / r.scop)
    # aux energy: 179·52 + 3672·7 Wh = 35 012 Wh
    assert r.qhe_kwh - r.qh_kwh / r.scop_on == pytest.approx(35.012)


@pytest.mark.parametrize("name", ["average", "warmer", "colder"])
def test_bin_hours_reproduce_hhe(name):
    c = climate(name)
    published = {"average": 2066, "warmer": 1336, "colder": 2465}[name]  # Reg. 811/2013
    assert sum(h * c.part_load(tj) for tj, h in c.bins) == pytest.approx(published, abs=0.5)


@pytest.mark.parametrize(
    ("tj", "pl_percent"), [(-7, 88.5), (2, 53.8), (7, 34.6), (12, 15.4)]
)  # A, B, C, D of the average climate, §4 [X]
def test_part_load_at_the_average_test_points(tj, pl_percent):
    assert 100 * part_load(tj, -10) == pytest.approx(pl_percent, abs=0.05)


def test_climates_come_from_the_package_data_unchanged():
    raw = json.loads(files("bench").joinpath("data/en14825_bins.json").read_text())
    assert "source" in raw
    for name in en14825.CLIMATES:
        c = climate(name)
        assert sum(h for _, h in c.bins) == raw[name]["total_hours"]
        assert (c.tdesignh_c, c.hhe_h) == (raw[name]["Tdesignh"], raw[name]["HHE"])
        assert c.bins[0][0] == c.tdesignh_c and c.bins[-1][0] == 15
    with pytest.raises(ValueError, match="unknown climate"):
        climate("tropical")


def test_bin_table_by_hand_at_declared_points_and_beyond_d():
    rows = {r.tj_c: r for r in loria().bins}
    # at a declared point Pdh is the declared value; at +12 °C: Ph = 9·(12−16)/(−26) = 1.3846,
    # CR = 1.3846/4.20 = 0.32967, COPbin = 9.02·CR/(0.9·CR + 0.1) = 7.4959
    d = rows[12]
    assert d.pdh_kw == pytest.approx(4.20)
    assert d.cr == pytest.approx(0.32967, abs=1e-5)
    assert d.cop_bin == pytest.approx(7.4959, abs=1e-4)
    # above D: along C–D, Pdh(15) = 4.20 + 3·(4.20 − 3.15)/5 = 4.83
    assert rows[15].pdh_kw == pytest.approx(4.83)
    # at TOL −10: Ph 9 kW > Pdh 7.51 kW → backup 1.49 kW, CR 1, COPbin = COPd
    assert rows[-10].elbu_kw == pytest.approx(1.49)
    assert (rows[-10].cr, rows[-10].cop_bin) == (1.0, pytest.approx(2.37))


def test_below_tol_the_heat_pump_is_off():
    points = LORIA_POINTS[1:]  # drop the −10 °C point, TOL −7
    r = seasonal("average", 9.0, -7, points, LORIA_AUX)
    off = [row for row in r.bins if row.tj_c < -7]
    assert [row.tj_c for row in off] == [-10, -9, -8]
    for row in off:
        assert row.elbu_kw == row.ph_kw and row.cop_bin is None and row.pdh_kw is None
    assert r.scop < loria().scop


def test_eta_s_corrections_and_cc_parameter():
    air = loria()
    assert air.eta_s_percent == pytest.approx(100 * air.scop / 2.5 - 3)
    assert loria(source="water").eta_s_percent == pytest.approx(air.eta_s_percent - 5)
    assert loria(source="brine").eta_s_percent == pytest.approx(air.eta_s_percent - 5)
    assert loria(cc=2.1).eta_s_percent == pytest.approx(100 * air.scop / 2.1 - 3)


def test_points_in_any_order_and_identical_duplicates():
    shuffled = [*reversed(LORIA_POINTS), LORIA_POINTS[1]]  # F = A at Tbiv −7, same values
    r = seasonal("average", 9.0, -10, shuffled, LORIA_AUX)
    assert r.scop == loria().scop


@pytest.mark.parametrize(
    ("points", "tol", "match"),
    [
        ([*LORIA_POINTS, DeclaredPoint(-7, 8.0, 2.5)], -10, "two different points"),
        ([LORIA_POINTS[0]], -10, "two or more"),
        ([DeclaredPoint(-12, 7, 2), *LORIA_POINTS], -10, "below TOL"),
        ([*LORIA_POINTS, DeclaredPoint(16, 4, 9)], -10, "no heating load"),
        ([DeclaredPoint(7, 3, 6), DeclaredPoint(12, 8, 1)], 7, "must stay positive"),
        (LORIA_POINTS[1:], -10, "no declared point at TOL"),
    ],
)
def test_bad_declarations(points, tol, match):
    with pytest.raises(ValueError, match=match):
        seasonal("average", 9.0, tol, points, LORIA_AUX)


def test_no_extrapolation_below_the_lowest_declared_point():
    """Issue 13 item 8: EN 14825 declares a point at TOL (docs/standards.md §4); a sheet whose
    lowest point lies above TOL is an error, not extrapolated along the lowest segment."""
    with pytest.raises(ValueError, match="no declared point at TOL -10"):
        seasonal("average", 9.0, -10, LORIA_POINTS[1:], LORIA_AUX)
