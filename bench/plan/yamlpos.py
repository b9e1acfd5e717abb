"""YAML with line numbers: the data of a plan file, and the line of every key and list item.

`yaml.compose` keeps each node's position; one pass gives both the node tree and the data, and
`Positions` maps a path such as ("points", 2, "air", "rh_pct") to the line of that key, falling
back to the nearest enclosing key or item when the path does not exist (a missing field).

The loader reads plain scalars as YAML 1.2 does, not as PyYAML's YAML 1.1: `on`, `no`, `yes`
stay strings, `012` is twelve, `1:30` and `2024-01-31` are strings. Merge keys (`<<`) are not
special; `defaults` and `extends` are how a plan shares settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bench.plan.errors import Loc

MAX_NODES = 100_000  # a hand-written plan has hundreds; aliases nested in aliases explode


class YamlProblem(Exception):
    """The text is not YAML a plan can be read from; `line` is 0 when unknown."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        self.message, self.line, self.column = message, line, column
        super().__init__(message)


class _Loader(yaml.SafeLoader):
    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        # SafeConstructor lets ValueError escape for `!!int abc`; give it the node's position.
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ConstructorError(None, None, str(exc), node.start_mark) from None

    def construct_yaml_int(self, node: ScalarNode) -> int:  # type: ignore[override]
        text = self.construct_scalar(node).replace("_", "")
        if text[:2] in ("0x", "0o"):
            return int(text[2:], 16 if text[1] == "x" else 8)
        return int(text, 10)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


@dataclass
class Positions:
    """Line (1-based) of every key and list item of one YAML document."""

    root_line: int = 1
    lines: dict[Loc, int] = field(default_factory=dict)
    duplicates: list[tuple[Loc, int, int]] = field(default_factory=list)  # path, line, first

    def line(self, loc: Loc) -> int:
        """The line of `loc`, or of its nearest enclosing key or item."""
        path = tuple(loc)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.root_line

    def has(self, loc: Loc) -> bool:
        return tuple(loc) in self.lines


def _index(root: Node) -> Positions:
    positions = Positions(root_line=root.start_mark.line + 1)
    count = 0
    # Iterative walk with the chain of nodes above: aliases may make the graph cyclic.
    stack: list[tuple[Node, Loc, frozenset[int]]] = [(root, (), frozenset())]
    while stack:
        node, path, above = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise YamlProblem(f"more than {MAX_NODES} nodes: aliases nested too deep?")
        if id(node) in above:
            continue
        inside = above | {id(node)}
        if isinstance(node, MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, ScalarNode):
                    continue
                child = (*path, key.value)
                line = key.start_mark.line + 1
                if key.value in seen:
                    positions.duplicates.append((child, line, seen[key.value]))
                    continue
                seen[key.value] = line
                positions.lines[child] = line
                stack.append((value, child, inside))
        elif isinstance(node, SequenceNode):
            for number, item in enumerate(node.value):
                child = (*path, number)
                positions.lines[child] = item.start_mark.line + 1
                stack.append((item, child, inside))
    return positions


def _problem(exc: yaml.YAMLError, text: str) -> YamlProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    elif isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
    else:
        line = column = 0
    if isinstance(exc, yaml.MarkedYAMLError):
        parts = [exc.context, exc.problem]
        message = ", ".join(p for p in parts if p) or str(exc)
    else:
        message = str(exc).splitlines()[0]
    return YamlProblem(message, line, column)


def load_yaml(text: str) -> tuple[Any, Positions] | None:
    """The data and positions of a one-document YAML text; None when it holds no document."""
    try:
        loader = _Loader(text)  # the reader refuses control characters right here
    except yaml.YAMLError as exc:
        raise _problem(exc, text) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        positions = _index(node)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _problem(exc, text) from None
    except RecursionError:
        raise YamlProblem("nested too deeply") from None
    finally:
        loader.dispose()
    return data, positions
