"""The SCOP block of an EN 14825 run: measured part-load points into `bench.metrology.scop`.

Each measured point is a declared point at Tj = its air dry-bulb set value, with Pdh its
measured heating capacity and COPd its measured COP (effective power input). Only valid points
are used; the others are listed with the reason. Cdh and the auxiliary-mode powers are not
measured by a bench run: the plan's values when it gives them (`unit.cdh`, `unit.aux_w`),
else those of `en14825_defaults.toml`, named in the block with their source tags.

Roles A–D (and G for the colder climate) are the fixed temperatures of STANDARDS.md §4,
E is TOL and F is Tbiv. A point whose id is the role's letter takes it; otherwise points take
roles by temperature in plan order. Where two valid points share a Tj (F = A when Tbiv is
−7 °C), the A–D point is kept, as the method that reproduces certified sheets does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bench.export.settings import en14825_defaults
from bench.metrology import scop as en14825

FIXED_ROLES: dict[str, float] = {"A": -7.0, "B": 2.0, "C": 7.0, "D": 12.0}
COLDER_ROLE = ("G", -15.0)
AUX_KEYS = ("poff", "pto", "psb", "pck")


def roles(climate: str, tol_c: float, tbiv_c: float) -> dict[str, float]:
    """Role letter -> Tj, in the order roles are given out."""
    out = dict(FIXED_ROLES)
    if climate == "colder":
        out[COLDER_ROLE[0]] = COLDER_ROLE[1]
    out["E"] = tol_c
    out["F"] = tbiv_c
    return out


def assign_roles(points: Sequence[Mapping[str, Any]], table: Mapping[str, float]) -> dict[str, str]:
    """Point id -> role. `points` carry `id` and `tj_c` (None when unknown), in plan order."""
    given: dict[str, str] = {}
    taken: set[str] = set()
    for role in table:  # a point named after its role, at the role's temperature
        for p in points:
            if p["id"] == role and p["tj_c"] == table[role] and p["id"] not in given:
                given[p["id"]] = role
                taken.add(role)
    for role, tj in table.items():
        if role in taken:
            continue
        for p in points:
            if p["tj_c"] == tj and p["id"] not in given:
                given[p["id"]] = role
                taken.add(role)
                break
    return given


def scop_block(
    *,
    climate: str,
    pdesignh_kw: float,
    tbiv_c: float,
    tol_c: float,
    points: Sequence[Mapping[str, Any]],
    plan_cdh: float | None = None,
    plan_aux_w: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The `scop` object of result.json. `points`: id, tj_c, status, capacity_w, cop."""
    defaults = en14825_defaults()
    table = roles(climate, tol_c, tbiv_c)
    role_of = assign_roles(points, table)
    if plan_cdh is not None:
        cdh, cdh_source = plan_cdh, "plan"
    else:
        cdh, cdh_source = defaults.cdh.value, f"{defaults.name} {defaults.version}"
    if plan_aux_w is not None:
        aux = {k: float(plan_aux_w[k]) for k in AUX_KEYS}
        aux_source = "plan"
        aux_tags = dict.fromkeys(AUX_KEYS, "plan")
    else:
        aux = {k: defaults.aux_w[k].value for k in AUX_KEYS}
        aux_source = f"{defaults.name} {defaults.version}"
        aux_tags = {k: defaults.aux_w[k].source for k in AUX_KEYS}

    chosen: dict[float, Mapping[str, Any]] = {}
    left_out: list[dict[str, str]] = []
    for p in points:
        why = _unusable(p, tol_c)
        if why:
            left_out.append({"point": p["id"], "reason": why})
            continue
        tj = p["tj_c"]
        other = chosen.get(tj)
        if other is None or (_rank(role_of.get(p["id"])) < _rank(role_of.get(other["id"]))):
            if other is not None:
                left_out.append({"point": other["id"], "reason": _shares(tj, p["id"])})
            chosen[tj] = p
        else:
            left_out.append({"point": p["id"], "reason": _shares(tj, other["id"])})

    used = [
        {
            "point": p["id"],
            "role": role_of.get(p["id"]),
            "tj_c": tj,
            "pdh_kw": p["capacity_w"] / 1000.0,
            "cop": p["cop"],
            "cdh": cdh,
        }
        for tj, p in sorted(chosen.items())
    ]
    covered = {role_of.get(p["id"]) for p in points if not _unusable(p, tol_c)}
    missing = [r for r in table if r not in covered]
    block: dict[str, Any] = {
        "climate": climate,
        "pdesignh_kw": pdesignh_kw,
        "prated_kw": pdesignh_kw,
        "tbiv_c": tbiv_c,
        "tol_c": tol_c,
        "source": "air",
        "cc": en14825.CC_DEFAULT,
        "cdh": cdh,
        "cdh_source": cdh_source,
        "aux_w": aux,
        "aux_source": aux_source,
        "aux_tags": aux_tags,
        "roles": {role: {"tj_c": tj} for role, tj in table.items()},
        "points_used": used,
        "points_left_out": left_out,
        "missing_roles": missing,
        "complete": not missing,
        "error": None,
    }
    try:
        result = en14825.seasonal(
            climate,
            pdesignh_kw,
            tol_c,
            [en14825.DeclaredPoint(u["tj_c"], u["pdh_kw"], u["cop"], cdh) for u in used],
            en14825.AuxPowers(
                poff_w=aux["poff"], pto_w=aux["pto"], psb_w=aux["psb"], pck_w=aux["pck"]
            ),
        )
    except ValueError as exc:
        block["error"] = str(exc)
        block.update(
            scop=None, scop_on=None, scop_net=None, qh_kwh=None, qhe_kwh=None, eta_s_percent=None
        )
        block["bins"] = []
        return block
    block.update(
        scop=result.scop,
        scop_on=result.scop_on,
        scop_net=result.scop_net,
        qh_kwh=result.qh_kwh,
        qhe_kwh=result.qhe_kwh,
        eta_s_percent=result.eta_s_percent,
    )
    block["bins"] = [
        {
            "tj_c": b.tj_c,
            "hours": b.hours,
            "ph_kw": b.ph_kw,
            "pdh_kw": b.pdh_kw,
            "cr": b.cr,
            "cop_bin": b.cop_bin,
            "elbu_kw": b.elbu_kw,
        }
        for b in result.bins
    ]
    return block


def _rank(role: str | None) -> int:
    """Which of two points at one Tj the SCOP keeps: an A–D (G) point before E/F, then any."""
    if role in FIXED_ROLES or role == COLDER_ROLE[0]:
        return 0
    return 1 if role is not None else 2


def _shares(tj: float, kept: str) -> str:
    return f"same Tj {tj:g} °C as point {kept}, which is kept"


def _unusable(p: Mapping[str, Any], tol_c: float) -> str:
    if p.get("status") != "valid":
        return f"status {p.get('status')}: only valid points are used"
    if p.get("tj_c") is None:
        return "no air dry-bulb set value"
    if p.get("capacity_w") is None or p.get("cop") is None:
        return "no capacity or COP"
    if not (p["capacity_w"] > 0 and p["cop"] > 0):
        return "capacity and COP must be positive"
    if p["tj_c"] < tol_c:
        return f"Tj {p['tj_c']:g} °C is below TOL {tol_c:g} °C"
    if p["tj_c"] >= 16.0:
        return f"Tj {p['tj_c']:g} °C has no heating load (≥ 16 °C)"
    return ""
