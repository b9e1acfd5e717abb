"""The water flow permissive read from a station's own flow meter (a Kamstrup MULTICAL in l/h,
on its simulator), converted to the contract's m³/h."""

from __future__ import annotations

import asyncio

import pytest

from bench.permissives import PermissiveNotMet, Permissives, check_permissives
from bench.run.actuation import flow_meter
from bench.station import build_instruments, parse_station
from instruments.clock import ScaledClock
from instruments.sim.catalog import start_simulator
from instruments.sim.model import BenchModel

STATION = """[station]
name = "lab-meter"
[instruments.flow]
driver = "kamstrup_multical"
address = "{address}"
[quantities]
"water.flow_m3h" = "flow.flow_v1"
"""


async def test_the_flow_permissive_reads_the_mapped_meter_in_cubic_metres_per_hour():
    address, _, stop = await start_simulator("kamstrup_multical", BenchModel(ScaledClock(1.0)))
    try:
        station = parse_station(STATION.format(address=address), "lab.toml")
        instruments = build_instruments(station)
        meter = flow_meter(instruments, station.layout)
        assert meter is not None and (meter.channel, meter.factor) == ("flow_v1", 0.001)
        await instruments["flow"].connect()
        litres_h = (await instruments["flow"].read())["flow_v1"].value
        assert litres_h is not None and 100 < litres_h < 10_000  # m³/h read as l/h would pass
        await check_permissives({}, Permissives(min_water_flow_m3h=0.05), asyncio.sleep, meter)
        strict = Permissives(min_water_flow_m3h=10.0, settle_s=0)
        with pytest.raises(PermissiveNotMet, match=r"below the minimum 10 m³/h"):
            await check_permissives({}, strict, asyncio.sleep, meter)
        await instruments["flow"].close()
    finally:
        await stop()
