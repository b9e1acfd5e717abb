"""Line numbers for keys of a TOML file, so an error can say `file:line: field: message`.

`tomllib` returns plain dicts without positions; this scans the text for table headers and
keys, which is all a hand-written configuration file needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import ValidationError

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")


_PART = re.compile(r"\s*(\"[^\"]*\"|'[^']*'|[^.]+)\s*(?:\.|$)")


def _split_dotted(path: str) -> tuple[str, ...]:
    """`a."b.c"` is two keys: a quoted key keeps its dots (a station's `"water.inlet_c"`)."""
    return tuple(p.strip().strip("\"'") for p in _PART.findall(path))


def toml_line(text: str, loc: Sequence[str | int]) -> int:
    """The line (1-based) where `loc` is defined, or the closest enclosing table; 1 if unknown."""
    want = tuple(str(p) for p in loc)
    best_line, best_len = 1, 0
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _HEADER.match(line):
            table = _split_dotted(header[1])
            candidate = table
        elif key := _KEY.match(line):
            candidate = table + _split_dotted(key[1])
        else:
            continue
        matched = 0
        for a, b in zip(candidate, want, strict=False):
            if a != b:
                break
            matched += 1
        if matched == len(candidate) and matched > best_len:
            best_line, best_len = number, matched
    return best_line


def validation_messages(
    path: str,
    text: str,
    error: ValidationError,
    *,
    prefix: Sequence[str] = (),
    whole: str = "file",
) -> str:
    """A pydantic error as `file:line: field: message` lines (`prefix`: where the validated
    table sits in the file; `whole`: the name used when the error is about the file itself)."""
    lines = []
    for item in error.errors():
        loc = [*prefix, *(shown_key(str(p)) for p in item["loc"])]
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{path}:{toml_line(text, loc)}: {'.'.join(loc) or whole}: {message}")
    return "\n".join(lines)


def shown_key(part: str) -> str:
    """A key as it can be printed: control characters escaped, never sent to the terminal."""
    return part if part.isprintable() else repr(part)[1:-1]
