"""One point's capacity, power (raw and pump-corrected), COP and their uncertainty.

The one calculation behind every number a point shows: the engine's point record (and so the
TUI and MQTT) and `hpbench report`'s result.json call `calculate` with the same samples and the
same settings (`bench.station.Station.point_settings`), so a live COP is the certified COP.

Capacity, power and COP come from the bench's water-side sensors and power analyser
(`bench.metrology.capacity`, ρ at the station's flow-meter position and water pressure, cp at
the mean temperature), with the station's pump correction when it has one, and their
uncertainty from the station's accuracies (`bench.metrology.uncertainty`). Samples where any
of the four inputs is missing are left out and counted, never filled in.

Steady points: the means of the period; Type A is the standard deviation of the mean.
Transient points (a defrost occurred): heat and electrical energy integrated over the window of
complete defrost cycles the sequencer kept. Their Type B uncertainty is the station's, at the
window's means; their Type A is the cycle-to-cycle scatter (standard deviation of the mean of
the per-cycle values), because the frame-to-frame variation of a defrosting unit is the
defrost cycle itself, not noise. With fewer than two cycles it is left out and said so.

The electrical power is the sum of the parts `settings.sensors.power` names (one part, the power
analyser's `P`, on the four-role station), each kept with its mean, range and uncertainty
(`power_parts`). A part's range term (% of range) uses the range its analyser reported with its
values during the collection window (per element `Urange` x `Irange`, the largest one if auto
range switched, the conservative choice; summed over the elements of a Σ); the station's
declared `range_w` only when the analyser reported none, and then flagged (`range.declared`).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.metrology import capacity
from bench.metrology.accuracy import COVERAGE_K
from bench.metrology.capacity import MeterPosition
from bench.metrology.parts import (
    FOUR_ROLES,
    RANGE_READ_BACK,
    PartRange,
    Sensors,
    part_range,
    part_uncertainties,
)
from bench.metrology.uncertainty import (
    Accuracies,
    Contribution,
    Estimate,
    PointStats,
    point_uncertainty,
)

STEADY = "means of the steady-state collection period"
TRANSIENT = "integrated over complete defrost cycles"
TOO_FEW = "fewer than two frames with valid flow, temperatures and power"


@dataclass(frozen=True)
class WaterSide:
    """Where ρ is taken: the water pressure and the flow meter's position."""

    pressure_pa: float = 3.0e5
    meter: MeterPosition = "inlet"


@dataclass(frozen=True)
class PumpSetting:
    """The station's pump correction: how, η, and the pressure it works against."""

    correction: capacity.PumpCorrection
    dp_pa: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.correction.mode,
            "efficiency": self.correction.efficiency,
            "dp_pa": self.dp_pa,
        }


@dataclass(frozen=True)
class PointSettings(WaterSide):
    """Everything the point calculation takes from the station, parsed once from its file."""

    pump: PumpSetting | None = None
    accuracies: Accuracies | None = None
    accuracy_problem: str = "no accuracies given"  # why `accuracies` is None
    k: float = COVERAGE_K
    sensors: Sensors = FOUR_ROLES  # the instrument behind each input; the power's parts

    def __post_init__(self) -> None:
        acc = self.accuracies
        behind = tuple(p.instrument for p in self.sensors.power)
        if acc is not None and tuple(p.instrument for p in acc.power_parts) != behind:
            raise ValueError(f"the accuracies' power parts are not on {', '.join(behind)}")

    def channels(self) -> tuple[str, ...]:
        """The channel ids of the power parts and of their elements' ranges."""
        parts = self.sensors.power
        return (*(p.channel for p in parts), *(c for p in parts for pair in p.ranges for c in pair))


@dataclass(frozen=True)
class Samples:
    """A point's collection window, one entry per frame; None where a reading was not OK."""

    t: Sequence[float]
    flow_m3h: Sequence[float | None]
    inlet_c: Sequence[float | None]
    outlet_c: Sequence[float | None]
    power: Mapping[str, Sequence[float | None]]  # each power part's column, by channel id
    defrost: Sequence[float | None]  # the unit's defrost flag (≥ 0.5: defrosting)
    ranges: Mapping[str, Sequence[float | None]]  # the parts' Urange / Irange, by channel id


def calculate(
    samples: Samples,
    *,
    transient: bool,
    settings: PointSettings,
    deviations: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """`usable` (per sample), `results`, `uncertainty`, and `power_parts` and (transient)
    `cycles`.

    `deviations`: the mean deviations from set of the outlet water and the air (K), for the
    condition terms of the budget. A point without two usable samples, or whose water is
    outside the liquid range or whose power is not positive, has an `error` in `results`."""
    deviations = deviations or {}
    n = len(samples.t)
    parts = [samples.power.get(p.channel) or [None] * n for p in settings.sensors.power]
    power = parts[0] if len(parts) == 1 else [_sum(values) for values in zip(*parts, strict=True)]
    inputs = (samples.flow_m3h, samples.inlet_c, samples.outlet_c, power)
    usable = [i for i in range(n) if all(col[i] is not None for col in inputs)]
    used = set(usable)
    out: dict[str, Any] = {
        "usable": [i in used for i in range(len(samples.t))],
        "results": None,
        "uncertainty": None,
    }
    if len(usable) < 2:
        out["results"] = {"error": TOO_FEW}
        out["uncertainty"] = {"available": False, "reason": TOO_FEW}
        return out

    def series(col: Sequence[float | None]) -> list[float]:
        return [col[i] for i in usable]  # type: ignore[misc]

    acc = settings.accuracies
    ranges = [
        part_range(part, samples.ranges, usable, acc.power_parts[j].range_w if acc else None)
        for j, part in enumerate(settings.sensors.power)
    ]
    settings = _on_range(settings, ranges)
    ts = [samples.t[i] for i in usable]
    qv, t_in, t_out, p = (series(col) for col in inputs)
    means = tuple(statistics.fmean(series(col)) for col in parts)
    out["power_parts"] = _parts(settings, ranges, means)
    pump = settings.pump
    dp = pump.dp_pa if pump else 0.0
    corr = pump.correction if pump else None
    try:
        if transient:
            defrost = [(samples.defrost[i] or 0.0) >= 0.5 for i in usable]
            out["results"], out["uncertainty"], out["cycles"] = _transient(
                ts, qv, t_in, t_out, p, means, defrost, settings, dp, corr, deviations
            )
        else:
            out["results"], out["uncertainty"] = _steady(
                qv, t_in, t_out, p, means, settings, dp, corr, deviations
            )
    except ValueError as exc:  # water outside the liquid range, zero power: no numbers
        out["results"] = {"error": str(exc)}
        out["uncertainty"] = {"available": False, "reason": str(exc)}
    return out


def _sum(values: Sequence[float | None]) -> float | None:
    """A frame's power: the sum of its parts, None when any part was not OK."""
    if any(v is None for v in values):
        return None
    return math.fsum(values)  # type: ignore[arg-type]


def _on_range(settings: PointSettings, ranges: Sequence[PartRange]) -> PointSettings:
    """The settings with each part's range term on the range read back (unchanged where the
    station's declared one is used)."""
    acc = settings.accuracies
    if acc is None:
        return settings
    parts = []
    for part, used in zip(acc.power_parts, ranges, strict=True):
        if used.power_w is None or used.declared:
            parts.append(part)
            continue
        source = (
            f"range_pct ±{part.pct_range:g} % of the range {RANGE_READ_BACK}: "
            f"{used.text()} = {used.power_w:g} W"
        )
        parts.append(
            dataclasses.replace(
                part, range_w=used.power_w, sources={**part.sources, "power_range": source}
            )
        )
    return dataclasses.replace(
        settings, accuracies=dataclasses.replace(acc, power_parts=tuple(parts))
    )


def _parts(
    settings: PointSettings, ranges: Sequence[PartRange], means: Sequence[float]
) -> list[dict[str, Any]]:
    """Each power part as result.json lists it: channel, instrument, mean, the range it was
    measured on, and its Type B u and share of the analysers' variance (None without
    accuracies)."""
    acc = settings.accuracies
    shares = part_uncertainties(acc.power_parts, means) if acc else [(None, None)] * len(means)
    return [
        {
            "channel": part.channel,
            "instrument": part.instrument,
            "mean_w": mean,
            "range": used.as_dict(),
            "u_w": u,
            "u_share": share,
        }
        for part, used, mean, (u, share) in zip(
            settings.sensors.power, ranges, means, shares, strict=True
        )
    ]


def _steady(
    qv: list[float],
    t_in: list[float],
    t_out: list[float],
    p: list[float],
    means: tuple[float, ...],
    s: PointSettings,
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
        p_parts_w=means,
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
    means: tuple[float, ...],
    defrost: list[bool],
    s: PointSettings,
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
        p_parts_w=means,
    )
    b = point_uncertainty(
        at_means, s.accuracies, p_pa=s.pressure_pa, meter=s.meter, dp_pa=dp, pump=pump, k=s.k
    )
    budget_phi = {k: v for k, v in b.budget_phi_w.items() if "scatter" not in k}
    budget_p = {k: v for k, v in b.budget_p_w.items() if "scatter" not in k}
    if len(cycles) >= 2:
        type_a = f"cycle-to-cycle scatter over {len(cycles)} complete defrost cycles"
        s_phi = sdm([c.phi_w for c in cycles])
        s_p = sdm([c.p_raw_w for c in cycles])
        s_cop = sdm([c.cop for c in cycles])
        s_cop_raw = sdm([c.cop_raw for c in cycles])
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


COVERAGE = (
    "The expanded uncertainty U is the combined standard uncertainty u multiplied by the "
    "coverage factor k = {k:g}, which for a normal distribution corresponds to a coverage "
    "probability of about 95 % (JCGM 100:2008, GUM 6.2-6.3)."
)


def coverage_statement(k: float) -> str:
    return COVERAGE.format(k=k)


def _not_available(s: PointSettings) -> dict[str, Any]:
    return {"available": False, "reason": f"station accuracies: {s.accuracy_problem}"}


def _estimate(e: Estimate) -> dict[str, float]:
    return {"u": e.u, "U": e.expanded, "u_rel": e.u_rel}


def sdm(values: Sequence[float]) -> float:
    return statistics.stdev(values) / math.sqrt(len(values))


def _rss(values: Any) -> float:
    return math.sqrt(math.fsum(v * v for v in values))
