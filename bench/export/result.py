"""`result.json`: the certification result of a run, built from `run.sqlite` alone.

The document is plain JSON data (dicts, lists, numbers, strings), versioned by
`schema_version` and described by `schema/result-1.schema.json` (JSON Schema 2020-12); every
other result file is rendered from it, so they cannot disagree. Building it twice from the same
store gives the same bytes: nothing in it depends on when or where it was made.

Layout and version policy: docs/result-files.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from functools import cache
from importlib import metadata, resources
from typing import Any

from bench.export import heat_meter, pointcalc, validity
from bench.export.rundata import RunData
from bench.export.seasonal import scop_block
from bench.export.settings import accuracy_summary
from bench.export.stamps import iso
from bench.plan import ResolvedPoint
from bench.plan.model import DEFAULT_BAROMETRIC_PA
from bench.store import PointRow
from instruments import registry

FORMAT = "hpbench-result"
SCHEMA_VERSION = "1.2"  # major.minor: docs/result-files.md, "Versions"
SCHEMA_RESOURCE = "schema/result-1.schema.json"
RESULT_NAME = "result.json"
LOAD_BASED_CDH = 1.0  # the measured COP already includes cycling losses (§7): no Cdh on top
NOTABLE_EVENTS = frozenset({"alarm", "operator", "gap", "run", "transient", "instrument"})
UNCERTAINTY_METHOD = (
    "GUM (JCGM 100) first-order propagation, bench.metrology.uncertainty: Type B from the "
    "station's instrument accuracies, Type A from the scatter over the collection period; "
    "expanded U = k·u"
)


def build_result(data: RunData) -> dict[str, Any]:
    """The result document of one run."""
    settings = data.settings
    plan_points = {p.id: p for p in data.plan.points} if data.plan else {}
    barometric = data.plan.points[0].barometric_pa if data.plan else DEFAULT_BAROMETRIC_PA
    rows = {row.point_id: row for row in data.points}
    points = [
        _point(data, row, plan_points.get(row.point_id), barometric)
        for row in sorted(data.points, key=lambda r: r.index)
    ]
    for index, p in enumerate(data.plan.points if data.plan else ()):
        if p.id not in rows:
            points.append(_not_run(index, p))
    points.sort(key=lambda p: p["index"])
    acc = settings.accuracies
    doc: dict[str, Any] = {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "generator": f"hpbench {_version()}",
        "run": _run(data),
        "unit": _unit(data),
        "plan": _plan(data),
        "profile": _profile(data),
        "bench": _bench(data),
        "instruments": _instruments(data),
        "uncertainty_model": {
            "available": acc is not None,
            "reason": settings.accuracy_problem,
            "method": UNCERTAINTY_METHOD,
            "k": settings.k,
            "inputs": accuracy_summary(acc) if acc is not None else None,
        },
        "points": points,
        "scop": None,
    }
    load_based = [p for p in points if "load_based" in p]
    if doc["plan"]["standard"] == "en14825" and len(load_based) < len(points):
        doc["scop"] = _scop(data, [p for p in points if "load_based" not in p])
    if doc["plan"]["standard"] == "en14825" and load_based:
        doc["load_based_scop"] = _scop(data, load_based, cdh=LOAD_BASED_CDH)
    doc.update(validity.document_parts(data, doc))
    return doc


def dumps(doc: dict[str, Any]) -> str:
    """The file's text: UTF-8 JSON, two-space indent, no NaN (JSON has none), final newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


@cache
def schema() -> dict[str, Any]:
    text = resources.files("bench.export").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    return json.loads(text)


def schema_problems(doc: Any) -> list[str]:
    """Where `doc` breaks the schema: one line each, `path: message`; empty when valid."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        problems.append(f"{where}: {error.message}")
    return problems


# -- the parts ----------------------------------------------------------------------------


def _run(data: RunData) -> dict[str, Any]:
    meta, series = data.meta, data.series
    counts = Counter(e.kind for e in data.events)
    return {
        "id": meta["run_id"],
        "directory": _directory(meta),
        "plan_name": meta["plan_name"],
        "created": meta.get("created"),
        "first_frame": iso(series.t[0]) if series.t else None,
        "last_frame": iso(series.t[-1]) if series.t else None,
        "outcome": meta.get("outcome", "unknown"),
        "simulated": bool(meta.get("sim", False)),
        "speed": float(meta.get("speed", 1.0)),
        "hpbench_version": meta.get("hpbench_version", "unknown"),
        "frames": len(series.seq),
        "gaps": [list(g) for g in data.gaps],
        "calibration_warnings": list(meta.get("calibration_warnings", [])),
        "event_counts": dict(sorted(counts.items())),
        "events": [
            {"t": iso(e.t), "kind": e.kind, "message": e.message}
            for e in data.events
            if e.kind in NOTABLE_EVENTS
        ],
    }


def _directory(meta: dict[str, Any]) -> str:
    """The name the run directory was created with (runner.run_dir_name), from the store:
    the document must not change when the directory is copied or renamed."""
    created = str(meta.get("created") or "")[:10]
    return f"{created}_{meta['plan_name']}_{meta['run_id']}" if created else str(meta["run_id"])


def _unit(data: RunData) -> dict[str, Any]:
    unit = data.plan_doc.get("unit") if isinstance(data.plan_doc.get("unit"), dict) else {}
    assert isinstance(unit, dict)
    unit_name = data.settings.station.layout.command_instruments().get("heat_pump", "heat_pump")
    hp = next((s for s in data.snapshots if s.role == unit_name), None)
    return {
        "make": str(unit.get("make", "")),
        "model": str(unit.get("model", "")),
        "serial": str(unit.get("serial", "")),
        "refrigerant": str(unit.get("refrigerant", "")),
        "pdesignh_kw": _num(unit.get("pdesignh_kw")),
        "tbiv_c": _num(unit.get("tbiv_c")),
        "tol_c": _num(unit.get("tol_c")),
        "reported": _identity(hp),
    }


def _plan(data: RunData) -> dict[str, Any]:
    doc, text = data.plan_doc, data.meta["plan_text"]
    return {
        "name": data.meta["plan_name"],
        "path": data.meta.get("plan_path"),
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "standard": str(doc.get("standard", "")),
        "climate": doc.get("climate"),
        "application": doc.get("application"),
        "operator": str(doc.get("operator", "")),
        "extends": doc.get("extends"),
        "resolved": data.plan is not None,
        "problem": data.plan_problem,
    }


def _profile(data: RunData) -> dict[str, Any]:
    stored = data.meta.get("profile") or {}
    title = data.plan.profile.title if data.plan else ""
    return {
        "name": str(stored.get("name", data.plan.profile.name if data.plan else "")),
        "version": str(stored.get("version", data.plan.profile.version if data.plan else "")),
        "title": title,
    }


def _bench(data: RunData) -> dict[str, Any]:
    s = data.settings
    info = s.station.station
    return {
        "name": info.name,
        "lab": info.lab,
        "calibration_policy": info.calibration_policy,
        "flow_meter": info.flow_meter,
        "water_pressure_pa": info.water_pressure_pa,
        "nominal_voltage_v": info.nominal_voltage_v,
        "pump_correction": s.pump.as_dict() if s.pump else None,
        "station_sha256": hashlib.sha256(data.meta["station_text"].encode("utf-8")).hexdigest(),
    }


def _instruments(data: RunData) -> list[dict[str, Any]]:
    """Every station instrument by name, with the role its driver plays, its identity read
    back, serial, calibration and accuracy (the four-role station: name = role)."""
    run_day = _run_day(data)
    out = []
    for name, entry in data.settings.station.instruments.items():
        snap = next((s for s in data.snapshots if s.role == name), None)
        reported = _identity(snap)
        if not entry.serial:
            serial_check = "not given"
        elif reported is None or not reported["serial"]:
            serial_check = "not reported"
        else:
            serial_check = "match" if reported["serial"] == entry.serial else "mismatch"
        due = entry.calibration_due
        if due is None:
            calibration = "not given"
        elif run_day is not None and due < run_day:
            calibration = "overdue"
        else:
            calibration = "valid"
        out.append(
            {
                "role": registry.DRIVERS[entry.driver].role,
                "driver": entry.driver,
                "address": entry.address,
                "serial": entry.serial,
                "calibration_due": due.isoformat() if due else None,
                "calibration": calibration,
                "accuracy": dict(entry.accuracy),
                "reported": reported,
                "serial_check": serial_check,
                "name": name,
                "calibrated": entry.calibrated.isoformat() if entry.calibrated else None,
                "certificate": entry.calibration_certificate,
                "accuracy_source": entry.accuracy_source,
            }
        )
    return out


def _run_day(data: RunData) -> dt.date | None:
    created = data.meta.get("created")
    try:
        return dt.datetime.fromisoformat(created).date() if created else None
    except ValueError:
        return None


def _identity(snap: Any) -> dict[str, str] | None:
    if snap is None:
        return None
    i = snap.identity
    return {"make": i.make, "model": i.model, "serial": i.serial, "firmware": i.firmware}


def _set_conditions(record: dict[str, Any], plan: ResolvedPoint | None) -> dict[str, Any]:
    q = record.get("quantities") or {}
    water = record.get("water_set") or {}

    def setv(name: str) -> float | None:
        return _num((q.get(name) or {}).get("set_value"))

    return {
        "air_dry_bulb_c": plan.air_dry_bulb_c if plan else setv("air_dry_bulb"),
        "air_wet_bulb_c": plan.air_wet_bulb_c if plan else setv("air_wet_bulb"),
        "air_rh_pct": plan.air_rh_pct if plan else None,
        "water_outlet_c": plan.water_outlet_c if plan else setv("water_outlet"),
        "water_inlet_c": _num(water.get("inlet_c")),
        "water_flow_m3h": _num(water.get("flow_m3h")),
        "flow_setting": plan.flow.describe() if plan else None,
        "demand_pct": plan.part_load.demand_pct if plan and plan.part_load else None,
        "supply_voltage_v": setv("supply_voltage"),
    }


def _deviations(record: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "set_value",
        "unit",
        "mean_deviation",
        "max_individual_deviation",
        "mean_limit",
        "individual_limit",
        "samples",
        "missing",
        "ok",
    )
    return {
        name: {k: rec.get(k) for k in keys}
        for name, rec in sorted((record.get("quantities") or {}).items())
    }


def _point(
    data: RunData, row: PointRow, plan: ResolvedPoint | None, barometric_pa: float
) -> dict[str, Any]:
    record = row.record if isinstance(row.record, dict) else {}
    # a load-based point is integrated over its window (whole compressor cycles), like a
    # transient one (docs/standards.md §7)
    transient = bool(record.get("transient", False)) or "load_based" in record
    point: dict[str, Any] = {
        "index": row.index,
        "id": row.point_id,
        "status": row.status,
        "reason": str(record.get("reason") or ""),
        "transient": transient,
        "defrosts": int(record.get("defrosts") or 0),
        "started": iso(row.started),
        "ended": iso(row.ended),
        "first_seq": row.first_seq,
        "last_seq": row.last_seq,
        "set": _set_conditions(record, plan),
        "deviations": _deviations(record),
        "window": None,
        "measured": None,
        "results": None,
        "uncertainty": None,
        "heat_pump_reported": None,
        **validity.EMPTY_POINT_PARTS,
        "power_parts": [],
    }
    if "load_based" in record:
        point["load_based"] = record["load_based"]
    if row.first_seq is None or row.last_seq is None:
        point.update(validity.point_parts(data, point, [], None))
        return point
    rows = data.series.span(row.first_seq, row.last_seq)
    if not rows:
        point["results"] = {"error": f"frames {row.first_seq}..{row.last_seq} are not stored"}
        return point
    t = data.series.t[rows.start : rows.stop]
    cols = {c: data.series.column(c, rows) for c in pointcalc.channels(data.settings)}
    quantities = record.get("quantities") or {}
    numbers = pointcalc.point_numbers(
        t,
        cols,
        transient=transient,
        settings=data.settings,
        barometric_pa=barometric_pa,
        deviations={
            name: float((quantities.get(name) or {}).get("mean_deviation") or 0.0)
            for name in ("water_outlet", "air_dry_bulb")
        },
    )
    point.update(validity.point_parts(data, point, t, numbers))
    window = numbers["window"]
    point.update(
        window={
            "start": iso(window["first_t"]),
            "end": iso(window["last_t"]),
            "duration_s": (window["last_t"] - window["first_t"]) if t else 0.0,
            "frames": window["frames"],
            "frames_used": window["frames_used"],
        },
        measured=numbers["measured"],
        results=numbers["results"],
        uncertainty=numbers["uncertainty"],
        heat_pump_reported=numbers["heat_pump_reported"],
        heat_meter_check=heat_meter.point_check(
            data, rows, numbers["results"], numbers["uncertainty"]
        ),
        power_parts=numbers.get("power_parts", []),
    )
    return point


def _not_run(index: int, p: ResolvedPoint) -> dict[str, Any]:
    return {
        "index": index,
        "id": p.id,
        "status": "not_run",
        "reason": "the run ended before this point",
        "transient": False,
        "defrosts": 0,
        "started": None,
        "ended": None,
        "first_seq": None,
        "last_seq": None,
        "set": _set_conditions({}, p),
        "deviations": {},
        "window": None,
        "measured": None,
        "results": None,
        "uncertainty": None,
        "heat_pump_reported": None,
        **validity.EMPTY_POINT_PARTS,
        "power_parts": [],
        "validity": {
            "rule": "",
            "valid": False,
            "reasons": ["the run ended before this point"],
            "checks": [],
        },
    }


def _scop(data: RunData, points: list[dict[str, Any]], cdh: float | None = None) -> dict[str, Any]:
    unit = data.plan_doc.get("unit") or {}
    climate = data.plan_doc.get("climate")
    design = [_num(unit.get(k)) for k in ("pdesignh_kw", "tbiv_c", "tol_c")]
    if climate is None or any(v is None for v in design):
        return {"error": "the plan lacks climate, unit.pdesignh_kw, tbiv_c or tol_c"}
    pdesignh, tbiv, tol = design
    assert pdesignh is not None and tbiv is not None and tol is not None
    inputs = []
    for p in points:
        results = p["results"] or {}
        unc = p["uncertainty"] or {}
        inputs.append(
            {
                "id": p["id"],
                "status": p["status"],
                "reason": p["reason"],
                "tj_c": p["set"]["air_dry_bulb_c"],
                "outlet_c": p["set"]["water_outlet_c"],
                "capacity_w": results.get("capacity_w"),
                "cop": results.get("cop"),
                "u_capacity_w": (unc.get("capacity_w") or {}).get("u"),
                "u_cop": (unc.get("cop") or {}).get("u"),
            }
        )
    spec_unit = data.plan.spec.unit if data.plan else None
    aux = getattr(spec_unit, "aux_w", None)
    return scop_block(
        climate=str(climate),
        pdesignh_kw=pdesignh,
        tbiv_c=tbiv,
        tol_c=tol,
        points=inputs,
        plan_cdh=cdh if cdh is not None else getattr(spec_unit, "cdh", None),
        plan_aux_w=_aux_dict(aux),
        k=data.settings.k,
    )


def _aux_dict(aux: Any) -> dict[str, Any] | None:
    """The plan's declared auxiliary powers (W) and their source, or None."""
    if aux is None:
        return None
    return {
        **{k: float(getattr(aux, k)) for k in ("poff", "pto", "psb", "pck")},
        "source": str(aux.source),
    }


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _version() -> str:
    try:
        return metadata.version("hpbench")
    except metadata.PackageNotFoundError:
        return "unknown"
