"""`report.html`: the run as an ISO/IEC 17025 (7.8.2) test report — one self-contained page.

Jinja2 templates (`templates/`, one base layout and one partial per section) make the HTML;
`charts.py` the inline SVG charts. Everything is inline (CSS, SVG, no scripts, no fonts or
images fetched), so the file opens the same from a USB stick in ten years and prints on A4,
with the report number and "Page x of y" on every page (`hpbench report --pdf`).

The numbers come from the result document (so the page and result.json cannot disagree), the
time series from the run store, the approval from approval.json: the same run gives the same
bytes. Fields a newer result.json carries (uncertainty budgets, coverage, deviations, validity
reasons) are shown when present; an older result.json gives a report without them.
"""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from bench.export.approval import Approval, read_approval
from bench.export.rundata import RunData
from bench.metrology.capacity import heating_capacity
from bench.run.points import AIR_T, HP_HEAT, POWER, WATER_FLOW, WATER_IN, WATER_OUT

if TYPE_CHECKING:
    from bench.export import charts

REPORT_NAME = "report.html"
AIR_SP = "climate_chamber.temperature_sp"
ZOOM_CONTEXT = 0.25  # of a window's duration, shown before it in a point's zoom chart
STANDARD_TITLES = {
    "en14511": "EN 14511-3 air-to-water heat pumps, heating: rating conditions and test methods",
    "en14825": "EN 14825 seasonal performance (SCOP) of air-to-water heat pumps, heating",
}


def report_html(data: RunData, doc: dict[str, Any], beside: dict[str, Any] | None = None) -> str:
    """The report; `beside` is another run's result document whose bin-method SCOP a
    load-based SCOP is shown beside (the same unit measured both ways)."""
    approval = read_approval(data.run_dir)
    page = context(data, doc, approval) | {"beside": beside}
    return _environment().get_template("report.html.j2").render(**page)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bench.export", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["n"] = number
    env.filters["pm"] = plus_minus
    env.filters["g"] = lambda v: "–" if v is None else f"{v:g}"
    env.filters["css"] = css_string
    env.filters["sig"] = significant
    env.filters["accuracy"] = accuracy_words
    env.filters["label"] = lambda v: str(v).replace("_", " ")
    return env


# -- formatting ------------------------------------------------------------------------------


def number(value: Any, digits: int = 1) -> str:
    """Fixed decimals, a thin space between thousands, "–" for no value, never "-0.0"."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "–" if value is None else str(value)
    if not math.isfinite(value):
        return "–"
    text = f"{value:,.{digits}f}".replace(",", " ")
    return text[1:] if text.startswith("-") and not text.strip("-0. ") else text


def css_string(text: Any) -> Markup:
    """A quoted CSS string (inside <style> HTML escapes are not decoded, CSS escapes are)."""
    out = "".join(f"\\{ord(c):X} " if c in '\\"<>&' or ord(c) < 32 else c for c in str(text))
    return Markup(f'"{out}"')


def plus_minus(value: float | None, unc: dict[str, Any] | None, key: str, digits: int) -> str:
    if value is None:
        return "–"
    if unc and unc.get("available") and isinstance(unc.get(key), dict):
        return f"{number(value, digits)} ± {number(unc[key]['U'], digits)}"
    return number(value, digits)


# -- the document ----------------------------------------------------------------------------


def report_number(doc: dict[str, Any], prefix: str) -> str:
    """Unique per run and stable: prefix, the run's creation date, the run id."""
    created = (doc["run"].get("created") or "")[:10].replace("-", "")
    return f"{prefix}-{created}-{doc['run']['id']}"


def context(data: RunData, doc: dict[str, Any], approval: Approval | None) -> dict[str, Any]:
    lab = data.settings.station.laboratory
    unit, run, plan = doc["unit"], doc["run"], doc["plan"]
    points = [_point(p) for p in doc["points"]]
    scop = doc.get("scop")
    from bench.export import charts  # matplotlib: only when a report is made, not for verify

    capacity = frame_capacity(data)
    return {
        "doc": doc,
        "title": "Test report",
        "subject": f"{unit['make']} {unit['model']}, serial {unit['serial']}",
        "number": report_number(doc, lab.report_prefix if lab else "HPB"),
        "lab": lab,
        "bench_lab": doc["bench"].get("lab", ""),
        "customer": data.plan_doc.get("customer") if data.plan_doc else None,
        "received": _received(data),
        "tested": (_date(run.get("first_frame")), _date(run.get("last_frame"))),
        "approval": approval,
        "issued": approval.approved_utc[:10] if approval else None,
        "standard_title": STANDARD_TITLES.get(plan["standard"], plan["standard"].upper()),
        "edition": doc["profile"].get("standard_edition") or plan.get("standard_edition"),
        "unverified": unverified_values(data, doc),
        "decision_rule": doc.get("validity_rule") or None,
        "findings": findings(doc, points, scop),
        "points": points,
        "k": doc["uncertainty_model"].get("k", 2.0),
        "coverage": doc.get("coverage")
        or coverage_statement(doc["uncertainty_model"].get("k", 2.0)),
        "completeness": completeness(doc, points, scop),
        "scop": scop,
        "charts": _charts(data, doc, capacity),
        "zooms": _zooms(data, doc, capacity),
        "cop_chart": _cop_chart(doc),
        "bins_chart": charts.bins_chart("EN 14825 bins", scop["bins"])
        if scop and scop.get("bins")
        else None,
        "reported": [p for p in points if p["heat_pump_reported"]],
        "heat_meter": [p for p in points if p.get("heat_meter_check")],
        "extra": instrument_extras(doc),
        "sensors": sensor_rows(doc),
        "barometric": doc.get("barometric"),
    }


ACCURACY_WORDS = {
    # station accuracy keys (docs/result-files.md, "Uncertainty") as a reader says them
    "temperature_k": "each temperature ±{} K",
    "temperature_in_k": "inlet temperature ±{} K",
    "temperature_out_k": "outlet temperature ±{} K",
    "temperature_divisor": "temperature limits divided by {}",
    "temperature_correlation": "correlation of the two sensors' errors r = {}",
    "flow_pct": "flow ±{} % of reading",
    "flow_divisor": "flow limit divided by {}",
    "rho_cp_pct": "ρ·cp ±{} %",
    "reading_pct": "power ±{} % of reading",
    "range_pct": "±{} % of range",
    "range_w": "range {} W",
    "divisor": "limits divided by {}",
    "humidity_pct": "humidity ±{} % RH",
}


def accuracy_words(accuracy: dict[str, float]) -> str:
    """An instrument's accuracy in words and units; an unknown key as it is written."""
    parts = [
        ACCURACY_WORDS.get(key, f"{key.replace('_', ' ')} {{}}").format(f"{value:g}")
        for key, value in accuracy.items()
    ]
    return ", ".join(parts) or "–"


KNOWN_INSTRUMENT_KEYS = frozenset(
    {
        "role",
        "driver",
        "address",
        "serial",
        "calibration_due",
        "calibration",
        "accuracy",
        "reported",
        "serial_check",
        "calibration_certificate",
        "certificate",
        "name",  # result.json 1.2: shown beside the role when it differs
        "calibrated",
        "accuracy_source",
    }
)


def instrument_extras(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What a newer result.json says of an instrument beyond today's fields (sensor
    identities, ranges, certificates per channel): shown as it is, never dropped."""
    return [
        (i["role"], key, flat(value))
        for i in doc["instruments"]
        for key, value in i.items()
        if key not in KNOWN_INSTRUMENT_KEYS and value not in (None, "", [], {})
    ]


SENSOR_FIELDS = (
    "quantity",
    "channel",
    "instrument",
    "serial",
    "range",
    "range_source",
    "certificate",
    "certificate_U",
    "calibration_due",
)


def sensor_rows(doc: dict[str, Any]) -> list[dict[str, str]]:
    """Per channel, the sensor that measured it (result.json 1.1 `points[].sensors`): one
    row per distinct sensor and range, with the points it served."""
    rows: dict[tuple[str, ...], dict[str, str]] = {}
    for p in doc["points"]:
        for sensor in p.get("sensors") or []:
            if not isinstance(sensor, dict):
                continue
            cells = {
                f: flat(sensor.get(f)) if sensor.get(f) is not None else "–" for f in SENSOR_FIELDS
            }
            if sensor.get("range") is not None and sensor.get("range_unit"):
                cells["range"] = f"{cells['range']} {sensor['range_unit']}"
            if sensor.get("certificate_U") is not None and sensor.get("certificate_k"):
                cells["certificate_U"] += f" (k = {flat(sensor['certificate_k'])})"
            key = tuple(cells.values())
            row = rows.setdefault(key, {**cells, "points": ""})
            row["points"] = f"{row['points']}, {p['id']}" if row["points"] else p["id"]
    return list(rows.values())


def flat(value: Any) -> str:
    """A JSON value as one line of text: `key: value; …` for objects."""
    if isinstance(value, dict):
        return "; ".join(f"{str(k).replace('_', ' ')}: {flat(v)}" for k, v in value.items())
    if isinstance(value, list):
        return " | ".join(flat(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def coverage_statement(k: float) -> str:
    return (
        "The reported expanded uncertainty U is the combined standard uncertainty u multiplied "
        f"by the coverage factor k = {k:g}, which for a normal distribution corresponds to a "
        "coverage probability of approximately 95 %. It is stated with each result as value "
        "± U, in the unit of the value."
    )


def _date(stamp: str | None) -> str:
    return (stamp or "")[:10] or "–"


def _received(data: RunData) -> str | None:
    unit = data.plan_doc.get("unit") if data.plan_doc else None
    value = unit.get("received") if isinstance(unit, dict) else None
    return str(value) if value else None


def _point(p: dict[str, Any]) -> dict[str, Any]:
    """A point with the report's derived fields: a note and the budget rows."""
    results = p.get("results") or {}
    note = p.get("reason") or results.get("error", "")
    out = {"validity": None, "transient_record": None, "sensors": [], **p}  # 1.1 fields
    out["note"] = note
    out["budgets"] = budgets(p.get("uncertainty"))
    return out


QUANTITY_TITLES = {
    "capacity_w": ("capacity Φ", "W"),
    "power_w": ("effective power input P", "W"),
    "power_raw_w": ("measured power", "W"),
    "cop": ("COP", ""),
    "cop_raw": ("COP from measured power", ""),
}


def significant(value: Any, digits: int = 3) -> str:
    """A budget figure: three significant digits, whole numbers from 1000 on."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "–" if value is None else str(value)
    if not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return number(value, 0)
    return f"{value:.{digits}g}"


def _with_unit(value: Any, unit: Any) -> str:
    text = significant(value)
    return f"{text} {unit}" if unit and text != "–" else text


def budgets(unc: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The uncertainty budgets of a point, one table per result quantity.

    result.json 1.1 has `budget: {quantity: [{name, type, value, u, divisor, sensitivity,
    contribution, source, …}]}`; 1.0 has `budget_<quantity>: {term: |c·u|}`. Both become rows
    of display texts; `detailed` says whether there is more than name and contribution.
    """
    if not unc or not unc.get("available"):
        return []
    raw = unc.get("budget")
    if isinstance(raw, dict):
        sources = list(raw.items())
    else:
        sources = [
            (k.removeprefix("budget_"), v) for k, v in unc.items() if k.startswith("budget_")
        ]
    tables = []
    for quantity, terms in sources:
        if isinstance(terms, dict):
            items = [v if isinstance(v, dict) else {"contribution": v} for v in terms.values()]
            items = [{"name": k, **v} for k, v in zip(terms, items, strict=True)]
        elif isinstance(terms, list):
            items = [t for t in terms if isinstance(t, dict)]
        else:
            continue
        title, unit = QUANTITY_TITLES.get(quantity, (quantity.replace("_", " "), ""))
        rows = [
            {
                "name": str(t.get("name", "–")),
                "type": str(t.get("type", "")),
                "value": _with_unit(t.get("value"), t.get("value_unit")),
                "u": _with_unit(t.get("u"), t.get("u_unit")),
                "divisor": significant(t.get("divisor")),
                "sensitivity": _with_unit(t.get("sensitivity"), t.get("sensitivity_unit")),
                "contribution": significant(t.get("contribution")),
                "source": str(t.get("source", "")),
            }
            for t in items
        ]
        total = unc.get(quantity) if isinstance(unc.get(quantity), dict) else None
        tables.append(
            {
                "quantity": quantity,
                "title": title,
                "unit": unit,
                "rows": rows,
                "total": total,
                "detailed": any(len(t) > 2 for t in items),
            }
        )
    return tables


def unverified_values(data: RunData, doc: dict[str, Any]) -> list[dict[str, str]]:
    """The profile's values tagged [U] (not verified against the standard): each one is a
    deviation from the standard's method until the lab has checked it."""
    listed = doc["profile"].get("unverified")
    if isinstance(listed, list):
        return [dict(v) for v in listed if isinstance(v, dict)]
    profile = data.plan.profile if data.plan else None
    if profile is None or (profile.name, profile.version) != (
        doc["profile"]["name"],
        doc["profile"]["version"],
    ):
        return []
    out = []
    for name, q in profile.quantities.items():
        for which, limit in (("mean", q.mean), ("individual", q.individual)):
            if limit.source.startswith("[U]"):
                out.append(
                    {
                        "value": f"{name.replace('_', ' ')}, {which}",
                        "setting": f"±{limit.limit:g} {q.unit}",
                        "source": limit.source,
                    }
                )
    for name, setting in profile.timing:
        if setting.source.startswith("[U]"):
            out.append(
                {
                    "value": name.replace("_", " "),
                    "setting": f"{setting.value:g}",
                    "source": setting.source,
                }
            )
    return out


def findings(
    doc: dict[str, Any], points: list[dict[str, Any]], scop: dict[str, Any] | None
) -> list[dict[str, str]]:
    """The report's deviations section (ISO/IEC 17025 7.8.2.1 (g)): departures from the
    method and facts a reader must know, each {kind, point, message, source}.

    result.json 1.1 lists them (`deviations`); for 1.0 they are gathered here from the run.
    """
    notes: list[dict[str, str]] = []

    def note(kind: str, message: str, point: str = "", source: str = "") -> None:
        notes.append({"kind": kind, "point": point, "message": message, "source": source})

    run = doc["run"]
    if run["simulated"]:
        note(
            "simulated",
            "Made on the simulated bench: it shows the bench working, it does not rate a unit.",
        )
    if not doc["uncertainty_model"]["available"]:
        note("uncertainty", f"Uncertainties not available: {doc['uncertainty_model']['reason']}")
    if doc["plan"].get("problem"):
        note("plan", doc["plan"]["problem"])
    listed = doc.get("deviations")
    if isinstance(listed, list):
        for item in listed:
            if isinstance(item, dict):
                note(
                    str(item.get("kind", "")),
                    str(item.get("message", "")),
                    str(item.get("point") or ""),
                    str(item.get("source") or ""),
                )
            else:
                note("", str(item))
        return notes
    for w in run.get("calibration_warnings") or []:
        note("calibration", w)
    if run.get("gaps"):
        note("sample_gap", f"Frames missing (sequence ranges): {run['gaps']}")
    for p in points:
        if p.get("transient"):
            res = p.get("results") or {}
            text = f"transient (defrost) test, {p.get('defrosts', 0)} defrost(s)"
            if res.get("cycles") is not None:
                text += f", {res['cycles']} cycle(s) used"
            if p.get("window"):
                text += f", window {number(p['window']['duration_s'] / 60, 0)} min"
            note("transient", text, p["id"])
    if scop and scop.get("aux_tags"):
        for key, tag in scop["aux_tags"].items():
            if tag.startswith("[U]"):
                note(
                    "fallback",
                    f"{key.upper()} {scop['aux_w'][key]:g} W not measured on this "
                    "unit: a declared value is used",
                    source=tag,
                )
    return notes


def completeness(
    doc: dict[str, Any], points: list[dict[str, Any]], scop: dict[str, Any] | None
) -> dict[str, Any]:
    """Whether every point gave a valid result and, for EN 14825, whether the SCOP rests on a
    complete set: said on the first page. result.json 1.1 states it (`completeness`)."""
    given = doc.get("completeness")
    if isinstance(given, dict) and "complete" in given:
        missing = [
            {"id": m.get("point", "?"), "status": m.get("status", ""), "note": m.get("reason", "")}
            for m in given.get("missing") or []
            if isinstance(m, dict)
        ]
        total = given.get("points_total", len(points))
        valid = given.get("points_valid", total - len(missing))
    else:
        missing = [
            {"id": p["id"], "status": p["status"], "note": p["note"]}
            for p in points
            if p["status"] != "valid"
        ]
        total, valid = len(points), len(points) - len(missing)
    scop_complete = None
    roles: list[str] = []
    if scop is not None:
        scop_complete = (
            bool(scop.get("complete")) and not scop.get("error") and scop.get("scop") is not None
        )
        roles = list(scop.get("missing_roles") or [])
    return {
        "all_valid": not missing,
        "missing": missing,
        "total": total,
        "valid": valid,
        "scop_complete": scop_complete,
        "missing_roles": roles,
    }


# -- charts ----------------------------------------------------------------------------------


def _column(data: RunData, channel: str) -> list[float | None]:
    return data.series.values.get(channel) or [None] * len(data.series.t)


def _charts(
    data: RunData, doc: dict[str, Any], capacity: list[float | None]
) -> list[dict[str, str]]:
    from bench.export import charts

    series = data.series
    if not series.t:
        return []
    t = series.t
    bands = []
    for p in doc["points"]:
        if p["first_seq"] is None:
            continue
        rows = series.span(p["first_seq"], p["last_seq"])
        if rows:
            bands.append(charts.Band(t[rows.start], t[rows.stop - 1], p["id"]))
    P = charts.PALETTE
    temperatures = charts.time_chart(
        "Air and water temperatures",
        [
            charts.Panel(
                "air, °C",
                [
                    charts.Line("chamber air dry bulb", t, _column(data, AIR_T), P[0]),
                    charts.Line("set point", t, _column(data, AIR_SP), P[5], dashed=True),
                ],
            ),
            charts.Panel(
                "water, °C",
                [
                    charts.Line("inlet", t, _column(data, WATER_IN), P[0]),
                    charts.Line("outlet", t, _column(data, WATER_OUT), P[1]),
                ],
            ),
        ],
        bands,
    )
    power = charts.time_chart(
        "Capacity and power",
        [
            charts.Panel(
                "power, W",
                [
                    charts.Line("capacity (bench sensors)", t, capacity, P[1]),
                    charts.Line("electrical power", t, _column(data, POWER), P[0]),
                    charts.Line(
                        "heat pump's own heat output", t, _column(data, HP_HEAT), P[5], dashed=True
                    ),
                ],
            )
        ],
        bands,
        height_in=2.8,
    )
    shaded = "Shaded: the collection window of each point (the data its results come from)."
    return [
        {
            "svg": temperatures,
            "caption": "Chamber air dry bulb and its set point; water inlet and outlet at the "
            f"bench's sensors. {shaded}",
        },
        {
            "svg": power,
            "caption": "Capacity qV·ρ·cp·ΔT from the bench's sensors, power from the power "
            f"analyser, and the unit's own figure for comparison. {shaded}",
        },
    ]


def _limits(p: dict[str, Any], name: str) -> list[charts.Limits]:
    from bench.export import charts

    d = (p.get("deviations") or {}).get(name)
    if not d:
        return []
    half = d["individual_limit"]
    if d["unit"] == "%":
        half = abs(d["set_value"]) * half / 100.0
    return [charts.Limits(d["set_value"], half)]


def _zooms(
    data: RunData, doc: dict[str, Any], capacity: list[float | None]
) -> list[dict[str, Any]]:
    """A chart per point of its collection window (and a quarter of it before), with the set
    values and the profile's individual limits."""
    from bench.export import charts

    series = data.series
    out = []
    P = charts.PALETTE
    for p in doc["points"]:
        if p["first_seq"] is None:
            continue
        rows = series.span(p["first_seq"], p["last_seq"])
        if not rows:
            continue
        t0, t1 = series.t[rows.start], series.t[rows.stop - 1]
        lo = t0 - ZOOM_CONTEXT * (t1 - t0)
        start = next(i for i, t in enumerate(series.t) if t >= lo)
        view = range(start, rows.stop)
        t = series.t[view.start : view.stop]

        def col(values: list[float | None], view: range = view) -> list[float | None]:
            return values[view.start : view.stop]

        panels = [
            charts.Panel(
                "air, °C",
                [charts.Line("air dry bulb", t, col(_column(data, AIR_T)), P[0])],
                _limits(p, "air_dry_bulb"),
            ),
            charts.Panel(
                "outlet, °C",
                [charts.Line("water outlet", t, col(_column(data, WATER_OUT)), P[1])],
                _limits(p, "water_outlet"),
            ),
            charts.Panel(
                "inlet, °C",
                [charts.Line("water inlet", t, col(_column(data, WATER_IN)), P[0])],
                _limits(p, "water_inlet"),
            ),
            charts.Panel(
                "power, W",
                [
                    charts.Line("capacity", t, col(capacity), P[1]),
                    charts.Line("electrical power", t, col(_column(data, POWER)), P[0]),
                ],
            ),
        ]
        title = f"Point {p['id']}: collection window"
        out.append(
            {
                "id": p["id"],
                "status": p["status"],
                "svg": charts.zoom_chart(title, panels, charts.Band(t0, t1)),
            }
        )
    return out


def frame_capacity(data: RunData) -> list[float | None]:
    """Instantaneous capacity of every frame, W (None where an input is missing or the water
    is outside the liquid range, as when the bench is filling)."""
    s, values = data.settings, data.series.values
    n = len(data.series.t)
    qv = values.get(WATER_FLOW) or [None] * n
    t_in = values.get(WATER_IN) or [None] * n
    t_out = values.get(WATER_OUT) or [None] * n
    out: list[float | None] = []
    for q, a, b in zip(qv, t_in, t_out, strict=True):
        if q is None or a is None or b is None:
            out.append(None)
            continue
        try:
            out.append(heating_capacity(q, a, b, p_pa=s.pressure_pa, meter=s.meter))
        except ValueError:
            out.append(None)
    return out


def _cop_chart(doc: dict[str, Any]) -> str | None:
    from bench.export import charts

    shown = [p for p in doc["points"] if p["results"] and "cop" in p["results"]]
    if not shown:
        return None
    errors = [
        p["uncertainty"]["cop"]["U"]
        if p["uncertainty"] and p["uncertainty"].get("available")
        else None
        for p in shown
    ]
    return charts.cop_chart(
        "COP per point", [p["id"] for p in shown], [p["results"]["cop"] for p in shown], errors
    )
