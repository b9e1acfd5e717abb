"""A point's numbers recomputed from the frames of its collection window in `run.sqlite`.

`hpbench report` must reproduce a run's results from the store alone, so nothing here reads
the numbers the engine wrote into the point record: capacity, power and COP come again from
the bench's water-side sensors and power analyser (`bench.metrology.capacity`, ρ at the
station's flow-meter position and water pressure, cp at the mean temperature), with the
station's pump correction when it has one, and their uncertainty from the station's
accuracies (`bench.metrology.uncertainty`). Frames where any of the four inputs is not OK are
left out and counted, as the engine does.

Steady points: the means of the period; Type A is the standard deviation of the mean.
Transient points (a defrost occurred): heat and electrical energy integrated over the window of
complete defrost cycles the sequencer kept. Their Type B uncertainty is the station's, at the
window's means; their Type A is the cycle-to-cycle scatter (standard deviation of the mean of
the per-cycle values), because the frame-to-frame variation of a defrosting unit is the
defrost cycle itself, not noise. With fewer than two cycles it is left out and said so.

The power analyser's range term (% of range) uses the range the analyser reported with its
values during the collection window (`Urange` x `Irange`, the power range of one element; the
largest one if auto range switched, the conservative choice); the station's declared `range_w`
only when the analyser reported none, and then flagged (`ranges.declared`).

The heat pump's own readings are averaged beside them for comparison and never used.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from bench.export.settings import BenchSettings
from bench.metrology import capacity
from bench.metrology.psychro import wet_bulb
from bench.metrology.uncertainty import Contribution, Estimate, PointStats, point_uncertainty
from bench.run.measure import BAROMETER
from bench.run.points import (
    AIR_RH,
    AIR_T,
    HP_DEFROST,
    HP_HEAT,
    POWER,
    VOLTAGE,
    WATER_FLOW,
    WATER_IN,
    WATER_OUT,
)

INPUTS = (WATER_FLOW, WATER_IN, WATER_OUT, POWER)
U_RANGE = "power_analyser.Urange"  # the ranges the analyser measured on (its driver reads them)
I_RANGE = "power_analyser.Irange"
RANGE_READ_BACK = "read back from the power analyser during the collection window"
RANGE_DECLARED = "station declared range_w (the power analyser reported no range)"
HP_SUPPLY = "heat_pump.supply_temp"
HP_RETURN = "heat_pump.return_temp"
HP_FLOW = "heat_pump.flow_rate"  # l/min on the simulated unit's map
HP_OUTDOOR = "heat_pump.outdoor_temp"
HP_ENERGY = "heat_pump.electrical_energy"  # Wh counter
CHANNELS = (
    *INPUTS,
    BAROMETER,
    U_RANGE,
    I_RANGE,
    AIR_T,
    AIR_RH,
    VOLTAGE,
    HP_DEFROST,
    HP_HEAT,
    HP_SUPPLY,
    HP_RETURN,
    HP_FLOW,
    HP_OUTDOOR,
    HP_ENERGY,
)
STEADY = "means of the steady-state collection period"
TRANSIENT = "integrated over complete defrost cycles"

Columns = Mapping[str, Sequence[float | None]]


COVERAGE = (
    "The expanded uncertainty U is the combined standard uncertainty u multiplied by the "
    "coverage factor k = {k:g}, which for a normal distribution corresponds to a coverage "
    "probability of about 95 % (JCGM 100:2008, GUM 6.2-6.3)."
)


def coverage_statement(k: float) -> str:
    return COVERAGE.format(k=k)


def point_numbers(
    t: Sequence[float],
    cols: Columns,
    *,
    transient: bool,
    settings: BenchSettings,
    barometric_pa: float,
    deviations: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The `measured`, `results`, `uncertainty` and `heat_pump_reported` of one point.

    `deviations`: the mean deviations from set of the outlet water and the air (K), for the
    condition terms of the budget."""
    deviations = deviations or {}
    n = len(t)
    usable = [i for i in range(n) if all(cols[c][i] is not None for c in INPUTS)]
    measured_pa = _mean(cols.get(BAROMETER))
    out: dict[str, Any] = {
        "measured": measured_conditions(cols, measured_pa or barometric_pa),
        "heat_pump_reported": heat_pump_reported(t, cols),
        "results": None,
        "uncertainty": None,
        "usable": [i in set(usable) for i in range(n)],
        "window": {
            "first_t": t[0] if n else None,
            "last_t": t[-1] if n else None,
            "frames": n,
            "frames_used": len(usable),
        },
    }
    if len(usable) < 2:
        reason = "fewer than two frames with valid flow, temperatures and power"
        out["results"] = {"error": reason}
        out["uncertainty"] = {"available": False, "reason": reason}
        return out

    def series(channel: str) -> list[float]:
        col = cols[channel]
        return [col[i] for i in usable]  # type: ignore[misc]

    out["ranges"] = power_range(cols, usable, settings)
    settings = _on_range(settings, out["ranges"])
    ts = [t[i] for i in usable]
    qv, t_in, t_out, p = (series(c) for c in INPUTS)
    pump = settings.pump
    dp = pump.dp_pa if pump else 0.0
    corr = pump.correction if pump else None
    try:
        if transient:
            defrost = [(cols[HP_DEFROST][i] or 0.0) >= 0.5 for i in usable]
            out["results"], out["uncertainty"], out["cycles"] = _transient(
                ts, qv, t_in, t_out, p, defrost, settings, dp, corr, deviations
            )
        else:
            out["results"], out["uncertainty"] = _steady(
                qv, t_in, t_out, p, settings, dp, corr, deviations
            )
    except ValueError as exc:  # water outside the liquid range, zero power: no numbers
        out["results"] = {"error": str(exc)}
        out["uncertainty"] = {"available": False, "reason": str(exc)}
    return out


def power_range(cols: Columns, usable: Sequence[int], settings: BenchSettings) -> dict[str, Any]:
    """The power range of the window: the largest Urange x Irange read with the used frames,
    or the station's declared range_w (flagged) when the analyser reported none."""
    u_col, i_col = cols.get(U_RANGE), cols.get(I_RANGE)
    pairs = [
        (u_col[i], i_col[i])
        for i in usable
        if u_col is not None and i_col is not None and None not in (u_col[i], i_col[i])
    ]
    if pairs:
        u, i = max(pairs, key=lambda pair: pair[0] * pair[1])  # type: ignore[operator]
        assert u is not None and i is not None
        return {"voltage_v": u, "current_a": i, "power_w": u * i, "source": RANGE_READ_BACK,
                "declared": False}  # fmt: skip
    acc = settings.accuracies
    declared = acc.power_range_w if acc is not None else None
    return {"voltage_v": None, "current_a": None, "power_w": declared, "source": RANGE_DECLARED,
            "declared": True}  # fmt: skip


def _on_range(settings: BenchSettings, ranges: Mapping[str, Any]) -> BenchSettings:
    """The settings with the range term on the range read back (unchanged when declared)."""
    acc = settings.accuracies
    if acc is None or ranges["declared"]:
        return settings
    source = (
        f"range_pct ±{acc.power_pct_range:g} % of the range {RANGE_READ_BACK}: "
        f"Urange {ranges['voltage_v']:g} V × Irange {ranges['current_a']:g} A = "
        f"{ranges['power_w']:g} W"
    )
    acc = dataclasses.replace(
        acc, power_range_w=ranges["power_w"], sources={**acc.sources, "power_range": source}
    )
    return dataclasses.replace(settings, accuracies=acc)


def _steady(
    qv: list[float],
    t_in: list[float],
    t_out: list[float],
    p: list[float],
    s: BenchSettings,
    dp: float,
    pump: capacity.PumpCorrection | None,
    deviations: Mapping[str, float],
) -> tuple[dict[str, Any], dict[str, Any]]:
    mean = statistics.fmean
    r = capacity.steady_point(
        mean(qv),
        mean(t_in),
        mean(t_out),
        mean(p),
        p_pa=s.pressure_pa,
        meter=s.meter,
        dp_pa=dp,
        pump=pump,
    )
    results = {
        "method": STEADY,
        "capacity_w": r.phi_w,
        "power_raw_w": r.power.raw_w,
        "pump_correction_w": r.power.pump_w,
        "power_w": r.power.effective_w,
        "cop_raw": r.cop_raw,
        "cop": r.cop,
    }
    if s.accuracies is None:
        return results, _not_available(s)
    stats = dataclasses.replace(
        PointStats.from_series(t_in, t_out, qv, p),
        dev_outlet_k=deviations.get("water_outlet", 0.0),
        dev_air_k=deviations.get("air_dry_bulb", 0.0),
    )
    u = point_uncertainty(
        stats,
        s.accuracies,
        p_pa=s.pressure_pa,
        meter=s.meter,
        dp_pa=dp,
        pump=pump,
        k=s.k,
    )
    return results, {
        "available": True,
        "k": s.k,
        "type_a": "standard deviation of the mean over the collection period",
        "capacity_w": _estimate(u.phi_w),
        "power_raw_w": _estimate(u.p_raw_w),
        "power_w": _estimate(u.p_e_w),
        "cop_raw": _estimate(u.cop_raw),
        "cop": _estimate(u.cop),
        "budget_capacity_w": dict(u.budget_phi_w),
        "budget_power_w": dict(u.budget_p_w),
        "coverage": coverage_statement(s.k),
        "n_eff": dict(stats.n_eff),
        "n": stats.n,
        "budget": budget_lists(u.rows_phi, u.rows_p, r.phi_w, r.power.effective_w),
    }


def _transient(
    ts: list[float],
    qv: list[float],
    t_in: list[float],
    t_out: list[float],
    p: list[float],
    defrost: list[bool],
    s: BenchSettings,
    dp: float,
    pump: capacity.PumpCorrection | None,
    deviations: Mapping[str, float],
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    def integrate(a: int, b: int) -> capacity.IntegratedResult:
        return capacity.integrate(
            ts[a:b],
            qv[a:b],
            t_in[a:b],
            t_out[a:b],
            p[a:b],
            p_pa=s.pressure_pa,
            meter=s.meter,
            dp_pa=dp,
            pump=pump,
        )

    r = integrate(0, len(ts))
    bounds = cycle_bounds(defrost)
    cycles = [integrate(a, b + 1) for a, b in bounds]
    cycle_rows = [
        {
            "index": i + 1,
            "start_t": ts[a],
            "end_t": ts[b],
            "duration_s": ts[b] - ts[a],
            "defrost_s": _defrost_seconds(ts[a : b + 1], defrost[a : b + 1]),
            "capacity_w": c.phi_w,
            "power_w": c.p_e_w,
            "cop": c.cop,
        }
        for i, ((a, b), c) in enumerate(zip(bounds, cycles, strict=True))
    ]
    results = {
        "method": TRANSIENT,
        "capacity_w": r.phi_w,
        "power_raw_w": r.p_raw_w,
        "pump_correction_w": r.p_e_w - r.p_raw_w,
        "power_w": r.p_e_w,
        "cop_raw": r.cop_raw,
        "cop": r.cop,
        "duration_s": r.duration_s,
        "heat_kwh": r.heat_j / 3.6e6,
        "electric_kwh": r.electric_j / 3.6e6,
        "cycles": len(cycles),
    }
    if s.accuracies is None:
        return results, _not_available(s), cycle_rows
    mean = statistics.fmean
    at_means = PointStats(
        t_in_c=mean(t_in),
        t_out_c=mean(t_out),
        qv_m3h=mean(qv),
        p_w=mean(p),
        dev_outlet_k=deviations.get("water_outlet", 0.0),
        dev_air_k=deviations.get("air_dry_bulb", 0.0),
    )
    b = point_uncertainty(
        at_means, s.accuracies, p_pa=s.pressure_pa, meter=s.meter, dp_pa=dp, pump=pump, k=s.k
    )
    budget_phi = {k: v for k, v in b.budget_phi_w.items() if "scatter" not in k}
    budget_p = {k: v for k, v in b.budget_p_w.items() if "scatter" not in k}
    if len(cycles) >= 2:
        type_a = f"cycle-to-cycle scatter over {len(cycles)} complete defrost cycles"
        s_phi = _sdm([c.phi_w for c in cycles])
        s_p = _sdm([c.p_raw_w for c in cycles])
        s_cop = _sdm([c.cop for c in cycles])
        s_cop_raw = _sdm([c.cop_raw for c in cycles])
    else:
        type_a = f"not included: {len(cycles)} complete defrost cycle(s), two needed"
        s_phi = s_p = s_cop = s_cop_raw = 0.0
    budget_phi["cycle-to-cycle scatter"] = s_phi
    budget_p["cycle-to-cycle scatter"] = s_p
    u_phi = _rss(budget_phi.values())
    u_p = _rss(budget_p.values())
    # COP: the instruments' part through the ratio; the scatter from the per-cycle COPs, which
    # carry the (strong) correlation of heat and power over a cycle.
    u_b_phi = _rss(v for k, v in budget_phi.items() if "scatter" not in k)
    u_b_p = _rss(v for k, v in budget_p.items() if "scatter" not in k)

    def cop_u(value: float, power: float, s_a: float) -> float:
        rel = math.hypot(u_b_phi / r.phi_w, u_b_p / power) if r.phi_w else math.inf
        return math.hypot(abs(value) * rel, s_a)

    k = s.k
    n_cycles = len(cycles)
    source = f"s/√n over n = {n_cycles} complete defrost cycles (per-cycle values)"

    def cycle_row(name: str, value: float, unit: str, s_a: float) -> Contribution:
        return Contribution(name, "A", value, unit, s_a, unit, None, 1.0, "1", s_a, source)

    rows_phi = [x for x in b.rows_phi if x.type == "B"]
    rows_p = [x for x in b.rows_p if x.type == "B"]
    rows_phi.append(cycle_row("cycle-to-cycle scatter (Type A)", r.phi_w, "W", s_phi))
    rows_p.append(cycle_row("cycle-to-cycle scatter (Type A)", r.p_e_w, "W", s_p))
    cop_budget = budget_lists(rows_phi, rows_p, r.phi_w, r.p_e_w)
    # COP's Type A is the scatter of the per-cycle COPs (heat and power move together)
    cop_budget["cop"] = [x for x in cop_budget["cop"] if x["type"] == "B"]
    cop_budget["cop"].append(
        cycle_row("cycle-to-cycle scatter (Type A)", r.cop, "1", s_cop).as_dict()
    )
    return (
        results,
        {
            "available": True,
            "k": k,
            "type_a": type_a,
            "capacity_w": _estimate(Estimate(r.phi_w, u_phi, k)),
            "power_raw_w": _estimate(Estimate(r.p_raw_w, u_p, k)),
            "power_w": _estimate(Estimate(r.p_e_w, u_p, k)),
            "cop_raw": _estimate(Estimate(r.cop_raw, cop_u(r.cop_raw, r.p_raw_w, s_cop_raw), k)),
            "cop": _estimate(Estimate(r.cop, cop_u(r.cop, r.p_e_w, s_cop), k)),
            "budget_capacity_w": budget_phi,
            "budget_power_w": budget_p,
            "coverage": coverage_statement(k),
            "n_eff": {"cycles": float(n_cycles)},
            "n": n_cycles,
            "budget": cop_budget,
        },
        cycle_rows,
    )


def budget_lists(
    rows_phi: Sequence[Contribution], rows_p: Sequence[Contribution], phi: float, p: float
) -> dict[str, list[dict[str, Any]]]:
    """The budget of capacity, power and COP as lists of rows (result.json `budget`). COP's
    rows are the capacity rows ÷ P and the power rows × Φ/P² (GUM 5.1.2 for a ratio)."""

    def scaled(row: Contribution, c: float, prefix: str) -> dict[str, Any]:
        d = row.as_dict()
        d["name"] = f"{prefix}: {row.name}"
        d["sensitivity"] = row.sensitivity * c
        d["sensitivity_unit"] = (
            f"({row.sensitivity_unit})·{'1/W' if prefix == 'capacity' else 'W/W²'}"
        )
        d["contribution"] = row.contribution * abs(c)
        return d

    cop_rows = [scaled(x, 1.0 / p, "capacity") for x in rows_phi] if p else []
    cop_rows += [scaled(x, -phi / p**2, "power") for x in rows_p] if p else []
    return {
        "capacity_w": [x.as_dict() for x in rows_phi],
        "power_w": [x.as_dict() for x in rows_p],
        "cop": cop_rows,
    }


def _defrost_seconds(t: Sequence[float], flags: Sequence[bool]) -> float:
    """Time spent defrosting within one cycle (sample-and-hold of the unit's flag)."""
    return math.fsum(b - a for a, b, f in zip(t, t[1:], flags, strict=False) if f)


def cycle_bounds(defrost: Sequence[bool]) -> list[tuple[int, int]]:
    """(first, last) sample of each complete defrost cycle in a transient window.

    The window starts at a defrost end and stops at the last one (the sequencer cuts it so);
    a cycle runs from one defrost end to the next, the boundary sample shared. Heating before
    the first end in the window, or after the last, is not a complete cycle and not counted.
    """
    ends = [i for i in range(1, len(defrost)) if defrost[i - 1] and not defrost[i]]
    starts = [0] if defrost and not defrost[0] else []
    bounds = sorted(set(starts + ends))
    return [(a, b) for a, b in itertools.pairwise(bounds) if b in ends]


def measured_conditions(cols: Columns, barometric_pa: float) -> dict[str, float | None]:
    """Means of the controlled quantities over the window (OK readings only); wet bulb at
    `barometric_pa` (the window's measured mean, or the plan's fallback)."""
    air, rh = _mean(cols.get(AIR_T)), _mean(cols.get(AIR_RH))
    wb = None
    if air is not None and rh is not None:
        try:
            wb = wet_bulb(air, min(max(rh, 0.0), 100.0), p_pa=barometric_pa)
        except ValueError:
            wb = None
    return {
        "air_dry_bulb_c": air,
        "air_rh_pct": rh,
        "air_wet_bulb_c": wb,
        "water_inlet_c": _mean(cols.get(WATER_IN)),
        "water_outlet_c": _mean(cols.get(WATER_OUT)),
        "water_flow_m3h": _mean(cols.get(WATER_FLOW)),
        "voltage_v": _mean(cols.get(VOLTAGE)),
        "power_w": _mean(cols.get(POWER)),
        "barometric_pa": barometric_pa,
    }


def heat_pump_reported(t: Sequence[float], cols: Columns) -> dict[str, float | None]:
    """The unit's own view of the same window: for comparison only, never used."""
    energy = [(ti, e) for ti, e in zip(t, cols.get(HP_ENERGY) or [], strict=False) if e is not None]
    power = None
    if len(energy) >= 2 and energy[-1][0] > energy[0][0] and energy[-1][1] > energy[0][1]:
        power = (energy[-1][1] - energy[0][1]) * 3600.0 / (energy[-1][0] - energy[0][0])
    heat = _mean(cols.get(HP_HEAT))
    return {
        "heat_output_w": heat,
        "electrical_power_w": power,
        "cop": heat / power if heat is not None and power else None,
        "supply_temp_c": _mean(cols.get(HP_SUPPLY)),
        "return_temp_c": _mean(cols.get(HP_RETURN)),
        "flow_rate": _mean(cols.get(HP_FLOW)),
        "outdoor_temp_c": _mean(cols.get(HP_OUTDOOR)),
    }


def _not_available(s: BenchSettings) -> dict[str, Any]:
    return {"available": False, "reason": f"station accuracies: {s.accuracy_problem}"}


def _estimate(e: Estimate) -> dict[str, float]:
    return {"u": e.u, "U": e.expanded, "u_rel": e.u_rel}


def _mean(values: Sequence[float | None] | None) -> float | None:
    if not values:
        return None
    good = [v for v in values if v is not None]
    return math.fsum(good) / len(good) if good else None


def _sdm(values: Sequence[float]) -> float:
    return statistics.stdev(values) / math.sqrt(len(values))


def _rss(values: Any) -> float:
    return math.sqrt(math.fsum(v * v for v in values))
