"""The controller on a station whose instruments are named freely: manual commands reach the
instruments `[commands]` names, idle frames carry the derived contract channels, and the safe
state switches off the heat pump it names."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.controller import BenchController, open_bench
from bench.run.commands import SafeState, SetHeatPump, SetWater
from bench.station import sim_station_path

RENAMED = {"climate_chamber": "chamber", "heat_pump": "hp", "hydraulic_module": "hm"}


def named_station(tmp_path: Path) -> Path:
    """The simulated bench's station, its commanded instruments renamed (the analyser keeps its
    role name: a four-role instrument and named ones side by side)."""
    text = sim_station_path().read_text(encoding="utf-8")
    for role, name in RENAMED.items():
        text = text.replace(f"[instruments.{role}]", f"[instruments.{name}]")
    text += '\n[commands]\nair = "chamber"\nwater = "hm"\nheat_pump = "hp"\n'
    path = tmp_path / "named.toml"
    path.write_text(text)
    return path


async def test_manual_commands_reach_the_named_instruments(tmp_path: Path) -> None:
    with open_bench(named_station(tmp_path), sim=True, speed=20.0) as bench:
        model = bench.simulator.model
        controller = BenchController(bench, tmp_path, idle_period_s=5.0)
        frames = controller.frames.subscribe("test", maxsize=1000)
        await controller.connect()
        try:
            await controller.command(SetWater(30.0, 1.0))
            await controller.command(SetHeatPump(True, 35.0))
            assert bench.simulator.call(lambda: model.heat_pump.running)
            assert [w.value for w in bench.simulator.writes("heat_pump", "on_off")][-1] == 1
            frame = await asyncio.wait_for(frames.get(), 30)
            flow = frame.value("hm.volume_flow")
            assert flow is not None and frame.value("hydraulic_module.volume_flow") == flow
            assert "heat_pump.defrost" in frame.readings and "hp.defrost" in frame.readings
            await controller.command(SafeState("operator"))
            assert not bench.simulator.call(lambda: model.heat_pump.running)
        finally:
            await controller.close()
