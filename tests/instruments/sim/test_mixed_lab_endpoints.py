"""The simulated bench's vendor-map endpoints of the mixed lab (F4T chamber, NIBE unit, Moxa
digital outputs): writes through the real drivers, over the FaultProxy, land in the one physics
model, and the NIBE unit obeys its SG-Ready contacts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from instruments.base import Quality
from instruments.climate_chamber.watlow_f4t import WatlowF4T
from instruments.clock import ScaledClock
from instruments.heat_pump.vendor_maps import NibeSSeries
from instruments.io_module.modbus_outputs import ModbusDigitalOutputs
from instruments.sim.bench import SimBench


@pytest.fixture
async def mixed() -> AsyncIterator[tuple[SimBench, dict]]:
    async with SimBench(ScaledClock(100)) as sim:
        ep = sim.endpoints
        assert ep is not None
        found = {
            "chamber": WatlowF4T("chamber", ep.chamber_f4t),
            "unit": NibeSSeries("unit", ep.heat_pump_nibe),
            "io": ModbusDigitalOutputs("io", ep.io_module),
        }
        try:
            for inst in found.values():
                await inst.connect()
            yield sim, found
        finally:
            for inst in found.values():
                await inst.close()


async def test_f4t_set_points_drive_the_chamber_as_the_espec_does(mixed):
    sim, i = mixed
    await i["chamber"].set_air(-7.0, 75.0)
    await i["chamber"].set_mode("constant")
    chamber = sim.model.chamber
    assert (chamber.temp_sp, chamber.humi_sp, chamber.mode) == (-7.0, 75.0, "CONSTANT")
    read = await i["chamber"].read()
    assert read["temperature"].quality is Quality.OK
    assert read["temperature"].value == pytest.approx(chamber.temp_meas, abs=1.0)
    assert await i["chamber"].read_mode() == "constant"  # read back: the safe state's check
    await i["chamber"].set_mode("standby")
    assert chamber.mode == "STANDBY"
    assert await i["chamber"].read_mode() == "standby"
    chamber.mode = "CONSTANT"  # someone at the panel: the read-back shows it
    assert await i["chamber"].read_mode() == "constant"


async def test_nibe_flow_set_point_reaches_the_unit(mixed):
    sim, i = mixed
    await i["unit"].set_flow_temperature(47.5)
    assert sim.model.heat_pump.flow_temp_sp == 47.5
    read = await i["unit"].read()
    assert read["outdoor_temp"].value == pytest.approx(sim.model.heat_pump.own_outdoor_c, abs=0.2)


async def test_the_unit_obeys_its_sg_ready_contacts(mixed):
    sim, i = mixed
    hp = sim.model.heat_pump
    await i["io"].set_sg_ready(2)  # normal: the unit runs
    assert hp.running
    await i["io"].set_sg_ready(1)  # blocked (utility lock): off
    assert not hp.running
    assert (await i["io"].read())["sg_ready_state"].value == 1.0
    await i["io"].set_sg_ready(3)
    assert hp.running
    writes = [(w.channel, w.value) for w in sim.modbus["io_module"].writes]
    assert writes[-2:] == [("do0", 0.0), ("do1", 1.0)]  # off before on, decision 0282


async def test_every_polled_nibe_register_reads_a_valid_value(mixed):
    _, i = mixed
    bad = {k: r.detail for k, r in (await i["unit"].read()).items() if r.quality is not Quality.OK}
    assert bad == {}
