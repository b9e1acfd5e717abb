"""Keysight DAQ970A / 34970A (34972A) data logger, scanning tagged sensor channels.

The station names each sensor (the channel tag) and says what it is::

    [instrument.daq.options.channels]
    water_in  = { channel = 101, sensor = "frtd" }              # 4-wire Pt100, alpha 0.00385
    water_out = { channel = 102, sensor = "frtd" }
    air_in    = { channel = 103, sensor = "tc", tc_type = "K" }
    rh        = { channel = 121, sensor = "current", low = 0, high = 100, unit = "%" }

Commands are the 34970A family's standard SCPI (docs/protocols.md §1.6): `CONF:TEMP FRTD,85`,
`CONF:TEMP TC,<type>`, `CONF:CURR:DC 0.02`, `ROUT:SCAN`, `FORM:READ:CHAN ON`, `READ?` ->
`value,channel,...`. A 4-wire channel n pairs with n+10, so 4-wire channels are 01-10 of a
slot; DC current only on channels 21/22. The overload reading +9.9E+37 is INVALID. A 4-20 mA
transmitter is scaled linearly from the station's low/high; a loop current outside 3.8-20.5 mA
(the NAMUR NE 43 signal range) means a broken loop or a failed transmitter and is INVALID.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from instruments.base import ProtocolError, Reading
from instruments.transport.scpi import ScpiInstrument, decode_number
from instruments.transport.session import LineSession

TC_TYPES = frozenset("BEJKNRST")
LOOP_MA = (3.8, 20.5)


@dataclass(frozen=True)
class Sensor:
    tag: str
    channel: int
    sensor: str  # frtd | rtd | tc | current
    tc_type: str = "K"
    low: float = 0.0
    high: float = 100.0
    unit: str = "°C"

    @property
    def configure(self) -> str:
        return {
            "frtd": "CONF:TEMP FRTD,85",
            "rtd": "CONF:TEMP RTD,85",
            "tc": f"CONF:TEMP TC,{self.tc_type}",
            "current": "CONF:CURR:DC 0.02",
        }[self.sensor]

    def value(self, token: str) -> Reading:
        reading = decode_number(token, "A" if self.sensor == "current" else self.unit)
        if self.sensor != "current" or reading.value is None:
            return Reading(reading.value, self.unit, reading.quality, reading.detail)
        ma = reading.value * 1000.0
        if not LOOP_MA[0] <= ma <= LOOP_MA[1]:
            return Reading.invalid(self.unit, f"loop current {ma:.3f} mA outside 3.8-20.5 mA")
        return Reading.ok(self.low + (ma - 4.0) / 16.0 * (self.high - self.low), self.unit)


def parse_sensors(model: str, channels: Mapping[str, Mapping[str, Any]]) -> tuple[Sensor, ...]:
    """The station's channel table, checked: ValueError names the tag and the field."""
    found: list[Sensor] = []
    for tag, spec in channels.items():
        where = f"{model} channel {tag!r}"
        unknown = set(spec) - {"channel", "sensor", "tc_type", "low", "high", "unit"}
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        kind = str(spec.get("sensor", ""))
        if kind not in ("frtd", "rtd", "tc", "current"):
            raise ValueError(f"{where}: sensor must be frtd, rtd, tc or current")
        ch = spec.get("channel")
        if not isinstance(ch, int) or not 101 <= ch <= 322 or not 1 <= ch % 100 <= 22:
            raise ValueError(f"{where}: channel must be slot*100 + 01..22, e.g. 101")
        if kind == "frtd" and ch % 100 > 10:
            raise ValueError(f"{where}: a 4-wire channel is 01-10 (n+10 carries its sense pair)")
        if kind == "current" and ch % 100 not in (21, 22):
            raise ValueError(f"{where}: DC current is measured on channels 21 and 22 only")
        tc_type = str(spec.get("tc_type", "K")).upper()
        if kind == "tc" and tc_type not in TC_TYPES:
            raise ValueError(f"{where}: tc_type must be one of {''.join(sorted(TC_TYPES))}")
        low, high = float(spec.get("low", 0.0)), float(spec.get("high", 100.0))
        if kind == "current" and not low < high:
            raise ValueError(f"{where}: low must be below high")
        unit = str(spec.get("unit", "°C" if kind != "current" else ""))
        found.append(Sensor(tag, ch, kind, tc_type, low, high, unit))
    if not found:
        raise ValueError(f"{model}: no channels configured")
    used = [s.channel for s in found]
    if len(set(used)) != len(used):
        raise ValueError(f"{model}: a channel number is used twice")
    return tuple(found)


def _list(channels: Sequence[int]) -> str:
    return "(@" + ",".join(str(c) for c in channels) + ")"


class KeysightDAQ970A(ScpiInstrument):
    """data_logger role: (name, address, *, channels = {tag: {channel, sensor, ...}})."""

    role: ClassVar[str] = "data_logger"
    quantities: ClassVar[dict[str, str]] = {}  # the station names its sensor tags
    model: ClassVar[str] = "DAQ970A"

    def __init__(
        self,
        name: str,
        address: str,
        *,
        channels: Mapping[str, Mapping[str, Any]],
        timeout_s: float = 5.0,
        visa_library: str = "@py",
    ) -> None:
        super().__init__(name, address, timeout_s=timeout_s, visa_library=visa_library)
        self.sensors = parse_sensors(self.model, channels)
        self._by_channel = {s.channel: s for s in self.sensors}

    def channels(self) -> dict[str, str]:
        return {s.tag: s.unit for s in self.sensors}

    def setup_commands(self) -> Sequence[str]:
        commands = ["*CLS"]
        groups: dict[str, list[int]] = {}
        for s in self.sensors:
            groups.setdefault(s.configure, []).append(s.channel)
        for configure, chans in groups.items():
            commands.append(f"{configure},{_list(chans)}")
            if "TEMP" in configure:
                commands.append(f"UNIT:TEMP C,{_list(chans)}")
        return (
            *commands,
            f"ROUT:SCAN {_list([s.channel for s in self.sensors])}",
            "FORM:READ:CHAN ON",
            "FORM:READ:TIME OFF",
            "TRIG:COUN 1",
        )

    def exchange_read(self, s: LineSession) -> dict[str, Reading]:
        reply = s.query("READ?")
        tokens = self.split_values(s, reply, 2 * len(self.sensors), "READ?")
        found: dict[str, Reading] = {}
        for value, channel in zip(tokens[::2], tokens[1::2], strict=True):
            sensor = self._by_channel.get(int(channel)) if channel.strip().isdigit() else None
            if sensor is None or sensor.tag in found:
                raise s.error(ProtocolError, f"READ?: unexpected channel {channel!r} in {reply!r}")
            try:
                found[sensor.tag] = sensor.value(value)
            except ValueError as exc:
                raise s.error(ProtocolError, f"{exc} in {reply[:120]!r}") from None
        return {tag: found[tag] for tag in self.channels()}


class Keysight34970A(KeysightDAQ970A):
    """The older 34970A / 34972A: the same command set (§1.6)."""

    model: ClassVar[str] = "34970A"
