"""The heat-meter cross-check: an independent meter's power beside the bench's capacity.

When the station recorded with the run has an instrument whose driver plays `heat_meter`
(Kamstrup MULTICAL; instrument names are free, so it is found by its driver's role), each
point shows the mean of that meter's `power` channel over the point's window beside the bench's
capacity Φ, and their difference against the combined expanded uncertainty
U = k·√(u(Φ)² + u(meter)²): the two share no sensor, so their errors are taken as independent.
It is a check, never an input: the result stays the bench's capacity.

The meter's uncertainty comes from its station `accuracy` entry, either
- `power_pct` (± % of reading) with `power_divisor` (default √3, as for every station limit), or
- `en1434_class` (2 or 3), `qp_m3h` and `dtheta_min_k`: the EN 1434-1 maximum permissible error
  of the complete meter E = Ef + Et + Ec at the point's flow and temperature difference, as the
  meter itself measured them (docs/standards.md §8), taken as a rectangular limit (u = E/√3).
Without one of them (or with a key not in these lists, which would be silently ignored
otherwise) the difference is shown and the uncertainty is "not available", with the reason.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

from bench.export.rundata import RunData
from bench.metrology.accuracy import RECTANGULAR
from instruments.registry import DRIVERS

ROLE = "heat_meter"
POWER, FLOW, T_SUPPLY, T_RETURN = "power", "flow_v1", "t1_supply", "t2_return"  # kW, l/h, °C
PCT_KEYS = frozenset({"power_pct", "power_divisor"})
EN1434_KEYS = frozenset({"en1434_class", "qp_m3h", "dtheta_min_k"})
# EN 1434-1 flow sensor: Ef = a + b·qp/q, at most `cap` %, per class (docs/standards.md §8)
FLOW_CLASSES: dict[int, tuple[float, float, float]] = {2: (2.0, 0.02, 5.0), 3: (3.0, 0.05, 5.0)}


def find_meter(station_text: str) -> tuple[str, Mapping[str, Any]] | None:
    """The first instrument of the station whose driver plays `heat_meter`: (name, entry)."""
    try:
        instruments = tomllib.loads(station_text).get("instruments", {})
    except tomllib.TOMLDecodeError:
        return None
    for name, entry in instruments.items() if isinstance(instruments, dict) else ():
        info = DRIVERS.get(entry.get("driver", "")) if isinstance(entry, dict) else None
        if info is not None and info.role == ROLE:
            return name, entry
    return None


def en1434_mpe_pct(
    meter_class: int, qp_m3h: float, dtheta_min_k: float, q_m3h: float, dtheta_k: float
) -> float:
    """E = Ef + Et + Ec of a complete meter, % of the true value (docs/standards.md §8)."""
    a, b, cap = FLOW_CLASSES[meter_class]
    ef = min(a + b * qp_m3h / q_m3h, cap)
    et = 0.5 + 3.0 * dtheta_min_k / dtheta_k
    ec = 0.5 + dtheta_min_k / dtheta_k
    return ef + et + ec


def meter_uncertainty(
    accuracy: Mapping[str, Any], power_w: float, q_m3h: float | None, dtheta_k: float | None
) -> tuple[float | None, str]:
    """(standard uncertainty of the meter's power in W, how it was found) or (None, why not)."""
    keys = set(accuracy)
    bad = [k for k in sorted(keys) if not _is_number(accuracy[k])]
    if not keys:
        return None, "the station gives the heat meter no accuracy"
    if bad:
        return None, f"heat meter accuracy {', '.join(bad)}: not a positive number"
    if keys <= PCT_KEYS and "power_pct" in keys:
        pct = float(accuracy["power_pct"])
        divisor = float(accuracy.get("power_divisor", RECTANGULAR))
        how = f"station: ±{pct:g} % of reading ÷ {divisor:.3g}"
        return abs(power_w) * pct / 100.0 / divisor, how
    if keys == EN1434_KEYS:
        meter_class = accuracy["en1434_class"]
        if meter_class not in FLOW_CLASSES:
            return None, f"en1434_class {meter_class!r}: only classes 2 and 3 are known"
        if not q_m3h or not dtheta_k:
            return None, "the meter reported no flow or no temperature difference"
        qp, dtheta_min = float(accuracy["qp_m3h"]), float(accuracy["dtheta_min_k"])
        e = en1434_mpe_pct(meter_class, qp, dtheta_min, q_m3h, dtheta_k)
        how = f"EN 1434 class {meter_class}: MPE ±{e:.2f} % ÷ √3"
        return abs(power_w) * e / 100.0 / RECTANGULAR, how
    known = ", ".join(sorted(PCT_KEYS | EN1434_KEYS))
    return None, f"heat meter accuracy keys {', '.join(sorted(keys))}: expected {known}"


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _mean(values: Sequence[float | None]) -> float | None:
    good = [v for v in values if v is not None]
    return math.fsum(good) / len(good) if good else None


def point_check(
    data: RunData,
    rows: range,
    results: Mapping[str, Any] | None,
    uncertainty: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """One point's cross-check (result.json `heat_meter_check`); None without a heat meter."""
    found = find_meter(data.meta["station_text"])
    if found is None:
        return None
    name, entry = found

    def mean(channel: str) -> float | None:
        return _mean(data.series.column(f"{name}.{channel}", rows))

    power_kw, flow_lh, t1, t2 = mean(POWER), mean(FLOW), mean(T_SUPPLY), mean(T_RETURN)
    return compare(
        name,
        str(entry.get("driver")),
        entry.get("accuracy") or {},
        meter_power_w=None if power_kw is None else power_kw * 1000.0,
        q_m3h=None if flow_lh is None else flow_lh / 1000.0,
        dtheta_k=None if t1 is None or t2 is None else abs(t1 - t2),
        results=results,
        uncertainty=uncertainty,
    )


def compare(
    name: str,
    driver: str,
    accuracy: Mapping[str, Any],
    *,
    meter_power_w: float | None,
    q_m3h: float | None,
    dtheta_k: float | None,
    results: Mapping[str, Any] | None,
    uncertainty: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The meter's power against the bench's capacity and their combined uncertainty."""
    capacity = (results or {}).get("capacity_w")
    out: dict[str, Any] = {
        "instrument": name,
        "driver": driver,
        "meter_power_w": meter_power_w,
        "capacity_w": capacity,
        "difference_w": None,
        "difference_pct": None,
        "k": None,
        "U_bench_w": None,
        "U_meter_w": None,
        "U_combined_w": None,
        "en": None,
        "agrees": None,
        "meter_accuracy": "",
        "reason": "",
    }
    if meter_power_w is None or capacity is None:
        out["reason"] = "no meter power in the window" if capacity is not None else "no capacity"
        return out
    diff = meter_power_w - capacity
    out.update(difference_w=diff, difference_pct=100.0 * diff / capacity if capacity else None)
    u_meter, how = meter_uncertainty(accuracy, meter_power_w, q_m3h, dtheta_k)
    bench = (uncertainty or {}).get("capacity_w") if (uncertainty or {}).get("available") else None
    out["meter_accuracy"] = how if u_meter is not None else ""
    if u_meter is None or bench is None:
        out["reason"] = how if u_meter is None else "the bench's capacity has no uncertainty"
        return out
    k = float(uncertainty["k"])  # type: ignore[index]
    combined = k * math.hypot(float(bench["u"]), u_meter)
    out.update(
        k=k,
        U_bench_w=k * float(bench["u"]),
        U_meter_w=k * u_meter,
        U_combined_w=combined,
        en=diff / combined if combined else None,
        agrees=abs(diff) <= combined,
    )
    return out
