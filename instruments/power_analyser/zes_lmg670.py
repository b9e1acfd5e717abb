"""ZES ZIMMER LMG670 over its native TCP port 5025, in the SHORT command language (§1.5).

Set-up after cuveland/lmgtools (docs/protocols.md §1.5): `*zlang short`, then per channel
`iauto<c> 0;uauto<c> 0;irng<c> <A>;urng<c> <V>` for fixed ranges (or `iauto<c> 1;uauto<c> 1`
for auto), and one line of queries `utrms1?;itrms1?;p1?;…` per read, answered `;`-separated.
The ranges in use are queried in the same line (`urng<c>?`, `irng<c>?`).

Not in this driver: energy integration and Σ values. The LMG has both, but their SHORT
commands were not in the sources at hand; `integration_*` is refused with that reason, so a
plan that needs Wh from this analyser fails loudly at its first integration step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from instruments.base import Reading, WriteRefused
from instruments.power_analyser.layout import checked_range, plan
from instruments.transport.scpi import EventStatus, ScpiInstrument
from instruments.transport.session import LineSession

_TOKENS = {
    "U": "utrms", "I": "itrms", "P": "p", "S": "s", "Q": "q", "PF": "pf", "F": "fcyc",
    "Urange": "urng", "Irange": "irng",
}  # fmt: skip
CYCLE_S = (0.05, 60.0)


class ZesLMG670(ScpiInstrument):
    """power_analyser role: (name, address, *, channels, voltage_range, current_range)."""

    role: ClassVar[str] = "power_analyser"
    quantities: ClassVar[dict[str, str]] = {}  # per element and Σ: a station maps them
    errors: ClassVar[EventStatus] = EventStatus()

    def __init__(
        self,
        name: str,
        address: str,
        *,
        channels: int = 1,
        voltage_range: float | None = None,
        current_range: float | None = None,
        timeout_s: float = 2.0,
        visa_library: str = "@py",
    ) -> None:
        super().__init__(name, address, timeout_s=timeout_s, visa_library=visa_library)
        if not 1 <= channels <= 7:
            raise ValueError("LMG670: channels must be 1..7")
        layout = plan(",".join(["1P2W"] * channels), tuple(range(1, channels + 1)), 0, "LMG670")
        self.voltage_range = checked_range(voltage_range, None, "voltage", "LMG670")
        self.current_range = checked_range(current_range, None, "current", "LMG670")
        self.items = layout.items(element_quantities=list(_TOKENS))
        self.query_line = ";".join(f"{_TOKENS[i.quantity]}{i.element}?" for i in self.items)

    def channels(self) -> dict[str, str]:
        return {i.channel: i.unit for i in self.items}

    def setup_commands(self) -> Sequence[str]:
        commands = ["*cls", "*zlang short"]
        for c in sorted({i.element for i in self.items if i.element is not None}):
            if self.voltage_range is None and self.current_range is None:
                commands.append(f"iauto{c} 1;uauto{c} 1")
                continue
            parts = []
            if self.current_range is not None:
                parts += [f"iauto{c} 0", f"irng{c} {self.current_range:g}"]
            if self.voltage_range is not None:
                parts += [f"uauto{c} 0", f"urng{c} {self.voltage_range:g}"]
            commands.append(";".join(parts))
        return commands

    def exchange_read(self, s: LineSession) -> dict[str, Reading]:
        reply = s.query(self.query_line)
        tokens = self.split_values(s, reply, len(self.items), "values", separator=";")
        return self.decode_all(
            s, tokens, [i.unit for i in self.items], [i.channel for i in self.items], reply
        )

    async def _not_here(self) -> None:
        raise self.session.error(
            WriteRefused, "energy integration is not in this LMG670 driver (docs/protocols.md §1.5)"
        )

    async def integration_start(self) -> None:
        await self._not_here()

    async def integration_stop(self) -> None:
        await self._not_here()

    async def integration_reset(self) -> None:
        await self._not_here()

    async def set_update_rate(self, seconds: float) -> None:
        if not CYCLE_S[0] <= seconds <= CYCLE_S[1]:
            raise self.session.error(WriteRefused, f"cycle time {seconds!r} s: 0.05 to 60 s")
        await self.send(f"CYCL {seconds:g}")
