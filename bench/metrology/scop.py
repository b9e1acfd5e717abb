"""EN 14825 seasonal coefficient of performance (SCOP) and ηs, heating (docs/standards.md §4).

Bin hours come from ``bench/data/en14825_bins.json`` [X]. Per bin Tj:

    pl = (Tj − 16)/(Tdesignh − 16), Ph = Pdesignh·pl                                  [X]
    COPbin at each declared point: CR = min(1, Ph/Pdh), COPd·CR/(Cdh·CR + 1 − Cdh)     [S, X]
    Pdh and COPbin linear in Tj between declared points, extrapolated from the two
    highest points (C–D) above the highest one; a point at TOL is required (EN 14825
    declares one): nothing is extrapolated below the lowest declared point              [X]
    elbu = max(0, Ph − Pdh); below TOL the heat pump is off and elbu = Ph               [S]
    SCOPon  = Σ hj·Ph / Σ hj·[(Ph − elbu)/COPbin + elbu]
    SCOPnet = Σ hj·(Ph − elbu) / Σ hj·(Ph − elbu)/COPbin
    SCOP    = QH / (QH/SCOPon + HTO·PTO + HSB·PSB + HCK·PCK + HOFF·POFF), QH = Pdesignh·HHE
    QHE     = QH/SCOP;   ηs = SCOP/CC − F(1) − F(2)                                  [R, X]

The interpolation is the one that reproduces certified sheets best [X]; a sheet whose
certificate used more part-load data than it shows may not reproduce (§4).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Literal

ClimateName = Literal["average", "warmer", "colder"]
Source = Literal["air", "water", "brine"]

CLIMATES: tuple[ClimateName, ...] = ("average", "warmer", "colder")
# Highest permitted bivalent temperature per climate [R: Reg. (EU) 811/2013 Annex VII].
TBIV_MAX_C: dict[str, float] = {"average": 2.0, "warmer": 7.0, "colder": -7.0}
F1_PERCENT = 3.0  # [R, X] correction for temperature controls
F2_PERCENT = 5.0  # [R, X] ground water pump share: water/brine-source units only
CC_DEFAULT = 2.5  # [R, X] primary energy conversion coefficient; revisions may change it
CDH_DEFAULT = 0.9  # [S, X] degradation coefficient when not measured
_T_NO_LOAD_C = 16.0  # part load is zero at 16 °C [X]
_BINS_RESOURCE = "data/en14825_bins.json"


@dataclass(frozen=True)
class Climate:
    """A reference heating season: design temperature, hours per mode, bin hours."""

    name: str
    tdesignh_c: float
    hhe_h: float
    hto_h: float
    hsb_h: float
    hck_h: float
    hoff_h: float
    tbiv_max_c: float
    bins: tuple[tuple[float, float], ...]
    """(Tj °C, hours) in increasing Tj."""

    def part_load(self, tj_c: float) -> float:
        return part_load(tj_c, self.tdesignh_c)


def part_load(tj_c: float, tdesignh_c: float) -> float:
    """pl(Tj) = (Tj − 16)/(Tdesignh − 16) [X]: the share of the design load at Tj."""
    return (tj_c - _T_NO_LOAD_C) / (tdesignh_c - _T_NO_LOAD_C)


@cache
def climate(name: str) -> Climate:
    """The named climate with its bins, from the package data file."""
    if name not in CLIMATES:
        raise ValueError(f"unknown climate {name!r}; use one of {', '.join(CLIMATES)}")
    raw = json.loads(files("bench").joinpath(_BINS_RESOURCE).read_text(encoding="utf-8"))
    c = raw[name]
    bins = tuple(sorted((float(t), float(h)) for t, h in c["bins"].items()))
    return Climate(
        name=name,
        tdesignh_c=float(c["Tdesignh"]),
        hhe_h=float(c["HHE"]),
        hto_h=float(c["HTO"]),
        hsb_h=float(c["HSB"]),
        hck_h=float(c["HCK"]),
        hoff_h=float(c["HOFF"]),
        tbiv_max_c=TBIV_MAX_C[name],
        bins=bins,
    )


@dataclass(frozen=True)
class DeclaredPoint:
    """A declared part-load point: capacity Pdh and COPd at outdoor temperature Tj."""

    tj_c: float
    pdh_kw: float
    cop: float
    cdh: float = CDH_DEFAULT


@dataclass(frozen=True)
class AuxPowers:
    """Power in the auxiliary modes, W: off, thermostat off, standby, crankcase heater."""

    poff_w: float
    pto_w: float
    psb_w: float
    pck_w: float


@dataclass(frozen=True)
class BinRow:
    """One bin of the report table; Pdh, CR and COPbin are None where the heat pump is off."""

    tj_c: float
    hours: float
    ph_kw: float
    pdh_kw: float | None
    cr: float | None
    cop_bin: float | None
    elbu_kw: float


@dataclass(frozen=True)
class ScopResult:
    scop: float
    scop_on: float
    scop_net: float
    qh_kwh: float
    qhe_kwh: float
    eta_s_percent: float
    bins: tuple[BinRow, ...]


def seasonal(
    climate_name: str,
    pdesignh_kw: float,
    tol_c: float,
    points: Iterable[DeclaredPoint],
    aux: AuxPowers,
    *,
    cc: float = CC_DEFAULT,
    source: Source = "air",
) -> ScopResult:
    """SCOP, SCOPon, SCOPnet, QH, QHE and ηs of a unit in one climate (module docstring)."""
    clim = climate(climate_name)
    if not pdesignh_kw > 0:
        raise ValueError(f"Pdesignh {pdesignh_kw!r} kW must be positive")
    if not cc > 0:
        raise ValueError(f"CC {cc!r} must be positive")
    if source not in ("air", "water", "brine"):
        raise ValueError(f"source {source!r} must be air, water or brine")
    knots = _knots(_unique_points(points, tol_c), pdesignh_kw, clim.tdesignh_c)

    rows: list[BinRow] = []
    for tj, hours in clim.bins:
        ph = pdesignh_kw * clim.part_load(tj)
        if tj < tol_c:
            rows.append(BinRow(tj, hours, ph, None, None, None, elbu_kw=ph))
            continue
        pdh = _interp(knots, tj, 1)
        cop_bin = _interp(knots, tj, 2)
        if pdh <= 0 or cop_bin <= 0:
            raise ValueError(
                f"declared points give Pdh {pdh:.3f} kW, COPbin {cop_bin:.3f} at {tj:g} °C "
                "by linear interpolation/extrapolation; both must stay positive"
            )
        rows.append(BinRow(tj, hours, ph, pdh, min(1.0, ph / pdh), cop_bin, max(0.0, ph - pdh)))

    heat = sum(r.hours * r.ph_kw for r in rows)
    hp_heat = sum(r.hours * (r.ph_kw - r.elbu_kw) for r in rows)
    hp_elec = sum(r.hours * (r.ph_kw - r.elbu_kw) / r.cop_bin for r in rows if r.cop_bin)
    backup = sum(r.hours * r.elbu_kw for r in rows)
    if hp_elec <= 0:
        raise ValueError(f"no bin at or above TOL {tol_c:g} °C: the heat pump never runs")
    scop_on = heat / (hp_elec + backup)
    scop_net = hp_heat / hp_elec

    qh = pdesignh_kw * clim.hhe_h
    aux_kwh = (
        clim.hto_h * aux.pto_w
        + clim.hsb_h * aux.psb_w
        + clim.hck_h * aux.pck_w
        + clim.hoff_h * aux.poff_w
    ) / 1000.0
    qhe = qh / scop_on + aux_kwh
    scop = qh / qhe
    eta = 100.0 * scop / cc - F1_PERCENT - (F2_PERCENT if source in ("water", "brine") else 0.0)
    return ScopResult(
        scop=scop,
        scop_on=scop_on,
        scop_net=scop_net,
        qh_kwh=qh,
        qhe_kwh=qhe,
        eta_s_percent=eta,
        bins=tuple(rows),
    )


def _unique_points(points: Iterable[DeclaredPoint], tol_c: float) -> list[DeclaredPoint]:
    by_tj: dict[float, DeclaredPoint] = {}
    for p in points:
        if not (p.pdh_kw > 0 and p.cop > 0 and 0 <= p.cdh <= 1):
            raise ValueError(f"point at {p.tj_c:g} °C: need Pdh > 0, COP > 0, 0 ≤ Cdh ≤ 1")
        if p.tj_c < tol_c:
            raise ValueError(f"point at {p.tj_c:g} °C is below TOL {tol_c:g} °C (unit off)")
        if p.tj_c >= _T_NO_LOAD_C:
            raise ValueError(f"point at {p.tj_c:g} °C has no heating load (≥ 16 °C)")
        seen = by_tj.setdefault(p.tj_c, p)
        if seen != p:
            raise ValueError(
                f"two different points at {p.tj_c:g} °C; declare it once (keep the A–D point)"
            )
    if len(by_tj) < 2:
        raise ValueError(f"need points at two or more temperatures, got {len(by_tj)}")
    if tol_c not in by_tj:  # EN 14825 declares Pdh and COP at TOL (docs/standards.md §4)
        lowest = min(by_tj)
        raise ValueError(
            f"no declared point at TOL {tol_c:g} °C (lowest {lowest:g} °C): below the lowest "
            "declared point nothing is extrapolated"
        )
    return sorted(by_tj.values(), key=lambda p: p.tj_c)


def _knots(
    points: list[DeclaredPoint], pdesignh_kw: float, tdesignh_c: float
) -> list[tuple[float, float, float]]:
    """(Tj, Pdh, COPbin) at each declared point: the cycling loss applied where CR < 1."""
    knots = []
    for p in points:
        cr = min(1.0, pdesignh_kw * part_load(p.tj_c, tdesignh_c) / p.pdh_kw)
        knots.append((p.tj_c, p.pdh_kw, p.cop * cr / (p.cdh * cr + 1.0 - p.cdh)))
    return knots


def _interp(knots: list[tuple[float, float, float]], tj: float, i: int) -> float:
    """Linear in Tj through the knots; beyond either end, along the end segment."""
    seg = 0
    while seg < len(knots) - 2 and tj > knots[seg + 1][0]:
        seg += 1
    (x0, *a), (x1, *b) = knots[seg], knots[seg + 1]
    y0, y1 = a[i - 1], b[i - 1]
    return y0 + (y1 - y0) * (tj - x0) / (x1 - x0)
