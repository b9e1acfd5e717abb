"""Modbus register maps as data: one TOML file per device model, validated on load.

A map names every register a driver may touch: its table, address, type, scale, word order,
unit, access, valid range and "not available" sentinels. The generic client
(`instruments.modbus.client`) reads and writes any device through its map, and the simulators
(`instruments.sim.modbus_servers`) build their register space from the same files, so a map is
written once and exercised both ways.

File layout (see `instruments/maps/*.toml` for complete examples)::

    make = "Stiebel Eltron"             # required
    model = "WPM (ISG web)"              # required
    source = "where the numbers come from"   # required: a citation, not decoration
    addressing_base = 1                  # 0: addresses are wire (PDU) addresses;
                                         # 1: documentation numbers, wire = number - 1
    word_order = "big"                   # default for 32-bit registers: big = high word first
    max_read_gap = 4                     # unused registers one block read may span
    max_read_count = 125                 # registers per block read (the Modbus limit is 125)

    [sentinels]                          # raw patterns meaning "not available", per type
    int16 = [0x8000]                     # (float32 NaN/inf is always invalid)

    [identity]                           # optional: channels holding the serial / firmware
    serial = "serial_number"

    [commands]                           # what the role driver writes for its set_* calls
    running = { channel = "on_off", on = 1, off = 0 }
    flow_temperature = { channel = "flow_temp_sp" }

    [quantities]                         # what the bench may use: quantity = polled channel
    hp.defrost = "defrost"               # (names and units: bench/channels.py, the contract)

    [[register]]
    name = "flow_temp_sp"                # the channel name: lower_snake_case, unique
    table = "holding"                    # holding | input | coil | discrete
    address = 2                          # in the map's addressing base
    type = "int16"                       # int16 uint16 int32 uint32 float32 bool
    scale = 0.1                          # value = raw * scale
    unit = "°C"
    access = "rw"                        # r | rw; rw needs min and max
    min = 20.0
    max = 65.0
    # optional: word_order, sentinel = [...] (overrides [sentinels]; [] = none), bit (0..15,
    # for a bool inside a holding/input register), enum = { 1 = "heating" }, description,
    # poll = false (not part of a routine read; still readable by name)

Every problem found is reported, each naming the file, the entry and the field, e.g.
``maps/x.toml: register 'flow_temp_sp': address: overlaps register 'mode' (holding 1)``.
"""

from __future__ import annotations

import math
import re
import struct
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from instruments.base import Reading

MAPS_DIR = Path(__file__).resolve().parent.parent / "maps"

Table = Literal["holding", "input", "coil", "discrete"]
RegType = Literal["int16", "uint16", "int32", "uint32", "float32", "bool"]
WordOrder = Literal["big", "little"]

TABLES: tuple[str, ...] = ("holding", "input", "coil", "discrete")
BIT_TABLES = frozenset({"coil", "discrete"})
WIDTH: dict[str, int] = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "bool": 1,
}
_INT_LIMITS: dict[str, tuple[int, int]] = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "bool": (0, 1),
}
MAX_BITS_PER_READ = 2000  # Modbus limit for FC1/FC2
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")
_QUANTITY = re.compile(r"^[a-z]+\.[a-z][a-z0-9_]*$")  # group.name, e.g. hp.defrost


class RegisterMapError(ValueError):
    """A map file that cannot be used; `problems` lists every finding, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class RangeError(ValueError):
    """A value that the register cannot take (outside its range, type or enum)."""


# -- the file format (pydantic: field checks and unknown-key detection) -------------------------
class _RegisterSpec(BaseModel):
    # allow_inf_nan: `min = nan` would make every range check false, so no bound at all
    model_config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)

    name: str
    table: Table
    address: int = Field(ge=0, le=65536)
    type: RegType
    scale: float = 1.0
    word_order: WordOrder | None = None
    unit: str = ""
    access: Literal["r", "rw"] = "r"
    min: float | None = None
    max: float | None = None
    sentinel: list[int] | None = None
    bit: int | None = Field(default=None, ge=0, le=15)
    enum: dict[int, str] | None = None
    description: str = ""
    poll: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("must be lower_snake_case (a-z, 0-9, _), starting with a letter")
        return v

    @field_validator("scale")
    @classmethod
    def _scale(cls, v: float) -> float:
        if v == 0 or not math.isfinite(v):
            raise ValueError("must be a finite, non-zero number")
        return v

    @field_validator("sentinel")
    @classmethod
    def _sentinel(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(not 0 <= s <= 0xFFFFFFFF for s in v):
            raise ValueError("sentinels are raw register patterns, 0 .. 0xFFFFFFFF")
        return v


class _CommandSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    channel: str
    on: float | None = None
    off: float | None = None


class _HeaderSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    make: str = Field(min_length=1)
    model: str = Field(min_length=1)
    source: str = Field(min_length=1)
    description: str = ""
    addressing_base: Literal[0, 1] = 0
    word_order: WordOrder = "big"
    max_read_gap: int = Field(default=4, ge=0, le=124)
    max_read_count: int = Field(default=125, ge=1, le=125)
    sentinels: dict[Literal["int16", "uint16", "int32", "uint32", "float32"], list[int]] = Field(
        default_factory=dict
    )
    identity: dict[Literal["serial", "firmware"], str] = Field(default_factory=dict)
    commands: dict[str, _CommandSpec] = Field(default_factory=dict)
    # `hp.defrost = "defrost"` is TOML for {"hp": {"defrost": "defrost"}}
    quantities: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("sentinels")
    @classmethod
    def _sentinels(cls, v: dict[str, list[int]]) -> dict[str, list[int]]:
        for kind, values in v.items():
            limit = 0xFFFF if kind in ("int16", "uint16") else 0xFFFFFFFF
            bad = [s for s in values if not 0 <= s <= limit]
            if bad:
                raise ValueError(f"{kind}: {bad} are not raw {kind} patterns (0 .. {limit:#x})")
        return v


# -- the loaded map -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Register:
    """One channel of a map, with its wire address (0-based, as sent in the request PDU)."""

    name: str
    table: str
    address: int  # wire address
    number: int  # as written in the map file (documentation number when addressing_base = 1)
    type: str
    scale: float
    word_order: str
    unit: str
    access: str
    min: float | None
    max: float | None
    sentinels: frozenset[int]
    bit: int | None
    enum: Mapping[int, str] | None
    description: str
    poll: bool

    @property
    def width(self) -> int:
        """Registers (or coils) occupied."""
        return WIDTH[self.type]

    @property
    def end(self) -> int:
        return self.address + self.width

    @property
    def writable(self) -> bool:
        return self.access == "rw"


@dataclass(frozen=True, slots=True)
class Command:
    """What a role driver writes for one of its set_* calls."""

    channel: str
    on: float | None = None
    off: float | None = None


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One block read: `count` registers (or bits) from `address` in `table`."""

    table: str
    address: int
    count: int
    registers: tuple[Register, ...]


@dataclass(frozen=True)
class RegisterMap:
    path: str  # as shown in messages
    make: str
    model: str
    source: str
    description: str
    addressing_base: int
    word_order: str
    max_read_gap: int
    max_read_count: int
    registers: tuple[Register, ...]
    commands: Mapping[str, Command] = field(default_factory=dict)
    identity: Mapping[str, str] = field(default_factory=dict)
    _by_name: dict[str, Register] = field(init=False, repr=False, compare=False)
    quantities: Mapping[str, str] = field(default_factory=dict)  # quantity -> polled channel

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {r.name: r for r in self.registers})

    def __getitem__(self, name: str) -> Register:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Register | None:
        return self._by_name.get(name)

    @property
    def polled(self) -> tuple[Register, ...]:
        return tuple(r for r in self.registers if r.poll)

    @property
    def writable(self) -> tuple[Register, ...]:
        return tuple(r for r in self.registers if r.writable)

    def channels(self) -> dict[str, str]:
        """Polled channel name -> unit, in map order."""
        return {r.name: r.unit for r in self.polled}

    def read_plan(self, registers: Iterable[Register] | None = None) -> list[ReadBlock]:
        """The fewest block reads covering `registers` (default: the polled ones)."""
        regs = self.polled if registers is None else tuple(registers)
        return plan_reads(regs, max_gap=self.max_read_gap, max_count=self.max_read_count)


# -- loading ------------------------------------------------------------------------------------
def map_path(name_or_path: str | Path) -> tuple[Path, str]:
    """Resolve a bundled map name (`hpbench_hm`) or a path; returns (path, display name)."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or text.endswith(".toml"):
        return Path(text), text
    path = MAPS_DIR / f"{text}.toml"
    return path, f"instruments/maps/{text}.toml"


def available_maps() -> list[str]:
    return sorted(p.stem for p in MAPS_DIR.glob("*.toml"))


def load_map(name_or_path: str | Path) -> RegisterMap:
    """Load and validate a map; raises `RegisterMapError` listing every problem found."""
    path, shown = map_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = ", ".join(available_maps()) or "none"
        raise RegisterMapError([f"{shown}: no such register map (bundled maps: {known})"]) from None
    except UnicodeDecodeError:
        raise RegisterMapError([f"{shown}: not a text file (UTF-8 expected)"]) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        reason = getattr(exc, "strerror", None) or exc
        raise RegisterMapError([f"{shown}: cannot read: {reason}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegisterMapError([f"{shown}: not valid TOML: {exc}"]) from None
    except RecursionError:  # tomllib recurses once per level of nested arrays / tables
        raise RegisterMapError([f"{shown}: not valid TOML: nested too deeply"]) from None
    return parse_map(data, shown)


def _shown(value: object, limit: int = 60) -> str:
    """A value from the file as a message quotes it: repr'd (control characters escaped) and
    cut short, so one bad value cannot make the message unreadable."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


def _part(value: object) -> str:
    """A key from the file as part of a field path: as written when it is a plain name."""
    text = str(value)
    return text if _PLAIN_KEY.match(text) else _shown(text)


def _quoted(value: object) -> str:
    """A name from the file in quotes: 'flow_sp', or its repr when it is not plain text."""
    return f"'{value}'" if isinstance(value, str) and _PLAIN_KEY.match(value) else _shown(value)


def _fmt_errors(prefix: str, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(_part(p) for p in err["loc"]) or "(entry)"
        msg = err["msg"]
        if err["type"] not in ("missing", "extra_forbidden") and isinstance(
            err.get("input"), str | int | float | bool
        ):
            msg = f"{msg} (got {_shown(err['input'])})"
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append(f"{prefix}: {loc}: {msg}")
    return out


def parse_map(data: Mapping[str, Any], shown: str) -> RegisterMap:
    """Validate the parsed TOML of a map; `shown` names the file in messages."""
    problems: list[str] = []
    entries = data.get("register", [])
    header_data = {k: v for k, v in data.items() if k != "register"}
    header: _HeaderSpec | None = None
    try:
        header = _HeaderSpec.model_validate(header_data)
    except ValidationError as exc:
        problems += _fmt_errors(f"{shown}: header", exc)
    if not isinstance(entries, list) or not entries:
        problems.append(f"{shown}: no [[register]] entries")
        entries = []

    base = header.addressing_base if header else 0
    default_order = header.word_order if header else "big"
    default_sentinels = header.sentinels if header else {}

    registers: list[Register] = []
    seen: set[str] = set()
    for i, raw in enumerate(entries, start=1):
        label = raw.get("name") if isinstance(raw, dict) else None
        where = f"{shown}: register {_quoted(label)}" if label else f"{shown}: register #{i}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: not a table")
            continue
        try:
            spec = _RegisterSpec.model_validate(raw)
        except ValidationError as exc:
            problems += _fmt_errors(where, exc)
            continue
        found = _check_entry(spec, base, where)
        if spec.name in seen:
            found.append(f"{where}: name: duplicate channel name")
        seen.add(spec.name)
        problems += found
        if found:
            continue
        width = WIDTH[spec.type]
        if spec.sentinel is not None:
            sentinels = frozenset(spec.sentinel)
        elif spec.type == "bool":
            sentinels = frozenset()
        else:
            sentinels = frozenset(default_sentinels.get(spec.type, []))
        too_wide = [s for s in sentinels if s >= 1 << (16 * width)]
        if too_wide:
            problems.append(
                f"{where}: sentinel: {', '.join(hex(s) for s in too_wide)} does not fit "
                f"{spec.type} ({width} register{'s' if width > 1 else ''})"
            )
            continue
        registers.append(
            Register(
                name=spec.name,
                table=spec.table,
                address=spec.address - base,
                number=spec.address,
                type=spec.type,
                scale=spec.scale,
                word_order=spec.word_order or default_order,
                unit=spec.unit,
                access=spec.access,
                min=spec.min,
                max=spec.max,
                sentinels=sentinels,
                bit=spec.bit,
                enum=dict(spec.enum) if spec.enum else None,
                description=spec.description,
                poll=spec.poll,
            )
        )

    problems += _check_overlaps(registers, shown)
    by_name = {r.name: r for r in registers}
    commands: dict[str, Command] = {}
    identity: dict[str, str] = {}
    if header is not None:
        for cmd_name, cmd in header.commands.items():
            where = f"{shown}: commands.{_part(cmd_name)}: channel"
            reg = by_name.get(cmd.channel)
            if reg is None:
                if cmd.channel not in seen:
                    problems.append(f"{where}: no register named {_quoted(cmd.channel)}")
                continue
            if not reg.writable:
                problems.append(f"{where}: register {_quoted(cmd.channel)} is read-only")
                continue
            for which in ("on", "off"):
                value = getattr(cmd, which)
                if value is not None:
                    try:
                        encode(reg, value)
                    except RangeError as exc:
                        problems.append(f"{shown}: commands.{_part(cmd_name)}: {which}: {exc}")
            commands[cmd_name] = Command(cmd.channel, cmd.on, cmd.off)
        for key, channel in header.identity.items():
            if channel not in by_name and channel not in seen:
                problems.append(f"{shown}: identity.{key}: no register named {_quoted(channel)}")
            identity[key] = channel
    quantities = _quantities(header, by_name, seen, shown, problems) if header else {}

    if problems:
        raise RegisterMapError(problems)
    assert header is not None
    return RegisterMap(
        path=shown,
        make=header.make,
        model=header.model,
        source=header.source,
        description=header.description,
        addressing_base=header.addressing_base,
        word_order=header.word_order,
        max_read_gap=header.max_read_gap,
        max_read_count=header.max_read_count,
        registers=tuple(registers),
        commands=commands,
        identity=identity,
        quantities=quantities,
    )


def _quantities(
    header: _HeaderSpec,
    by_name: Mapping[str, Register],
    seen: set[str],
    shown: str,
    problems: list[str],
) -> dict[str, str]:
    """The map's `[quantities]`, flattened to `group.name -> channel`. Only the form of a name
    is checked here (instruments never import bench); bench/channels.py checks the names and
    units against the contract. A channel must be polled: only polled channels reach a frame."""
    found: dict[str, str] = {}
    for group, entries in header.quantities.items():
        for name, channel in entries.items():
            quantity = f"{group}.{name}"
            where = f"{shown}: quantities.{_part(quantity)}"
            if not _QUANTITY.match(quantity):
                problems.append(f"{where}: not a quantity name (group.name, lower_snake_case)")
            elif (reg := by_name.get(channel)) is None:
                if channel not in seen:
                    problems.append(f"{where}: no register named {_quoted(channel)}")
            elif not reg.poll:
                problems.append(f"{where}: register {_quoted(channel)} is not polled")
            else:
                found[quantity] = channel
    return found


def _check_entry(spec: _RegisterSpec, base: int, where: str) -> list[str]:
    out: list[str] = []
    width = WIDTH[spec.type]
    wire = spec.address - base
    if wire < 0:
        out.append(
            f"{where}: address: {spec.address} is not a register number in a "
            f"{base}-based map (numbers start at {base})"
        )
    elif wire + width - 1 > 0xFFFF:
        out.append(f"{where}: address: {spec.address} + {width} registers runs past 65535")
    bit_table = spec.table in BIT_TABLES
    if bit_table and spec.type != "bool":
        out.append(f"{where}: type: a {spec.table} holds a bool, not {spec.type}")
    if spec.type == "bool" and not bit_table and spec.bit is None:
        out.append(
            f"{where}: bit: a bool in the {spec.table} table needs `bit` (0..15) "
            "to say which bit of the register it is"
        )
    if spec.bit is not None and spec.type != "bool":
        out.append(f"{where}: bit: only a bool can be a bit of a register, not {spec.type}")
    if spec.bit is not None and bit_table:
        out.append(f"{where}: bit: a {spec.table} is a single bit already")
    if spec.word_order is not None and width != 2:
        out.append(f"{where}: word_order: only 32-bit types have a word order, not {spec.type}")
    if spec.access == "rw":
        if spec.table in ("input", "discrete"):
            out.append(f"{where}: access: {spec.table} registers are read-only by protocol")
        if spec.bit is not None:
            out.append(f"{where}: access: a bit inside a register cannot be written on its own")
        if spec.type != "bool" and (spec.min is None or spec.max is None):
            out.append(f"{where}: min/max: a writable register needs a valid range (min and max)")
    if spec.min is not None and spec.max is not None and spec.min > spec.max:
        out.append(f"{where}: min: {spec.min} is above max {spec.max}")
    if spec.enum and spec.type in ("float32", "bool"):
        out.append(f"{where}: enum: only integer registers can be enumerations")
    if spec.type == "bool" and spec.scale != 1.0:
        out.append(f"{where}: scale: a bool has no scale")
    return out


def _check_overlaps(registers: Sequence[Register], shown: str) -> list[str]:
    out: list[str] = []
    owners: dict[tuple[str, int], list[Register]] = {}
    for reg in registers:
        clash: Register | None = None
        for addr in range(reg.address, reg.end):
            for other in owners.get((reg.table, addr), []):
                both_bits = reg.bit is not None and other.bit is not None
                if not both_bits or reg.bit == other.bit:
                    clash = other
                    break
            if clash:
                break
        if clash is not None:
            span = f"{clash.number}" + (f"..{clash.number + clash.width - 1}" * (clash.width > 1))
            what = f"bit {reg.bit} of " if reg.bit is not None and reg.bit == clash.bit else ""
            out.append(
                f"{shown}: register '{reg.name}': address: overlaps {what}register "
                f"'{clash.name}' ({clash.table} {span})"
            )
            continue
        for addr in range(reg.address, reg.end):
            owners.setdefault((reg.table, addr), []).append(reg)
    return out


# -- read planning ------------------------------------------------------------------------------
def plan_reads(registers: Iterable[Register], *, max_gap: int, max_count: int) -> list[ReadBlock]:
    """Group registers into as few contiguous block reads per table as the limits allow.

    A block may span up to `max_gap` unused addresses between two registers and holds at most
    `max_count` registers (2000 bits for coils and discrete inputs).
    """
    blocks: list[ReadBlock] = []
    by_table: dict[str, list[Register]] = {}
    for reg in registers:
        by_table.setdefault(reg.table, []).append(reg)
    for table in TABLES:
        regs = sorted(by_table.get(table, []), key=lambda r: (r.address, r.bit or 0))
        limit = MAX_BITS_PER_READ if table in BIT_TABLES else max_count
        current: list[Register] = []
        start = end = 0
        for reg in regs:
            if current and reg.address - end <= max_gap and max(end, reg.end) - start <= limit:
                current.append(reg)
                end = max(end, reg.end)
                continue
            if current:
                blocks.append(ReadBlock(table, start, end - start, tuple(current)))
            current, start, end = [reg], reg.address, reg.end
        if current:
            blocks.append(ReadBlock(table, start, end - start, tuple(current)))
    return blocks


# -- codec --------------------------------------------------------------------------------------
def _combine(reg: Register, words: Sequence[int]) -> int:
    if reg.width == 1:
        return int(words[0]) & 0xFFFF
    hi, lo = (words[0], words[1]) if reg.word_order == "big" else (words[1], words[0])
    return ((int(hi) & 0xFFFF) << 16) | (int(lo) & 0xFFFF)


def _split(reg: Register, raw: int) -> list[int]:
    if reg.width == 1:
        return [raw & 0xFFFF]
    hi, lo = (raw >> 16) & 0xFFFF, raw & 0xFFFF
    return [hi, lo] if reg.word_order == "big" else [lo, hi]


def _round_half_away(x: float) -> int:
    """24.25 at 0.1 -> 243, as a device display rounds (Python's round() would give 242)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def _inverse_scale(scale: float) -> int | None:
    """10 for 0.1, 100 for 0.01: divide by it, so 451 reads 45.1 and not 45.100000000000001."""
    if abs(scale) >= 1:
        return None
    inv = 1.0 / scale
    return round(inv) if abs(inv - round(inv)) < 1e-9 * abs(inv) else None


def _shortest_float32(raw: int) -> float:
    """The float32 as the shortest decimal that packs back to the same bits: 1.2, not
    1.2000000476837158 (what a PLC operator typed, and what the set point really is)."""
    packed = raw.to_bytes(4, "big")
    number: float = struct.unpack(">f", packed)[0]
    if not math.isfinite(number):
        return number
    for digits in range(6, 10):
        short = float(f"{number:.{digits}g}")
        if struct.pack(">f", short) == packed:
            return short
    return number


def raw_value(reg: Register, words: Sequence[int]) -> float:
    """The scaled value of raw words, with no sentinel or range judgement (NaN stays NaN)."""
    if reg.table in BIT_TABLES:
        return 1.0 if words[0] else 0.0
    raw = _combine(reg, words)
    if reg.type == "bool":
        return float((raw >> (reg.bit or 0)) & 1)
    if reg.type == "float32":
        number = _shortest_float32(raw)
    elif reg.type in ("int16", "int32"):
        bits = 16 * reg.width
        number = float(raw - (1 << bits) if raw >= 1 << (bits - 1) else raw)
    else:
        number = float(raw)
    if reg.scale == 1.0:
        return number
    inv = _inverse_scale(reg.scale)
    return number / inv if inv else number * reg.scale


def decode(reg: Register, words: Sequence[int]) -> Reading:
    """Raw registers (or one coil state) -> Reading; sentinel / NaN / out of range -> INVALID."""
    if reg.table not in BIT_TABLES and reg.type != "bool":
        raw = _combine(reg, words)
        if raw in reg.sentinels:
            pattern = f"0x{raw:0{4 * reg.width}X}"
            return Reading.invalid(reg.unit, f"{reg.name}: not available (sentinel {pattern})")
    value = raw_value(reg, words)
    if not math.isfinite(value):
        return Reading.invalid(reg.unit, f"{reg.name}: not a number ({value})")
    if (reg.min is not None and value < reg.min) or (reg.max is not None and value > reg.max):
        return Reading.invalid(
            reg.unit, f"{reg.name}: {value:g} outside valid range {_range_only(reg)}"
        )
    return Reading.ok(value, reg.unit)


def _range_only(reg: Register) -> str:
    lo = "-inf" if reg.min is None else f"{reg.min:g}"
    hi = "inf" if reg.max is None else f"{reg.max:g}"
    return f"[{lo}, {hi}]"


def _range_text(reg: Register) -> str:
    return f"{_range_only(reg)} {reg.unit}".rstrip()


def encode(reg: Register, value: float, *, check_range: bool = True) -> list[int]:
    """Value -> raw registers; raises RangeError if the register cannot take it.

    With `check_range=False` (simulators publishing a physical value) the map's valid range is
    not enforced and integers are clamped to what the type can hold.
    """
    value = float(value)
    if not math.isfinite(value):
        raise RangeError(f"{reg.name}: {value} is not a finite number")
    if check_range:
        tol = 1e-9 * max(1.0, abs(value))
        if (reg.min is not None and value < reg.min - tol) or (
            reg.max is not None and value > reg.max + tol
        ):
            raise RangeError(f"{reg.name}: {value:g} is outside its valid range {_range_text(reg)}")
    if reg.table in BIT_TABLES or reg.type == "bool":
        if value not in (0.0, 1.0):
            raise RangeError(f"{reg.name}: a bool takes 0 or 1, not {value:g}")
        return [int(value)]
    if reg.type == "float32":
        try:
            packed = struct.pack(">f", value / reg.scale)
        except OverflowError:
            raise RangeError(f"{reg.name}: {value:g} does not fit a float32") from None
        raw = int.from_bytes(packed, "big")
    else:
        inv = _inverse_scale(reg.scale)
        number = _round_half_away(value * inv if inv else value / reg.scale)
        lo, hi = _INT_LIMITS[reg.type]
        if not lo <= number <= hi:
            if check_range:
                raise RangeError(
                    f"{reg.name}: {value:g} does not fit {reg.type} at scale {reg.scale:g}"
                )
            number = min(max(number, lo), hi)
        if check_range and reg.enum is not None and number not in reg.enum:
            allowed = ", ".join(f"{k} ({v})" for k, v in sorted(reg.enum.items()))
            raise RangeError(f"{reg.name}: {value:g} is not one of {allowed}")
        mask = (1 << (16 * reg.width)) - 1
        if not check_range and number & mask in reg.sentinels:
            # a simulator never means "not available" by accident: one count towards zero
            number = number - (1 if number > 0 else -1) if number else 1
        raw = number & mask
    if raw in reg.sentinels:
        if check_range:
            raise RangeError(f"{reg.name}: {value:g} would encode to its not-available sentinel")
        raw = raw - 1 if raw else raw + 1  # float32 pattern: one unit in the last place off
    return _split(reg, raw)


def sentinel_words(reg: Register) -> list[int] | None:
    """The raw words a device sends when the value is not available (None: it has none)."""
    if reg.sentinels:
        return _split(reg, min(reg.sentinels))
    if reg.type == "float32":
        return _split(reg, 0x7FC00000)  # quiet NaN
    return None


# -- documentation ------------------------------------------------------------------------------
_FC = {"input": 4, "holding": 3, "coil": 1, "discrete": 2}


def render_markdown(regmap: RegisterMap) -> str:
    """The map as a Markdown table (docs/register_maps.md embeds these; a test keeps them equal).

    `mbpoll ref` is mbpoll's default 1-based reference (`-r`), i.e. wire address + 1.
    """
    lines = [
        "| channel | table (FC) | wire addr | mbpoll ref | type | scale | unit | access | range "
        "| notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in regmap.registers:
        kind = r.type
        if r.width == 2:
            kind += f" ({'high' if r.word_order == 'big' else 'low'} word first)"
        if r.bit is not None:
            kind += f" bit {r.bit}"
        notes = [r.description] if r.description else []
        if r.sentinels:
            notes.append(
                "n/a = " + ", ".join(f"0x{s:0{4 * r.width}X}" for s in sorted(r.sentinels))
            )
        elif r.type == "float32":
            notes.append("n/a = NaN")
        if r.enum:
            notes.append("; ".join(f"{k} = {v}" for k, v in sorted(r.enum.items())))
        if not r.poll:
            notes.append("not polled")
        rng = "" if r.min is None and r.max is None else _range_only(r)
        table = f"{r.table} ({_FC[r.table]})"
        cells = [
            f"`{r.name}`",
            table,
            str(r.address),
            str(r.address + 1),
            kind,
            "" if r.type == "bool" else f"{r.scale:g}",
            r.unit,
            r.access,
            rng,
            "; ".join(notes).replace("|", "/"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
