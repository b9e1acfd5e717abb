"""`hpbench validate`: the table and duration of good plans; exact file:line lines for bad ones."""

import io
from pathlib import Path

import pytest

from bench.plan import PlanError, estimate, load_plan, validate_command

PLANS = Path(__file__).resolve().parents[3] / "test_plans"

# Line numbers below refer to this text; each case edits it and names the lines it expects.
BASE = """\
name: t
profile: en14511-3
standard: en14511
operator: tester
unit:
  make: NIBE
  model: S2125-12
  serial: "42"
  refrigerant: R290
defaults:
  water: {delta_t_k: 5}
points:
  - id: A7W35
    air: {dry_bulb_c: 7, wet_bulb_c: 6}
    water: {outlet_c: 35}
  - id: A2W35
    air: {dry_bulb_c: 2, wet_bulb_c: 1}
    water: {outlet_c: 35}
"""


def edit(old: str, new: str, count: int = 1) -> str:
    assert old in BASE
    text = BASE
    if count == -1:  # the last occurrence
        head, _, tail = text.rpartition(old)
        return head + new + tail
    return text.replace(old, new, count)


# (case, plan text, expected lines as (line, field, start of message))
CASES = [
    (
        "wrong type",
        edit("dry_bulb_c: 7,", "dry_bulb_c: warm,"),
        [(14, "points[0].air.dry_bulb_c", "expected a number, got the text 'warm'")],
    ),
    (
        "number where text is expected",
        edit('serial: "42"', "serial: 42"),
        [(8, "unit.serial", "expected text, got the number 42: write it in quotes")],
    ),
    (
        "unknown key",
        edit("  refrigerant: R290\n", "  refrigerant: R290\n  colour: red\n"),
        [(10, "unit.colour", "unknown field 'colour'; expected one of make, model, serial")],
    ),
    (
        "misspelt key",
        edit("wet_bulb_c: 1}", "wetbulb_c: 1}"),
        [(17, "points[1].air.wetbulb_c", "unknown field 'wetbulb_c'; did you mean wet_bulb_c?")],
    ),
    (
        "missing points",
        BASE[: BASE.index("points:")],
        [(1, "points", "a plan needs at least one point")],
    ),
    (
        "empty points",
        BASE[: BASE.index("points:")] + "points: []\n",
        [(12, "points", "a plan needs at least one point")],
    ),
    (
        "missing required field",
        edit("operator: tester\n", ""),
        [(1, "operator", "required field is missing")],
    ),
    (
        "duplicate ids",
        edit("id: A2W35", "id: A7W35"),
        [(16, "points[1].id", "duplicate point id 'A7W35' (first at line 13)")],
    ),
    (
        "air too cold for the chamber",
        edit("dry_bulb_c: 2,", "dry_bulb_c: -45,"),
        [(17, "points[1].air.dry_bulb_c", "-45 °C is outside the chamber's range -30..50 °C")],
    ),
    (
        "water too hot",
        edit("outlet_c: 35}", "outlet_c: 95}", -1),
        [(18, "points[1].water.outlet_c", "95 °C is outside the water outlet range 15..75 °C")],
    ),
    (
        "wet bulb above dry bulb",
        edit("wet_bulb_c: 1}", "wet_bulb_c: 3}"),
        [(17, "points[1].air.wet_bulb_c", "wet bulb 3 °C is above dry bulb 2 °C")],
    ),
    (
        "inlet above outlet",
        edit("outlet_c: 35}", "outlet_c: 35, inlet_c: 40}", -1),
        [(18, "points[1].water.inlet_c", "heating: inlet 40 °C must be below the outlet 35 °C")],
    ),
    (
        "both wet bulb and RH",
        edit("wet_bulb_c: 1}", "wet_bulb_c: 1, rh_pct: 80}"),
        [(17, "points[1].air", "give exactly one of wet_bulb_c, rh_pct (both are given)")],
    ),
    (
        "RH out of range",
        edit("wet_bulb_c: 1}", "rh_pct: 120}"),
        [(17, "points[1].air.rh_pct", "120 % is outside the humidity range 5..100 %")],
    ),
    (
        "two flow settings",
        edit("outlet_c: 35}", "outlet_c: 35, delta_t_k: 5, flow_m3h: 1.2}", -1),
        [(18, "points[1].water", "give only one of inlet_c, delta_t_k, flow_m3h, flow_from")],
    ),
    (
        "no flow setting at all",
        edit("defaults:\n  water: {delta_t_k: 5}\n", ""),
        [
            (13, "points[0].water", "no flow setting: give one of"),
            (16, "points[1].water", "no flow setting: give one of"),
        ],
    ),
    (
        "flow from a later point",
        edit("outlet_c: 35}", "outlet_c: 35, flow_from: A2W35}"),
        [(15, "points[0].water.flow_from", "point A2W35 comes later in the plan")],
    ),
    (
        "cooling is reserved",
        edit("  - id: A2W35\n", "  - id: A2W35\n    mode: cooling\n"),
        [(17, "points[1].mode", "cooling is reserved")],
    ),
    (
        "collection shorter than three samples",
        edit(
            "  water: {delta_t_k: 5}\n",
            "  water: {delta_t_k: 5}\n  timing: {collection_min: 0.2}\n",
        ),
        [(12, "defaults.timing.collection_min", "a 0.2 min collection holds fewer than 3 samples")],
    ),
    (
        "negative timing",
        edit(
            "    water: {outlet_c: 35}\n",
            "    water: {outlet_c: 35}\n    timing: {equilibrium_min: -5}\n",
        ),
        [(16, "points[0].timing.equilibrium_min", "must be positive, got -5 min")],
    ),
    (
        "unknown profile",
        edit("profile: en14511-3", "profile: en99"),
        [(2, "profile", "unknown profile 'en99'; shipped profiles: en14511-3")],
    ),
    (
        "unknown standard",
        edit("standard: en14511", "standard: en16147"),
        [(3, "standard", "expected 'en14511' or 'en14825', got the text 'en16147'")],
    ),
    (
        "duplicate YAML key",
        edit("operator: tester\n", "operator: tester\noperator: other\n"),
        [(5, "operator", "duplicate key (first at line 4); YAML would keep only the last")],
    ),
    (
        "several problems at once, in file order",
        edit("dry_bulb_c: 7,", "dry_bulb_c: 70,").replace("outlet_c: 35}", "outlet_c: 5}", 2),
        [
            (14, "points[0].air.dry_bulb_c", "70 °C is outside"),
            (15, "points[0].water.outlet_c", "5 °C is outside"),
            (18, "points[1].water.outlet_c", "5 °C is outside"),
        ],
    ),
    (
        "bad YAML syntax",
        edit("wet_bulb_c: 1}", "wet_bulb_c: 1"),
        [(18, None, "while parsing a flow mapping, expected ',' or '}', but got ':'")],
    ),
    (
        "tab indentation",
        edit("  make: NIBE", "\tmake: NIBE"),
        [(6, None, "while scanning for the next token, found character '\\t'")],
    ),
    (
        "not a mapping",
        "- A7W35\n- A2W35\n",
        [(1, "plan", "expected a mapping of fields (name, profile, standard, operator, unit")],
    ),
    (
        "a plain string",
        "just some words\n",
        [(1, "plan", "expected a mapping of fields")],
    ),
]


def _check(problems: list[str], path: Path, expected: list) -> None:
    assert len(problems) == len(expected), "\n".join(problems)
    for problem, (line, field, message) in zip(problems, expected, strict=True):
        if field is None:  # YAML syntax: file:line:column: YAML syntax: message
            prefix, _, rest = problem.partition(": YAML syntax: ")
            assert prefix.startswith(f"{path}:{line}:"), problem
            assert rest.startswith(message), problem
        else:
            assert problem.startswith(f"{path}:{line}: {field}: {message}"), problem


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_plan_gives_file_line_field_message(tmp_path, text, expected):
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    _check(list(caught.value.problems), path, expected)
    assert str(caught.value) == "\n".join(caught.value.problems)
    out, err = io.StringIO(), io.StringIO()
    assert validate_command(str(path), out, err) == 2
    assert out.getvalue() == ""
    _check(err.getvalue().splitlines(), path, expected)


def test_base_plan_is_valid(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(BASE, encoding="utf-8")
    assert validate_command(str(path), io.StringIO(), io.StringIO()) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read plan file: No such file or directory"),
        (b"", "empty plan file: expected the fields name, profile"),
        (b"# only a comment\n", "empty plan file"),
        (b"---\n", "empty plan file"),
        (b"\xff\xfe\x00", "not a text file (UTF-8 expected)"),
    ],
    ids=["missing", "empty", "comment only", "empty document", "binary"],
)
def test_file_level_problems_are_one_line(tmp_path, content, message):
    path = tmp_path / "plan.yaml"
    if content is not None:
        path.write_bytes(content)
    err = io.StringIO()
    assert validate_command(str(path), io.StringIO(), err) == 2
    assert err.getvalue() == f"{path}: {message}" + err.getvalue().removeprefix(
        f"{path}: {message}"
    )
    assert len(err.getvalue().splitlines()) == 1


def test_a_directory_is_not_a_plan(tmp_path):
    err = io.StringIO()
    assert validate_command(str(tmp_path), io.StringIO(), err) == 2
    assert err.getvalue().startswith(f"{tmp_path}: cannot read plan file")


@pytest.mark.parametrize(
    "name", ["demo", "en14511_rating", "en14825_average_low_temp", "overnight"]
)
def test_shipped_plans_validate(name):
    out, err = io.StringIO(), io.StringIO()
    assert validate_command(str(PLANS / f"{name}.yaml"), out, err) == 0
    plan = load_plan(PLANS / f"{name}.yaml")
    for point in plan.points:
        assert point.id in out.getvalue()
    assert "estimated" in out.getvalue()


def test_demo_output_and_warnings():
    out, err = io.StringIO(), io.StringIO()
    assert validate_command(str(PLANS / "demo.yaml"), out, err) == 0
    text = out.getvalue()
    assert "A7W35  7/6           86.8  35            ΔT 5 K  -          5/10" in text
    assert "A2W35  2/1           83.9  35" in text
    assert "2 points, estimated 48 min of bench time" in text
    # the demo's timings are not the profile's: said once each, at the defaults' lines
    assert err.getvalue().splitlines() == [
        f"{PLANS / 'demo.yaml'}:17: defaults.timing.equilibrium_min: warning: 5 min is shorter "
        "than profile en14511-3's 60 min: not a rating measurement",
        f"{PLANS / 'demo.yaml'}:18: defaults.timing.collection_min: warning: 10 min is shorter "
        "than profile en14511-3's 35 min: not a rating measurement",
    ]


def test_demo_duration_by_hand():
    est = estimate(load_plan(PLANS / "demo.yaml").points)
    # Chamber from 20 °C at 1 K/min: A7 ramps 13 min, then 5 min equilibrium, 10 min collection;
    # A2 ramps 7 → 2 °C in 5 min, then 5 + 10. Total 28 + 20 = 48 min.
    assert [p.ramp_min for p in est.points] == [13, 5]
    assert [p.total_min for p in est.points] == [28, 20]
    assert [p.start_min for p in est.points] == [0, 28]
    assert est.total_min == 48
    # Worst case: each waits its 30 min stabilise timeout instead of 5 min equilibrium.
    assert est.worst_min == (13 + 30 + 10) + (5 + 30 + 10)


def test_rating_set_duration_by_hand():
    est = estimate(load_plan(PLANS / "en14511_rating.yaml").points)
    # ramps 20→7→2→-7→7→-7→12: 13 + 5 + 9 + 14 + 14 + 19 = 74 min; 6 × (60 + 35) = 570 min
    assert est.part_min("ramp") == 74
    assert est.total_min == 74 + 570


def test_overnight_is_at_least_ten_bench_hours():
    est = estimate(load_plan(PLANS / "overnight.yaml").points)
    assert est.total_min >= 10 * 60
    assert est.total_min == 74 + 5 + 7 * 95  # the rating set, then back from 12 to 7 °C


def test_ramp_rate_and_start_are_parameters():
    points = load_plan(PLANS / "demo.yaml").points
    assert estimate(points, start_air_c=7.0, ramp_k_per_min=0.5).part_min("ramp") == 10
