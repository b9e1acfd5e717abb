"""Station files: the shipped one loads; each kind of mistake gives one clear file:line line."""

import dataclasses
import datetime as dt

import pytest

from bench import channels
from bench.run.acquisition import channels_of
from bench.run.runner import bench_channels
from bench.station import (
    StationError,
    build_instruments,
    load_station,
    parse_station,
    resolve_address,
    sim_station_path,
)
from instruments.base import ROLES
from instruments.sim.bench import Endpoints

SIM_ENDPOINTS = [f.name for f in dataclasses.fields(Endpoints)]

GOOD = """
[station]
name = "lab-b3"

[instruments.power_analyser]
driver = "yokogawa_wt300"
address = "TCPIP::10.0.0.5::10001::SOCKET"
serial = "C2PH13047V"
calibration_due = 2026-01-31
"""


def test_shipped_sim_station_covers_every_role():
    station = load_station(sim_station_path())
    assert set(station.instruments) == set(ROLES)
    assert station.uses_sim


def test_good_station_parses_with_dates():
    station = parse_station(GOOD, "lab.toml")
    entry = station.instruments["power_analyser"]
    assert entry.calibration_due == dt.date(2026, 1, 31)
    assert entry.calibration_overdue(dt.date(2026, 11, 27))
    assert not entry.calibration_overdue(dt.date(2026, 1, 1))


PA = "instruments.power_analyser"


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (
            ('driver = "yokogawa_wt300"', 'driver = "fluke_9000"'),
            f"lab.toml:6: {PA}.driver: unknown driver 'fluke_9000'",
        ),
        (
            ('serial = "C2PH13047V"', "serial = 42"),
            f"lab.toml:8: {PA}.serial: Input should be a valid string",
        ),
        (
            ('serial = "C2PH13047V"', 'serail = "x"'),
            f"lab.toml:8: {PA}.serail: Extra inputs are not permitted",
        ),
        (
            ("[instruments.power_analyser]", "[instruments.Kettle]"),
            "instrument name 'Kettle': lower case letters",
        ),
        (
            ("[instruments.power_analyser]", "[instruments.heat_pump]"),
            "drives a power_analyser, not a heat_pump",
        ),
        (
            ('name = "lab-b3"', 'name = "lab b3!"'),
            "lab.toml:3: station.name: String should match pattern",
        ),
        (
            ("calibration_due = 2026-01-31", 'calibration_due = "soon"'),
            f"lab.toml:9: {PA}.calibration_due: Input should be a valid date",
        ),
        (
            ('address = "TCPIP::10.0.0.5::10001::SOCKET"', "address = "),
            "lab.toml:7: not valid TOML",
        ),
    ],
)
def test_each_mistake_names_file_line_and_field(mutation, expected):
    text = GOOD.replace(*mutation)
    with pytest.raises(StationError) as err:
        parse_station(text, "lab.toml")
    assert expected in str(err.value)
    assert "Traceback" not in str(err.value)


def test_unknown_driver_option_is_refused_by_name():
    text = GOOD + 'options = { colour = "red" }\n'
    with pytest.raises(StationError) as err:
        parse_station(text, "lab.toml")
    assert str(err.value).startswith(
        f"lab.toml:10: {PA}.options.colour: driver 'yokogawa_wt300' takes no option 'colour'"
    )


def test_missing_file_is_one_line(tmp_path):
    with pytest.raises(StationError, match="cannot read station file"):
        load_station(tmp_path / "nope.toml")


def test_sim_addresses_need_the_simulator():
    assert resolve_address("tcp://h:502", None) == "tcp://h:502"
    assert (
        resolve_address("sim:heat_pump", {"heat_pump": "tcp://127.0.0.1:5"}) == "tcp://127.0.0.1:5"
    )
    with pytest.raises(StationError, match="run with --sim"):
        resolve_address("sim:heat_pump", None)
    with pytest.raises(StationError, match="has only heat_pump"):
        resolve_address("sim:kettle", {"heat_pump": "x"})


def test_an_unknown_sim_address_names_file_and_line():
    text = GOOD.replace('"TCPIP::10.0.0.5::10001::SOCKET"', '"sim:kettle"')
    with pytest.raises(StationError) as err:
        parse_station(text, "lab.toml")
    assert str(err.value).startswith(
        f"lab.toml:7: {PA}.address: 'sim:kettle' is not on the simulated bench; it has "
        "sim:power_analyser, sim:heat_pump,"
    )


def test_build_instruments_makes_one_driver_per_role():
    station = load_station(sim_station_path())
    endpoints = {
        "power_analyser": "TCPIP::127.0.0.1::1::SOCKET",
        "climate_chamber_tty": "/dev/null",
        "heat_pump": "tcp://127.0.0.1:2",
        "hydraulic_module": "tcp://127.0.0.1:3",
    }
    built = build_instruments(station, endpoints)
    assert {role: type(inst).role for role, inst in built.items()} == {r: r for r in ROLES}
    assert built["heat_pump"].address == "tcp://127.0.0.1:2"


def test_laboratory_table_for_the_test_report_and_its_mistakes_by_line():
    lab = '\n[laboratory]\nname = "Prüflabor Nord"\naddress = "Am Prüfstand 3, Kiel"\n'
    station = parse_station(GOOD + lab, "lab.toml")
    assert station.laboratory.name == "Prüflabor Nord"
    assert station.laboratory.report_prefix == "HPB" and station.laboratory.location == ""
    line = (GOOD + lab).count("\n") + 1
    with pytest.raises(StationError) as err:
        parse_station(GOOD + lab + 'report_prefix = "no spaces"\n', "lab.toml")
    assert f"lab.toml:{line}: laboratory.report_prefix: String should match pattern" in str(
        err.value
    )


GENERAL = """[station]
name = "lab-general"

[instruments.chamber]
driver = "espec"
address = "/dev/ttyUSB0"
[instruments.hm]
driver = "modbus_hydraulic"
address = "tcp://10.0.0.23:502"
options = { map = "hpbench_hm", device_id = 1 }
[instruments.hp]
driver = "modbus_heat_pump"
address = "tcp://10.0.0.22:502"
options = { map = "hpbench_sim_hp", device_id = 1 }
[instruments.daq]
driver = "keysight_daq970a"
address = "TCPIP::10.0.0.26::5025::SOCKET"
options = { channels = { water_in = { channel = 101, sensor = "frtd" } } }
[instruments.flow]
driver = "kamstrup_multical"
address = "tcp://10.0.0.27:502"
[instruments.pa_odu]
driver = "yokogawa_wt333e"
address = "TCPIP::10.0.0.20::INSTR"
options = { wiring = "3P4W" }

[commands]
air = "chamber"
water = "hm"
heat_pump = "hp"

[quantities]
"water.inlet_c" = "daq.water_in"
"water.flow_m3h" = "flow.flow_v1"
"electrical.power_w" = ["pa_odu.P_sigma", "pa_odu.P1"]

[[interlocks]]
name = "water flow too low"
kind = "below"
channel = "hydraulic_module.volume_flow"
limit = 0.2
action = "hold"
"""


def test_the_general_form_names_instruments_freely_and_builds_every_one():
    station = parse_station(GENERAL, "lab.toml")
    assert station.layout.command_instruments() == {
        "climate_chamber": "chamber",
        "hydraulic_module": "hm",
        "heat_pump": "hp",
    }
    assert set(build_instruments(station)) == {"chamber", "hm", "hp", "daq", "flow", "pa_odu"}
    # an interlock on a derived contract channel; every named instrument has its watchdog
    assert {i.role for i in station.all_interlocks() if i.kind == "silent"} == set(
        station.instruments
    )


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (
            ('air = "chamber"', 'air = "hp"'),
            "lab.toml:28: commands.air: hp (modbus_heat_pump) drives a heat_pump, "
            "not a climate_chamber",
        ),
        (('water = "hm"', 'water = "pump"'), "lab.toml:29: commands.water: 'pump': the station"),
        (('heat_pump = "hp"', 'wind = "hp"'), "lab.toml:30: commands.wind: unknown command"),
        (
            ('"daq.water_in"', '"logger.water_in"'),
            "lab.toml:33: quantities.\"water.inlet_c\": 'logger.water_in': the station has no "
            "instrument 'logger'",
        ),
        (
            ('"daq.water_in"', '"daq.ch101"'),
            "lab.toml:33: quantities.\"water.inlet_c\": 'daq.ch101': daq (keysight_daq970a) has "
            "no channel 'ch101'; it has water_in",
        ),
        (
            ('"water.inlet_c"', '"water.colour"'),
            "lab.toml:33: quantities.\"water.colour\": 'water.colour' is not a quantity",
        ),
        (
            ('"flow.flow_v1"', '"flow.power"'),
            "lab.toml:34: quantities.\"water.flow_m3h\": unit 'kW' is not water.flow_m3h's 'm³/h'",
        ),
        (
            ("[instruments.hm]", "[instruments.hydraulic_module]"),
            'lab.toml:33: quantities."water.inlet_c": water.inlet_c would be derived as '
            "hydraulic_module.inlet_temp, a channel instruments.hydraulic_module has",
        ),
        (
            ('channel = "hydraulic_module.volume_flow"', 'channel = "pump.volume_flow"'),
            "interlock 'water flow too low': the station has no 'pump'",
        ),
    ],
)
def test_each_layout_mistake_names_file_line_and_key(mutation, expected):
    text = GENERAL.replace(*mutation)
    assert text != GENERAL
    with pytest.raises(StationError) as err:
        parse_station(text, "lab.toml")
    assert expected in str(err.value)


def test_a_mapped_quantity_is_checked_against_the_live_channels_with_its_line():
    station = parse_station(GENERAL, "lab.toml")
    q = channels.QUANTITIES["water.flow_m3h"]
    live = {"flow.flow_v1": "l/h"}
    assert channels.missing(station, q, live) is None
    assert channels.missing(station, q, {}) == (
        "lab.toml:34",
        "water.flow_m3h: connected, the bench has no channel flow.flow_v1",
    )
    assert channels.missing(station, q, {"flow.flow_v1": "mA"}) == (
        "lab.toml:34",
        "water.flow_m3h: connected, flow.flow_v1 reads 'mA', not 'm³/h'",
    )


def test_the_four_role_station_derives_nothing_so_its_frames_keep_their_channels():
    station = load_station(sim_station_path())
    assert station.layout.derived() == {}
    instruments = build_instruments(station, {k: "tcp://127.0.0.1:1" for k in SIM_ENDPOINTS})
    assert bench_channels(station, instruments) == channels_of(instruments)
    assert {"power_analyser.P", "hydraulic_module.outlet_temp", "heat_pump.defrost"} <= set(
        bench_channels(station, instruments)
    )
