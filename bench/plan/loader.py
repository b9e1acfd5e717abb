"""Loading a plan file: read, parse YAML with positions, validate, follow `extends`, resolve.

Everything a user can get wrong ends as one `PlanError` listing every problem found, each as
`file:line: field: message`. A file the plan extends must be a valid plan of its own: a
standard set (`en14511_rating`) is checked whether it runs alone or under a child.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from bench.plan.catalog import SHIPPED_PLANS
from bench.plan.errors import PlanError, quoted
from bench.plan.model import PlanFile
from bench.plan.resolve import resolve_points
from bench.plan.resolved import Plan
from bench.plan.source import Doc, field_name, kind, validation_problems
from bench.plan.yamlpos import YamlProblem, load_yaml
from bench.profiles import Profile, ProfileError, UnknownProfile, load_profile

_FIELDS = "name, profile, standard, operator, unit, points"


def _decode(path: Path, data: bytes, problems: list[str]) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.append(f"{path}: not a text file (UTF-8 expected)")
        return None


def _parse(text: str, path: Path, problems: list[str]) -> Doc | None:
    """The file's document, validated; None when there is no mapping to validate."""
    try:
        loaded = load_yaml(text)
    except YamlProblem as exc:
        where = f"{path}:{exc.line}:{exc.column}" if exc.line else str(path)
        problems.append(f"{where}: YAML syntax: {exc.message}")
        return None
    if loaded is None or loaded[0] is None:
        problems.append(f"{path}: empty plan file: expected the fields {_FIELDS}")
        return None
    data, positions = loaded
    doc = Doc(path, text, positions)
    if not isinstance(data, dict):
        problems.append(doc.at((), f"expected a mapping of fields ({_FIELDS}), got {kind(data)}"))
        return None
    for loc, line, first in positions.duplicates:
        problems.append(
            f"{path}:{line}: {field_name(loc)}: duplicate key (first at line {first}); "
            "YAML would keep only the last"
        )
    try:
        doc.spec = PlanFile.model_validate(data)
    except ValidationError as exc:
        problems.extend(validation_problems(doc, exc))
    except RecursionError:
        problems.append(doc.at((), "nested too deeply (an alias that contains itself?)"))
    return doc


def find_extended(name: str, plan_dir: Path) -> Path | None:
    """`extends: en14511_rating` → the file, looked for next to the plan, then in test_plans/."""
    names = [name] if name.endswith((".yaml", ".yml")) else [f"{name}.yaml", f"{name}.yml"]
    if Path(name).is_absolute():
        dirs = [Path("/")]
    else:
        dirs = [plan_dir, Path("test_plans"), SHIPPED_PLANS]
    for directory in dict.fromkeys(dirs):
        for candidate in names:
            path = directory / candidate
            try:
                if path.is_file():
                    return path
            except (OSError, ValueError):  # a name too long, or with a NUL byte: not a file
                continue
    return None


def _key(path: Path) -> Path:
    """The path that identifies a file in an extends chain."""
    try:
        return path.resolve()
    except (OSError, ValueError):
        return path


def _follow(doc: Doc, chain: tuple[Path, ...], problems: list[str]) -> None:
    assert doc.spec is not None and doc.spec.extends is not None
    name = doc.spec.extends
    path = find_extended(name, doc.path.parent)
    if path is None:
        where = ", ".join(str(d) for d in (doc.path.parent, Path("test_plans"), SHIPPED_PLANS))
        problems.append(doc.at(("extends",), f"no plan {quoted(name)} in {where}"))
        return
    if _key(path) in chain:
        cycle = " → ".join(p.name for p in (*chain, _key(path)))
        problems.append(doc.at(("extends",), f"plans extend each other in a cycle: {cycle}"))
        return
    before = len(problems)
    parent = _read(path, (*chain, _key(path)), problems)
    if parent is None or parent.spec is None or len(problems) > before:
        problems.append(doc.at(("extends",), f"{path} has problems (listed with its name)"))
    doc.parent = parent


def _read(path: Path, chain: tuple[Path, ...], problems: list[str]) -> Doc | None:
    try:
        data = path.read_bytes()
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        problems.append(f"{path}: cannot read plan file: {reason}")
        return None
    text = _decode(path, data, problems)
    return None if text is None else _document(text, path, chain, problems)


def _document(text: str, path: Path, chain: tuple[Path, ...], problems: list[str]) -> Doc | None:
    doc = _parse(text, path, problems)
    if doc is not None and doc.spec is not None and doc.spec.extends is not None:
        _follow(doc, chain, problems)
    return doc


def _profile(doc: Doc, problems: list[str]) -> Profile | None:
    assert doc.spec is not None
    ref = doc.spec.profile
    try:
        return load_profile(ref, base=doc.path.parent)
    except UnknownProfile as exc:
        problems.append(doc.at(("profile",), str(exc)))
    except ProfileError as exc:
        lines = str(exc).splitlines()
        if len(lines) == 1:  # the file as a whole: unreadable, not TOML
            problems.append(doc.at(("profile",), lines[0]))
        else:  # its own file:line lines
            problems.append(doc.at(("profile",), f"profile {quoted(ref)} has problems:"))
            problems.extend(lines)
    return None


def _build(doc: Doc | None, problems: list[str]) -> Plan:
    if doc is None or doc.spec is None:
        raise PlanError(problems)
    warnings: list[str] = []
    # Ancestors first, each checked as a plan of its own; only the top one is kept.
    for ancestor in reversed(doc.chain()[1:]):
        if ancestor.spec is not None:
            resolve_points(ancestor, _profile(ancestor, problems), problems, [])
    profile = _profile(doc, problems)
    points = resolve_points(doc, profile, problems, warnings)
    if problems or profile is None:
        raise PlanError(problems)
    return Plan(
        spec=doc.spec,
        path=doc.path,
        text=doc.text,
        profile=profile,
        points=points,
        sources=tuple((d.path, d.text) for d in doc.chain()),
        warnings=tuple(dict.fromkeys(warnings)),
    )


def parse_plan(text: str, path: str | Path = "<plan>") -> Plan:
    """A plan from its text; `path` names it in messages and anchors `extends`."""
    path = Path(path)
    problems: list[str] = []
    return _build(_document(text, path, (_key(path),), problems), problems)


def load_plan(path: str | Path) -> Plan:
    """The plan in file `path`, resolved and checked; PlanError lists every problem."""
    path = Path(path)
    problems: list[str] = []
    return _build(_read(path, (_key(path),), problems), problems)
