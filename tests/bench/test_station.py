"""Station files: the shipped one loads; each kind of mistake gives one clear file:line line."""

import datetime as dt

import pytest

from bench.station import (
    StationError,
    build_instruments,
    load_station,
    parse_station,
    resolve_address,
    sim_station_path,
)
from instruments.base import ROLES

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
