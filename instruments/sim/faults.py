"""Fault injection for the simulated bench.

One `FaultInjector` is shared by every simulated instrument. Transport faults (drop, delay,
garble) are applied by the `FaultProxy` in front of each endpoint, so the protocol servers stay
plain; value faults (exception codes, sentinels) are applied by the protocol servers; physical
faults (a chamber that cannot reach its set point, a heat-pump alarm) by the physics model.
Every fault is timed in bench seconds and kept in `history`, so a campaign can be replayed and
compared with what the engine logged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from instruments.clock import Clock


class FaultKind(StrEnum):
    DROP = "drop"  # connection closed and refused (on a tty: silence)
    DELAY = "delay"  # replies held back `seconds` (wall) - past any sane client timeout
    GARBLE = "garble"  # reply bytes corrupted, framing kept
    BLACK_HOLE = "black_hole"  # connections accepted, requests swallowed, never an answer
    FLIP = "flip"  # `bits` random bits of each reply flipped (default 1), framing not kept
    IGNORE_WRITES = "ignore_writes"  # Modbus writes acknowledged but not applied
    MODBUS_EXCEPTION = "modbus_exception"  # Modbus replies carry exception `code` (default 4)
    OVER_RANGE = "over_range"  # values read as the device's over-range / not-available sentinel
    CHAMBER_STUCK = "chamber_stuck"  # the chamber cannot reach its set point (lacks capacity)
    HP_ALARM = "hp_alarm"  # the heat pump raises alarm `code` and stops its compressor


LINK = frozenset(
    {FaultKind.DROP, FaultKind.DELAY, FaultKind.GARBLE, FaultKind.BLACK_HOLE, FaultKind.FLIP}
)  # the proxy's faults: every link has them
APPLICABLE: dict[str, frozenset[FaultKind]] = {
    "climate_chamber": LINK | {FaultKind.CHAMBER_STUCK},
    "power_analyser": LINK | {FaultKind.OVER_RANGE},
    "heat_pump": LINK
    | {
        FaultKind.MODBUS_EXCEPTION,
        FaultKind.OVER_RANGE,
        FaultKind.HP_ALARM,
        FaultKind.IGNORE_WRITES,
    },
    "hydraulic_module": LINK
    | {FaultKind.MODBUS_EXCEPTION, FaultKind.OVER_RANGE, FaultKind.IGNORE_WRITES},
}
# The lab layout's endpoints (bench.py), each its own role. Kept out of APPLICABLE, which fault
# campaigns draw from in order: a campaign's seed keeps giving the schedule it gave before.
LAB_APPLICABLE: dict[str, frozenset[FaultKind]] = {
    "data_logger": LINK | {FaultKind.OVER_RANGE},
    "heat_meter": LINK | {FaultKind.MODBUS_EXCEPTION, FaultKind.OVER_RANGE},
    "pa_odu": LINK | {FaultKind.OVER_RANGE},
    "pa_idu": LINK | {FaultKind.OVER_RANGE},
    "chamber_f4t": LINK,
    "heat_pump_nibe": LINK,
    "io_module": LINK | {FaultKind.IGNORE_WRITES},
}
INJECTABLE = APPLICABLE | LAB_APPLICABLE


@dataclass
class Fault:
    role: str
    kind: FaultKind
    start: float  # bench time (epoch seconds)
    duration: float | None  # bench seconds; None = until cleared
    params: dict[str, Any] = field(default_factory=dict)
    cleared_at: float | None = None

    def active_at(self, t: float) -> bool:
        if t < self.start:
            return False
        if self.cleared_at is not None and t >= self.cleared_at:
            return False
        return self.duration is None or t < self.start + self.duration


class FaultInjector:
    """The bench's fault switchboard; cheap to query on every request."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.history: list[Fault] = []

    def inject(
        self,
        role: str,
        kind: FaultKind | str,
        *,
        duration: float | None = None,
        after: float = 0.0,
        **params: Any,
    ) -> Fault:
        """Start `kind` on `role` `after` bench seconds from now, for `duration` bench seconds."""
        kind = FaultKind(kind)
        if role not in INJECTABLE:
            raise ValueError(f"unknown instrument role {role!r}; one of {', '.join(INJECTABLE)}")
        if kind not in INJECTABLE[role]:
            allowed = ", ".join(sorted(INJECTABLE[role]))
            raise ValueError(f"fault {kind} does not apply to {role}; it takes {allowed}")
        fault = Fault(role, kind, self.clock.now() + after, duration, dict(params))
        self.history.append(fault)
        return fault

    def clear(self, role: str | None = None, kind: FaultKind | str | None = None) -> None:
        now = self.clock.now()
        for fault in self.history:
            matches = (role is None or fault.role == role) and (kind is None or fault.kind == kind)
            if matches and fault.active_at(now):
                fault.cleared_at = now

    def active(self, role: str, kind: FaultKind) -> Fault | None:
        """The fault of this kind acting on `role` now, if any (the latest injected wins)."""
        now = self.clock.now()
        for fault in reversed(self.history):
            if fault.role == role and fault.kind == kind and fault.active_at(now):
                return fault
        return None


_SPEC = re.compile(
    r"^(?P<role>[a-z_]+):(?P<kind>[a-z_]+)"
    r"(?:@(?P<after>[0-9.]+))?(?:\+(?P<duration>[0-9.]+))?(?::(?P<params>.*))?$"
)


def parse_fault_spec(text: str) -> tuple[str, FaultKind, float, float | None, dict[str, float]]:
    """Parse the CLI form `role:kind[@after][+duration][:key=value,...]` (bench seconds).

    Example: `heat_pump:modbus_exception@60+30:code=6` - from 60 s on, for 30 s, code 6.
    """
    m = _SPEC.match(text.strip())
    if not m:
        raise ValueError(
            f"fault {text!r}: expected role:kind[@after][+duration][:key=value,...], "
            "e.g. power_analyser:drop@60+30"
        )
    role, kind_text = m["role"], m["kind"]
    if role not in INJECTABLE:
        raise ValueError(f"fault {text!r}: unknown role {role!r}; one of {', '.join(INJECTABLE)}")
    try:
        kind = FaultKind(kind_text)
    except ValueError:
        kinds = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"fault {text!r}: unknown kind {kind_text!r}; one of {kinds}") from None
    if kind not in INJECTABLE[role]:
        raise ValueError(f"fault {text!r}: {kind} does not apply to {role}")
    params: dict[str, float] = {}
    for item in filter(None, (m["params"] or "").split(",")):
        key, sep, value = item.partition("=")
        try:
            params[key.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"fault {text!r}: parameter {item!r} is not key=number")
    duration = float(m["duration"]) if m["duration"] else None
    return role, kind, float(m["after"] or 0.0), duration, params
