"""The channel contract (bench/channels.py): a station is refused, with its file:line, for a
plan whose points need a quantity its instruments do not provide; the shipped drivers and maps
declare only what they have, in the contract's names and units (issue 12 §2)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bench.channels import QUANTITIES, channel
from bench.plan import Plan, load_plan
from bench.run.acquisition import channels_of
from bench.run.planning import PlanNotRunnable, point_specs, unmeasured
from bench.station import Station, StationError, build_instruments, parse_station, sim_station_path
from instruments import registry
from instruments.modbus.regmap import available_maps, load_map

REPO = Path(__file__).parents[2]
DEMO = REPO / "test_plans" / "demo.yaml"  # A7W35, then A2W35 (below 7 °C)
LOAD_BASED = REPO / "test_plans" / "load_based_average_medium.yaml"
SIM = sim_station_path().read_text(encoding="utf-8")
# the simulated bench with NIBE's map (no defrost register), as a station that declares nothing
NIBE = re.sub(r"^defrost_detection = .*\n", "", SIM, flags=re.M).replace(
    'map = "hpbench_sim_hp"', 'map = "nibe_s_series"'
)


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def declaring(text: str, detection: str) -> str:
    """The station text with `[station] defrost_detection` set (in place of any given)."""
    text = re.sub(r"^defrost_detection = .*\n", "", text, flags=re.M)
    return text.replace(
        "initial_flow_m3h = 1.6", f'initial_flow_m3h = 1.6\ndefrost_detection = "{detection}"'
    )


def only_points(plan: Plan, at_or_above_c: float) -> Plan:
    return dataclasses.replace(
        plan, points=tuple(p for p in plan.points if p.air_dry_bulb_c >= at_or_above_c)
    )


def test_a_heat_pump_without_a_defrost_signal_is_refused_for_points_below_7_c() -> None:
    station = parse_station(NIBE, "lab.toml")
    with pytest.raises(PlanNotRunnable) as caught:
        point_specs(load_plan(DEMO), station)
    message = str(caught.value)
    assert message.startswith(
        f"lab.toml:{line_of(NIBE, 'nibe_s_series')}: instruments.heat_pump (modbus_heat_pump, "
        "map nibe_s_series) provides no hp.defrost"
    ), message
    assert f"A2W35 ({DEMO}:" in message  # the point, with its own file:line
    assert "A7W35" not in message  # at 7 °C the unit is not expected to defrost
    assert 'defrost_detection = "none"' in message  # the way out is named


def test_hpbench_validate_says_so_with_the_station_given(tmp_path: Path, capsys) -> None:
    from bench.cli import main

    station = tmp_path / "lab.toml"
    station.write_text(NIBE, encoding="utf-8")
    assert main(["validate", str(DEMO), "--station", str(station)]) == 2
    last = capsys.readouterr().err.splitlines()[-1]  # after the plan's own warnings
    assert last.startswith(f"{station}:{line_of(NIBE, 'nibe_s_series')}: instruments.heat_pump")
    assert "provides no hp.defrost" in last


def test_the_same_station_runs_points_at_7_c_and_above() -> None:
    station = parse_station(NIBE, "lab.toml")
    plan = only_points(load_plan(DEMO), 7.0)
    assert [p.air_dry_bulb_c for p in plan.points] == [7.0]
    assert len(point_specs(plan, station)) == 1


def test_declaring_no_defrost_detection_accepts_the_plan() -> None:
    station = parse_station(declaring(NIBE, "none"), "lab.toml")
    assert station.station.defrost_detection == "none"
    assert len(point_specs(load_plan(DEMO), station)) == len(load_plan(DEMO).points)


def test_a_unit_signal_the_map_lacks_is_refused_on_load() -> None:
    text = declaring(NIBE, "unit_signal")
    with pytest.raises(StationError) as caught:
        parse_station(text, "lab.toml")
    assert str(caught.value) == (
        f"lab.toml:{line_of(text, 'defrost_detection')}: station.defrost_detection: "
        '"unit_signal", but instruments.heat_pump (modbus_heat_pump, map nibe_s_series) '
        "provides no hp.defrost (transient tests)"
    )
    assert parse_station(declaring(SIM, "unit_signal"), "sim.toml").station.defrost_detection


def test_none_is_refused_where_the_unit_reports_its_defrosts() -> None:
    """The engine would still act on the signal: the declaration would not be true."""
    text = declaring(SIM, "none")
    with pytest.raises(StationError) as caught:
        parse_station(text, "lab.toml")
    assert str(caught.value).startswith(
        f'lab.toml:{line_of(text, "defrost_detection")}: station.defrost_detection: "none", '
        "but instruments.heat_pump (modbus_heat_pump) provides hp.defrost"
    )


def test_load_based_points_need_the_compressor_state() -> None:
    station = parse_station(declaring(NIBE, "none"), "lab.toml")
    problems = unmeasured(load_plan(LOAD_BASED), station)
    assert len(problems) == 1, problems
    assert "provides no hp.compressor_on (cycles), and load-based points need it" in problems[0]


def test_a_station_without_the_water_side_names_every_missing_quantity() -> None:
    text = SIM.split("[instruments.hydraulic_module]")[0] + "\n[limits]\n"
    station = parse_station(text, "lab.toml")
    problems = unmeasured(load_plan(DEMO), station)
    assert [p.split(": ", 2)[:2] for p in problems] == [
        [f"lab.toml:{line_of(text, '[station]')}", name]
        for name in ("water.inlet_c", "water.outlet_c", "water.flow_m3h")
    ]
    assert all(
        "the station has no hydraulic_module, and every point needs it" in p for p in problems
    )


def _with_map(tmp_path: Path, edit: tuple[str, str]) -> str:
    """The simulated station, its heat pump on an edited copy of its map."""
    text = (REPO / "instruments" / "maps" / "hpbench_sim_hp.toml").read_text(encoding="utf-8")
    assert edit[0] in text
    path = tmp_path / "hp.toml"
    path.write_text(text.replace(*edit), encoding="utf-8")
    return SIM.replace('map = "hpbench_sim_hp"', f'map = "{path}"')


def test_a_map_declaring_another_roles_quantity_is_refused_on_load(tmp_path: Path) -> None:
    text = _with_map(tmp_path, ('hp.supply_c = "supply_temp"', 'water.inlet_c = "supply_temp"'))
    with pytest.raises(StationError) as caught:
        parse_station(text, "lab.toml")
    assert str(caught.value) == (
        f"lab.toml:{line_of(text, '[instruments.heat_pump]')}: instruments.heat_pump: driver "
        "'modbus_heat_pump' declares water.inlet_c, a hydraulic_module quantity"
    )


def test_a_signal_under_another_channel_than_the_engine_reads_is_refused(tmp_path: Path) -> None:
    text = _with_map(tmp_path, ('hp.defrost = "defrost"', 'hp.defrost = "defrost_count"'))
    with pytest.raises(StationError) as caught:
        parse_station(text, "lab.toml")  # the station insists on the unit's signal
    assert "provides hp.defrost as 'defrost_count', but the engine reads heat_pump.defrost" in (
        str(caught.value)
    )


SIM_ENDPOINTS = {
    "climate_chamber_tty": "/dev/null",
    "power_analyser": "TCPIP::127.0.0.1::1::SOCKET",
    "heat_pump": "tcp://127.0.0.1:1",
    "hydraulic_module": "tcp://127.0.0.1:1",
}


def test_on_connect_the_channels_the_drivers_really_have_are_checked() -> None:
    station = parse_station(SIM, "sim.toml")
    live = channels_of(build_instruments(station, SIM_ENDPOINTS))  # channels need no link
    plan = load_plan(DEMO)
    assert unmeasured(plan, station, live) == []
    del live[channel("electrical.power_w")]
    live[channel("water.flow_m3h")] = "l/min"
    problems = unmeasured(plan, station, live)
    assert [p.split(", and every point")[0] for p in problems] == [
        f"sim.toml:{line_of(SIM, 'hpbench_hm')}: instruments.hydraulic_module (modbus_hydraulic, "
        "map hpbench_hm) connected: hydraulic_module.volume_flow (water.flow_m3h, m³/h): "
        "unit 'l/min'",
        f"sim.toml:{line_of(SIM, '[instruments.power_analyser]')}: instruments.power_analyser "
        "(yokogawa_wt300) connected: power_analyser.P (electrical.power_w, W): no such channel",
    ]


# -- the shipped drivers and maps against the contract -----------------------------------------
def test_shipped_maps_declare_contract_quantities_in_their_units() -> None:
    for name in available_maps():
        regmap = load_map(name)
        for quantity, local in regmap.quantities.items():
            q = QUANTITIES.get(quantity)
            assert q is not None, f"{name}: {quantity} is not a quantity of the contract"
            assert regmap[local].unit == q.unit, f"{name}: {quantity} = {local}"
            if q.need is not None:  # what a point needs is read by its contract channel id
                assert local == q.local, (
                    f"{name}: {quantity} = {local}, the engine reads {q.channel}"
                )


def test_every_driver_declares_channels_it_has() -> None:
    """Built with its default options, each driver has every channel it declares, with the
    contract's unit, and declares only quantities of its own role."""
    options = {"keysight_daq970a": {"channels": {"t": {"channel": 101, "sensor": "frtd"}}}}
    options["keysight_34970a"] = options["keysight_daq970a"]
    seen = set()
    for driver, info in registry.DRIVERS.items():
        declared = registry.quantities(driver, {})
        inst = registry.create(driver, info.role, "tcp://127.0.0.1:1", **options.get(driver, {}))
        have = inst.channels()
        for quantity, local in declared.items():
            q = QUANTITIES[quantity]
            assert q.role == info.role, f"{driver}: {quantity}"
            assert have.get(local) == q.unit, f"{driver}: {quantity} = {local}: {have.get(local)}"
            seen.add(quantity)
    assert seen == set(QUANTITIES)  # every quantity has a driver that provides it


def test_every_channel_id_in_bench_is_in_the_contract() -> None:
    """The contract is the one place: no module reads a `role.channel` it does not name."""
    contract = {q.channel for q in QUANTITIES.values()}
    pattern = re.compile(r'"((?:climate_chamber|power_analyser|heat_pump|hydraulic_module)\.\w+)"')
    found = {
        (path.relative_to(REPO).as_posix(), ident)
        for path in (REPO / "bench").rglob("*.py")
        for ident in pattern.findall(path.read_text(encoding="utf-8"))
    }
    assert len(found) > 10  # the scan finds today's literals (pointcalc, session, ...)
    assert {f for f in found if f[1] not in contract} == set()


def test_a_station_of_the_sim_bench_meets_every_shipped_plan() -> None:
    station: Station = parse_station(SIM, "sim.toml")
    for plan in sorted((REPO / "test_plans").glob("*.yaml")):
        assert unmeasured(load_plan(plan), station) == [], plan.name
