"""Station and address mistakes as one line naming file:line or `instrument (address)`
(issue 11, point 5)."""

from __future__ import annotations

import pytest

from bench.station import StationError, build_instruments, parse_station, sim_station_path
from instruments.base import InstrumentError
from instruments.climate_chamber.espec import EspecChamber
from instruments.power_analyser.yokogawa_wt300 import YokogawaWT300

SIM = sim_station_path().read_text()


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_toml_errors_name_file_and_line():
    text = SIM.replace("water_pressure_pa = 300000", "water_pressure_pa = = 3", 1)
    assert text != SIM
    with pytest.raises(StationError) as caught:
        parse_station(text, "st.toml")
    assert str(caught.value).startswith(
        f"st.toml:{line_of(text, 'water_pressure_pa = =')}: not valid TOML"
    )


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        ('map = "hpbench_hm", device_id = 1', 'map = "hpbench_hm", device_id = 0', "broadcast"),
        ('map = "hpbench_hm", device_id = 1', 'map = "hpbench_hm", device_id = 999', "1..247"),
        ('map = "hpbench_hm"', 'map = "no_such_map"', "no_such_map"),
    ],
)
def test_bad_driver_options_name_file_and_line(old, new, says):
    text = SIM.replace(old, new)
    assert text != SIM
    station = parse_station(text, "st.toml")
    with pytest.raises(StationError) as caught:
        build_instruments(
            station,
            {k: "tcp://127.0.0.1:1" for k in ("hydraulic_module",)}
            | {
                "heat_pump": "tcp://127.0.0.1:1",
                "power_analyser": "TCPIP::127.0.0.1::1::SOCKET",
                "climate_chamber_tty": "/dev/null",
            },
        )
    message = str(caught.value)
    assert message.startswith(f"st.toml:{line_of(text, new)}: instruments.hydraulic_module")
    assert says in message


async def test_a_socket_address_without_port_says_so():
    chamber = EspecChamber("climate_chamber", "socket://127.0.0.1")
    with pytest.raises(InstrumentError) as caught:
        await chamber.connect()
    assert str(caught.value) == (
        "climate_chamber at socket://127.0.0.1: cannot open: socket:// needs a port (host:port)"
    )


@pytest.mark.parametrize(
    ("address", "says"),
    [("GPIB0::5::INSTR", "needs linux-gpib"), ("TCPIP::127.0.0.1::99999::SOCKET", "1..65535")],
)
async def test_visa_addresses_that_cannot_work_say_why(address, says):
    wt = YokogawaWT300("power_analyser", address, timeout_s=0.5)
    with pytest.raises(InstrumentError) as caught:
        await wt.connect()
    assert str(caught.value).startswith(f"power_analyser at {address}: ")
    assert says in str(caught.value)


def test_an_interlock_on_a_channel_the_bench_lacks_names_file_and_line():
    from bench.run.runner import RunRefused, check_interlock_channels

    text = SIM.replace(
        'channel = "hydraulic_module.outlet_temp"', 'channel = "hydraulic_module.nope"'
    )
    assert text != SIM
    station = parse_station(text, "st.toml")
    with pytest.raises(RunRefused) as caught:
        known = ("heat_pump.alarm", "hydraulic_module.outlet_temp", "hydraulic_module.volume_flow")
        check_interlock_channels(station, dict.fromkeys(known, ""))
    line = line_of(text, "hydraulic_module.nope")
    assert str(caught.value).startswith(f"st.toml:{line}: station interlocks[1]")
