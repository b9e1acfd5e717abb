"""EN 14825 data sheets in YAML: validation with file:line messages, and ``hpbench scop``.

A sheet declares what a manufacturer certifies (docs/standards.md §4, §5):

    climate: average            # average | warmer | colder
    pdesignh_kw: 9.0
    tbiv_c: -7
    tol_c: -10
    points:                     # declared points, any order
      - {tj_c: -10, pdh_kw: 7.51, cop: 2.37, cdh: 0.9}
      - {tj_c: -7, pdh_kw: 8.05, cop: 2.54, cdh: 0.9}
    aux_w: {poff: 7, pto: 52, psb: 7, pck: 0}
    cc: 2.5                     # optional, primary energy coefficient
    source: air                 # optional: air | water | brine (F(2) for water/brine)

Every problem is reported as ``file:line: field: message`` with the line of the YAML node, and
all of them together in one :class:`SheetError` — a user's mistake never gives a traceback.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

import yaml  # type: ignore[import-untyped]  # no stubs in the dev extra
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bench.metrology import scop as en14825

_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
MAX_NODES = 100_000  # a sheet has dozens; YAML aliases nested in aliases expand exponentially
Loc = tuple[str | int, ...]


class PointModel(BaseModel):
    """A declared point: capacity Pdh (kW) and COP at outdoor Tj (°C); Cdh default 0.9 [S]."""

    model_config = _STRICT
    tj_c: float = Field(ge=-40, le=15)
    pdh_kw: float = Field(ge=0.01, le=1000)
    cop: float = Field(ge=0.1, le=20)
    cdh: float = Field(default=en14825.CDH_DEFAULT, ge=0, le=1)


class AuxModel(BaseModel):
    """Auxiliary-mode powers, W (Keymark EN14825_023–026)."""

    model_config = _STRICT
    poff: float = Field(ge=0, le=1000)
    pto: float = Field(ge=0, le=1000)
    psb: float = Field(ge=0, le=1000)
    pck: float = Field(ge=0, le=1000)


class Sheet(BaseModel):
    """A validated data sheet."""

    model_config = _STRICT
    climate: Literal["average", "warmer", "colder"]
    pdesignh_kw: float = Field(ge=0.1, le=1000)
    tbiv_c: float = Field(ge=-40, le=15)
    tol_c: float = Field(ge=-40, le=15)
    points: list[PointModel] = Field(min_length=2)
    aux_w: AuxModel
    cc: float = Field(default=en14825.CC_DEFAULT, ge=0.5, le=10)
    source: Literal["air", "water", "brine"] = "air"


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        # One line per problem, whatever a YAML error or a user's key contains.
        return f"{self.path}:{self.line}: {self.field}: {' '.join(self.message.split())}"


class SheetError(Exception):
    """Everything wrong with one sheet; ``str()`` is the full message, one problem a line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(str(p) for p in self.problems))


def load_sheet(path: str | Path) -> Sheet:
    """Read, parse and validate a sheet, including that its SCOP can be computed."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SheetError([Problem(name, 1, "file", "no such file")]) from None
    except UnicodeDecodeError:
        raise SheetError([Problem(name, 1, "file", "not UTF-8 text")]) from None
    except OSError as exc:
        raise SheetError([Problem(name, 1, "file", f"cannot read: {exc.strerror}")]) from None

    try:
        root, data = _parse(text)
    except yaml.YAMLError as exc:
        line, what = _yaml_error(exc, text)
        raise SheetError([Problem(name, line, "sheet", f"not valid YAML: {what}")]) from None
    except RecursionError:
        raise SheetError([Problem(name, 1, "sheet", "nested too deeply")]) from None
    if root is not None and _too_many_nodes(root):
        why = f"more than {MAX_NODES} values: aliases nested in aliases?"
        raise SheetError([Problem(name, 1, "sheet", why)])
    if root is None or not isinstance(data, dict):
        kind = "empty" if root is None else f"a {type(data).__name__}"
        line = 1 if root is None else root.start_mark.line + 1
        raise SheetError(
            [Problem(name, line, "sheet", f"expected a mapping of fields, got {kind}")]
        )

    problems = [Problem(name, line, _field(loc), msg) for loc, line, msg in _duplicate_keys(root)]
    try:
        sheet = Sheet.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append(Problem(name, _line(root, loc), _field(loc), _message(err)))
        raise SheetError(problems) from None
    problems += [Problem(name, _line(root, loc), _field(loc), msg) for loc, msg in _semantic(sheet)]
    if problems:
        raise SheetError(problems)
    return sheet


def evaluate(sheet: Sheet) -> en14825.ScopResult:
    """SCOP and friends of a validated sheet."""
    return en14825.seasonal(
        sheet.climate,
        sheet.pdesignh_kw,
        sheet.tol_c,
        [en14825.DeclaredPoint(p.tj_c, p.pdh_kw, p.cop, p.cdh) for p in sheet.points],
        en14825.AuxPowers(
            poff_w=sheet.aux_w.poff,
            pto_w=sheet.aux_w.pto,
            psb_w=sheet.aux_w.psb,
            pck_w=sheet.aux_w.pck,
        ),
        cc=sheet.cc,
        source=sheet.source,
    )


def scop_command(path: str, as_json: bool, out: TextIO) -> int:
    """``hpbench scop``: print the result (table or JSON) and return 0, or the problems and 2.

    JSON keys are exactly scop, scop_on, scop_net, qhe_kwh, eta_s_percent; ratios rounded to
    3 decimals, kWh and % to 1 (a certificate prints SCOP to 2 and ηs as an integer).
    """
    try:
        sheet = load_sheet(path)
    except SheetError as exc:
        print(exc, file=sys.stderr)
        return 2
    result = evaluate(sheet)
    if as_json:
        summary = {
            "scop": round(result.scop, 3),
            "scop_on": round(result.scop_on, 3),
            "scop_net": round(result.scop_net, 3),
            "qhe_kwh": round(result.qhe_kwh, 1),
            "eta_s_percent": round(result.eta_s_percent, 1),
        }
        print(json.dumps(summary), file=out)
    else:
        out.write(format_table(sheet, result))
    return 0


def format_table(sheet: Sheet, result: en14825.ScopResult) -> str:
    """The per-bin table and the seasonal figures, as plain text."""

    def opt(value: float | None, fmt: str) -> str:
        return "—" if value is None else format(value, fmt)

    lines = [
        f"EN 14825 {sheet.climate} climate, Pdesignh {sheet.pdesignh_kw:g} kW, "
        f"Tbiv {sheet.tbiv_c:g} °C, TOL {sheet.tol_c:g} °C, source {sheet.source}",
        "",
        f"{'Tj °C':>6} {'hj h':>6} {'Ph kW':>7} {'Pdh kW':>7} {'CR':>6} {'COPbin':>7} "
        f"{'elbu kW':>8}",
    ]
    for r in result.bins:
        lines.append(
            f"{r.tj_c:>6g} {r.hours:>6g} {r.ph_kw:>7.3f} {opt(r.pdh_kw, '.3f'):>7} "
            f"{opt(r.cr, '.3f'):>6} {opt(r.cop_bin, '.3f'):>7} {r.elbu_kw:>8.3f}"
        )
    lines += [
        "",
        f"SCOP     {result.scop:.3f}",
        f"SCOPon   {result.scop_on:.3f}",
        f"SCOPnet  {result.scop_net:.3f}",
        f"QH       {result.qh_kwh:.0f} kWh",
        f"QHE      {result.qhe_kwh:.0f} kWh",
        f"ηs       {result.eta_s_percent:.1f} % (CC {sheet.cc:g})",
    ]
    return "\n".join(lines) + "\n"


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """One parse giving both the node tree (for line numbers) and the data."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()
    return node, data


def _too_many_nodes(root: yaml.Node) -> bool:
    """True when the document, aliases expanded, has more than MAX_NODES nodes (or a cycle).

    Checked before anything walks the tree: a few lines of `&a [*b, *b, ...]` would otherwise
    keep the key check and the validation busy for hours.
    """
    count = 0
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            return True
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return False


def _yaml_error(exc: yaml.YAMLError, text: str) -> tuple[int, str]:
    """Line and reason of a YAML error: a parse error has a mark, a reader error a position."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return mark.line + 1, str(getattr(exc, "problem", None) or exc)
    if isinstance(exc, yaml.reader.ReaderError):
        return text.count("\n", 0, exc.position) + 1, f"character {exc.character!r}: {exc.reason}"
    return 1, str(exc)


def _semantic(sheet: Sheet) -> list[tuple[Loc, str]]:
    """Cross-field rules pydantic field constraints cannot express."""
    problems: list[tuple[Loc, str]] = []
    tbiv_max = en14825.TBIV_MAX_C[sheet.climate]
    if sheet.tbiv_c > tbiv_max:
        why = f"the highest bivalent temperature of the {sheet.climate} climate [R]"
        problems.append((("tbiv_c",), f"{sheet.tbiv_c:g} °C is above {tbiv_max:g} °C, {why}"))
    if sheet.tol_c > sheet.tbiv_c:
        problems.append((("tol_c",), f"TOL {sheet.tol_c:g} °C is above Tbiv {sheet.tbiv_c:g} °C"))
    first: dict[float, int] = {}
    for i, p in enumerate(sheet.points):
        at = ("points", i, "tj_c")
        if p.tj_c < sheet.tol_c:
            problems.append((at, f"{p.tj_c:g} °C is below TOL {sheet.tol_c:g} °C (unit off)"))
        j = first.setdefault(p.tj_c, i)
        if sheet.points[j] != p:
            problems.append(
                (
                    at,
                    f"{p.tj_c:g} °C is already declared by points[{j}] with other values; "
                    "keep one point per temperature (the A–D point)",
                )
            )
    if len(first) < 2:
        problems.append((("points",), "need points at two or more different temperatures"))
    if not problems:
        try:
            evaluate(sheet)
        except ValueError as exc:
            problems.append((("points",), str(exc)))
    return problems


def _duplicate_keys(node: yaml.Node, loc: Loc = ()) -> list[tuple[Loc, int, str]]:
    """Keys given twice in one mapping: PyYAML would silently keep the last."""
    found: list[tuple[Loc, int, str]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else None
            if k is not None and k != "<<":
                if k in seen:
                    found.append(((*loc, k), key.start_mark.line + 1, "key given twice"))
                seen.add(k)
            found += _duplicate_keys(value, (*loc, k if k is not None else "?"))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found += _duplicate_keys(item, (*loc, i))
    return found


def _line(root: yaml.Node, loc: Loc) -> int:
    """1-based line of the node at ``loc``; the nearest existing ancestor if it is missing.

    A mapping entry points at its key (where an unknown or misspelt key is), a sequence item
    at the item.
    """
    line: int = root.start_mark.line + 1
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            # The last of duplicated keys: it is the one PyYAML keeps.
            hits = [
                (k, v)
                for k, v in node.value
                if isinstance(k, yaml.ScalarNode) and k.value == str(part)
            ]
            hit = hits[-1] if hits else None
            if hit is None:
                return line
            node, line = hit[1], hit[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _field(loc: Loc) -> str:
    """``points[1].cop``; a key that is not a plain name is quoted: ``aux_w['p off']``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or "sheet"


_ALLOWED = {
    "sheet": sorted(Sheet.model_fields),
    "point": sorted(PointModel.model_fields),
    "aux": sorted(AuxModel.model_fields),
}


def _message(err: Any) -> str:
    """Pydantic's message, reworded where it would puzzle a lab engineer."""
    kind, loc = err["type"], tuple(err["loc"])
    if kind == "missing":
        return "required field is missing"
    if kind in ("extra_forbidden", "invalid_key"):
        parent = loc[:-1]
        scope = (
            "aux"
            if parent == ("aux_w",)
            else "point"
            if parent[-1:] and isinstance(parent[-1], int)
            else "sheet"
        )
        return f"unknown key (allowed: {', '.join(_ALLOWED[scope])})"
    if kind == "too_short" and loc == ("points",):
        got = err.get("ctx", {}).get("actual_length")
        return f"at least two declared points are needed, got {got}"
    if kind in ("model_type", "dict_type"):
        return f"expected a mapping, got {_shown(err.get('input'))}"
    if kind.endswith("_type") or kind in ("literal_error", "finite_number"):
        return f"{err['msg']}, got {_shown(err.get('input'))}"
    return str(err["msg"])


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
