"""Plan loading: the shipped plans, `extends`, `flow_from` order, YAML quirks, and fuzzing."""

import copy
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.plan import FlowFrom, PlanError, TemperatureDifference, load_plan, parse_plan

PLANS = Path(__file__).resolve().parents[3] / "test_plans"
SHIPPED = ["demo", "en14511_rating", "en14825_average_low_temp", "overnight"]

HEAD = """\
name: child
profile: en14511-3
standard: en14511
operator: tester
unit: {make: NIBE, model: S2125-12, serial: "42", refrigerant: R290}
"""
PARENT = """\
name: parent
profile: en14511-3
standard: en14511
operator: tester
unit: {make: NIBE, model: S2125-12, serial: "1", refrigerant: R290}
defaults:
  water: {delta_t_k: 5}
  timing: {equilibrium_min: 60, collection_min: 35}
points:
  - {id: A, air: {dry_bulb_c: 7, wet_bulb_c: 6}, water: {outlet_c: 35}}
  - {id: B, air: {dry_bulb_c: 2, wet_bulb_c: 1}, water: {outlet_c: 35}}
  - {id: C, air: {dry_bulb_c: -7, wet_bulb_c: -8}, water: {outlet_c: 35}}
"""


@pytest.fixture
def family(tmp_path):
    """A directory holding `parent.yaml`; write a child next to it with the returned function."""
    (tmp_path / "parent.yaml").write_text(PARENT, encoding="utf-8")

    def child(body: str) -> Path:
        path = tmp_path / "child.yaml"
        path.write_text(HEAD + "extends: parent\n" + body, encoding="utf-8")
        return path

    return child


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_plans_load(name):
    plan = load_plan(PLANS / f"{name}.yaml")
    assert plan.name == name
    assert plan.path == PLANS / f"{name}.yaml"
    assert plan.text == (PLANS / f"{name}.yaml").read_text(encoding="utf-8")
    assert plan.profile.name == "en14511-3"
    assert plan.points and all(p.mode == "heating" for p in plan.points)
    last = plan.points[-1]
    file, line = last.source.rsplit(":", 1)
    assert file == str(plan.path)
    assert f"id: {last.id}" in plan.text.splitlines()[int(line) - 1]


def test_rating_set_has_the_standard_points():
    plan = load_plan(PLANS / "en14511_rating.yaml")
    assert [p.id for p in plan.points] == ["A7W35", "A2W35", "A-7W35", "A7W55", "A-7W55", "A12W35"]
    w55 = plan.point("A7W55")
    assert (w55.water_outlet_c, w55.flow.inlet_c) == (55, 47)
    assert plan.point("A7W35").flow == TemperatureDifference(5)
    assert plan.point("A7W35").timing.equilibrium_min == 60  # the profile's
    assert plan.warnings == ()


def test_overnight_extends_the_rating_set():
    plan = load_plan(PLANS / "overnight.yaml")
    assert [p.id for p in plan.points][:6] == [
        p.id for p in load_plan(PLANS / "en14511_rating.yaml").points
    ]
    assert plan.points[-1].flow == FlowFrom("A7W35")
    assert plan.spec.unit.serial == "S2125-0042"
    assert [path.name for path, _ in plan.sources] == ["overnight.yaml", "en14511_rating.yaml"]
    assert all(p.timing.stabilise_timeout_min == 150 for p in plan.points)


def test_demo_summary_is_short_and_says_how_long():
    summary = load_plan(PLANS / "demo.yaml").summary()
    assert summary.splitlines()[0] == "demo: en14511, profile en14511-3 0.1.0"
    assert "2 points (A7W35, A2W35), about 48 min" in summary
    assert len(summary.splitlines()) == 3


def test_child_overrides_in_place_and_appends(family):
    path = family(
        """\
points:
  - {id: B, air: {dry_bulb_c: 2, rh_pct: 80}, water: {outlet_c: 45}}
  - {id: D, air: {dry_bulb_c: 12, wet_bulb_c: 11}, water: {outlet_c: 35, flow_from: A}}
"""
    )
    plan = load_plan(path)
    assert [p.id for p in plan.points] == ["A", "B", "C", "D"]
    assert plan.point("B").water_outlet_c == 45
    assert plan.point("B").source == f"{path}:8"  # replaced by the child's point
    assert plan.point("A").source == f"{path.parent / 'parent.yaml'}:10"
    assert plan.name == "child"
    assert plan.spec.unit.serial == "42"


def test_only_selects_inherited_points(family):
    plan = load_plan(family("only: [C, A]\n"))
    assert [p.id for p in plan.points] == ["A", "C"]  # the parent's order


def test_child_defaults_win_over_the_parents(family):
    plan = load_plan(
        family("defaults:\n  timing: {collection_min: 10}\n  water: {flow_m3h: 1.1}\n")
    )
    assert {p.timing.collection_min for p in plan.points} == {10}
    assert {p.timing.equilibrium_min for p in plan.points} == {60}  # still the parent's
    assert {p.flow.flow_m3h for p in plan.points} == {1.1}


def test_extends_is_also_found_in_test_plans(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(HEAD + "extends: en14511_rating\nonly: [A7W35]\n", encoding="utf-8")
    assert [p.id for p in load_plan(path).points] == ["A7W35"]


def test_only_with_an_unknown_id(family):
    with pytest.raises(PlanError) as caught:
        load_plan(family("only: [A, Z]\n"))
    assert caught.value.problems == (
        f"{caught.value.problems[0].split(':')[0]}:7: only[1]: no point 'Z' in parent.yaml; "
        "it has A, B, C",
    )


def test_extends_that_does_not_exist(tmp_path):
    path = tmp_path / "child.yaml"
    path.write_text(HEAD + "extends: nowhere\npoints: []\n", encoding="utf-8")
    with pytest.raises(PlanError, match=rf"^{path}:6: extends: no plan 'nowhere' in "):
        load_plan(path)


def test_extends_cycle_is_reported(tmp_path):
    (tmp_path / "a.yaml").write_text(HEAD.replace("child", "a") + "extends: b\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text(HEAD.replace("child", "b") + "extends: a\n", encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plan(tmp_path / "a.yaml")
    cycle = "plans extend each other in a cycle: a.yaml → b.yaml → a.yaml"
    assert f"{tmp_path / 'b.yaml'}:6: extends: {cycle}" in caught.value.problems


def test_a_bad_parent_is_reported_with_its_own_file(family, tmp_path):
    (tmp_path / "parent.yaml").write_text(
        PARENT.replace("outlet_c: 35}}\n  - {id: B", "outlet_c: 99}}\n  - {id: B")
    )
    with pytest.raises(PlanError) as caught:
        load_plan(family(""))
    assert caught.value.problems[0].startswith(
        f"{tmp_path / 'parent.yaml'}:10: points[0].water.outlet_c: 99 °C"
    )
    parent = tmp_path / "parent.yaml"
    assert caught.value.problems[-1] == (
        f"{tmp_path / 'child.yaml'}:6: extends: {parent} has problems (listed with its name)"
    )


@pytest.mark.parametrize(
    ("points", "problem"),
    [
        (
            "[{id: A, air: {dry_bulb_c: 7, rh_pct: 80}, water: {outlet_c: 35, flow_from: B}},"
            " {id: B, air: {dry_bulb_c: 7, rh_pct: 80}, water: {outlet_c: 35, delta_t_k: 5}}]",
            "points[0].water.flow_from: point B comes later in the plan; "
            "flow_from needs an earlier point",
        ),
        (
            "[{id: A, air: {dry_bulb_c: 7, rh_pct: 80}, water: {outlet_c: 35, flow_from: Q}}]",
            "points[0].water.flow_from: no point 'Q' in this plan; points: A",
        ),
        (
            "[{id: A, air: {dry_bulb_c: 7, rh_pct: 80}, water: {outlet_c: 35, flow_from: A}}]",
            "points[0].water.flow_from: point A cannot take its flow from itself",
        ),
    ],
)
def test_flow_from_must_name_an_earlier_point(points, problem):
    with pytest.raises(PlanError) as caught:
        parse_plan(HEAD + f"points: {points}\n", "t.yaml")
    assert caught.value.problems == (f"t.yaml:6: {problem}",)


def test_flow_from_an_earlier_point_is_fine():
    plan = parse_plan(
        HEAD
        + "points: [{id: A, air: {dry_bulb_c: 7, rh_pct: 80}, water: {outlet_c: 35, delta_t_k: 5}},"
        " {id: B, air: {dry_bulb_c: 2, rh_pct: 80}, water: {outlet_c: 35, flow_from: A}}]\n",
        "t.yaml",
    )
    assert plan.points[1].flow == FlowFrom("A")


def test_yaml_12_scalars_no_norway_problem():
    # PyYAML's YAML 1.1 would read `no` as false, `012` as octal 10 and 1:30 as 90.
    text = HEAD.replace('serial: "42"', "serial: 012").replace("operator: tester", "operator: no")
    with pytest.raises(PlanError) as caught:
        parse_plan(
            text + "points: [{id: 1:30, air: {dry_bulb_c: 7, rh_pct: 80},"
            " water: {outlet_c: 35, delta_t_k: 5}}]",
            "t.yaml",
        )
    assert caught.value.problems == (
        "t.yaml:5: unit.serial: expected text, got the number 12: write it in quotes",
        "t.yaml:6: points[0].id: '1:30' is not a valid point id: "
        "up to 32 letters, digits and _ . + - (e.g. A-7W35)",
    )


def test_anchors_and_aliases_work():
    text = HEAD + (
        "points:\n"
        "  - {id: A, air: &a7 {dry_bulb_c: 7, wet_bulb_c: 6},\n"
        "     water: {outlet_c: 35, delta_t_k: 5}}\n"
        "  - {id: B, air: *a7, water: {outlet_c: 55, inlet_c: 47}}\n"
    )
    assert [p.air_rh_pct for p in parse_plan(text, "t.yaml").points] == pytest.approx(
        [86.8] * 2, abs=0.1
    )


def test_a_self_containing_alias_is_a_plan_error():
    with pytest.raises(PlanError):
        parse_plan(HEAD + "points: &p [*p]\n", "t.yaml")


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (PLANS / "demo.yaml").read_bytes())
    assert load_plan(path).name == "demo"


def test_relative_paths_stay_relative_in_messages(tmp_path):
    (tmp_path / "p.yaml").write_text(HEAD + "points: []\n", encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(PlanError, match=r"^p\.yaml:6: points: a plan needs at least one point"):
            load_plan("p.yaml")
    finally:
        os.chdir(cwd)


# ---- fuzzing: whatever the text, the loader answers with a Plan or a PlanError ----

VALID = yaml.safe_load((PLANS / "demo.yaml").read_text(encoding="utf-8"))
TOKENS = [*"abc_019.-:{}[],#&*!|>'\"\n \t?%@`~\\", "  ", "- ", ": ", "id", "points", "air"]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=80).map("".join)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
STRUCTURES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


def _answer(text: str) -> None:
    try:
        parse_plan(text, "fuzz.yaml")
    except PlanError as exc:
        assert exc.problems and all(line.startswith("fuzz.yaml") for line in exc.problems)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text(max_size=300))
def test_fuzz_any_text(text):
    _answer(text)


@FUZZ
@given(YAMLISH)
def test_fuzz_yaml_ish_text(text):
    _answer(text)


@FUZZ
@given(STRUCTURES)
def test_fuzz_random_structures(data):
    _answer(yaml.safe_dump(data, allow_unicode=True))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


ALL_PATHS = [p for p in _paths(VALID) if p]


@FUZZ
@given(st.sampled_from(ALL_PATHS), STRUCTURES, st.booleans())
def test_fuzz_mutated_demo_plan(path, value, delete):
    data = copy.deepcopy(VALID)
    holder = data
    for key in path[:-1]:
        holder = holder[key]
    if delete:
        del holder[path[-1]]
    else:
        holder[path[-1]] = value
    _answer(yaml.safe_dump(data, allow_unicode=True))


def test_only_that_selects_nothing(family):
    with pytest.raises(PlanError, match=r":7: only: selects no point"):
        load_plan(family("only: []\n"))


def test_profile_by_path_relative_to_the_plan(tmp_path):
    shipped = Path(__file__).resolve().parents[3] / "bench" / "profiles" / "en14511-3.toml"
    (tmp_path / "lab.toml").write_text(
        shipped.read_text(encoding="utf-8").replace('version = "0.1.0"', 'version = "lab-7"')
    )
    text = HEAD.replace("profile: en14511-3", "profile: lab.toml") + (
        "points: [{id: A, air: {dry_bulb_c: 7, rh_pct: 80}, water: {outlet_c: 35, delta_t_k: 5}}]\n"
    )
    assert parse_plan(text, tmp_path / "p.yaml").profile.version == "lab-7"
    with pytest.raises(PlanError, match=r"p\.yaml:2: profile: .*gone\.toml: cannot read profile"):
        parse_plan(text.replace("lab.toml", "gone.toml"), tmp_path / "p.yaml")


def test_unknown_profile_when_every_timing_is_in_defaults():
    # found by the fuzzer: nothing is left to the profile, yet it must still be reported
    text = (PLANS / "demo.yaml").read_text(encoding="utf-8").replace("en14511-3", "en0")
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "demo.yaml")
    assert caught.value.problems == (
        "demo.yaml:5: profile: unknown profile 'en0'; shipped profiles: en14511-3",
    )
