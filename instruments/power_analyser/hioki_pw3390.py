"""HIOKI PW3390 power analyser over LAN (TCP port 3390, docs/protocols.md §1.4).

Long-form upper-case replies, `:HEADer OFF` for bare values. Channels 1-4; Σ groups from the
wiring option as on the other analysers (`P123` style tokens). Ranges are fixed from the
station or auto, and read back every read. Current ranges depend on the clamp sensor fitted,
so any positive current range is passed on for the instrument to accept or refuse.

The measurement query syntax was NOT FOUND in the sources at hand (§1.4): `:MEASure? <items>`
with comma-separated values, `:VOLTage<n>:RANGe` / `:CURRent<n>:RANGe` / `:...:AUTO`, and
`:INTEGrate:STARt|STOP|RESet` are this driver's reading of the PW3390 command family and must
be checked against the PW3390 communication manual before a certification run. Refusals are
read from the standard event status register (*ESR?). A value at or above 9.9E+37, or HIOKI's
over-range display value (+9999.9E+99 style, far above it), is INVALID.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from instruments.base import Reading, WriteRefused
from instruments.power_analyser.layout import WIRING_ELEMENTS, Item, checked_range, plan
from instruments.transport.scpi import EventStatus, ScpiInstrument
from instruments.transport.session import LineSession

VOLTAGE_RANGES = (15.0, 30.0, 60.0, 150.0, 300.0, 600.0, 1500.0)
_TOKENS = {"U": "U", "I": "I", "P": "P", "S": "S", "Q": "Q", "PF": "PF", "F": "FREQ", "WH": "WP"}


class HiokiPW3390(ScpiInstrument):
    """power_analyser role: (name, address, *, wiring, voltage_range, current_range)."""

    role: ClassVar[str] = "power_analyser"
    quantities: ClassVar[dict[str, str]] = {}  # per element and Σ: a station maps them
    read_termination: ClassVar[str] = "\r\n"
    write_termination: ClassVar[str] = "\r\n"
    errors: ClassVar[EventStatus] = EventStatus()

    def __init__(
        self,
        name: str,
        address: str,
        *,
        wiring: str = "1P2W",
        voltage_range: float | None = None,
        current_range: float | None = None,
        timeout_s: float = 2.0,
        visa_library: str = "@py",
    ) -> None:
        super().__init__(name, address, timeout_s=timeout_s, visa_library=visa_library)
        # only the channels the wiring uses are measured (1P2W: channel 1)
        wired = plan(wiring, (1, 2, 3, 4), 2, "PW3390")
        used = sum(WIRING_ELEMENTS[c] for c in wired.systems)
        self.layout = plan(wiring, tuple(range(1, used + 1)), 2, "PW3390")
        self.voltage_range = checked_range(voltage_range, VOLTAGE_RANGES, "voltage", "PW3390")
        self.current_range = checked_range(current_range, None, "current", "PW3390")
        self.items = self.layout.items(
            element_quantities=[*_TOKENS, "Urange", "Irange"], sigma_quantities=list(_TOKENS)
        )
        self._measured = [i for i in self.items if i.quantity in _TOKENS]
        self._ranges = [i for i in self.items if i.quantity in ("Urange", "Irange")]

    def channels(self) -> dict[str, str]:
        return {i.channel: i.unit for i in self.items}

    def _token(self, item: Item) -> str:
        where = (
            "".join(str(e) for e in self.layout.groups[item.group])
            if item.element is None
            else str(item.element)
        )
        return f"{_TOKENS[item.quantity]}{where}"

    def setup_commands(self) -> Sequence[str]:
        commands = ["*CLS", ":HEADer OFF"]
        for e in self.layout.elements:
            for word, value in (("VOLTage", self.voltage_range), ("CURRent", self.current_range)):
                commands.append(
                    f":{word}{e}:AUTO ON" if value is None else f":{word}{e}:RANGe {value:g}"
                )
        return commands

    def exchange_read(self, s: LineSession) -> dict[str, Reading]:
        query = ":MEASure? " + ",".join(self._token(i) for i in self._measured)
        reply = s.query(query)
        tokens = self.split_values(s, reply, len(self._measured), ":MEASure?")
        found = self.decode_all(
            s, tokens, [i.unit for i in self._measured], [i.channel for i in self._measured], reply
        )
        words = {"Urange": "VOLTage", "Irange": "CURRent"}
        range_query = ";".join(f":{words[i.quantity]}{i.element}:RANGe?" for i in self._ranges)
        reply = s.query(range_query)
        tokens = self.split_values(s, reply, len(self._ranges), "ranges", separator=";")
        found |= self.decode_all(
            s, tokens, [i.unit for i in self._ranges], [i.channel for i in self._ranges], reply
        )
        return {i.channel: found[i.channel] for i in self.items}

    async def integration_start(self) -> None:
        await self.send(":INTEGrate:STARt")

    async def integration_stop(self) -> None:
        await self.send(":INTEGrate:STOP")

    async def integration_reset(self) -> None:
        await self.send(":INTEGrate:RESet")

    async def set_update_rate(self, seconds: float) -> None:
        raise self.session.error(
            WriteRefused, "the PW3390 refreshes at a fixed rate; nothing to set"
        )
