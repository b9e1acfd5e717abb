"""Data sheets: a good one computes, every bad one is one clear file:line: field: message."""

import contextlib
import io
import json
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.metrology.sheet import SheetError, load_sheet, scop_command

LORIA = """\
climate: average            # Loria 6010, docs/standards.md §4
pdesignh_kw: 9.0
tbiv_c: -7
tol_c: -10
points:
  - {tj_c: 12, pdh_kw: 4.20, cop: 9.02}
  - {tj_c: -10, pdh_kw: 7.51, cop: 2.37, cdh: 0.9}
  - {tj_c: -7, pdh_kw: 8.05, cop: 2.54, cdh: 0.9}
  - {tj_c: 2, pdh_kw: 4.90, cop: 4.46}
  - {tj_c: 7, pdh_kw: 3.15, cop: 6.20}
aux_w: {poff: 7, pto: 52, psb: 7, pck: 0}
"""
LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<field>.+?): (?P<msg>.+)$")


def write(tmp_path: Path, text: str, name: str = "sheet.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(path: str, as_json: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    return scop_command(path, as_json, out), out.getvalue()


def only_problem(capsys, path: str) -> str:
    """Run the command on a bad sheet: exit 2, nothing on stdout, exactly one problem line."""
    code, stdout = run(path)
    err = capsys.readouterr().err.strip()
    assert (code, stdout) == (2, ""), err
    assert len(err.splitlines()) == 1, err
    assert LINE.match(err), err
    assert "Traceback" not in err
    return err


# --- the good sheet ------------------------------------------------------------------------
def test_good_sheet_table(tmp_path, capsys):
    code, out = run(write(tmp_path, LORIA))
    assert code == 0 and capsys.readouterr().err == ""
    assert "SCOP     4.472" in out and "ηs       175.9 %" in out
    assert out.count("\n") > 26  # one row per bin, −10 … 15 °C


def test_good_sheet_json_keys_exact(tmp_path):
    code, out = run(write(tmp_path, LORIA), as_json=True)
    data = json.loads(out)
    assert code == 0
    assert list(data) == ["scop", "scop_on", "scop_net", "qhe_kwh", "eta_s_percent"]
    assert abs(data["scop"] - 4.47) <= 0.01 and round(data["eta_s_percent"]) == 176


def test_optional_fields_and_defaults(tmp_path):
    sheet = load_sheet(write(tmp_path, LORIA + "cc: 2.5\nsource: water\n"))
    assert sheet.points[0].cdh == 0.9 and sheet.source == "water"


# --- each bad sheet: one line, pointing at the right place ----------------------------------
def replace(old: str, new: str) -> str:
    assert old in LORIA
    return LORIA.replace(old, new)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            replace("pdesignh_kw: 9.0", "pdesignh_kw: nine"),
            ":2: pdesignh_kw: Input should be a valid number, got 'nine'",
        ),
        (
            replace("cop: 6.20}", "cop: '6.20'}"),
            ":10: points[4].cop: Input should be a valid number, got '6.20'",
        ),
        (
            replace("tol_c: -10\n", "tol_c: -10\ncolour: blue\n"),
            ":5: colour: unknown key (allowed: aux_w, cc, climate, pdesignh_kw, points, "
            "source, tbiv_c, tol_c)",
        ),
        (
            replace("cdh: 0.9}\n  - {tj_c: -7", "cdh: 0.9, cd: 1}\n  - {tj_c: -7"),
            ":7: points[1].cd: unknown key (allowed: cdh, cop, pdh_kw, tj_c)",
        ),
        (replace("tol_c: -10\n", ""), ":1: tol_c: required field is missing"),
        (replace(", pck: 0}", "}"), ":11: aux_w.pck: required field is missing"),
        (
            replace("climate: average", "climate: avarage"),
            ":1: climate: Input should be 'average', 'warmer' or 'colder', got 'avarage'",
        ),
        (
            replace("pdesignh_kw: 9.0", "pdesignh_kw: -9.0"),
            ":2: pdesignh_kw: Input should be greater than or equal to 0.1",
        ),
        (
            replace("pdesignh_kw: 9.0", "pdesignh_kw: .nan"),
            ":2: pdesignh_kw: Input should be a finite number, got nan",
        ),
        (
            replace("tbiv_c: -7", "tbiv_c: 5"),
            ":3: tbiv_c: 5 °C is above 2 °C, the highest bivalent temperature of the average "
            "climate [R]",
        ),
        (replace("tbiv_c: -7", "tbiv_c: -12"), ":4: tol_c: TOL -10 °C is above Tbiv -12 °C"),
        (replace("tj_c: -10,", "tj_c: -12,"), ":7: points[1].tj_c: -12 °C is below TOL -10 °C"),
        (
            replace("{tj_c: 7, pdh_kw: 3.15", "{tj_c: 2, pdh_kw: 3.15"),
            ":10: points[4].tj_c: 2 °C is already declared by points[3] with other values",
        ),
        (LORIA + "tol_c: -10\n", ":12: tol_c: key given twice"),
        ("climate: average\n  pdesignh_kw: [9\n", ":2: sheet: not valid YAML"),
        ("- 1\n- 2\n", ":1: sheet: expected a mapping of fields, got a list"),
        ("", ":1: sheet: expected a mapping of fields, got empty"),
        ("# only a comment\n", ":1: sheet: expected a mapping of fields, got empty"),
    ],
)
def test_bad_sheet_gives_one_clear_line(tmp_path, capsys, text, expected):
    path = write(tmp_path, text)
    err = only_problem(capsys, path)
    assert err.startswith(path + expected), err


def test_one_point_only(tmp_path, capsys):
    head = LORIA.split("points:")[0]
    text = head + "points:\n  - {tj_c: -7, pdh_kw: 8.05, cop: 2.54}\n" + LORIA.splitlines()[-1]
    path = write(tmp_path, text)
    assert only_problem(capsys, path) == (
        f"{path}:5: points: at least two declared points are needed, got 1"
    )


def test_missing_file(tmp_path, capsys):
    path = str(tmp_path / "nope.yaml")
    assert only_problem(capsys, path) == f"{path}:1: file: no such file"


def test_not_text(tmp_path, capsys):
    path = tmp_path / "sheet.yaml"
    path.write_bytes(b"\xff\xfe\x00binary")
    assert only_problem(capsys, str(path)).endswith("file: not UTF-8 text")


def test_a_directory(tmp_path, capsys):
    assert "file: cannot read" in only_problem(capsys, str(tmp_path))


def test_all_problems_at_once(tmp_path):
    text = replace("climate: average", "climate: 3").replace("cop: 4.46}", "cop: x, extra: 1}")
    with pytest.raises(SheetError) as exc:
        load_sheet(write(tmp_path, text))
    lines = str(exc.value).splitlines()
    assert [LINE.match(x)["line"] for x in lines] == ["1", "9", "9"]
    assert [LINE.match(x)["field"] for x in lines] == [
        "climate",
        "points[3].cop",
        "points[3].extra",
    ]


def test_scop_errors_from_the_computation_are_sheet_errors(tmp_path, capsys):
    # Pdh falling steeply above C makes extrapolated Pdh/COPbin negative at 15 °C.
    text = replace("{tj_c: 12, pdh_kw: 4.20, cop: 9.02}", "{tj_c: 12, pdh_kw: 0.5, cop: 0.3}")
    path = write(tmp_path, text)
    err = only_problem(capsys, path)
    assert err.startswith(f"{path}:5: points: ") and "must stay positive" in err


# --- no input, however odd, gives a traceback ----------------------------------------------
yaml_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-100, 100)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["climate", "pdesignh_kw", "tbiv_c", "tol_c", "points", "aux_w", "cc", "source"]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), value=yaml_values)
def test_any_value_in_any_field_is_handled(field, value):
    data = yaml.safe_load(LORIA)
    data[field] = value
    _check_never_raises(yaml.safe_dump(data))


@settings(max_examples=100)
@given(text=st.text(max_size=80))
def test_any_text_is_handled(text):
    _check_never_raises(text)


def _check_never_raises(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp), text)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code, _ = run(path)
        assert code in (0, 2)
        if code == 2:
            lines = err.getvalue().splitlines()
            assert lines and all(LINE.match(x) for x in lines), err.getvalue()


def test_absurd_nesting(tmp_path, capsys):
    path = write(tmp_path, "climate: " + "[" * 5000 + "\n")
    assert only_problem(capsys, path) == f"{path}:1: sheet: nested too deeply"
