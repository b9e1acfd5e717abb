"""`points.csv` (one row per point) and `samples.csv` (every frame of the run), for spreadsheets.

Both are RFC 4180 CSV in UTF-8 with a header row; numbers are written as Python's shortest
round-trip text (`repr`), so a value read back is the value stored. An empty cell is a value
that does not exist (a failed point has no capacity) or a reading that was not OK.

points.csv is flattened from result.json (the same numbers); samples.csv from the run store:
`seq`, `t` (bench time, epoch s), `time_utc`, `collecting` (the id of the point whose
collection window holds the frame), then one column per channel named `id [unit]`, and
`not_ok` listing the readings that were not OK (`channel:quality detail; …`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from bench.export.result import iso
from bench.export.rundata import RunData
from bench.profiles import QUANTITIES  # the judged quantities: one column group each

POINTS_NAME = "points.csv"
SAMPLES_NAME = "samples.csv"
SET_FIELDS = (
    "air_dry_bulb_c",
    "air_wet_bulb_c",
    "air_rh_pct",
    "water_outlet_c",
    "water_inlet_c",
    "water_flow_m3h",
    "flow_setting",
    "demand_pct",
)
MEASURED_FIELDS = (
    "air_dry_bulb_c",
    "air_rh_pct",
    "air_wet_bulb_c",
    "water_inlet_c",
    "water_outlet_c",
    "water_flow_m3h",
    "voltage_v",
)
RESULT_FIELDS = (
    "capacity_w",
    "power_raw_w",
    "pump_correction_w",
    "power_w",
    "cop_raw",
    "cop",
    "heat_kwh",
    "electric_kwh",
    "cycles",
)
UNCERTAIN = ("capacity_w", "power_w", "cop")
REPORTED_FIELDS = ("heat_output_w", "electrical_power_w", "cop")


def points_header() -> list[str]:
    head = ["index", "point", "status", "reason", "transient", "defrosts", "started", "ended"]
    head += ["window_start", "window_end", "frames", "frames_used"]
    head += [f"set_{f}" for f in SET_FIELDS]
    head += [f"measured_{f}" for f in MEASURED_FIELDS]
    for q in QUANTITIES:
        head += [f"{q}_mean_dev", f"{q}_max_dev", f"{q}_ok"]
    head += ["method", *RESULT_FIELDS]
    head += [f"U_{f}" for f in UNCERTAIN] + ["uncertainty_k", "uncertainty_note"]
    head += [f"heat_pump_{f}" for f in REPORTED_FIELDS]
    return head


def points_rows(doc: dict[str, Any]) -> Iterable[list[Any]]:
    for p in doc["points"]:
        window = p["window"] or {}
        setp, measured = p["set"], p["measured"] or {}
        results = p["results"] or {}
        unc = p["uncertainty"] or {}
        reported = p["heat_pump_reported"] or {}
        row: list[Any] = [p["index"], p["id"], p["status"], p["reason"], p["transient"]]
        row += [p["defrosts"], p["started"], p["ended"]]
        row += [window.get(k) for k in ("start", "end", "frames", "frames_used")]
        row += [setp.get(f) for f in SET_FIELDS]
        row += [measured.get(f) for f in MEASURED_FIELDS]
        for q in QUANTITIES:
            dev = p["deviations"].get(q) or {}
            row += [dev.get("mean_deviation"), dev.get("max_individual_deviation"), dev.get("ok")]
        row += [results.get("method", results.get("error"))]
        row += [results.get(f) for f in RESULT_FIELDS]
        if unc.get("available"):
            row += [unc[f]["U"] for f in UNCERTAIN] + [unc["k"], unc["type_a"]]
        else:
            row += [None] * len(UNCERTAIN) + [None, unc.get("reason")]
        row += [reported.get(f) for f in REPORTED_FIELDS]
        yield row


def points_csv(doc: dict[str, Any]) -> str:
    return _csv([points_header(), *points_rows(doc)])


def samples_csv(data: RunData, doc: dict[str, Any]) -> str:
    series = data.series
    ids = list(data.channels)
    collecting = [""] * len(series.seq)
    for p in doc["points"]:
        if p["first_seq"] is not None and p["last_seq"] is not None:
            for i in series.span(p["first_seq"], p["last_seq"]):
                collecting[i] = p["id"]
    header = ["seq", "t", "time_utc", "collecting"]
    header += [f"{cid} [{unit}]" if unit else cid for cid, unit in data.channels.items()]
    header.append("not_ok")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    columns = [series.values[cid] for cid in ids]
    fmt = _cell
    for i, (seq, t) in enumerate(zip(series.seq, series.t, strict=True)):
        row = [seq, repr(t), iso(t), collecting[i]]
        row += [fmt(col[i]) for col in columns]
        row.append(series.notes[i])
        writer.writerow(row)
    return out.getvalue()


def _csv(rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
