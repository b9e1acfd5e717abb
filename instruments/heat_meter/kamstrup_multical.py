"""Kamstrup MULTICAL with its Modbus module: flow, power and temperatures (map `kamstrup_multical`).

An independent capacity cross-check beside the bench's own calculation (docs/protocols.md
§4.1). The float "invalid" pattern 0x4F800000 reads INVALID; the meter is read only.
"""

from __future__ import annotations

from typing import ClassVar

from instruments.modbus.client import ModbusMapInstrument


class KamstrupMultical(ModbusMapInstrument):
    """heat_meter role: (name, address, *, map, device_id, timeout_s)."""

    role: ClassVar[str] = "heat_meter"
    default_map: ClassVar[str] = "kamstrup_multical"
