"""Yokogawa multi-element power analysers: WT332E / WT333E and WT1800E / WT5000, one class.

The models differ only in data (`WtModel`): elements, Σ groups, function names, update rates
and ranges. They share the numeric-item command group of the WT family (docs/protocols.md
§1.1, §1.3): `:NUM:NORM:ITEM<n> <function>,<element>` once at setup, then one
`:NUM:NORM:VAL?` per read, ASCII, with `NAN` (no data) and `INF` (over-range) as sentinels
(§1.2) -> INVALID readings. Ranges are fixed from the station (`voltage_range`,
`current_range`) or auto, and are read back on every read (URANge / IRANge items) so each
point records the range it was measured on.

Wiring units are adjacent elements, assigned ΣA, ΣB, ΣC in ascending order (WT1800 user's
manual IM WT1801-01EN, "Wiring System Settings"; the WT333E's 3P4W / 3V3A use elements 1-3,
IM WT310E-02EN §2.11). Not checked against the communication manuals (IM WT310E-17EN /
IM WT1801-17EN): the range, wiring and integration commands are the short forms shared with
the WT310 (`:INP:VOLT:RANG`, `:INP:WIR`, `:INTEG:STAR`), and which two elements the WT332E /
WT333E use for 3P3W (taken here as the first two).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from instruments.base import ProtocolError, Reading, WriteRefused
from instruments.power_analyser.layout import Item, checked_range, plan
from instruments.transport.scpi import ErrorQueue, ScpiInstrument
from instruments.transport.session import LineSession

_WT300E_FUNCTIONS = {
    "U": "U", "I": "I", "P": "P", "S": "S", "Q": "Q", "PF": "LAMB", "F": "FU", "WH": "WH",
    "Urange": "URAN", "Irange": "IRAN",
}  # fmt: skip
# WT1800/WT3000 name the RMS values separately and call watt-hours WP (§1.3)
_WT1800_FUNCTIONS = {**_WT300E_FUNCTIONS, "U": "URMS", "I": "IRMS", "WH": "WP"}
_WT1800_RATES = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
_WT1800_VOLTS = (1.5, 3.0, 6.0, 10.0, 15.0, 30.0, 60.0, 100.0, 150.0, 300.0, 600.0, 1000.0)
_WT1800_AMPS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)


@dataclass(frozen=True)
class WtModel:
    model: str
    elements: tuple[int, ...]
    max_groups: int  # Σ groups (SIGMA, SIGMB, SIGMC)
    functions: Mapping[str, str]
    rates_s: tuple[float, ...]
    voltage_ranges: tuple[float, ...]
    current_ranges: tuple[float, ...]
    preamble: tuple[str, ...] = ()


WT_MODELS: dict[str, WtModel] = {
    m.model: m
    for m in (
        WtModel(
            "WT332E", (1, 2), 1, _WT300E_FUNCTIONS, (0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
            (15.0, 30.0, 60.0, 150.0, 300.0, 600.0), (0.5, 1.0, 2.0, 5.0, 10.0, 20.0),
            (":SYST:COMM:COMM WT300",),
        ),
        WtModel(
            "WT333E", (1, 2, 3), 1, _WT300E_FUNCTIONS, (0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
            (15.0, 30.0, 60.0, 150.0, 300.0, 600.0), (0.5, 1.0, 2.0, 5.0, 10.0, 20.0),
            (":SYST:COMM:COMM WT300",),
        ),
        WtModel(
            "WT310E", (1,), 0, _WT300E_FUNCTIONS, (0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
            (15.0, 30.0, 60.0, 150.0, 300.0, 600.0), (0.5, 1.0, 2.0, 5.0, 10.0, 20.0),
            (":SYST:COMM:COMM WT300",),
        ),
        WtModel("WT1800E", (1, 2, 3, 4, 5, 6), 3, _WT1800_FUNCTIONS, _WT1800_RATES,
                _WT1800_VOLTS, _WT1800_AMPS),
        WtModel("WT5000", (1, 2, 3, 4, 5, 6, 7), 3, _WT1800_FUNCTIONS, _WT1800_RATES,
                _WT1800_VOLTS, _WT1800_AMPS),
    )
}  # fmt: skip

INTEGRATION_STATES: dict[str, str] = {
    # :INTEG:STAT? answers in short or long form depending on :COMM:VERB
    "RES": "reset",
    "RESET": "reset",
    "STAR": "start",
    "START": "start",
    "STOP": "stop",
    "TIM": "timeup",
    "TIMEUP": "timeup",
    "ERR": "error",
    "ERROR": "error",
}
_WIRING_CODES = {"1P2W": "P1W2", "1P3W": "P1W3", "3P3W": "P3W3", "3P4W": "P3W4", "3V3A": "V3A3"}
_SIGMA_TOKENS = ("SIGMA", "SIGMB", "SIGMC")


class YokogawaWT(ScpiInstrument):
    """power_analyser role: (name, address, *, wiring, elements, voltage_range, current_range)."""

    role: ClassVar[str] = "power_analyser"
    quantities: ClassVar[dict[str, str]] = {}  # per element and Σ: a station maps them
    spec: ClassVar[WtModel] = WT_MODELS["WT333E"]
    errors: ClassVar[ErrorQueue] = ErrorQueue(":STAT:ERR?")

    def __init__(
        self,
        name: str,
        address: str,
        *,
        wiring: str = "1P2W",
        elements: int | None = None,
        voltage_range: float | None = None,
        current_range: float | None = None,
        timeout_s: float = 2.0,
        visa_library: str = "@py",
    ) -> None:
        super().__init__(name, address, timeout_s=timeout_s, visa_library=visa_library)
        spec = self.spec
        fitted = spec.elements if elements is None else spec.elements[:elements]
        if not fitted or (elements is not None and elements > len(spec.elements)):
            raise ValueError(f"{spec.model}: elements must be 1..{len(spec.elements)}")
        self.layout = plan(wiring, fitted, spec.max_groups, spec.model)
        self.voltage_range = checked_range(
            voltage_range, spec.voltage_ranges, "voltage", spec.model
        )
        self.current_range = checked_range(
            current_range, spec.current_ranges, "current", spec.model
        )
        self.items: list[Item] = self.layout.items()
        if len(spec.elements) == 1:  # WT310E: nothing to tell apart, channels are `U`, `P`, ...
            self.items = [replace(i, channel=i.quantity) for i in self.items]

    def channels(self) -> dict[str, str]:
        return {i.channel: i.unit for i in self.items}

    def _token(self, item: Item) -> str:
        element = _SIGMA_TOKENS[item.group] if item.element is None else str(item.element)
        return f"{self.spec.functions[item.quantity]},{element}"

    def setup_commands(self) -> Sequence[str]:
        wiring = ",".join(_WIRING_CODES[c] for c in self.layout.systems)
        single = len(self.spec.elements) == 1  # the WT310E has no wiring to choose
        return (
            "\n*CLS",  # the leading LF ends any half-received command (§1.1)
            *self.spec.preamble,
            ":COMM:REM ON",
            ":COMM:HEAD OFF",
            ":NUM:FORM ASCII",
            *(() if single else (f":INP:WIR {wiring}",)),
            ":INP:VOLT:AUTO ON" if self.voltage_range is None
            else f":INP:VOLT:RANG {self.voltage_range:g}",
            ":INP:CURR:AUTO ON" if self.current_range is None
            else f":INP:CURR:RANG {self.current_range:g}",
            f":NUM:NORM:NUM {len(self.items)}",
            *(f":NUM:NORM:ITEM{n} {self._token(i)}" for n, i in enumerate(self.items, 1)),
        )  # fmt: skip

    def exchange_read(self, s: LineSession) -> dict[str, Reading]:
        reply = s.query(":NUM:NORM:VAL?")
        tokens = self.split_values(s, reply, len(self.items), ":NUM:NORM:VAL?")
        return self.decode_all(
            s, tokens, [i.unit for i in self.items], [i.channel for i in self.items], reply
        )

    async def integration_start(self) -> None:
        await self.send(":INTEG:STAR")

    async def integration_stop(self) -> None:
        await self.send(":INTEG:STOP")

    async def integration_reset(self) -> None:
        """Refused by the instrument while integration runs: stop first."""
        await self.send(":INTEG:RES")

    async def integration_state(self) -> str:
        """`reset`, `start`, `stop`, `timeup` or `error`."""

        def exchange(s: LineSession) -> str:
            reply = s.query(":INTEG:STAT?")
            state = INTEGRATION_STATES.get(reply.upper())
            if state is None:
                raise s.error(ProtocolError, f":INTEG:STAT? answered {reply!r}")
            return state

        return await self.session.call(exchange)

    async def set_update_rate(self, seconds: float) -> None:
        """The WT takes only a few update intervals; anything else is refused before the wire."""
        rate = next((r for r in self.spec.rates_s if math.isclose(r, seconds)), None)
        if rate is None:
            allowed = ", ".join(f"{r:g}" for r in self.spec.rates_s)
            raise self.session.error(
                WriteRefused, f"update rate {seconds!r} s is not one of {allowed} s"
            )
        await self.send(f":RATE {rate:g}")


class YokogawaWT332E(YokogawaWT):
    spec = WT_MODELS["WT332E"]


class YokogawaWT333E(YokogawaWT):
    spec = WT_MODELS["WT333E"]


class YokogawaWT1800E(YokogawaWT):
    spec = WT_MODELS["WT1800E"]


class YokogawaWT5000(YokogawaWT):
    spec = WT_MODELS["WT5000"]
