"""The station layout: commands, sources, derived channels and power parts (pure)."""

from __future__ import annotations

import pytest

from bench.metrology.parts import PowerPart
from bench.station_layout import Derived, Member, StationLayout
from instruments import registry


def member(driver: str, **options: object) -> Member:
    """What station.py hands in for a driver: its role, declaration and planned channels."""
    planned = registry.planned(driver, options)
    declared = registry.quantities(driver, options)
    return Member(driver, registry.DRIVERS[driver].role, declared, planned.channels, planned.groups)


DAQ = {
    "water_in": {"channel": 101, "sensor": "frtd"},
    "water_out": {"channel": 102, "sensor": "frtd"},
}
GENERAL = {
    "chamber": member("espec"),
    "hm": member("modbus_hydraulic", map="hpbench_hm"),
    "hp": member("modbus_heat_pump", map="hpbench_sim_hp"),
    "daq": member("keysight_daq970a", channels=DAQ),
    "flow": member("kamstrup_multical"),
    "pa_odu": member("yokogawa_wt333e", wiring="3P4W"),
    "pa_idu": member("yokogawa_wt300"),
}
COMMANDS = {"air": "chamber", "water": "hm", "heat_pump": "hp"}
QUANTITIES = {
    "water.inlet_c": "daq.water_in",
    "water.outlet_c": "daq.water_out",
    "water.flow_m3h": "flow.flow_v1",
    "electrical.power_w": ["pa_odu.P_sigma", "pa_idu.P"],
    "electrical.voltage_v": "pa_odu.U1",
}
FOUR = {
    "climate_chamber": member("espec"),
    "power_analyser": member("yokogawa_wt300"),
    "heat_pump": member("modbus_heat_pump", map="hpbench_sim_hp"),
    "hydraulic_module": member("modbus_hydraulic", map="hpbench_hm"),
}


def general() -> StationLayout:
    layout, problems = StationLayout.build(GENERAL, COMMANDS, QUANTITIES)
    assert problems == []
    return layout


def test_the_four_role_form_commands_by_name_and_derives_nothing():
    layout, problems = StationLayout.build(FOUR)
    assert problems == []
    assert layout.command_instruments() == {
        "climate_chamber": "climate_chamber",
        "heat_pump": "heat_pump",
        "hydraulic_module": "hydraulic_module",
    }
    assert layout.derived() == {}
    assert layout.sources("water.outlet_c") == ("hydraulic_module.outlet_temp",)
    assert layout.instrument_of("electrical.power_w") == "power_analyser"
    assert layout.power_parts() == (
        PowerPart(
            "power_analyser.P",
            "power_analyser",
            (("power_analyser.Urange", "power_analyser.Irange"),),
        ),
    )


def test_the_general_form_derives_the_contract_channels():
    layout = general()
    assert layout.command_instruments() == {
        "climate_chamber": "chamber",
        "hydraulic_module": "hm",
        "heat_pump": "hp",
    }
    derived = layout.derived()
    assert derived["power_analyser.P"] == Derived(
        "power_analyser.P", "W", ("pa_odu.P_sigma", "pa_idu.P")
    )
    assert derived["hydraulic_module.volume_flow"] == Derived(
        "hydraulic_module.volume_flow", "m³/h", ("flow.flow_v1",), 0.001
    )
    assert derived["hydraulic_module.inlet_temp"].sources == ("daq.water_in",)
    # unmapped quantities come from the instrument commanding their role, as it declares them
    assert derived["heat_pump.defrost"].sources == ("hp.defrost",)
    assert derived["climate_chamber.temperature"].sources == ("chamber.temperature",)
    assert derived["hydraulic_module.barometric_pressure"].sources == ("hm.barometric_pressure",)
    assert "power_analyser.Urange" not in derived  # the WT333E declares no quantities
    assert layout.instrument_of("water.outlet_c") == "daq"
    assert layout.instrument_of("electrical.power_w") is None  # a sum of two


def test_power_parts_carry_the_ranges_of_the_elements_they_sum():
    assert general().power_parts() == (
        PowerPart(
            "pa_odu.P_sigma",
            "pa_odu",
            tuple((f"pa_odu.Urange{e}", f"pa_odu.Irange{e}") for e in (1, 2, 3)),
        ),
        PowerPart("pa_idu.P", "pa_idu", (("pa_idu.Urange", "pa_idu.Irange"),)),
    )
    layout, problems = StationLayout.build(
        GENERAL, COMMANDS, {"electrical.power_w": ["pa_odu.P2", "pa_idu.P"]}
    )
    assert problems == []
    assert layout.power_parts()[0].ranges == (("pa_odu.Urange2", "pa_odu.Irange2"),)


@pytest.mark.parametrize(
    ("commands", "quantities", "loc", "message"),
    [
        ({"wind": "hp"}, {}, ("commands", "wind"), "unknown command 'wind'"),
        ({"air": "oven"}, {}, ("commands", "air"), "'oven': the station has no such instrument"),
        ({"air": "hp"}, {}, ("commands", "air"), "hp (modbus_heat_pump) drives a heat_pump"),
        ({}, {"water.colour": "daq.water_in"}, ("quantities", "water.colour"), "not a quantity"),
        ({}, {"water.inlet_c": "daq"}, ("quantities", "water.inlet_c"), "expected instrument."),
        ({}, {"water.inlet_c": 101}, ("quantities", "water.inlet_c"), 'expected "instrument'),
        ({}, {"water.inlet_c": []}, ("quantities", "water.inlet_c"), 'expected "instrument'),
        ({}, {"water.inlet_c": "pt.ch1"}, ("quantities", "water.inlet_c"), "no instrument 'pt'"),
        (
            {},
            {"water.inlet_c": "daq.ch101"},
            ("quantities", "water.inlet_c"),
            "daq (keysight_daq970a) has no channel 'ch101'; it has water_in, water_out",
        ),
        (
            {},
            {"water.inlet_c": "flow.flow_v1"},
            ("quantities", "water.inlet_c"),
            "unit 'l/h' is not water.inlet_c's '°C'",
        ),
        (
            {},
            {"electrical.power_w": ["pa_odu.P1", "pa_odu.I1"]},
            ("quantities", "electrical.power_w"),
            "different units (W, A)",
        ),
        (
            {},
            {"electrical.power_w": ["pa_idu.P", "pa_idu.P"]},
            ("quantities", "electrical.power_w"),
            "listed twice",
        ),
    ],
)
def test_each_mistake_is_a_problem_at_its_key(commands, quantities, loc, message):
    _, problems = StationLayout.build(GENERAL, commands, quantities)
    assert len(problems) == 1, problems
    assert problems[0][0] == loc
    assert message in problems[0][1]


def test_a_derived_channel_may_not_take_a_raw_channel_of_an_instrument_named_as_the_role():
    members = {**FOUR, "pa_odu": member("yokogawa_wt333e", wiring="3P4W")}
    quantities = {"electrical.power_w": ["pa_odu.P_sigma", "power_analyser.P"]}
    _, problems = StationLayout.build(members, {}, quantities)
    assert problems == [
        (
            ("quantities", "electrical.power_w"),
            "electrical.power_w would be derived as power_analyser.P, a channel "
            "instruments.power_analyser has: give that instrument another name (and name it in "
            "[commands])",
        )
    ]
    # the same source as the raw channel is no derivation, so no collision
    layout, problems = StationLayout.build(FOUR, {}, {"electrical.power_w": "power_analyser.P"})
    assert problems == [] and layout.derived() == {}
