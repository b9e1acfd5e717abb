"""`report.html`: the run for people — one self-contained, printable page.

Everything is inline (CSS, SVG charts, no scripts, no fonts or images fetched), so the file
opens the same from a USB stick in ten years and prints on A4. The numbers come from the result
document (so the page and result.json cannot disagree); the time series from the run store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from bench.export import svg
from bench.export.rundata import RunData
from bench.metrology.capacity import heating_capacity
from bench.run.points import AIR_T, HP_HEAT, POWER, WATER_FLOW, WATER_IN, WATER_OUT

REPORT_NAME = "report.html"
AIR_SP = "climate_chamber.temperature_sp"
CSS = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
body { font: 13px/1.4 system-ui, "Segoe UI", Helvetica, Arial, sans-serif; color: #212529;
       margin: 24px auto; max-width: 1000px; padding: 0 16px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 22px 0 8px; border-bottom: 2px solid #1f6fb4; padding-bottom: 2px;
     break-after: avoid; }
.sub { color: #495057; margin: 0 0 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; break-inside: avoid; }
th, td { border: 1px solid #ced4da; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #e7f0f8; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.kv th { width: 28%; }
.valid { color: #2b8a3e; font-weight: 600; }
.invalid, .failed { color: #c92a2a; font-weight: 600; }
.skipped, .not_run { color: #868e96; font-weight: 600; }
.warn { background: #fff4e6; border: 1px solid #ffa94d; padding: 6px 10px; margin: 8px 0; }
.sim { display: inline-block; background: #862e9c; color: #fff; padding: 1px 8px;
       border-radius: 3px; font-size: 12px; margin-left: 8px; vertical-align: middle; }
figure { margin: 8px 0 14px; break-inside: avoid; }
figure svg { width: 100%; height: auto; display: block; border: 1px solid #dee2e6; }
figcaption { color: #495057; font-size: 12px; margin-top: 2px; }
footer { margin-top: 28px; color: #868e96; font-size: 11px; }
@media print { body { margin: 0; max-width: none; } .noprint { display: none; } }
"""


def report_html(data: RunData, doc: dict[str, Any]) -> str:
    unit, run = doc["unit"], doc["run"]
    title = f"{unit['make']} {unit['model']} #{unit['serial']}: {doc['plan']['name']}"
    sim = '<span class="sim">simulated bench</span>' if run["simulated"] else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}{sim}</h1>",
        f'<p class="sub">run {escape(run["id"])} · {escape(run["first_frame"] or "")} to '
        f"{escape(run['last_frame'] or '')} (UTC, bench time) · outcome "
        f"<b>{escape(run['outcome'])}</b> · {_e(doc['plan']['standard'].upper())} · profile "
        f"{escape(doc['profile']['name'])} {escape(doc['profile']['version'])}</p>",
        *_warnings(doc),
        "<h2>Unit and bench</h2>",
        _unit_bench(doc),
        "<h2>Instruments</h2>",
        _instruments(doc),
        "<h2>Points</h2>",
        _points_table(doc),
        _deviations_table(doc),
        "<h2>Time series</h2>",
        *_time_plots(data, doc),
        "<h2>COP per point</h2>",
        _cop_plot(doc),
    ]
    scop = doc.get("scop")
    if scop:
        parts += ["<h2>EN 14825 seasonal performance</h2>", *_scop(scop)]
    parts += [
        "<h2>Heat pump's own readings (comparison only, never used)</h2>",
        _reported(doc),
        f"<footer>{escape(doc['generator'])} · {escape(doc['format'])} "
        f"{escape(doc['schema_version'])} · made from run.sqlite; result.json holds every "
        "number unrounded, SHA256SUMS the digests of all result files.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


# -- helpers ---------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _n(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    text = f"{value:,.{digits}f}".replace(",", " ")
    return text[1:] if text.startswith("-") and not text.strip("-0. ") else text  # no "-0.00"


def _pm(value: float | None, unc: dict[str, Any] | None, key: str, digits: int) -> str:
    if value is None:
        return "–"
    if unc and unc.get("available"):
        return f"{_n(value, digits)} ± {_n(unc[key]['U'], digits)}"
    return _n(value, digits)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>")
        for i, cell in enumerate(row):
            cls = ' class="n"' if i in numeric else ""
            out.append(f"<td{cls}>{cell}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _kv(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="kv"><tbody>{body}</tbody></table>'


# -- sections --------------------------------------------------------------------------------


def _warnings(doc: dict[str, Any]) -> list[str]:
    notes = []
    if doc["run"]["simulated"]:
        notes.append(
            "This run was made on the simulated bench: it shows the bench working, it "
            "does not rate a unit."
        )
    if not doc["uncertainty_model"]["available"]:
        notes.append(f"Uncertainties not available: {doc['uncertainty_model']['reason']}")
    if doc["plan"]["problem"]:
        notes.append(doc["plan"]["problem"])
    for w in doc["run"]["calibration_warnings"]:
        notes.append(f"Calibration: {w}")
    if doc["run"]["gaps"]:
        notes.append(f"Frames missing (seq ranges): {doc['run']['gaps']}")
    return [f'<div class="warn">{escape(n)}</div>' for n in notes]


def _unit_bench(doc: dict[str, Any]) -> str:
    u, b, p = doc["unit"], doc["bench"], doc["plan"]
    rep = u["reported"]
    pump = b["pump_correction"]
    pump_text = (
        f"{pump['mode']}, η {pump['efficiency']:g}, Δp {pump['dp_pa']:g} Pa" if pump else "off"
    )
    rows = [
        ("unit", _e(f"{u['make']} {u['model']}, serial {u['serial']}, {u['refrigerant']}")),
        (
            "unit reports itself as",
            _e(f"{rep['make']} {rep['model']} s/n {rep['serial']} fw {rep['firmware']}")
            if rep
            else "–",
        ),
        (
            "plan",
            _e(
                f"{p['name']} ({p['standard']}"
                + (
                    f", {p['climate']} climate, {p['application']} temperature"
                    if p["climate"]
                    else ""
                )
                + f"), operator {p['operator']}"
            ),
        ),
        ("bench", _e(f"{b['name']}, {b['lab']}")),
        (
            "water side",
            _e(
                f"ρ at the flow meter ({b['flow_meter']}), "
                f"{b['water_pressure_pa'] / 1e5:g} bar; cp at the mean temperature "
                "(IAPWS-IF97)"
            ),
        ),
        ("pump correction", _e(pump_text)),
        ("nominal voltage", _e(f"{b['nominal_voltage_v']:g} V")),
    ]
    if u["pdesignh_kw"] is not None:
        rows.append(
            (
                "design values",
                _e(
                    f"Pdesignh {u['pdesignh_kw']:g} kW, Tbiv "
                    f"{u['tbiv_c']:g} °C, TOL {u['tol_c']:g} °C"
                ),
            )
        )
    return _kv(rows)


def _instruments(doc: dict[str, Any]) -> str:
    rows = []
    for i in doc["instruments"]:
        rep = i["reported"]
        ident = f"{rep['make']} {rep['model']}" if rep else "–"
        acc = ", ".join(f"{k} {v:g}" for k, v in i["accuracy"].items()) or "–"
        due = i["calibration_due"] or "–"
        cls = "invalid" if i["calibration"] == "overdue" else ""
        rows.append(
            [
                _e(i["role"]),
                _e(ident),
                _e(i["serial"] or "–") + (f" <small>({_e(i['serial_check'])})</small>"),
                f'<span class="{cls}">{_e(due)} ({_e(i["calibration"])})</span>',
                _e(acc),
            ]
        )
    return _table(["role", "make and model", "serial", "calibration due", "accuracy"], rows, set())


def _points_table(doc: dict[str, Any]) -> str:
    rows = []
    for p in doc["points"]:
        s, m, r, u = p["set"], p["measured"] or {}, p["results"] or {}, p["uncertainty"]
        note = p["reason"] or r.get("error", "")
        if p["transient"]:
            note = f"transient, {p['defrosts']} defrost(s); " + note
        rows.append(
            [
                _e(p["id"]),
                f'<span class="{p["status"]}">{_e(p["status"])}</span>',
                f"{_n(s['air_dry_bulb_c'])} / {_n(s['air_wet_bulb_c'])}",
                f"{_n(m.get('air_dry_bulb_c'), 2)} / {_n(m.get('air_wet_bulb_c'), 2)}",
                f"{_n(s['water_outlet_c'])} / {_n(m.get('water_outlet_c'), 2)}",
                f"{_n(m.get('water_inlet_c'), 2)}",
                _n(m.get("water_flow_m3h"), 3),
                _pm(r.get("capacity_w"), u, "capacity_w", 0),
                _pm(r.get("power_w"), u, "power_w", 0),
                _pm(r.get("cop"), u, "cop", 2),
                _e(note.strip("; ")),
            ]
        )
    head = [
        "point",
        "status",
        "air set °C db/wb",
        "air meas. °C db/wb",
        "outlet set/meas. °C",
        "inlet °C",
        "flow m³/h",
        "capacity W",
        "power W",
        "COP",
        "note",
    ]
    k = doc["uncertainty_model"]["k"]
    caption = (
        f'<p class="sub">± is the expanded uncertainty U (k = {k:g}). Capacity from the '
        "bench's water-side sensors; power is the effective power input.</p>"
    )
    return _table(head, rows, {2, 3, 4, 5, 6, 7, 8, 9}) + caption


def _deviations_table(doc: dict[str, Any]) -> str:
    names = sorted({q for p in doc["points"] for q in p["deviations"]})
    if not names:
        return ""
    rows = []
    for p in doc["points"]:
        if not p["deviations"]:
            continue
        row = [_e(p["id"])]
        for q in names:
            d = p["deviations"].get(q)
            if d is None:
                row.append("–")
                continue
            mark = "" if d["ok"] else ' class="invalid"'
            row.append(
                f"<span{mark}>{_n(d['mean_deviation'], 2)} / {_n(d['max_individual_deviation'], 2)}"
                f"</span><br><small>(±{d['mean_limit']:g} / ±{d['individual_limit']:g} "
                f"{_e(d['unit'])})</small>"
            )
        rows.append(row)
    head = ["point", *(q.replace("_", " ") for q in names)]
    return (
        '<p class="sub">Deviations from the set values: mean of the period / largest single '
        "reading, against (mean / individual limit) of the profile.</p>"
        + _table(head, rows, set(range(1, len(names) + 1)))
    )


def _time_plots(data: RunData, doc: dict[str, Any]) -> list[str]:
    series = data.series
    if not series.t:
        return ["<p>No frames.</p>"]
    t0 = series.t[0]
    hours = [(t - t0) / 3600.0 for t in series.t]
    bands = []
    for p in doc["points"]:
        if p["first_seq"] is None:
            continue
        rows = series.span(p["first_seq"], p["last_seq"])
        if rows:
            bands.append(svg.Band(hours[rows.start], hours[rows.stop - 1], p["id"]))

    def col(channel: str) -> list[float | None]:
        return series.values.get(channel) or [None] * len(hours)

    air = svg.time_chart(
        "Air temperature",
        [
            svg.Line("chamber air dry bulb", hours, col(AIR_T), svg.PALETTE[0]),
            svg.Line("set point", hours, col(AIR_SP), svg.PALETTE[5], dashed=True),
        ],
        y_label="°C",
        bands=bands,
    )
    water = svg.time_chart(
        "Water temperatures",
        [
            svg.Line("inlet", hours, col(WATER_IN), svg.PALETTE[0]),
            svg.Line("outlet", hours, col(WATER_OUT), svg.PALETTE[1]),
        ],
        y_label="°C",
        bands=bands,
    )
    power = svg.time_chart(
        "Capacity and power",
        [
            svg.Line("capacity (bench sensors)", hours, frame_capacity(data), svg.PALETTE[1]),
            svg.Line("electrical power", hours, col(POWER), svg.PALETTE[0]),
            svg.Line(
                "heat pump's own heat output", hours, col(HP_HEAT), svg.PALETTE[5], dashed=True
            ),
        ],
        y_label="W",
        bands=bands,
    )
    caption = "Shaded: the collection window of each point (the data its results come from)."
    return [
        f"<figure>{air}<figcaption>Chamber air dry bulb and its set point. {caption}"
        "</figcaption></figure>",
        f"<figure>{water}<figcaption>Water inlet and outlet at the bench's sensors. {caption}"
        "</figcaption></figure>",
        f"<figure>{power}<figcaption>Capacity qV·ρ·cp·ΔT from the bench's sensors, power from "
        f"the power analyser. {caption}</figcaption></figure>",
    ]


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


def _cop_plot(doc: dict[str, Any]) -> str:
    shown = [p for p in doc["points"] if p["results"] and "cop" in p["results"]]
    if not shown:
        return "<p>No point has a COP.</p>"
    cats = [p["id"] for p in shown]
    values = [p["results"]["cop"] for p in shown]
    errors = [
        p["uncertainty"]["cop"]["U"] if p["uncertainty"] and p["uncertainty"]["available"] else None
        for p in shown
    ]
    chart = svg.bar_chart(
        "COP per point",
        cats,
        [svg.Bars("COP", values, errors, svg.PALETTE[2])],
        y_label="COP",
    )
    return (
        f"<figure>{chart}<figcaption>COP of each point with a result; the error bar is the "
        "expanded uncertainty U where the station's accuracies allow one.</figcaption></figure>"
    )


def _scop(scop: dict[str, Any]) -> list[str]:
    if "climate" not in scop:
        return [f'<div class="warn">No SCOP: {escape(scop["error"])}</div>']
    out = []
    if scop["error"]:
        out.append(f'<div class="warn">No SCOP: {escape(scop["error"])}</div>')
    if not scop["complete"]:
        out.append(
            f'<div class="warn">Points missing for roles {", ".join(scop["missing_roles"])}: '
            "the SCOP is interpolated without them.</div>"
        )
    aux = scop["aux_w"]
    out.append(
        _kv(
            [
                ("SCOP", f"<b>{_n(scop['scop'], 2)}</b>"),
                ("SCOPon / SCOPnet", f"{_n(scop['scop_on'], 2)} / {_n(scop['scop_net'], 2)}"),
                ("ηs,h", f"{_n(scop['eta_s_percent'], 0)} % (CC {scop['cc']:g})"),
                ("QH / QHE", f"{_n(scop['qh_kwh'], 0)} / {_n(scop['qhe_kwh'], 0)} kWh per year"),
                ("climate, Pdesignh", _e(f"{scop['climate']}, {scop['pdesignh_kw']:g} kW")),
                ("Tbiv / TOL", _e(f"{scop['tbiv_c']:g} / {scop['tol_c']:g} °C")),
                ("Cdh", _e(f"{scop['cdh']:g} ({scop['cdh_source']})")),
                (
                    "POFF / PTO / PSB / PCK",
                    _e(
                        f"{aux['poff']:g} / {aux['pto']:g} / {aux['psb']:g} / {aux['pck']:g} W "
                        f"({scop['aux_source']})"
                    ),
                ),
            ]
        )
    )
    used = [
        [
            _e(u["point"]),
            _e(u["role"] or "–"),
            _n(u["tj_c"], 0),
            _n(u["pdh_kw"], 2),
            _n(u["cop"], 2),
        ]
        for u in scop["points_used"]
    ]
    out.append(_table(["point", "role", "Tj °C", "Pdh kW", "COPd"], used, {2, 3, 4}))
    if scop["points_left_out"]:
        left = "; ".join(f"{x['point']}: {x['reason']}" for x in scop["points_left_out"])
        out.append(f'<p class="sub">Not used: {escape(left)}</p>')
    if scop["bins"]:
        cats = [f"{b['tj_c']:g}" for b in scop["bins"]]
        chart = svg.bar_chart(
            "EN 14825 bins",
            cats,
            [
                svg.Bars(
                    "heat load Ph, kW", [b["ph_kw"] for b in scop["bins"]], [], svg.PALETTE[0]
                ),
                svg.Bars(
                    "capacity Pdh (measured, interpolated), kW",
                    [b["pdh_kw"] for b in scop["bins"]],
                    [],
                    svg.PALETTE[1],
                ),
            ],
            y_label="kW",
            line=svg.Line(
                "COPbin",
                list(range(len(cats))),
                [b["cop_bin"] for b in scop["bins"]],
                svg.PALETTE[2],
            ),
            line_label="COPbin",
        )
        out.append(
            f"<figure>{chart}<figcaption>Per outdoor temperature bin Tj (°C): the building's "
            "heat load, the unit's capacity interpolated from the measured points, and COPbin "
            "(cycling loss applied).</figcaption></figure>"
        )
        rows = [
            [
                _n(b["tj_c"], 0),
                _n(b["hours"], 0),
                _n(b["ph_kw"], 2),
                _n(b["pdh_kw"], 2),
                _n(b["cr"], 3),
                _n(b["cop_bin"], 2),
                _n(b["elbu_kw"], 2),
            ]
            for b in scop["bins"]
        ]
        out.append(
            _table(
                ["Tj °C", "hj h", "Ph kW", "Pdh kW", "CR", "COPbin", "elbu kW"], rows, set(range(7))
            )
        )
    return out


def _reported(doc: dict[str, Any]) -> str:
    rows = []
    for p in doc["points"]:
        rep, r = p["heat_pump_reported"], p["results"] or {}
        if not rep:
            continue
        bench_cap = r.get("capacity_w")
        own = rep["heat_output_w"]
        diff = (
            f"{100.0 * (own - bench_cap) / bench_cap:+.1f} %"
            if own is not None and bench_cap
            else "–"
        )
        rows.append(
            [
                _e(p["id"]),
                _n(bench_cap, 0),
                _n(own, 0),
                diff,
                _n(rep["electrical_power_w"], 0),
                _n(rep["cop"], 2),
                _n(rep["supply_temp_c"], 1),
                _n(rep["return_temp_c"], 1),
            ]
        )
    head = [
        "point",
        "capacity (bench) W",
        "heat output (unit) W",
        "difference",
        "power (unit's meter) W",
        "COP (unit)",
        "supply °C",
        "return °C",
    ]
    return _table(head, rows, set(range(1, 8)))
