import pytest

from instruments.sim.faults import FaultInjector, FaultKind, parse_fault_spec


def test_fault_is_active_only_in_its_window(manual_clock):
    faults = FaultInjector(manual_clock)
    faults.inject("power_analyser", "drop", after=10, duration=5)
    assert faults.active("power_analyser", FaultKind.DROP) is None
    manual_clock.advance(10)
    assert faults.active("power_analyser", FaultKind.DROP) is not None
    assert faults.active("heat_pump", FaultKind.DROP) is None
    manual_clock.advance(5)
    assert faults.active("power_analyser", FaultKind.DROP) is None
    assert len(faults.history) == 1


def test_clear_ends_an_open_ended_fault_and_keeps_its_history(manual_clock):
    faults = FaultInjector(manual_clock)
    faults.inject("heat_pump", FaultKind.MODBUS_EXCEPTION, code=6)
    assert faults.active("heat_pump", FaultKind.MODBUS_EXCEPTION).params == {"code": 6}
    manual_clock.advance(1)
    faults.clear("heat_pump")
    assert faults.active("heat_pump", FaultKind.MODBUS_EXCEPTION) is None
    assert faults.history[0].cleared_at == manual_clock.now()


def test_a_fault_that_does_not_apply_to_a_role_is_refused(manual_clock):
    faults = FaultInjector(manual_clock)
    with pytest.raises(ValueError, match="does not apply to power_analyser"):
        faults.inject("power_analyser", FaultKind.HP_ALARM)
    with pytest.raises(ValueError, match="unknown instrument role"):
        faults.inject("kettle", FaultKind.DROP)


def test_cli_fault_spec():
    assert parse_fault_spec("heat_pump:modbus_exception@60+30:code=6") == (
        "heat_pump",
        FaultKind.MODBUS_EXCEPTION,
        60.0,
        30.0,
        {"code": 6.0},
    )
    assert parse_fault_spec("power_analyser:drop") == (
        "power_analyser",
        FaultKind.DROP,
        0.0,
        None,
        {},
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("power_analyser", "expected role:kind"),
        ("kettle:drop", "unknown role"),
        ("heat_pump:explode", "unknown kind"),
        ("power_analyser:hp_alarm", "does not apply"),
        ("heat_pump:delay:seconds=abc", "not key=number"),
    ],
)
def test_bad_cli_fault_specs_say_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_fault_spec(spec)


def test_the_lab_endpoints_are_fault_roles_of_their_own(manual_clock):
    assert parse_fault_spec("pa_odu:drop@5")[:3] == ("pa_odu", FaultKind.DROP, 5.0)
    faults = FaultInjector(manual_clock)
    faults.inject("heat_meter", FaultKind.MODBUS_EXCEPTION, code=6)
    assert faults.active("heat_meter", FaultKind.MODBUS_EXCEPTION) is not None
    assert faults.active("hydraulic_module", FaultKind.MODBUS_EXCEPTION) is None
    with pytest.raises(ValueError, match="does not apply to pa_idu"):
        faults.inject("pa_idu", FaultKind.MODBUS_EXCEPTION)
