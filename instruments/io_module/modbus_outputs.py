"""A Modbus digital-output module driving the unit's SG-Ready contacts (map `moxa_iologik_e1211`).

SG-Ready is two potential-free contacts into the heat pump; their pattern is one of four
states (docs/protocols.md §3.3). `set_sg_ready(state)` writes both outputs and reads them back:
the command counts only when the module reports exactly the pattern asked for (safety is
confirmed, not assumed). Outputs are switched off before on, so the pattern in between never
has more contacts closed than the states on either side: a change 3 -> 1 passes through 2
(normal), never through 4 (forced on).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from instruments.base import Reading, WriteRefused
from instruments.modbus.client import ModbusMapInstrument
from instruments.modbus.regmap import RegisterMap

# state -> (contact 1, contact 2), docs/protocols.md §3.3
SG_READY: dict[int, tuple[int, int]] = {1: (1, 0), 2: (0, 0), 3: (0, 1), 4: (1, 1)}
SG_STATE_OF: dict[tuple[int, int], int] = {bits: state for state, bits in SG_READY.items()}
SG_READY_CHANNEL = "sg_ready_state"


class ModbusDigitalOutputs(ModbusMapInstrument):
    """io_module role: (name, address, *, map, device_id, timeout_s, sg_ready_outputs).

    `sg_ready_outputs`: the two outputs wired to the unit's SG-Ready contacts 1 and 2, as
    channel names of the map (default `do0`, `do1`)."""

    role: ClassVar[str] = "io_module"
    default_map: ClassVar[str] = "moxa_iologik_e1211"

    def __init__(
        self,
        name: str,
        address: str,
        *,
        map: str | Path | RegisterMap | None = None,
        device_id: int = 1,
        timeout_s: float = 2.0,
        sg_ready_outputs: Sequence[str] = ("do0", "do1"),
    ) -> None:
        super().__init__(name, address, map=map, device_id=device_id, timeout_s=timeout_s)
        outputs = tuple(sg_ready_outputs) if not isinstance(sg_ready_outputs, str) else ()
        if len(outputs) != 2 or outputs[0] == outputs[1]:
            raise ValueError(
                f"{name}: sg_ready_outputs must name two different outputs (contact 1, "
                f"contact 2), not {sg_ready_outputs!r}"
            )
        for output in outputs:
            reg = self.regmap.get(output) if isinstance(output, str) else None
            if reg is None or reg.table != "coil" or not reg.writable or not reg.poll:
                coils = [r.name for r in self.regmap.writable if r.table == "coil" and r.poll]
                raise ValueError(
                    f"{name}: sg_ready_outputs: {output!r} is not a polled writable coil of "
                    f"{self.regmap.path} (one of {', '.join(coils) or 'none'})"
                )
        self.sg_ready_outputs: tuple[str, str] = (outputs[0], outputs[1])

    def channels(self) -> dict[str, str]:
        return {**self.regmap.channels(), SG_READY_CHANNEL: ""}

    async def read(self) -> dict[str, Reading]:
        """Every output, and the SG-Ready state (1-4) their two contacts make."""
        readings = await self.client.read()
        readings[SG_READY_CHANNEL] = self._sg_state(readings)
        return readings

    def _sg_state(self, readings: dict[str, Reading]) -> Reading:
        """A coil always decodes to 0 or 1 (a failed read raises), so the state is known."""
        c1, c2 = (int(readings[o].value or 0) for o in self.sg_ready_outputs)
        return Reading.ok(float(SG_STATE_OF[(c1, c2)]), "")

    async def set_sg_ready(self, state: int) -> None:
        """Switch the contacts to SG-Ready `state` (1 blocked, 2 normal, 3 recommended on,
        4 forced on) and confirm it by reading both outputs back.

        Raises `WriteRefused` before the wire for a state outside 1-4, and when the read-back
        differs; an `InstrumentError` when the module cannot be written or read (the contacts
        may then be in any pattern: the caller retries or goes to its safe state)."""
        if isinstance(state, bool) or state not in SG_READY:
            raise WriteRefused(
                f"SG-Ready state {state!r}: one of 1 (blocked), 2 (normal), "
                "3 (recommended on), 4 (forced on)",
                instrument=self.name,
                address=self.address,
            )
        wanted = dict(zip(self.sg_ready_outputs, SG_READY[state], strict=True))
        for output, on in sorted(wanted.items(), key=lambda item: item[1]):  # off before on
            await self.client.write(output, float(on))
        readings = await self.client.read()
        got = {o: readings[o].value for o in self.sg_ready_outputs}
        if any(value != wanted[o] for o, value in got.items()):
            shown = ", ".join(f"{o} = {value:g}" for o, value in got.items() if value is not None)
            raise WriteRefused(
                f"SG-Ready state {state} not confirmed: the outputs read back {shown}, "
                f"not {', '.join(f'{o} = {v}' for o, v in wanted.items())}",
                instrument=self.name,
                address=self.address,
            )
