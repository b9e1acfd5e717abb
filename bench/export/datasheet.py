"""`datasheet.csv`: the run's declared-value fields under the Heat Pump Keymark codes.

docs/standards.md §5: each value is named by a code (EN14825_001 ηs …, EN14511_2_001 capacity …)
and a dimension `{application}_{climate}_0_0` — application 4 low temperature (35 °C), 5 medium
(55 °C); climate 1 warmer, 2 colder, 3 average, 0 not climate-specific — so a lab's export
drops into the tooling that reads the Keymark database.

Values are rounded as data sheets print them (kW and ratios to 2 decimals, ηs to an integer
percent, W and kWh to integers); result.json keeps them unrounded. A field the run could not
give (no valid point at that temperature) is written with an empty value and a note, never
left out silently. Cdh and the auxiliary powers are the values the SCOP used, with their
source in the note: a bench run does not measure them; auxiliary powers the plan does not
declare stay empty (never another product's). SCOP, ηs and QHE from an incomplete set of
points (or without auxiliary powers) keep their codes with an empty value and the reason, and
the first row, `HPBENCH_STATUS`, says `complete` or `incomplete` and names the missing points.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from bench.export.seasonal import assign_roles, roles

DATASHEET_NAME = "datasheet.csv"
HEADER = ("code", "dimension", "value", "unit", "description", "point", "note")
APPLICATION = {"low": 4, "medium": 5}
CLIMATE = {"warmer": 1, "colder": 2, "average": 3}
OUTLET_OF_APPLICATION = {35.0: 4, 55.0: 5}  # EN 14511 standard rating point A7/W35, A7/W55
ROLE_FIELDS = (  # (Pdh code, COP code, role, what)
    ("EN14825_008", "EN14825_009", "A", "at Tj = -7 °C"),
    ("EN14825_010", "EN14825_011", "B", "at Tj = +2 °C"),
    ("EN14825_012", "EN14825_013", "C", "at Tj = +7 °C"),
    ("EN14825_014", "EN14825_015", "D", "at Tj = +12 °C"),
    ("EN14825_016", "EN14825_017", "F", "at Tj = Tbiv"),
    ("EN14825_018", "EN14825_019", "E", "at Tj = TOL"),
)


STATUS_CODE = "HPBENCH_STATUS"


def datasheet_rows(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [_status(doc)]
    scop = doc.get("scop")
    plan = doc["plan"]
    if plan["standard"] == "en14825" and scop and "climate" in scop:
        rows += _en14825(doc, scop)
    rows += _en14511(doc)
    return rows


def _status(doc: dict[str, Any]) -> tuple[Any, ...]:
    """First row: is the set of points complete, and if not, which points are missing why."""
    missing = [
        f"{p['id']} ({p['status']}{': ' + p['reason'] if p.get('reason') else ''})"
        for p in doc["points"]
        if p["status"] != "valid"
    ]
    scop = doc.get("scop") or {}
    for m in scop.get("missing_points") or []:
        if m["point"] is None:
            missing.append(f"role {m['role']} at {m['tj_c']:g} °C ({m['reason']})")
    status = "incomplete" if missing else "complete"
    note = "missing: " + "; ".join(missing) if missing else "every point of the plan is valid"
    return (STATUS_CODE, "0_0_0_0", status, "", "completeness of the run's points", "", note)


def datasheet_csv(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in datasheet_rows(doc):
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


def _en14825(doc: dict[str, Any], scop: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    app = APPLICATION.get(doc["plan"]["application"] or "", 0)
    dim = f"{app}_{CLIMATE[scop['climate']]}_0_0"
    rows: list[tuple[Any, ...]] = []
    no_scop = f"no SCOP: {scop['error']}" if scop.get("error") else ""
    withheld = {item["field"]: item["reason"] for item in scop.get("not_exported") or []}

    def add(code: str, value: float | None, digits: int, unit: str, what: str, **kw: str) -> None:
        shown = None if value is None else _round(value, digits)
        note = kw.get("note", "") or ("" if value is not None else no_scop or "not measured")
        rows.append((code, dim, shown, unit, what, kw.get("point", ""), note))

    def figure(code: str, key: str, digits: int, unit: str, what: str) -> None:
        if key in withheld:
            rows.append((code, dim, None, unit, what, "", withheld[key]))
        else:
            add(code, scop.get(key), digits, unit, what)

    figure("EN14825_001", "eta_s_percent", 0, "%", "seasonal efficiency ηs,h")
    add("EN14825_002", scop["prated_kw"], 2, "kW", "rated heat output Prated (= Pdesignh)")
    figure("EN14825_003", "scop", 2, "", "SCOP")
    add("EN14825_004", scop["tbiv_c"], 0, "°C", "bivalent temperature Tbiv")
    add("EN14825_005", scop["tol_c"], 0, "°C", "operation limit temperature TOL")

    usable = [
        {"id": p["id"], "tj_c": p["set"]["air_dry_bulb_c"], "point": p}
        for p in doc["points"]
        if p["status"] == "valid" and p["results"] and "cop" in p["results"]
    ]
    role_of = assign_roles(usable, roles(scop["climate"], scop["tol_c"], scop["tbiv_c"]))
    by_role = {role_of[u["id"]]: u["point"] for u in usable if u["id"] in role_of}
    kept = {u["tj_c"]: u["point"] for u in scop["points_used"]}
    by_id = {p["id"]: p for p in doc["points"]}
    for pdh_code, cop_code, role, what in ROLE_FIELDS:
        point = by_role.get(role)
        note = ""
        if point is None:  # e.g. Tbiv = -7 °C and no separate F point: A's values stand
            point = by_id.get(kept.get(scop["roles"][role]["tj_c"], ""))
            if point is not None:
                note = f"from point {point['id']}, the one the SCOP used at this Tj"
        results = point["results"] if point else {}
        pid = point["id"] if point else ""
        cap = results.get("capacity_w")
        add(
            pdh_code,
            None if cap is None else cap / 1000.0,
            2,
            "kW",
            f"Pdh {what}",
            point=pid,
            note=note,
        )
        add(cop_code, results.get("cop"), 2, "", f"COPd {what}", point=pid, note=note)
    cdh_note = f"not measured: {scop['cdh_source']}"
    add("EN14825_020", scop["cdh"], 2, "", "Cdh at Tj = -7 °C", note=cdh_note)
    add("EN14825_021", scop["cdh"], 2, "", "Cdh at Tj = +2 °C", note=cdh_note)
    e_point = by_role.get("E")
    wtol_note = "" if scop.get("wtol_c") is not None else "no valid point at TOL"
    add(
        "EN14825_022",
        scop.get("wtol_c"),
        0,
        "°C",
        "water outlet temperature at TOL (WTOL), set value",
        point=e_point["id"] if e_point else "",
        note=wtol_note,
    )
    aux = scop.get("aux_w")
    aux_note = f"not measured: {scop['aux_source']}" if aux else scop["aux_source"]
    for code, key, what in (
        ("EN14825_023", "poff", "power in off mode POFF"),
        ("EN14825_024", "pto", "power in thermostat-off mode PTO"),
        ("EN14825_025", "psb", "power in standby mode PSB"),
        ("EN14825_026", "pck", "power in crankcase heater mode PCK"),
    ):
        add(code, aux[key] if aux else None, 0, "W", what, note=aux_note)
    psup_note = withheld.get("scop_on", "") if scop.get("psup_kw") is not None else ""
    add(
        "EN14825_028",
        None if psup_note else scop.get("psup_kw"),
        2,
        "kW",
        "supplementary heater capacity at Tdesignh (PSUP = elbu)",
        note=psup_note,
    )
    figure("EN14825_029", "qhe_kwh", 0, "kWh/a", "annual energy consumption QHE")
    return rows


def _en14511(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """EN14511_2_001..003 at A7/W35 (application 4) and A7/W55 (5): first valid point each."""
    rows: list[tuple[Any, ...]] = []
    done: set[int] = set()
    for p in doc["points"]:
        setp, results = p["set"], p["results"] or {}
        app = OUTLET_OF_APPLICATION.get(setp.get("water_outlet_c") or 0.0)
        if (
            app is None
            or app in done
            or setp.get("air_dry_bulb_c") != 7.0
            or p["status"] != "valid"
            or "cop" not in results
        ):
            continue
        done.add(app)
        dim = f"{app}_0_0_0"
        rows += [
            (
                "EN14511_2_001",
                dim,
                _round(results["capacity_w"] / 1000.0, 2),
                "kW",
                "heating capacity at the standard rating point",
                p["id"],
                "",
            ),
            (
                "EN14511_2_002",
                dim,
                _round(results["power_w"] / 1000.0, 2),
                "kW",
                "effective power input at the standard rating point",
                p["id"],
                "",
            ),
            (
                "EN14511_2_003",
                dim,
                _round(results["cop"], 2),
                "",
                "COP at the standard rating point",
                p["id"],
                "",
            ),
        ]
    return rows


def _round(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"
