"""The power as a sum of parts on several analysers (decision 0281), against hand arithmetic.

The case: an outdoor unit's three-phase Σ of 3000 W on a WT333E at 300 V × 20 A per element
(3 × 6000 W = 18 000 W), and an indoor unit's 200 W on a WT310E at 300 V × 1 A (300 W); both
specified ±(0.1 % of reading + 0.1 % of range), rectangular (÷√3), as the makers' data sheets
state their accuracy. The expected u is worked out here from those numbers, not from our code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest
from jsonschema import Draft202012Validator

from bench.export.result import schema
from bench.metrology.accuracy import accuracies_of
from bench.metrology.parts import RANGE_DECLARED, PowerPart, Sensors
from bench.metrology.point import PointSettings, Samples, calculate

R3 = math.sqrt(3.0)
ODU = PowerPart(
    "pa_odu.P_sigma",
    "pa_odu",
    tuple((f"pa_odu.Urange{n}", f"pa_odu.Irange{n}") for n in (1, 2, 3)),
)
IDU = PowerPart("pa_idu.P", "pa_idu", (("pa_idu.Urange", "pa_idu.Irange"),))
SPEC = {"reading_pct": 0.1, "range_pct": 0.1, "range_w": 6000.0}


@dataclass(frozen=True)
class Entry:
    """A station instrument as the budget reads it (bench.metrology.accuracy.Traced)."""

    accuracy: dict[str, float] = field(default_factory=dict)
    serial: str = ""
    calibration_certificate: str = ""
    accuracy_source: str = ""


def station(**power: dict[str, float]) -> dict[str, Entry]:
    return {
        "daq": Entry({"temperature_k": 0.05, "temperature_divisor": 2}, serial="MY1"),
        "flow": Entry({"flow_pct": 0.5, "flow_divisor": 2}, serial="K2"),
        **{name: Entry(acc, serial=name.upper()) for name, acc in power.items()},
    }


def settings(parts: tuple[PowerPart, ...], **power: dict[str, float]) -> PointSettings:
    sensors = Sensors(inlet="daq", outlet="daq", flow="flow", power=parts)
    acc, problem = accuracies_of(station(**power), None, sensors)
    assert acc is not None, problem
    return PointSettings(accuracies=acc, accuracy_problem=problem, sensors=sensors)


def samples(**columns: list[float | None]) -> Samples:
    n = 3
    ranges = {f"pa_odu.Urange{k}": [300.0] * n for k in (1, 2, 3)}
    # element 1 switched range within the window: its largest is the one that counts
    ranges |= {"pa_odu.Irange1": [10.0, 20.0, 20.0], "pa_odu.Irange2": [20.0] * n}
    ranges |= {"pa_odu.Irange3": [20.0] * n, "pa_idu.Urange": [300.0] * n}
    ranges |= {"pa_idu.Irange": [1.0] * n}
    return Samples(
        t=[0.0, 5.0, 10.0],
        flow_m3h=[1.2] * n,
        inlet_c=[30.0] * n,
        outlet_c=[35.0] * n,
        power={"pa_odu.P_sigma": [3000.0] * n, "pa_idu.P": [200.0] * n},
        defrost=[0.0] * n,
        ranges={**ranges, **columns},
    )


def power_u(out: dict) -> float:
    return out["uncertainty"]["power_raw_w"]["u"]


def test_two_analysers_add_in_quadrature():
    out = calculate(
        samples(), transient=False, settings=settings((ODU, IDU), pa_odu=SPEC, pa_idu=SPEC)
    )
    u_odu = (0.001 * 3000 + 0.001 * 18000) / R3  # 21/√3 = 12.124 W
    u_idu = (0.001 * 200 + 0.001 * 300) / R3  # 0.5/√3 = 0.289 W
    assert out["results"]["power_raw_w"] == 3200.0
    assert power_u(out) == pytest.approx(math.hypot(u_odu, u_idu), rel=1e-12)  # 12.128 W
    odu, idu = out["power_parts"]
    assert (odu["channel"], odu["instrument"], odu["mean_w"]) == ("pa_odu.P_sigma", "pa_odu", 3000)
    assert odu["range"]["power_w"] == 18000.0 and odu["range"]["declared"] is False
    assert [e["current_a"] for e in odu["range"]["elements"]] == [20.0, 20.0, 20.0]
    assert idu["range"]["power_w"] == 300.0
    assert odu["u_w"] == pytest.approx(u_odu) and idu["u_w"] == pytest.approx(u_idu)
    total = u_odu**2 + u_idu**2
    assert odu["u_share"] == pytest.approx(u_odu**2 / total)
    assert idu["u_share"] == pytest.approx(u_idu**2 / total)
    names = [r["name"] for r in out["uncertainty"]["budget"]["power_w"]]
    assert "power analyser pa_odu (P_sigma), % of range (18000 W)" in names
    assert "power analyser pa_idu (P), % of reading" in names
    row = next(r for r in out["uncertainty"]["budget"]["power_w"] if "(18000 W)" in r["name"])
    assert "Urange1 300 V × Irange1 20 A + Urange2 300 V" in row["source"]
    reading = next(
        r for r in out["uncertainty"]["budget"]["power_w"] if "pa_idu (P), %" in r["name"]
    )
    assert reading["source"].startswith("pa_idu PA_IDU: reading_pct")  # instrument and serial


def test_two_parts_on_one_analyser_add_linearly():
    """The same WT333E measuring both (its Σ group and element 4 as the indoor unit): one
    calibration, so the two parts' limits are fully correlated."""
    idu_on_odu = PowerPart("pa_odu.P4", "pa_odu", (("pa_idu.Urange", "pa_idu.Irange"),))
    out = calculate(
        _with_power(samples(), {"pa_odu.P4": [200.0] * 3}),
        transient=False,
        settings=settings((ODU, idu_on_odu), pa_odu=SPEC),
    )
    u_linear = (21.0 + 0.5) / R3  # 12.413 W, above the 12.128 W of two analysers
    assert power_u(out) == pytest.approx(u_linear, rel=1e-12)
    shares = [p["u_share"] for p in out["power_parts"]]
    assert shares == pytest.approx([21.0 / 21.5, 0.5 / 21.5])


def _with_power(s: Samples, extra: dict[str, list[float | None]]) -> Samples:
    power = {"pa_odu.P_sigma": s.power["pa_odu.P_sigma"], **extra}
    return Samples(s.t, s.flow_m3h, s.inlet_c, s.outlet_c, power, s.defrost, s.ranges)


def test_a_part_without_a_range_read_back_uses_the_declared_one_flagged():
    no_range = {"pa_idu.Irange": [None, None, None]}
    idu_spec = {"reading_pct": 0.1, "range_pct": 0.1, "range_w": 600.0}
    out = calculate(
        samples(**no_range),
        transient=False,
        settings=settings((ODU, IDU), pa_odu=SPEC, pa_idu=idu_spec),
    )
    idu = out["power_parts"][1]
    assert idu["range"] == {
        "elements": [],
        "power_w": 600.0,
        "source": RANGE_DECLARED,
        "declared": True,
    }
    u_idu = (0.001 * 200 + 0.001 * 600) / R3
    assert power_u(out) == pytest.approx(math.hypot(21.0 / R3, u_idu), rel=1e-12)
    row = next(r for r in out["uncertainty"]["budget"]["power_w"] if "(600 W)" in r["name"])
    assert "declared range" in row["source"]
    # result.json carries the parts as they are: both kinds of range are valid schema 1.2
    defs = schema()["$defs"]
    parts_schema = {"$defs": defs, **defs["point"]["properties"]["power_parts"]}
    Draft202012Validator(parts_schema).validate(out["power_parts"])


def test_a_part_whose_driver_names_no_range_channels_uses_the_declared_one():
    no_ranges = PowerPart("pa_idu.P", "pa_idu", ())
    out = calculate(
        samples(), transient=False, settings=settings((ODU, no_ranges), pa_odu=SPEC, pa_idu=SPEC)
    )
    assert out["power_parts"][1]["range"]["power_w"] == 6000.0
    assert out["power_parts"][1]["range"]["declared"] is True


def test_a_frame_with_one_part_missing_is_left_out():
    out = calculate(
        _with_power(samples(), {"pa_idu.P": [200.0, None, 200.0]}),
        transient=False,
        settings=settings((ODU, IDU), pa_odu=SPEC, pa_idu=SPEC),
    )
    assert out["usable"] == [True, False, True]


def test_each_key_comes_from_the_instrument_behind_its_input():
    sensors = Sensors(inlet="daq", outlet="daq", flow="flow", power=(ODU,))
    acc, problem = accuracies_of(station(pa_odu=SPEC), None, sensors)
    assert acc is not None and problem == ""
    assert acc.u_t_in_k == acc.u_t_out_k == 0.025  # the data logger's ±0.05 K, k = 2
    assert (acc.flow_pct_reading, acc.flow_divisor) == (0.5, 2)  # the flow meter's
    assert "daq MY1" in acc.sources["temperature"] and "flow K2" in acc.sources["flow"]
    # a key on the wrong instrument, a key missing: not available, naming the instrument
    wrong = station(pa_odu=SPEC) | {"flow": Entry({"flow_pct": 0.5, "reading_pct": 1.0})}
    acc, problem = accuracies_of(wrong, None, sensors)
    assert acc is None and "flow accuracy: unknown keys reading_pct" in problem
    bare = station(pa_odu={"range_pct": 0.1, "range_w": 18000.0})
    acc, problem = accuracies_of(bare, None, sensors)
    assert acc is None and problem == "pa_odu accuracy has no reading_pct"
    acc, problem = accuracies_of(station(), None, sensors)
    assert acc is None and "the station has no pa_odu" in problem


def test_a_correlation_needs_both_sensors_on_one_instrument():
    split = Sensors(inlet="daq", outlet="daq2", flow="flow", power=(ODU,))
    entries = station(pa_odu=SPEC) | {
        "daq2": Entry({"temperature_k": 0.1, "temperature_correlation": 0.8})
    }
    acc, problem = accuracies_of(entries, None, split)
    assert acc is None and "temperature_correlation needs both" in problem
    del entries["daq2"].accuracy["temperature_correlation"]
    acc, _ = accuracies_of(entries, None, split)
    assert acc is not None
    assert (acc.u_t_in_k, acc.u_t_out_k, acc.r_t) == (0.025, pytest.approx(0.1 / R3), 0.0)
