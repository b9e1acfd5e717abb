"""What every instrument driver is: the four role protocols, the reading type and the errors.

The run engine only ever sees these types, so a driver for another make plugs in without the
engine knowing, and the simulated bench is reached through exactly the same drivers as the
hardware.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable


class Quality(StrEnum):
    """How far a value can be trusted."""

    OK = "ok"
    INVALID = "invalid"  # the instrument answered, but with a sentinel / NaN / out of range
    STALE = "stale"  # no fresh answer: the value (if any) is the last good one


@dataclass(frozen=True, slots=True)
class Reading:
    """One channel's value as read: a number only when `quality` is OK."""

    value: float | None
    unit: str
    quality: Quality = Quality.OK
    detail: str = ""  # why it is not OK, for the operator and the event log

    @classmethod
    def ok(cls, value: float, unit: str) -> Reading:
        if not math.isfinite(value):
            return cls.invalid(unit, f"non-finite value {value!r}")
        return cls(float(value), unit, Quality.OK)

    @classmethod
    def invalid(cls, unit: str, detail: str) -> Reading:
        return cls(None, unit, Quality.INVALID, detail)

    def stale(self, detail: str) -> Reading:
        """The same value marked stale: kept for display, never for a result."""
        return Reading(self.value, self.unit, Quality.STALE, detail)


@dataclass(frozen=True, slots=True)
class Identity:
    make: str
    model: str
    serial: str
    firmware: str

    def __str__(self) -> str:
        return f"{self.make} {self.model} s/n {self.serial} fw {self.firmware}"


class InstrumentError(Exception):
    """Anything that went wrong talking to an instrument; names which one and where."""

    def __init__(
        self, message: str, *, instrument: str = "", address: str = "", reply: str = ""
    ) -> None:
        self.instrument = instrument
        self.address = address
        self.reply = reply  # the instrument's own error answer, where it gave one
        where = " ".join(p for p in (instrument, f"at {address}" if address else "") if p)
        super().__init__(f"{where}: {message}" if where else message)


class InstrumentTimeout(InstrumentError):
    """No (complete) answer within the driver's timeout."""


class ConnectionLost(InstrumentError):
    """The link is down: refused, reset, closed, or the port vanished."""


class ProtocolError(InstrumentError):
    """An answer came, but not one the protocol allows (garbled, wrong length, error reply)."""


class InvalidValue(InstrumentError):
    """A single requested value was a sentinel (over-range, not available)."""


class DeviceAlarm(InstrumentError):
    """The device reports an alarm condition."""


class WriteRefused(InstrumentError):
    """A write was refused: by the driver's map before the wire, or by the device."""


@runtime_checkable
class Instrument(Protocol):
    """What all roles share: lifecycle, identity and one read of every channel."""

    role: ClassVar[str]
    name: str
    address: str

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def identify(self) -> Identity: ...

    def channels(self) -> dict[str, str]:
        """Channel name -> unit, in display order."""
        ...

    async def read(self) -> dict[str, Reading]:
        """Every channel, read as close together as the protocol allows.

        Raises an `InstrumentError` when the instrument cannot be read at all; a channel
        that reads a sentinel comes back as an INVALID reading instead.
        """
        ...


@runtime_checkable
class ClimateChamber(Instrument, Protocol):
    """Holds the outdoor air around the unit: dry bulb and relative humidity."""

    async def set_air(self, temperature_c: float, humidity_pct: float | None) -> None:
        """Set points; `humidity_pct=None` switches humidity control off."""
        ...

    async def set_mode(self, mode: str) -> None:
        """`constant` (hold set points), `standby` or `off`."""
        ...


@runtime_checkable
class PowerAnalyser(Instrument, Protocol):
    """Measures the unit's electrical input."""

    async def integration_start(self) -> None: ...

    async def integration_stop(self) -> None: ...

    async def integration_reset(self) -> None: ...

    async def set_update_rate(self, seconds: float) -> None: ...


@runtime_checkable
class HeatPump(Instrument, Protocol):
    """The unit under test, steered through its own controller."""

    async def set_running(self, on: bool) -> None: ...

    async def set_flow_temperature(self, celsius: float) -> None: ...

    async def set_demand(self, percent: float) -> None:
        """Part-load override as a share of maximum capacity; 0 = follow the set point."""
        ...

    async def write(self, name: str, value: float) -> None:
        """Write any register the model's map declares writable (checked before the wire)."""
        ...


@runtime_checkable
class HydraulicModule(Instrument, Protocol):
    """Conditions the water circuit and measures it with the bench's calibrated sensors."""

    async def set_inlet_temperature(self, celsius: float) -> None: ...

    async def set_flow(self, m3_per_h: float) -> None: ...

    async def set_running(self, on: bool) -> None: ...


ROLES: tuple[str, ...] = ("climate_chamber", "power_analyser", "heat_pump", "hydraulic_module")
