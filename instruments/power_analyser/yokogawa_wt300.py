"""Yokogawa WT310E (WT300E family, one element) over VISA, in the `power_analyser` role.

The command set is the one yoko-tool drives the WT310 with (docs/protocols.md §1.1); the sentinels
are the vendor's (§1.2). The address is any VISA resource string, so the same driver serves a
raw socket (`TCPIP::host::port::SOCKET`, also the simulator), USB-TMC, serial and VXI-11.

The WT310E is the one-element model of the WT family class (`YokogawaWT`): the same setup
without a wiring command, and channels named `U`, `P`, ... without an element number. The
voltage and current ranges are fixed from the station's options (`voltage_range`,
`current_range`) or left on auto, and read back with every read as the `URAN` / `IRAN` items
(channels `Urange`, `Irange`), so each point's uncertainty uses the range it was measured on
(docs/decisions/0132). Session, lock and reconnect are the shared line session's
(instruments/transport/session.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from instruments.power_analyser.layout import PER_ELEMENT
from instruments.power_analyser.yokogawa_wt import INTEGRATION_STATES, WT_MODELS, YokogawaWT
from instruments.transport.scpi import decode_number

__all__ = ["CHANNELS", "INTEGRATION_STATES", "PLAUSIBLE", "YokogawaWT300", "decode_value"]

decode_value = decode_number  # the WT's ASCII numbers and sentinels (§1.2)


@dataclass(frozen=True)
class Channel:
    name: str  # ours, as the run engine and the result files name it
    function: str  # the WT numeric item it is read from (element 1)
    unit: str


CHANNELS: tuple[Channel, ...] = tuple(
    Channel(q, WT_MODELS["WT310E"].functions[q], unit) for q, unit in PER_ELEMENT
)
"""The WT310E's numeric items in read order."""

# What a WT300E can show at all, generously above its largest ranges (600 V, 40 A on the
# WT310EH): anything beyond is a corrupted reply (instruments/plausibility.py).
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "U": (0.0, 1000.0),
    "I": (0.0, 60.0),
    "P": (-60000.0, 60000.0),
    "S": (0.0, 60000.0),
    "Q": (-60000.0, 60000.0),
    "PF": (-1.0, 1.0),
    "F": (0.0, 1000.0),
}


class YokogawaWT300(YokogawaWT):
    """power_analyser role: (name, address, *, voltage_range, current_range)."""

    spec = WT_MODELS["WT310E"]
    PLAUSIBLE: ClassVar[dict[str, tuple[float, float]]] = PLAUSIBLE
    quantities: ClassVar[dict[str, str]] = {
        "electrical.power_w": "P",
        "electrical.voltage_v": "U",
        "electrical.u_range_v": "Urange",
        "electrical.i_range_a": "Irange",
    }

    def __init__(
        self,
        name: str,
        address: str,
        *,
        voltage_range: float | None = None,
        current_range: float | None = None,
        timeout_s: float = 2.0,
        visa_library: str = "@py",
    ) -> None:
        super().__init__(
            name,
            address,
            voltage_range=voltage_range,
            current_range=current_range,
            timeout_s=timeout_s,
            visa_library=visa_library,
        )
