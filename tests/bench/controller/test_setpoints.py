"""Manual set-point limits: the drivers' own ranges, narrowed by the station's `[limits]`."""

from __future__ import annotations

import pytest

from bench.controller import Limit, command_channel, setpoint_limits, setpoint_pairs
from bench.run.actuation import commanded
from bench.station import StationError, build_instruments, parse_station, sim_station_path

ENDPOINTS = {  # never connected: the drivers only need an address to be built
    "climate_chamber_tty": "/dev/null",
    "power_analyser": "TCPIP::127.0.0.1::1::SOCKET",
    "heat_pump": "tcp://127.0.0.1:1",
    "hydraulic_module": "tcp://127.0.0.1:1",
}


def limits_for(hp_flow_temperature: str = "[20, 60]") -> dict[str, Limit]:
    """The simulated bench's limits, its station's heat-pump flow range replaced."""
    text = sim_station_path().read_text(encoding="utf-8")
    text = text.replace(
        "hp_flow_temperature_c = [20, 60]", f"hp_flow_temperature_c = {hp_flow_temperature}"
    )
    station = parse_station(text, "lab.toml")
    return setpoint_limits(build_instruments(station, ENDPOINTS), station.limits)


def test_the_station_narrows_the_drivers_ranges() -> None:
    limits = limits_for()
    assert limits["air_temperature"] == Limit(-25.0, 45.0, "°C")  # driver: -40...60
    assert limits["air_humidity"] == Limit(15.0, 95.0, "%RH")  # driver: 0...100
    assert limits["hp_flow_temperature"] == Limit(20.0, 60.0, "°C")  # map: 20...65
    assert limits["water_inlet"] == Limit(5.0, 75.0, "°C")  # the map's, no station limit
    assert 45.0 in limits["air_temperature"] and 45.5 not in limits["air_temperature"]


def test_a_station_limit_wider_than_the_driver_is_cut_to_the_driver() -> None:
    limits = limits_for("[0, 90]")
    assert limits["hp_flow_temperature"] == Limit(20.0, 65.0, "°C")


def test_a_station_limit_outside_the_driver_is_a_station_error() -> None:
    with pytest.raises(StationError, match=r"limits.hp_flow_temperature_c: \[70, 90\] is outside"):
        limits_for("[70, 90]")


def test_set_points_of_instruments_named_freely_name_their_own_channels() -> None:
    text = sim_station_path().read_text(encoding="utf-8")
    for role, name in (
        ("climate_chamber", "chamber"),
        ("heat_pump", "hp"),
        ("hydraulic_module", "hm"),
    ):
        text = text.replace(f"[instruments.{role}]", f"[instruments.{name}]")
        text = text.replace(f'"{role}.', f'"{name}.')  # the interlocks' raw channels
    text += '\n[commands]\nair = "chamber"\nwater = "hm"\nheat_pump = "hp"\n'
    station = parse_station(text, "lab.toml")
    instruments = build_instruments(station, ENDPOINTS)
    commands = station.layout.command_instruments()
    pairs = {p.key: p for p in setpoint_pairs(instruments, commands)}
    assert pairs["air_temperature"].setpoint == "chamber.temperature_sp"
    assert pairs["water_inlet"].setpoint.startswith("hm.")
    assert pairs["hp_flow_temperature"].setpoint.startswith("hp.")
    assert pairs["water_inlet"].measured == "hydraulic_module.inlet_temp"  # derived from hm
    assert command_channel(instruments, "heat_pump", "running", commands) == "hp.on_off"
    limits = setpoint_limits(commanded(instruments, commands), station.limits)
    assert limits["hp_flow_temperature"] == Limit(20.0, 60.0, "°C")
