"""What every fuzzer shares: the example budget, the message checks, and document mutators.

Budget: `HPBENCH_FUZZ_EXAMPLES` examples per fuzzer (default `CI_EXAMPLES`, which keeps the
whole fuzz suite well under a minute on two cores). Without the variable the examples are
derandomized, so CI runs the same examples every time and a red build is the change's fault,
not the dice's; with it, every run explores new inputs (and replays failures saved in
`.hypothesis/`).

    HPBENCH_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/bench/test_fuzz_inputs.py \
        tests/instruments/test_fuzz_replies.py -q

Documents are fuzzed two ways: `mutated_documents` changes one field of a valid document to a
wrong type, a value out of range, a missing or unknown key, a huge / NaN / unicode value or
deep nesting, and writes it back as YAML or TOML; `mutated_bytes` garbles the raw bytes of a
shipped file (truncation, byte flips, inserted garbage, deleted or repeated runs).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

CI_EXAMPLES = 40


def _examples() -> int:
    raw = os.environ.get("HPBENCH_FUZZ_EXAMPLES", "").strip()
    if not raw:
        return CI_EXAMPLES
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"HPBENCH_FUZZ_EXAMPLES must be a whole number, not {raw!r}") from None
    return max(1, value)


EXAMPLES = _examples()
EXPLORING = bool(os.environ.get("HPBENCH_FUZZ_EXAMPLES", "").strip())

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # a fuzzed exchange may legitimately wait for a driver timeout
    derandomize=not EXPLORING,
    database=settings.default.database if EXPLORING else None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
    print_blob=True,
)


def few(per: int, least: int = 2) -> settings:
    """Settings for slow examples (a subprocess each): one per `per` of the budget."""
    return settings(FUZZ, max_examples=max(least, EXAMPLES // per))


# -- messages ---------------------------------------------------------------------------------
MAX_LINE = 600  # a problem line longer than this is not "one clear message"


BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def unsafe_characters(line: str) -> list[str]:
    """Characters a terminal acts on instead of showing (C0/C1 controls: ESC starts a control
    sequence) or that reorder what is shown (bidi overrides)."""
    return [
        ch
        for ch in line
        if (unicodedata.category(ch) == "Cc" and ch != "\t") or ch in BIDI_CONTROLS
    ]


def assert_clear_message(message: str, path: object, *, escaped: bool = True) -> None:
    """What a user sees for a bad file: non-empty, naming the file, no traceback, one short
    line per problem, and (`escaped`) nothing from the file that a terminal would act on."""
    shown = str(path)
    assert message.strip(), "empty error message"
    assert "Traceback" not in message, message
    assert shown in message, f"the message does not name {shown}:\n{message}"
    for line in message.splitlines():
        assert line.strip(), f"blank line in the message:\n{message!r}"
        assert len(line) <= MAX_LINE, f"a {len(line)}-character line: {line[:200]!r}..."
        if escaped:
            bad = unsafe_characters(line)
            assert not bad, f"control characters {bad!r} in the message line {line!r}"


# -- values a user (or a cat on the keyboard) may write ---------------------------------------
@dataclass(frozen=True)
class Raw:
    """Text pasted into a serialised document as is (what a serialiser cannot write)."""

    text: str


def deep_list(depth: int) -> Raw:
    return Raw("[" * depth + "]" * depth)


def deep_table(depth: int) -> Raw:
    return Raw("{a = " * depth + "1" + "}" * depth)


def deep_mapping(depth: int) -> Raw:
    return Raw("{a: " * depth + "1" + "}" * depth)


def alias_bomb(levels: int, width: int = 9) -> Raw:
    """The YAML "billion laughs": `width ** levels` items from a few lines of text."""
    parts = [f"&l0 [{', '.join(['1'] * width)}]"]
    for level in range(1, levels + 1):
        parts.append(f"&l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    return Raw("[" + ", ".join(parts) + "]")


HUGE_TEXT = "x" * 5000
SPECIAL_FLOATS = (math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 1e-300)
SPECIAL_INTS = (0, -1, 2**31, 2**63, -(2**63) - 1, 10**30)
SPECIAL_TEXT = (
    "",
    " ",
    HUGE_TEXT,
    "null",
    "yes",
    "on",
    "0x10",
    "1e999",
    "NaN",
    "-inf",
    "7",
    "💥",
    "\u202e\u2066evil",
    "a\x00b",
    "\x1b[2J",
    "line\nbreak",
    "\t",
    "~",
    "{}",
    "[",
    "Ω°C",
)

text_values = st.one_of(
    st.sampled_from(SPECIAL_TEXT),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
)
number_values = st.one_of(
    st.sampled_from(SPECIAL_FLOATS),
    st.sampled_from(SPECIAL_INTS),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalar_values = st.one_of(number_values, text_values, st.booleans())


def nasty_values(*, nulls: bool, yaml_syntax: bool) -> st.SearchStrategy[Any]:
    """A value to put where the document expects something else."""
    nested = st.one_of(
        st.lists(scalar_values, max_size=3),
        st.dictionaries(st.text(max_size=6), scalar_values, max_size=3),
    )
    # past every parser's recursion limit, yet not so deep that PyYAML's scanner (quadratic
    # in the flow depth, up to a point) makes an example cost seconds
    depths = st.one_of(st.integers(2, 60), st.sampled_from([300, 520, 1100]))
    deep = depths.map(deep_list)
    deep_map = depths.map(deep_mapping if yaml_syntax else deep_table)
    extra = [st.just(None)] if nulls else []
    if yaml_syntax:
        extra.append(st.integers(4, 12).map(alias_bomb))
    return st.one_of(scalar_values, nested, deep, deep_map, *extra)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*here, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*here, index))
    return found


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@dataclass(frozen=True)
class Mutation:
    """One change to a document, for the failure report."""

    op: str
    path: tuple[Any, ...]
    value: Any = None

    def __repr__(self) -> str:
        value = repr(self.value)
        return f"{self.op} at {self.path!r}" + (f": {value[:80]}" if self.value is not None else "")


@st.composite
def mutated_data(
    draw: st.DrawFn, seed: Any, *, nulls: bool, yaml_syntax: bool
) -> tuple[Any, list[Mutation]]:
    """The seed document (parsed) with one to three fields changed."""
    data = copy.deepcopy(seed)
    done: list[Mutation] = []
    values = nasty_values(nulls=nulls, yaml_syntax=yaml_syntax)
    keys = st.one_of(
        st.sampled_from(["unknown", "Name", "name ", "points", "register", "x.y", "é", ""]),
        st.text(max_size=8),
        *([st.integers(-3, 3), st.booleans()] if yaml_syntax else []),
    )
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(data)))
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "rename"]))
        if not path:
            op = "replace" if op in ("delete", "rename") else op
        parent = _get(data, path[:-1]) if path else None
        target = _get(data, path)
        if op == "replace":
            value = draw(values)
            if path:
                parent[path[-1]] = value
            else:
                data = value
            done.append(Mutation(op, path, value))
        elif op == "delete":
            del parent[path[-1]]
            done.append(Mutation(op, path))
        elif op == "add":
            value = draw(values)
            if isinstance(target, dict):
                key = draw(keys)
                target[key] = value
                done.append(Mutation(op, (*path, key), value))
            elif isinstance(target, list):
                target.insert(draw(st.integers(0, len(target))), value)
                done.append(Mutation(op, path, value))
            else:
                continue
        elif op == "rename" and isinstance(parent, dict):
            key = draw(keys)
            if key in parent:
                continue
            parent[key] = parent.pop(path[-1])
            done.append(Mutation(op, path, key))
        if not isinstance(data, dict | list):
            break  # nothing left to walk into
    return data, done


# -- writing documents back -------------------------------------------------------------------
def _with_raw(data: Any, write: Callable[[Any], str]) -> str:
    """Serialise `data`, pasting every `Raw` in verbatim through a placeholder."""
    raws: list[str] = []

    def swap(node: Any) -> Any:
        if isinstance(node, Raw):
            raws.append(node.text)
            return f"RAWPLACEHOLDER{len(raws) - 1}X"
        if isinstance(node, dict):
            return {k: swap(v) for k, v in node.items()}
        if isinstance(node, list):
            return [swap(v) for v in node]
        return node

    text = write(swap(data))
    for number, raw in enumerate(raws):
        text = re.sub(rf"(['\"]?)RAWPLACEHOLDER{number}X\1", lambda _m, r=raw: r, text)
    return text


def to_yaml(data: Any) -> str:
    return _with_raw(
        data,
        lambda d: yaml.safe_dump(d, allow_unicode=True, sort_keys=False, default_flow_style=None),
    )


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(key: Any) -> str:
    key = str(key)
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return json.dumps(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None:
        return '""'  # TOML has no null; the nearest wrong value
    return _toml_string(str(value))


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _dump_toml(table: dict[Any, Any], prefix: tuple[str, ...], out: list[str]) -> None:
    for key, value in table.items():
        if not isinstance(value, dict) and not _is_table_array(value):
            out.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in table.items():
        name = (*prefix, _toml_key(key))
        if isinstance(value, dict):
            out.append(f"\n[{'.'.join(name)}]")
            _dump_toml(value, name, out)
        elif _is_table_array(value):
            for item in value:
                out.append(f"\n[[{'.'.join(name)}]]")
                _dump_toml(item, name, out)


def to_toml(data: Any) -> str:
    def write(d: Any) -> str:
        if not isinstance(d, dict):
            return f"value = {_toml_value(d)}\n"
        out: list[str] = []
        _dump_toml(d, (), out)
        return "\n".join(out) + "\n"

    return _with_raw(data, write)


# -- raw bytes --------------------------------------------------------------------------------
GARBAGE = (
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\n",
    b"\r",
    b"\t",
    b"  ",
    b"- ",
    b": ",
    b" = ",
    b"[",
    b"]",
    b"[[",
    b"{",
    b"}",
    b'"',
    b"'",
    b"#",
    b"&a ",
    b"*a",
    b"!!python/object:os.system ",
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"\xef\xbb\xbf",
    b"nan",
    b"1e999",
    "💥".encode(),
)


@st.composite
def mutated_bytes(draw: st.DrawFn, seed: bytes) -> bytes:
    """The seed's bytes, truncated, flipped, garbled, cut or repeated one to four times."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete", "repeat", "swap"]))
        at = draw(st.integers(0, len(data)))
        if op == "truncate":
            del data[at:]
        elif op == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif op == "insert":
            chunk = draw(st.one_of(st.sampled_from(GARBAGE), st.binary(min_size=1, max_size=16)))
            data[at:at] = chunk
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif op == "repeat":
            piece = bytes(data[at : at + draw(st.integers(1, 200))])
            data[at:at] = piece * draw(st.integers(1, 5))
        elif op == "swap" and len(data) > 1:
            other = draw(st.integers(0, len(data) - 1))
            if at < len(data):
                data[at], data[other] = data[other], data[at]
    return bytes(data)
