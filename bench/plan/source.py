"""One plan file as read: its text, key positions and model, and how to word a problem in it.

Every problem becomes `file:line: field: message`. pydantic's error locations are paths into
the YAML, so they map onto `Positions`; its messages are reworded where a user would not know
what to do ("unknown field 'wetbulb_c'; did you mean wet_bulb_c?").
"""

from __future__ import annotations

import difflib
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from bench.plan.errors import QUOTE_LIMIT, FieldProblems, Loc, quoted
from bench.plan.model import PlanFile
from bench.plan.yamlpos import Positions


def field_name(loc: Loc) -> str:
    """`points[2].air.rh_pct`; `plan` for the whole file. A key that is not plain printable
    text is quoted: `unit['\\x1b[2J']`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not str(part).isprintable() or len(str(part)) > QUOTE_LIMIT:
            text += f"[{quoted(str(part))}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "plan"


@dataclass
class Doc:
    path: Path
    text: str
    positions: Positions
    spec: PlanFile | None = None  # None when the file did not validate
    parent: Doc | None = None

    def at(self, loc: Loc, message: str) -> str:
        return f"{self.path}:{self.positions.line(loc)}: {field_name(loc)}: {message}"

    def chain(self) -> list[Doc]:
        """This file, then the one it extends, and so on."""
        docs: list[Doc] = []
        doc: Doc | None = self
        while doc is not None:
            docs.append(doc)
            doc = doc.parent
        return docs


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class a YAML path leads to, to list the fields it accepts."""
    annotation: Any = PlanFile
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(part, int):
            if get_origin(annotation) is not list:
                return None
            annotation = get_args(annotation)[0]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if part not in annotation.model_fields:
                return None
            annotation = annotation.model_fields[part].annotation
        else:
            return None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def kind(value: Any) -> str:
    """What a YAML value is, in the words of someone writing YAML."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return f"the text {quoted(value)}"
    return type(value).__name__


def _unknown_field(loc: Loc) -> str:
    key = loc[-1]
    model = _model_at(loc[:-1])
    if model is None:
        return f"unknown field {quoted(key)}"
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(str(key), allowed, n=1)
    if close:
        return f"unknown field {quoted(key)}; did you mean {close[0]}?"
    return f"unknown field {quoted(key)}; expected one of {', '.join(allowed)}"


def _message(item: dict[str, Any]) -> str:
    kind_ = item["type"]
    loc = tuple(item["loc"])
    value = item.get("input")
    if kind_ == "missing":
        return "required field is missing"
    if kind_ == "extra_forbidden":
        return _unknown_field(loc)
    if kind_ == "invalid_key":
        return "field names must be text"
    if kind_ in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of fields (key: value), got {kind(value)}"
    if kind_ == "list_type":
        return f"expected a list (lines starting with '- '), got {kind(value)}"
    if kind_ == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"expected text, got {kind(value)}: write it in quotes"
    if kind_ == "string_type":
        return f"expected text, got {kind(value)}"
    if kind_ in ("float_type", "float_parsing"):
        return f"expected a number, got {kind(value)}"
    if kind_ == "literal_error":
        return f"{item['msg'].replace('Input should be', 'expected')}, got {kind(value)}"
    if kind_ == "finite_number":
        return "expected a finite number"
    return item["msg"].removeprefix("Value error, ")


def validation_problems(doc: Doc, error: ValidationError) -> list[str]:
    """One line per problem, in the order of the file."""
    found: list[tuple[Loc, str]] = []
    for item in error.errors():
        loc = tuple(item["loc"])
        cause = item.get("ctx", {}).get("error")
        if isinstance(cause, FieldProblems):
            found.extend((loc + sub, message) for sub, message in cause.items)
        else:
            found.append((loc, _message(item)))
    found.sort(key=lambda problem: doc.positions.line(problem[0]))
    return [doc.at(loc, message) for loc, message in found]
