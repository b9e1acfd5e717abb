"""Modbus: register maps as data, one generic map client, and the drivers' common body."""

from instruments.modbus.client import (
    ModbusExceptionError,
    ModbusMapClient,
    ModbusMapInstrument,
    ModbusWriteRejected,
    parse_address,
)
from instruments.modbus.regmap import (
    Register,
    RegisterMap,
    RegisterMapError,
    available_maps,
    decode,
    encode,
    load_map,
)

__all__ = [
    "ModbusExceptionError",
    "ModbusMapClient",
    "ModbusMapInstrument",
    "ModbusWriteRejected",
    "Register",
    "RegisterMap",
    "RegisterMapError",
    "available_maps",
    "decode",
    "encode",
    "load_map",
    "parse_address",
]
