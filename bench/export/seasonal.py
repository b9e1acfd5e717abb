"""The SCOP block of an EN 14825 run: measured part-load points into `bench.metrology.scop`.

Each measured point is a declared point at Tj = its air dry-bulb set value, with Pdh its
measured heating capacity and COPd its measured COP (effective power input). Only valid points
are used; the others are listed with the reason. Cdh is not measured by a bench run: the
plan's value, else the standard's default (`en14825_defaults.toml`, named in the block). The
auxiliary-mode powers come only from the plan (`unit.aux_w`, declared for this unit with its
source): without them SCOP, ηs and QHE are not given, SCOPon and SCOPnet are (they do not
depend on them). A set with a role missing is computed for the record but marked
incomplete, and `not_exported` says which figures must not be declared from it and why.

The uncertainty of SCOPon (and SCOP) is propagated from the points' standard uncertainties of
Pdh and COP by finite-difference sensitivities, once with the points' errors independent and
once fully correlated (the same sensors measure every point, so the calibration share moves
all points together); the larger is given (GUM 5.2, JCGM 100).

Roles A–D (and G for the colder climate) are the fixed temperatures of docs/standards.md §4,
E is TOL and F is Tbiv. A point whose id is the role's letter takes it; otherwise points take
roles by temperature in plan order. Where two valid points share a Tj (F = A when Tbiv is
−7 °C), the A–D point is kept, as the method that reproduces certified sheets does.
"""

from __future__ import annotations

import math
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
    plan_aux_w: Mapping[str, Any] | None = None,
    k: float = 2.0,
) -> dict[str, Any]:
    """The `scop` object of result.json. `points`: id, tj_c, status, capacity_w, cop, and
    optionally reason, outlet_c, u_capacity_w, u_cop."""
    defaults = en14825_defaults()
    table = roles(climate, tol_c, tbiv_c)
    role_of = assign_roles(points, table)
    if plan_cdh is not None:
        cdh, cdh_source = plan_cdh, "plan"
    else:
        cdh, cdh_source = defaults.cdh.value, f"{defaults.name} {defaults.version}"
    if plan_aux_w is not None:
        aux: dict[str, float] | None = {k: float(plan_aux_w[k]) for k in AUX_KEYS}
        aux_source = f"plan: {plan_aux_w.get('source', '')}"
        aux_tags = dict.fromkeys(AUX_KEYS, aux_source)
    else:
        aux = None
        aux_source = "not given: the plan declares no unit.aux_w and the bench measured none"
        aux_tags = {}

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
    # a role is covered by a usable point at its Tj (F = A when Tbiv is -7 °C: A stands for F)
    missing = [r for r, tj in table.items() if tj not in chosen]
    missing_points = _missing_points(points, table, role_of, missing)
    e_point = next((p for p in points if role_of.get(p["id"]) == "E"), None)
    block: dict[str, Any] = {
        "climate": climate,
        "pdesignh_kw": pdesignh_kw,
        "prated_kw": pdesignh_kw,
        "tbiv_c": tbiv_c,
        "tol_c": tol_c,
        "wtol_c": e_point.get("outlet_c") if e_point and "E" not in missing else None,
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
        "missing_points": missing_points,
        "complete": not missing,
        "error": None,
    }
    zero = en14825.AuxPowers(poff_w=0.0, pto_w=0.0, psb_w=0.0, pck_w=0.0)
    aux_powers = (
        en14825.AuxPowers(poff_w=aux["poff"], pto_w=aux["pto"], psb_w=aux["psb"], pck_w=aux["pck"])
        if aux is not None
        else zero
    )

    def compute(pdh: Sequence[float], cop: Sequence[float]) -> en14825.ScopResult:
        declared = [
            en14825.DeclaredPoint(u["tj_c"], d, c, cdh)
            for u, d, c in zip(used, pdh, cop, strict=True)
        ]
        return en14825.seasonal(climate, pdesignh_kw, tol_c, declared, aux_powers)

    try:
        result = compute([u["pdh_kw"] for u in used], [u["cop"] for u in used])
    except ValueError as exc:
        block["error"] = str(exc)
        block.update(dict.fromkeys(_FIGURES))
        block.update(u_scop=None, u_scop_on=None, U_scop=None, U_scop_on=None, psup_kw=None)
        block["bins"] = []
        incomplete = _not_exported(missing, missing_points, aux is None)
        why = "; ".join(dict.fromkeys(item["reason"] for item in incomplete))
        block["not_exported"] = [
            {"field": f, "reason": f"{why}; no SCOP: {exc}" if why else f"no SCOP: {exc}"}
            for f in _FIGURES
        ]
        return block
    block.update(
        scop=result.scop if aux is not None else None,
        scop_on=result.scop_on,
        scop_net=result.scop_net,
        qh_kwh=result.qh_kwh,
        qhe_kwh=result.qhe_kwh if aux is not None else None,
        eta_s_percent=result.eta_s_percent if aux is not None else None,
        psup_kw=result.bins[0].elbu_kw if result.bins else None,
    )
    u_on, u_scop = _propagate(compute, used, chosen, result)
    block.update(
        u_scop_on=u_on,
        U_scop_on=None if u_on is None else k * u_on,
        u_scop=u_scop if aux is not None else None,
        U_scop=None if u_scop is None or aux is None else k * u_scop,
        uncertainty_method=(
            "GUM first-order propagation of the points' u(Pdh) and u(COP), sensitivities by "
            "finite differences; the larger of independent and fully correlated point errors"
        ),
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
    block["not_exported"] = _not_exported(missing, missing_points, aux is None)
    return block


_FIGURES = ("scop", "scop_on", "scop_net", "qh_kwh", "qhe_kwh", "eta_s_percent")


def _missing_points(
    points: Sequence[Mapping[str, Any]],
    table: Mapping[str, float],
    role_of: Mapping[str, str],
    missing: Sequence[str],
) -> list[dict[str, Any]]:
    """Per missing role: the plan point meant for it (if any), its status and why."""
    out = []
    for role in missing:
        tj = table[role]
        meant = next((p for p in points if role_of.get(p["id"]) == role), None)
        meant = meant or next((p for p in points if p.get("tj_c") == tj), None)
        out.append(
            {
                "role": role,
                "tj_c": tj,
                "point": meant["id"] if meant else None,
                "status": meant.get("status") if meant else None,
                "reason": (
                    (meant.get("reason") or _unusable(meant, -1e9) or "not usable")
                    if meant
                    else f"the plan has no point at Tj {tj:g} °C"
                ),
            }
        )
    return out


def _not_exported(
    missing: Sequence[str], missing_points: Sequence[Mapping[str, Any]], no_aux: bool
) -> list[dict[str, str]]:
    """The figures a data sheet must leave empty, each with the reason."""
    out: list[dict[str, str]] = []
    if missing:
        named = ", ".join(
            f"{m['role']} ({m['point'] or 'no point'}: {m['status'] or 'absent'})"
            for m in missing_points
        )
        why = f"incomplete: no valid point for role(s) {named}"
        out += [{"field": f, "reason": why} for f in _FIGURES if f != "qh_kwh"]
    elif no_aux:
        why = "auxiliary-mode powers neither declared in the plan nor measured"
        out += [{"field": f, "reason": why} for f in ("scop", "qhe_kwh", "eta_s_percent")]
    return out


def _propagate(
    compute: Any,
    used: Sequence[Mapping[str, Any]],
    chosen: Mapping[float, Mapping[str, Any]],
    base: en14825.ScopResult,
) -> tuple[float | None, float | None]:
    """u(SCOPon), u(SCOP) from the points' u(Pdh), u(COP); None without them."""
    by_id = {p["id"]: p for p in chosen.values()}
    u_pdh, u_cop = [], []
    for u in used:
        p = by_id[u["point"]]
        if p.get("u_capacity_w") is None or p.get("u_cop") is None:
            return None, None
        u_pdh.append(float(p["u_capacity_w"]) / 1000.0)
        u_cop.append(float(p["u_cop"]))
    pdh = [u["pdh_kw"] for u in used]
    cop = [u["cop"] for u in used]
    terms_on: list[float] = []
    terms: list[float] = []
    for i in range(len(used)):
        for values, us, which in ((pdh, u_pdh, 0), (cop, u_cop, 1)):
            if us[i] == 0:
                continue
            moved = list(values)
            moved[i] = values[i] + us[i]
            r = compute(moved, cop) if which == 0 else compute(pdh, moved)
            terms_on.append(r.scop_on - base.scop_on)
            terms.append(r.scop - base.scop)
    together = compute(
        [a + b for a, b in zip(pdh, u_pdh, strict=True)],
        [a + b for a, b in zip(cop, u_cop, strict=True)],
    )
    rss_on = math.sqrt(math.fsum(t * t for t in terms_on))
    rss = math.sqrt(math.fsum(t * t for t in terms))
    return (
        max(rss_on, abs(together.scop_on - base.scop_on)),
        max(rss, abs(together.scop - base.scop)),
    )


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
