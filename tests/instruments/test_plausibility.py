"""Plausibility (issue 11): corrupted replies never become OK values.

Unit checks against hand-computed electrical relations, then a property test: every protocol
of the simulated bench with bits flipped or bytes garbled on its link, read through the real
drivers and the acquisition's checks, over several seeds."""

from __future__ import annotations

import math
import random

import pytest

from bench.run.acquisition import InstrumentPoller
from instruments.base import InstrumentError, Quality, Reading
from instruments.climate_chamber.espec import EspecChamber
from instruments.heat_pump.modbus_heat_pump import ModbusHeatPump
from instruments.hydraulic_module.modbus_hydraulic import ModbusHydraulicModule
from instruments.plausibility import Plausibility, for_instrument, redundancy_problem
from instruments.power_analyser.yokogawa_wt300 import YokogawaWT300
from instruments.sim.bench import SimBench
from tests.conftest import ManualClock


def test_consistent_power_readings_pass_and_contradictions_are_named():
    # 230 V, 10.87 A: S = 2500 VA; PF 0.98 -> P = 2450 W (by hand)
    good = {"U": 230.0, "I": 10.87, "S": 2500.1, "P": 2450.1, "PF": 0.98}
    assert redundancy_problem(good) == ""
    assert "U·I" in redundancy_problem(good | {"S": 1.5e7})  # the garbled S
    assert "P/S" in redundancy_problem(good | {"PF": 0.17})
    assert "above S" in redundancy_problem(good | {"P": 2900.0, "PF": 1.0})


def test_limits_and_rate_of_change():
    check = Plausibility(limits={"t": (-20, 100)}, max_rate={"t": 0.5})
    assert check.check(0, {"t": Reading.ok(30.0, "°C")})["t"].quality is Quality.OK
    jumped = check.check(5, {"t": Reading.ok(26.0, "°C")})["t"]  # 4 K in 5 s: the case
    assert jumped.quality is Quality.INVALID and "at most 0.5/s" in jumped.detail
    assert check.check(10, {"t": Reading.ok(29.0, "°C")})["t"].quality is Quality.OK
    assert check.check(15, {"t": Reading.ok(120.0, "°C")})["t"].quality is Quality.INVALID


def test_the_station_narrows_a_driver_range_and_never_widens_it():
    chamber = EspecChamber("c", "socket://127.0.0.1:9")
    p = for_instrument("climate_chamber", chamber, {"climate_chamber.temperature": (-40, 500)})
    assert p.limits["temperature"] == (-40, 200)


def implausible(role: str, poller: InstrumentPoller, t: float, got: dict[str, Reading]) -> str:
    """Independent restatement of what no OK value may be."""
    inst = poller.instrument
    limits = dict(getattr(inst, "PLAUSIBLE", {}))
    regmap = getattr(inst, "regmap", None)
    if regmap is not None:
        for reg in regmap.registers:
            limits[reg.name] = (
                -math.inf if reg.min is None else reg.min,
                math.inf if reg.max is None else reg.max,
            )
    ok = {k: r.value for k, r in got.items() if r.quality is Quality.OK}
    for name, value in ok.items():
        lo, hi = limits.get(name, (-math.inf, math.inf))
        if value is None or not math.isfinite(value) or not lo <= value <= hi:
            return f"{role}.{name} = {value!r} stored as OK"
    if role == "power_analyser" and redundancy_problem(ok):  # type: ignore[arg-type]
        return f"power analyser OK but {redundancy_problem(ok)}"  # type: ignore[arg-type]
    return ""


READS = 45


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_flipped_bits_and_garbage_never_become_ok_values(seed):
    rng = random.Random(seed)
    clock = ManualClock()
    async with SimBench(clock, seed=seed) as sim:
        ep = sim.endpoints
        assert ep is not None
        instruments = {
            "power_analyser": YokogawaWT300("power_analyser", ep.power_analyser, timeout_s=0.3),
            "climate_chamber": EspecChamber("climate_chamber", ep.climate_chamber, timeout_s=0.3),
            "heat_pump": ModbusHeatPump("heat_pump", ep.heat_pump, timeout_s=0.3),
            "hydraulic_module": ModbusHydraulicModule(
                "hydraulic_module", ep.hydraulic_module, timeout_s=0.3
            ),
        }
        for inst in instruments.values():
            await inst.connect()
        pollers = {
            r: InstrumentPoller(r, i, plausibility=for_instrument(r, i))
            for r, i in instruments.items()
        }
        corrupted = 0
        for n in range(READS):
            clock.advance(5.0)
            sim.faults.clear()
            if n % 3:  # two reads in three through a noisy link, one clean
                kind = "garble" if n % 7 == 0 else "flip"
                for role in instruments:
                    sim.faults.inject(role, kind, bits=float(rng.randint(1, 2)))
            for role, inst in instruments.items():
                try:
                    raw = await inst.read()
                except InstrumentError:
                    corrupted += 1
                    continue
                got = pollers[role].plausibility.check(clock.now(), raw)
                corrupted += sum(
                    r.quality is Quality.INVALID and "implausible" in r.detail for r in got.values()
                )
                assert implausible(role, pollers[role], clock.now(), got) == ""
        for inst in instruments.values():
            await inst.close()
    assert corrupted > 0  # the faults did reach the drivers
