"""The judgement around a run's numbers, for result.json: why each point is (not) valid, the
sample gaps and defrost cycles of its window, the sensors that measured it, and the run's
completeness and deviations (what a test report lists under ISO/IEC 17025 7.8.2/7.8.3).

Everything is made again from the store: the sequencer decided each point's status during the
run; the checks here are repeated on the stored frames with the profile's values, and a point
the stored data contradict (a gap over the limit, too few defrost cycles) is made invalid with
the reason, so a store from an older hpbench is judged by today's rules too.

Layout: docs/result-files.md, "Schema 1.1".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.export.rundata import RunData
from bench.export.stamps import iso
from bench.metrology.parts import RANGE_DECLARED, RANGE_READ_BACK, range_text
from bench.metrology.point import coverage_statement, sdm
from bench.plan.model import DEFAULT_BAROMETRIC_PA
from bench.run.measure import BAROMETER
from bench.run.points import AIR_RH, AIR_T, VOLTAGE, WATER_FLOW, WATER_IN, WATER_OUT
from bench.run.stability import GapMeter

EMPTY_POINT_PARTS: dict[str, Any] = {
    "validity": None,
    "sample_gaps": None,
    "transient_record": None,
    "sensors": [],
    "barometric_pa": None,
}
DEFAULT_RULE = (
    "A point is valid when every controlled quantity stayed within the profile's individual "
    "and mean limits over its collection, the collection had no sampling gap above the "
    "profile's limit, and a transient collection held whole defrost cycles as the profile "
    "requires."
)
SENSOR_ROWS = (  # (what the row names, contract quantity, the channel read on a four-role bench)
    ("water inlet temperature", "water.inlet_c", WATER_IN),
    ("water outlet temperature", "water.outlet_c", WATER_OUT),
    ("water volume flow", "water.flow_m3h", WATER_FLOW),
    ("supply voltage", "electrical.voltage_v", VOLTAGE),
    ("air dry bulb temperature", "air.dry_bulb_c", AIR_T),
    ("air relative humidity", "air.rh_pct", AIR_RH),
)


def _timing(data: RunData) -> dict[str, float]:
    if data.plan is None:
        return {"sample_max_s": 10.0, "cycles": 3.0, "transient_s": 3 * 3600.0}
    t = data.plan.profile.timing
    return {
        "sample_max_s": float(t.sample_max_s.value),
        "cycles": float(t.transient_defrost_cycles.value),
        "transient_s": float(t.transient_collection_min.value) * 60.0,
    }


def rule_text(data: RunData) -> tuple[str, str]:
    """The profile's decision rule for "valid" and its source."""
    rule = data.plan.profile.decision_rule if data.plan else None
    if rule is None:
        return DEFAULT_RULE, "hpbench default (the profile states no decision rule)"
    return rule.text, rule.source


def point_parts(
    data: RunData, point: dict[str, Any], t: Sequence[float], numbers: dict[str, Any] | None
) -> dict[str, Any]:
    """validity, sample_gaps, transient_record, sensors, barometric_pa of one point; may
    also turn a recorded "valid" into "invalid" when the stored frames contradict it."""
    timing = _timing(data)
    limit = timing["sample_max_s"]
    gaps, longest = _gaps(data, point, t, (numbers or {}).get("usable") or [], limit)
    sample_gaps = (
        {
            "limit_s": limit,
            "max_gap_s": longest,
            "gaps": [{"start": iso(a), "end": iso(b), "duration_s": g} for a, b, g in gaps],
        }
        if t
        else None
    )
    record = None
    # a load-based point's window is §7's (whole compressor or defrost cycles, or the fixed
    # time), cut by the sequencer; the EN 14511-3 transient rule is not its rule
    if numbers is not None and point["transient"] and "load_based" not in point:
        record = _transient_record(numbers.get("cycles") or [], t, timing)
    checks = []
    if t:
        bad = [name for name, d in point["deviations"].items() if d.get("ok") is False]
        checks.append(
            {
                "name": "deviations",
                "ok": not bad,
                "detail": "within the profile's limits"
                if not bad
                else "outside: " + ", ".join(bad),
            }
        )
        checks.append(
            {
                "name": "sample_gaps",
                "ok": not gaps,
                "detail": (
                    f"largest interval {sample_gaps['max_gap_s']:.0f} s, limit {limit:g} s"
                    if sample_gaps
                    else ""
                ),
            }
        )
        if record is not None:
            checks.append(
                {"name": "transient_cycles", "ok": record["rule_met"], "detail": record["rule"]}
            )
        error = ((numbers or {}).get("results") or {}).get("error")
        checks.append({"name": "results", "ok": not error, "detail": error or "computed"})
    reasons = [point["reason"]] if point["reason"] else []
    contradicted = [c for c in checks if not c["ok"] and c["name"] != "deviations"]
    if point["status"] == "valid" and contradicted:
        point["status"] = "invalid"
        why = "; ".join(f"{c['name']}: {c['detail']}" for c in contradicted)
        point["reason"] = f"stored data: {why}"
        reasons.append(point["reason"])
    measured = (numbers or {}).get("measured") or {}
    return {
        "validity": {
            "rule": rule_text(data)[0],
            "valid": point["status"] == "valid",
            "reasons": reasons if point["status"] != "valid" else [],
            "checks": checks,
        },
        "sample_gaps": sample_gaps,
        "transient_record": record,
        "sensors": sensors(data, (numbers or {}).get("power_parts")) if t else [],
        "barometric_pa": measured.get("barometric_pa") if t else None,
    }


def _gaps(
    data: RunData, point: dict[str, Any], t: Sequence[float], usable: Sequence[bool], limit: float
) -> tuple[list[tuple[float, float, float]], float]:
    """(start, end, counted length) of each gap over the limit in the window, and the longest
    counted interval: the sequencer's own GapMeter replayed over the stored frames."""
    warped = bool(data.meta.get("sim")) and float(data.meta.get("speed", 1.0)) > 1.0
    plan_point = (
        next((p for p in data.plan.points if p.id == point["id"]), None) if data.plan else None
    )
    period = plan_point.timing.sample_s if plan_point is not None else None
    meter = GapMeter(limit, period if warped else None)
    gaps: list[tuple[float, float, float]] = []
    longest, last = 0.0, None
    for ti, ok in zip(t, usable, strict=False):
        first = last is None
        gap = meter.add(ti, ok or first)  # the window opens on a usable frame
        if gap is None:
            continue
        if not first:
            longest = max(longest, gap)
            if meter.over(gap):
                gaps.append((last, ti, gap))
        last = ti
    return gaps, longest


def _transient_record(
    cycles: list[dict[str, Any]], t: Sequence[float], timing: dict[str, float]
) -> dict[str, Any]:
    need, need_s = int(timing["cycles"]), timing["transient_s"]
    whole_s = (cycles[-1]["end_t"] - cycles[0]["start_t"]) if cycles else 0.0
    met = len(cycles) >= need or (bool(cycles) and whole_s >= need_s)
    rule = (
        f"{len(cycles)} complete defrost cycle(s) over {whole_s / 60:.0f} min; the profile "
        f"needs >= {need} cycles or {need_s / 60:g} min of whole cycles"
    )
    type_a = None
    if len(cycles) >= 2:
        type_a = {key: sdm([c[key] for c in cycles]) for key in ("capacity_w", "power_w", "cop")}
    return {
        "cycles_required": need,
        "window_required_s": need_s,
        "cycle_count": len(cycles),
        "window": {
            "start": iso(t[0]) if t else None,
            "end": iso(t[-1]) if t else None,
            "duration_s": (t[-1] - t[0]) if t else 0.0,
        },
        "rule_met": met,
        "rule": rule,
        "cycles": [
            {
                "index": c["index"],
                "start": iso(c["start_t"]),
                "end": iso(c["end_t"]),
                "duration_s": c["duration_s"],
                "defrost_s": c["defrost_s"],
                "capacity_w": c["capacity_w"],
                "power_w": c["power_w"],
                "cop": c["cop"],
            }
            for c in cycles
        ],
        "type_a": type_a,
    }


def _range(kind: str, acc: dict[str, Any], used: dict[str, Any] | None) -> dict[str, Any]:
    """The range a power part ("power") or the supply voltage ("voltage") was measured on:
    read back (`used`: the part's range, bench.metrology.parts.PartRange), else declared."""
    none = {"range": None, "range_unit": None, "range_source": None}
    read = used is not None and not used["declared"]
    if kind == "voltage":
        if not read:
            return none
        assert used is not None
        return {"range": used["elements"][0]["voltage_v"], "range_unit": "V",
                "range_source": RANGE_READ_BACK, "range_declared": False}  # fmt: skip
    if read:
        assert used is not None
        source = f"{RANGE_READ_BACK} ({range_text(used['elements'])})"
        return {"range": used["power_w"], "range_unit": "W", "range_source": source,
                "range_declared": False}  # fmt: skip
    if acc.get("range_w") is None:
        return none
    return {"range": acc["range_w"], "range_unit": "W",
            "range_source": RANGE_DECLARED, "range_declared": True}  # fmt: skip


def sensors(data: RunData, parts: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Which instrument, serial, range and calibration measured each quantity: the station's
    instrument behind it (`settings.sensors`), one row per power part; `parts`: the point's
    power parts (bench.metrology.point.calculate), None when it has none."""
    settings = data.settings
    behind = settings.sensors
    used = [p["range"] for p in parts] if parts else [None] * len(behind.power)
    ranges = {part.instrument: r for part, r in zip(behind.power, used, strict=True)}
    layout = settings.station.layout
    single = {}  # quantity -> (channel, instrument): the raw channel the station maps it to
    for _, quantity, channel in SENSOR_ROWS:
        sources = layout.sources(quantity)
        source = sources[0] if len(sources) == 1 else channel
        single[quantity] = (source, source.split(".", 1)[0])
    rows: list[tuple[str, str, str, str, dict[str, Any] | None]] = [
        *((what, *single[q], "", None) for what, q, _ in SENSOR_ROWS[:3]),
        *(
            ("electrical power", part.channel, part.instrument, "power", part_range)
            for part, part_range in zip(behind.power, used, strict=True)
        ),
        *(
            (what, *single[q], "voltage" if q == "electrical.voltage_v" else "",
             ranges.get(single[q][1], used[0]))
            for what, q, _ in SENSOR_ROWS[3:]
        ),
    ]  # fmt: skip
    out = []
    for quantity, channel, name, kind, part_range in rows:
        entry = settings.station.instruments.get(name)
        if entry is None:
            continue
        acc = dict(entry.accuracy)
        no_range = {"range": None, "range_unit": None, "range_source": None}
        out.append(
            {
                "quantity": quantity,
                "channel": channel,
                "instrument": name,
                "serial": entry.serial,
                **(_range(kind, acc, part_range) if kind else no_range),
                "accuracy": acc,
                "accuracy_source": entry.accuracy_source,
                "certificate": entry.calibration_certificate,
                "calibrated": entry.calibrated.isoformat() if entry.calibrated else None,
                "calibration_due": (
                    entry.calibration_due.isoformat() if entry.calibration_due else None
                ),
            }
        )
    return out


def document_parts(data: RunData, doc: dict[str, Any]) -> dict[str, Any]:
    """completeness, deviations, validity_rule, coverage and barometric of the document; and
    the unit's identity check, set into doc["unit"]."""
    doc["unit"].update(_identity(data, doc))
    text, source = rule_text(data)
    scop = doc.get("scop") or {}
    missing = [
        {"point": p["id"], "status": p["status"], "reason": p["reason"]}
        for p in doc["points"]
        if p["status"] != "valid"
    ]
    complete = not missing and (not scop or bool(scop.get("complete", True)))
    return {
        "completeness": {
            "complete": complete,
            "points_total": len(doc["points"]),
            "points_valid": sum(1 for p in doc["points"] if p["status"] == "valid"),
            "missing": missing,
        },
        "deviations": _deviations(data, doc),
        "validity_rule": {"text": text, "source": source},
        "coverage": coverage_statement(data.settings.k),
        "barometric": barometric(data),
    }


def barometric(data: RunData) -> dict[str, Any]:
    """The pressure the psychrometrics used: measured when the bench has a barometer channel,
    else the plan's value, flagged as a declared fallback."""
    values = [v for v in data.series.values.get(BAROMETER, []) if v is not None]
    if values:
        return {
            "pa": sum(values) / len(values),
            "source": "measured",
            "channel": BAROMETER,
            "flagged": False,
        }
    plan_pa = data.plan.points[0].barometric_pa if data.plan else DEFAULT_BAROMETRIC_PA
    return {"pa": plan_pa, "source": "plan (fallback)", "channel": None, "flagged": True}


def _identity(data: RunData, doc: dict[str, Any]) -> dict[str, Any]:
    plan_serial = doc["unit"]["serial"]
    reported = doc["unit"]["reported"]
    if not plan_serial:
        check = "not given"
    elif reported is None or not reported.get("serial"):
        check = "not reported"
    else:
        check = "match" if reported["serial"] == plan_serial else "mismatch"
    return {
        "serial_check": check,
        "identity_policy": data.settings.station.station.identity_policy,
    }


def _deviations(data: RunData, doc: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(kind: str, point: str | None, message: str, source: str = "") -> None:
        out.append({"kind": kind, "point": point, "message": message, "source": source})

    for p in doc["points"]:
        gaps = (p.get("sample_gaps") or {}).get("gaps") or []
        for g in gaps:
            add(
                "sample_gap",
                p["id"],
                f"no sample for {g['duration_s']:.0f} s ({g['start']} to {g['end']}), "
                f"limit {p['sample_gaps']['limit_s']:g} s",
                "profile timing.sample_max_s",
            )
        rec = p.get("transient_record")
        if rec is not None:
            add("transient", p["id"], f"transient (defrost) test: {rec['rule']}", "profile timing")
        if p["status"] == "not_run":
            add("not_run", p["id"], p["reason"])
    for e in data.events:
        if e.kind == "gap" and "collection" in e.message:
            add(
                "sample_gap", (e.data or {}).get("point"), f"during the run: {e.message}", "run log"
            )
    baro = doc.get("barometric") or barometric(data)
    if baro["flagged"]:
        add(
            "fallback",
            None,
            f"barometric pressure not measured: the plan's {baro['pa']:g} Pa was used for the "
            "psychrometrics",
            "plan barometric_pa",
        )
    scop = doc.get("scop") or {}
    if scop.get("cdh_source") and scop["cdh_source"] != "plan":
        add(
            "fallback",
            None,
            f"Cdh {scop['cdh']:g} not measured: {scop['cdh_source']}",
            "EN 14825 default",
        )
    if scop.get("aux_source"):
        add("fallback", None, f"auxiliary-mode powers: {scop['aux_source']}", "plan unit.aux_w")
    if data.plan is not None:
        prof = data.plan.profile
        for name, q in prof.quantities.items():
            for which in ("mean", "individual"):
                limit = getattr(q, which)
                if "[U]" in limit.source:
                    add(
                        "profile_unverified",
                        None,
                        f"{name} {which} limit {limit.limit:g} {q.unit}",
                        limit.source,
                    )
        for name, setting in prof.timing:
            if setting is not None and "[U]" in setting.source:
                add(
                    "profile_unverified", None, f"timing {name} = {setting.value:g}", setting.source
                )
    for inst in doc["instruments"]:
        if inst["calibration"] != "valid":
            add(
                "calibration",
                None,
                f"{inst['role']} {inst['serial']}: calibration {inst['calibration']}",
            )
    if doc["unit"].get("serial_check") == "mismatch":
        add(
            "identity",
            None,
            f"the plan's unit serial {doc['unit']['serial']} is not the unit's reported "
            f"{doc['unit']['reported']['serial']}",
        )
    return out
