"""Register maps: the bundled maps load, broken maps are refused precisely, the codec is exact."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest

from instruments.base import Quality
from instruments.modbus.regmap import (
    RangeError,
    Register,
    RegisterMapError,
    available_maps,
    decode,
    encode,
    load_map,
    plan_reads,
    sentinel_words,
)


def reg(**kw: object) -> Register:
    """A register built directly (codec tests need no file)."""
    base: dict[str, object] = {
        "name": "x",
        "table": "input",
        "address": 0,
        "number": 0,
        "type": "int16",
        "scale": 1.0,
        "word_order": "big",
        "unit": "",
        "access": "r",
        "min": None,
        "max": None,
        "sentinels": frozenset(),
        "bit": None,
        "enum": None,
        "description": "",
        "poll": True,
    }
    base.update(kw)
    return Register(**base)  # type: ignore[arg-type]


# -- bundled maps -------------------------------------------------------------------------------
def test_bundled_maps_load() -> None:
    assert {"hpbench_sim_hp", "hpbench_hm", "stiebel_eltron_wpm"} <= set(available_maps())
    for name in available_maps():
        regmap = load_map(name)
        assert regmap.make and regmap.model and regmap.source
        assert regmap.registers


def test_sim_heat_pump_map_has_what_the_bench_needs() -> None:
    m = load_map("hpbench_sim_hp")
    assert m.channels()["outdoor_temp"] == "°C"
    assert m["flow_temp_sp"].writable and (m["flow_temp_sp"].min, m["flow_temp_sp"].max) == (20, 65)
    assert m["heat_output"].type == "float32" and m["heat_output"].word_order == "big"
    assert m["electrical_energy"].type == "uint32" and m["electrical_energy"].word_order == "little"
    assert m["outdoor_temp"].sentinels == {0x8000}
    assert m.commands["running"].channel == "on_off"
    assert m.commands["flow_temperature"].channel == "flow_temp_sp"
    assert m.identity == {"serial": "serial_number", "firmware": "firmware_version"}
    assert "serial_number" not in m.channels()  # identity registers are not polled


def test_stiebel_map_converts_one_based_documentation_numbers() -> None:
    m = load_map("stiebel_eltron_wpm")
    assert m.addressing_base == 1
    assert (m["outdoor_temp"].number, m["outdoor_temp"].address) == (507, 506)
    assert (m["flow_temp_sp"].number, m["flow_temp_sp"].address) == (1508, 1507)
    assert m["flow_temp_sp"].table == "holding" and (
        m["flow_temp_sp"].min,
        m["flow_temp_sp"].max,
    ) == (20, 70)
    assert m["outdoor_temp"].sentinels == {0x8000}
    assert m["operating_mode"].sentinels == {0x8000}
    assert "pail23/python-stiebel-eltron" in m.source


def test_load_by_path_and_unknown_name(tmp_path: Path) -> None:
    path = tmp_path / "copy.toml"
    path.write_text(_bundled_text("hpbench_hm"))
    assert load_map(path).model == load_map("hpbench_hm").model
    assert load_map(str(path)).path == str(path)
    with pytest.raises(
        RegisterMapError, match=r"no_such_map\.toml: no such register map .*hpbench_hm"
    ):
        load_map("no_such_map")


def _bundled_text(name: str) -> str:
    return (Path(__file__).parents[3] / "instruments" / "maps" / f"{name}.toml").read_text()


# -- validation: one broken map per row ---------------------------------------------------------
GOOD = """
make = "ACME"
model = "HP-1"
source = "test"
addressing_base = {base}

[commands]
running = {{ channel = "on_off", on = 1, off = 0 }}

[[register]]
name = "on_off"
table = "holding"
address = {on_off_addr}
type = "uint16"
access = "rw"
min = 0
max = 1

[[register]]
name = "temp"
table = "input"
address = {temp_addr}
type = "int16"
scale = 0.1
unit = "°C"
{extra}
"""


def write_map(tmp_path: Path, *, extra: str = "", base: int = 0, text: str | None = None) -> Path:
    path = tmp_path / "x.toml"
    body = (
        text
        if text is not None
        else GOOD.format(base=base, on_off_addr=base, temp_addr=base, extra=extra)
    )
    path.write_text(body)
    return path


def test_the_template_itself_is_good(tmp_path: Path) -> None:
    assert load_map(write_map(tmp_path)).channels() == {"on_off": "", "temp": "°C"}
    assert load_map(write_map(tmp_path, base=1))["temp"].address == 0


BROKEN = [
    pytest.param(
        '[[register]]\nname = "b"\ntable = "input"\naddress = 0\ntype = "uint16"',
        "register 'b': address: overlaps register 'temp' (input 0)",
        id="overlap",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "holding"\naddress = 1\ntype = "int32"\n'
        '[[register]]\nname = "c"\ntable = "holding"\naddress = 2\ntype = "uint16"',
        "register 'c': address: overlaps register 'b' (holding 1..2)",
        id="overlap-32bit",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "holdings"\naddress = 5\ntype = "uint16"',
        "register 'b': table: Input should be 'holding', 'input', 'coil' or 'discrete'",
        id="unknown-table",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "input"\naddress = 5\ntype = "int8"',
        "register 'b': type: Input should be 'int16'",
        id="unknown-type",
    ),
    pytest.param(
        '[[register]]\nname = "sp"\ntable = "holding"\naddress = 5\ntype = "int16"\naccess = "rw"',
        "register 'sp': min/max: a writable register needs a valid range",
        id="writable-without-range",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "input"\naddress = 5\ntype = "float32"\n'
        'word_order = "middle"',
        "register 'b': word_order: Input should be 'big' or 'little'",
        id="bad-word-order",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "input"\naddress = 5\ntype = "int16"\n'
        'word_order = "little"',
        "register 'b': word_order: only 32-bit types have a word order, not int16",
        id="word-order-on-16-bit",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "input"\naddress = 5\ntype = "int16"\n'
        'access = "rw"\nmin = 0\nmax = 1',
        "register 'b': access: input registers are read-only by protocol",
        id="writable-input",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "input"\nadress = 5\ntype = "int16"',
        "register 'b': adress: unknown field",
        id="typo-field",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "input"\naddress = 6\ntype = "int16"\nmin = 5\nmax = 1',
        "register 'b': min: 5.0 is above max 1.0",
        id="min-above-max",
    ),
    pytest.param(
        '[[register]]\nname = "temp"\ntable = "input"\naddress = 7\ntype = "int16"',
        "register 'temp': name: duplicate channel name",
        id="duplicate-name",
    ),
    pytest.param(
        '[[register]]\nname = "Flow-Temp"\ntable = "input"\naddress = 7\ntype = "int16"',
        "register 'Flow-Temp': name: Value error, must be lower_snake_case",
        id="bad-name",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "input"\naddress = 7\ntype = "bool"',
        "register 'b': bit: a bool in the input table needs `bit`",
        id="bool-without-bit",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "input"\naddress = 7\ntype = "bool"\nbit = 2\n'
        '[[register]]\nname = "c"\ntable = "input"\naddress = 7\ntype = "bool"\nbit = 2',
        "register 'c': address: overlaps bit 2 of register 'b' (input 7)",
        id="same-bit-twice",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "input"\naddress = 7\ntype = "int16"\n'
        "sentinel = [0x10000]",
        "register 'b': sentinel: 0x10000 does not fit int16 (1 register)",
        id="sentinel-too-wide",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "coil"\naddress = 7\ntype = "uint16"',
        "register 'b': type: a coil holds a bool, not uint16",
        id="coil-not-bool",
    ),
    pytest.param(
        '[[register]]\nname = "b"\ntable = "input"\naddress = 65535\ntype = "float32"',
        "register 'b': address: 65535 + 2 registers runs past 65535",
        id="past-end",
    ),
]


@pytest.mark.parametrize(("extra", "message"), BROKEN)
def test_broken_maps_name_file_entry_and_field(tmp_path: Path, extra: str, message: str) -> None:
    path = write_map(tmp_path, extra=extra)
    with pytest.raises(RegisterMapError) as info:
        load_map(path)
    assert f"{path}: {message}" in str(info.value), str(info.value)


def test_one_based_map_rejects_register_zero(tmp_path: Path) -> None:
    text = GOOD.format(base=1, on_off_addr=0, temp_addr=1, extra="")
    with pytest.raises(RegisterMapError) as info:
        load_map(write_map(tmp_path, text=text))
    assert (
        f"{tmp_path / 'x.toml'}: register 'on_off': address: 0 is not a register number in a "
        "1-based map (numbers start at 1)"
    ) in str(info.value)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('source = "test"\n', ""), "header: source: Field required"),
        (
            lambda t: t.replace("addressing_base = 0", "addressing_base = 2"),
            "header: addressing_base:",
        ),
        (
            lambda t: t.replace('channel = "on_off"', 'channel = "temp"'),
            "commands.running: channel: register 'temp' is read-only",
        ),
        (
            lambda t: t.replace('channel = "on_off"', 'channel = "nope"'),
            "commands.running: channel: no register named 'nope'",
        ),
        (
            lambda t: t.replace("on = 1, off = 0", "on = 7, off = 0"),
            "commands.running: on: on_off: 7 is outside its valid range [0, 1]",
        ),
        (lambda t: t.replace("[[register]]", "[[register]\n", 1), "not valid TOML"),
    ],
    ids=[
        "missing-source",
        "bad-base",
        "command-read-only",
        "command-unknown",
        "command-on-range",
        "toml",
    ],
)
def test_broken_headers(tmp_path: Path, edit: object, message: str) -> None:
    text = edit(GOOD.format(base=0, on_off_addr=0, temp_addr=1, extra=""))  # type: ignore[operator]
    path = write_map(tmp_path, text=text)
    with pytest.raises(RegisterMapError) as info:
        load_map(path)
    assert f"{path}: {message}" in str(info.value), str(info.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    extra = (
        '[[register]]\nname = "b"\ntable = "input"\naddress = 0\ntype = "uint16"\n'
        '[[register]]\nname = "c"\ntable = "nowhere"\naddress = 9\ntype = "uint16"\n'
    )
    with pytest.raises(RegisterMapError) as info:
        load_map(write_map(tmp_path, extra=extra))
    assert len(info.value.problems) == 2


# -- codec: known vectors -----------------------------------------------------------------------
def test_float32_21_5_both_word_orders() -> None:
    big = reg(type="float32", word_order="big")
    little = reg(type="float32", word_order="little")
    assert encode(big, 21.5) == [0x41AC, 0x0000]
    assert encode(little, 21.5) == [0x0000, 0x41AC]
    assert decode(big, [0x41AC, 0x0000]).value == 21.5
    assert decode(little, [0x0000, 0x41AC]).value == 21.5
    # the same words in the other order are a different (tiny) number, not 21.5
    assert decode(little, [0x41AC, 0x0000]).value != 21.5


def test_int16_scale_and_sign() -> None:
    temp = reg(type="int16", scale=0.1, unit="°C", sentinels=frozenset({0x8000}))
    assert encode(temp, -20.0) == [0xFF38]
    reading = decode(temp, [0xFF38])
    assert (reading.value, reading.unit, reading.quality) == (-20.0, "°C", Quality.OK)
    assert decode(temp, [451]).value == 45.1  # exactly, not 45.100000000000001
    assert encode(temp, 45.1) == [451]
    assert encode(temp, 21.5) == [215]


def test_sentinel_0x8000_reads_invalid() -> None:
    temp = reg(type="int16", scale=0.1, unit="°C", sentinels=frozenset({0x8000}))
    reading = decode(temp, [0x8000])
    assert reading.quality is Quality.INVALID and reading.value is None
    assert "0x8000" in reading.detail
    assert sentinel_words(temp) == [0x8000]


def test_float_nan_reads_invalid_in_both_orders() -> None:
    nan = struct.unpack(">HH", struct.pack(">f", math.nan))
    assert decode(reg(type="float32"), list(nan)).quality is Quality.INVALID
    little = reg(type="float32", word_order="little")
    assert decode(little, [nan[1], nan[0]]).quality is Quality.INVALID
    assert sentinel_words(reg(type="float32")) == [0x7FC0, 0x0000]


def test_uint32_counter_word_orders() -> None:
    big = reg(type="uint32", word_order="big")
    little = reg(type="uint32", word_order="little")
    assert encode(big, 0x12345678) == [0x1234, 0x5678]
    assert encode(little, 0x12345678) == [0x5678, 0x1234]
    assert decode(big, [0x1234, 0x5678]).value == 0x12345678
    assert decode(little, [0x5678, 0x1234]).value == 0x12345678
    assert decode(big, [0xFFFF, 0xFFFE]).value == 4294967294  # unsigned
    counter = reg(type="uint32", sentinels=frozenset({0xFFFFFFFF}))
    assert decode(counter, [0xFFFF, 0xFFFF]).quality is Quality.INVALID


def test_int32_negative() -> None:
    r = reg(type="int32", scale=0.1)
    assert encode(r, -1.5) == [0xFFFF, 0xFFF1]
    assert decode(r, [0xFFFF, 0xFFF1]).value == -1.5


def test_out_of_valid_range_reads_invalid() -> None:
    r = reg(type="int16", scale=0.1, min=-40.0, max=60.0)
    assert decode(r, [600]).quality is Quality.OK
    out = decode(r, [601])
    assert out.quality is Quality.INVALID and "outside valid range" in out.detail


def test_encode_refuses_what_the_register_cannot_take() -> None:
    sp = reg(type="int16", scale=0.1, min=20.0, max=65.0, access="rw")
    with pytest.raises(RangeError, match="outside its valid range"):
        encode(sp, 65.1)
    with pytest.raises(RangeError, match="not a finite number"):
        encode(sp, math.nan)
    wide = reg(type="int16", scale=0.1, access="rw")
    with pytest.raises(RangeError, match="does not fit int16"):
        encode(wide, 4000.0)
    guarded = reg(type="int16", access="rw", sentinels=frozenset({0x8000}))
    with pytest.raises(RangeError, match="sentinel"):
        encode(guarded, -32768)
    mode = reg(type="uint16", min=0, max=5, enum={1: "standby", 3: "comfort"})
    with pytest.raises(RangeError, match=r"not one of 1 \(standby\), 3 \(comfort\)"):
        encode(mode, 2)
    assert encode(mode, 3) == [3]


def test_simulator_encoding_clamps_instead_of_refusing() -> None:
    temp = reg(type="int16", scale=0.1, min=-40.0, max=60.0, sentinels=frozenset({0x8000}))
    assert encode(temp, 70.0, check_range=False) == [700]
    assert encode(temp, -5000.0, check_range=False) == [0x8001]  # clamped, never the sentinel


def test_bits_of_a_status_word() -> None:
    defrost = reg(type="bool", bit=1)
    assert decode(defrost, [0b0010]).value == 1.0
    assert decode(defrost, [0b1101]).value == 0.0


def test_float32_reads_as_the_shortest_decimal() -> None:
    r = reg(type="float32")
    assert decode(r, encode(r, 1.2)).value == 1.2
    assert decode(r, encode(r, 30.123)).value == 30.123


# -- read planning ------------------------------------------------------------------------------
def test_one_full_read_of_the_sim_heat_pump_is_two_requests() -> None:
    plan = load_map("hpbench_sim_hp").read_plan()
    assert [(b.table, b.address, b.count) for b in plan] == [("holding", 0, 4), ("input", 0, 12)]


def test_stiebel_plan_spans_gaps_inside_documented_blocks() -> None:
    plan = load_map("stiebel_eltron_wpm").read_plan()
    assert [(b.table, b.address, b.count) for b in plan] == [
        ("holding", 1500, 8),
        ("holding", 4000, 3),
        ("input", 506, 38),
        ("input", 2500, 42),
        ("input", 5000, 1),
    ]


def test_plan_respects_gap_and_count_limits() -> None:
    regs = [reg(name=f"r{a}", address=a) for a in (0, 1, 6, 7, 200, 201)]
    blocks = plan_reads(regs, max_gap=4, max_count=125)
    assert [(b.address, b.count) for b in blocks] == [(0, 8), (200, 2)]
    blocks = plan_reads(regs, max_gap=3, max_count=125)
    assert [(b.address, b.count) for b in blocks] == [(0, 2), (6, 2), (200, 2)]
    many = [reg(name=f"r{a}", address=a) for a in range(130)]
    assert [(b.address, b.count) for b in plan_reads(many, max_gap=0, max_count=125)] == [
        (0, 125),
        (125, 5),
    ]


def test_header_sentinels_must_be_raw_patterns(tmp_path: Path) -> None:
    text = GOOD.format(base=0, on_off_addr=0, temp_addr=1, extra="").replace(
        'source = "test"', 'source = "test"\nsentinels = { int16 = [-32768] }'
    )
    path = write_map(tmp_path, text=text)
    with pytest.raises(
        RegisterMapError, match=r"header: sentinels: Value error, int16: \[-32768\]"
    ):
        load_map(path)


# -- [quantities]: what a map declares it provides (the names are checked by bench/channels.py) --
def _with_quantities(tmp_path: Path, quantities: str) -> Path:
    extra = '[[register]]\nname = "n"\ntable = "input"\naddress = 5\ntype = "uint16"\npoll = false'
    text = GOOD.format(base=0, on_off_addr=0, temp_addr=1, extra=extra)
    return write_map(
        tmp_path, text=text.replace("[commands]", f"[quantities]\n{quantities}\n\n[commands]")
    )


def test_quantities_are_read_as_dotted_names(tmp_path: Path) -> None:
    path = _with_quantities(tmp_path, 'water.inlet_c = "temp"\nhp.defrost = "on_off"')
    assert load_map(path).quantities == {"water.inlet_c": "temp", "hp.defrost": "on_off"}
    assert load_map(write_map(tmp_path)).quantities == {}


@pytest.mark.parametrize(
    ("quantities", "message"),
    [
        ('hp.defrost = "nope"', "quantities.hp.defrost: no register named 'nope'"),
        ('hp.defrost = "n"', "quantities.hp.defrost: register 'n' is not polled"),
        ('Hp.Defrost = "temp"', "quantities.Hp.Defrost: not a quantity name"),
    ],
    ids=["unknown-register", "not-polled", "bad-name"],
)
def test_broken_quantities(tmp_path: Path, quantities: str, message: str) -> None:
    path = _with_quantities(tmp_path, quantities)
    with pytest.raises(RegisterMapError) as info:
        load_map(path)
    assert f"{path}: {message}" in str(info.value), str(info.value)
