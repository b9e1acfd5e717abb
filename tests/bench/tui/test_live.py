"""The header's alerts (issue 14, defect 8): interlocks and holds as well as alarms, each with
its reason, until acknowledged and no longer active."""

from __future__ import annotations

from bench.run.engine import Event
from bench.tui.fmt import number
from bench.tui.live import Alerts
from bench.tui.widgets.event_log import readable


def interlock(t: float, tripped: bool) -> Event:
    data = {"interlock": "low flow", "action": "safe_stop", "tripped": tripped}
    return Event(t, "interlock", "low flow: flow < 0.2 m³/h -> safe_stop", data)


def test_an_alarm_shows_until_acknowledged() -> None:
    alerts = Alerts()
    alarm = Event(1.0, "alarm", "SetAir(...) failed: refused", {})
    alerts.note(alarm)
    assert alerts.shown() == (alarm, 1)
    assert alerts.acknowledge() == 1
    assert alerts.shown() == (None, 0)


def test_an_interlock_stays_until_acknowledged_and_cleared() -> None:
    alerts = Alerts()
    trip = interlock(1.0, True)
    alerts.note(trip)
    alerts.acknowledge()
    assert alerts.shown() == (trip, 1)  # acknowledged, but still tripped
    alerts.note(interlock(2.0, False))
    assert alerts.shown() == (None, 0)


def test_a_cleared_interlock_stays_until_acknowledged() -> None:
    alerts = Alerts()
    trip = interlock(1.0, True)
    alerts.note(trip)
    alerts.note(interlock(2.0, False))
    assert alerts.shown() == (trip, 1)
    alerts.acknowledge()
    assert alerts.shown() == (None, 0)


def test_a_hold_shows_its_reason_and_the_newest_unacknowledged_comes_first() -> None:
    alerts = Alerts()
    hold = Event(1.0, "state", "stabilising -> held: water flow lost", {"to": "held"})
    alerts.note(hold)
    alerts.acknowledge()
    alarm = Event(2.0, "alarm", "power_analyser read failed", {})
    alerts.note(alarm)
    assert alerts.shown() == (alarm, 2)
    alerts.acknowledge()
    assert alerts.shown() == (hold, 1)
    alerts.note(Event(3.0, "state", "held -> stabilising: cleared", {"from": "held"}))
    assert alerts.shown() == (None, 0)
    assert not alerts.note(Event(4.0, "command", "SetAir(...)", {}))


def test_log_lines_carry_no_float_noise() -> None:
    """Defect 10: `humidity_pct=86.83887236936457` in the log."""
    message = "SetAir(temperature_c=7.0, humidity_pct=86.83887236936457) at -0.123456 K"
    shown = "set air: temperature 7.0 °C, humidity 86.84 % at -0.123 K"  # no repr either
    assert readable(message) == shown


def test_a_channel_keeps_its_decimals() -> None:
    """Defect 10: `20 °C` beside `19.90 °C`."""
    assert [number(v, "°C") for v in (20.0, 19.9)] == ["20.00", "19.90"]
    assert [number(v, "m³/h") for v in (1.6, 1.5994)] == ["1.600", "1.599"]
    assert number(3.0) == "3"  # a code or a count, without a unit
