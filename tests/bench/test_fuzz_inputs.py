"""Bad input everywhere: plan, station, register-map and data-sheet files, fuzzed.

Every loader either accepts a document or raises its own error type (`PlanError`,
`StationError`, `RegisterMapError`, `SheetError`) whose message names the file and says, one
short printable line per problem, what is wrong; never another exception, never a traceback,
never a hang. The command line then turns that message into exit status 2.

Two kinds of input (`tests/fuzzing.py`): valid documents with a field or three mutated
(structure-aware), and the raw bytes of shipped files garbled. The in-process tests run the
whole budget; the command-line tests run a subprocess per example, so they take a few.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from bench.metrology.sheet import SheetError, load_sheet, scop_command
from bench.plan import PlanError, load_plan, validate_command
from bench.station import StationError, build_instruments, load_station, sim_station_path
from instruments.base import Quality
from instruments.modbus.regmap import MAPS_DIR, RegisterMapError, decode, load_map
from tests.fuzzing import (
    FUZZ,
    HUGE_TEXT,
    alias_bomb,
    assert_clear_message,
    deep_list,
    deep_table,
    few,
    mutated_bytes,
    mutated_data,
    to_toml,
    to_yaml,
)

REPO = Path(__file__).resolve().parents[2]
SLOW_S = 5.0  # a loader taking longer than this on a small file is a hang in the making

# -- seeds: the shipped files, and one of each kind written here ----------------------------
PLAN_FILES = sorted((REPO / "test_plans").glob("*.yaml"))
MAP_FILES = sorted(MAPS_DIR.glob("*.toml"))

LAB_STATION = """\
# A lab station on loopback port 1 (nothing listens there): probe fails fast, exit 2.
[station]
name = "lab-1"
lab = "fuzz lab"
calibration_policy = "warn"
flow_meter = "inlet"
water_pressure_pa = 300000
nominal_voltage_v = 230.0
initial_flow_m3h = 1.6

[instruments.climate_chamber]
driver = "espec"
address = "socket://127.0.0.1:1"
serial = "CH-1"
timeout_s = 0.5
calibration_due = 2027-06-30
accuracy = { temperature_k = 0.1, humidity_pct = 1.0 }
options = { rs485_address = 1, baudrate = 9600 }

[instruments.power_analyser]
driver = "yokogawa_wt300"
address = "TCPIP::127.0.0.1::1::SOCKET"
serial = "C2-1"
timeout_s = 0.5

[instruments.heat_pump]
driver = "modbus_heat_pump"
address = "tcp://127.0.0.1:1"
timeout_s = 0.5
options = { map = "stiebel_eltron_wpm", device_id = 1 }

[instruments.hydraulic_module]
driver = "modbus_hydraulic"
address = "tcp://127.0.0.1:1"
timeout_s = 0.5
options = { map = "hpbench_hm", device_id = 1 }
"""
STATION_TEXTS = {"lab.toml": LAB_STATION, "sim.toml": sim_station_path().read_text("utf-8")}
SIM_ENDPOINTS = {  # what `--sim` would fill in; nothing listens on port 1
    "climate_chamber_tty": "socket://127.0.0.1:1",
    "climate_chamber": "socket://127.0.0.1:1",
    "power_analyser": "TCPIP::127.0.0.1::1::SOCKET",
    "heat_pump": "tcp://127.0.0.1:1",
    "heat_pump_rtu": "rtu+socket://127.0.0.1:1",
    "hydraulic_module": "tcp://127.0.0.1:1",
}

LORIA_SHEET = """\
climate: average            # Loria 6010 (docs/standards.md §4)
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
cc: 2.5
source: air
"""
SHEET_TEXTS = {"loria.yaml": LORIA_SHEET}

PLAN_TEXTS = {p.name: p.read_text("utf-8") for p in PLAN_FILES}
MAP_TEXTS = {p.name: p.read_text("utf-8") for p in MAP_FILES}

ONE_SIDED_MAP = {  # a read-only register may have only one bound
    "make": "m",
    "model": "m",
    "source": "s",
    "register": [{"name": "t", "table": "input", "address": 0, "type": "int16", "max": 10.0}],
}

NAN_RANGE_MAP = {  # every comparison with NaN is false: the range would check nothing
    **ONE_SIDED_MAP,
    "register": [{"name": "t", "table": "input", "address": 0, "type": "int16", "min": math.nan}],
}

PLAN_DATA = {name: yaml.safe_load(text) for name, text in PLAN_TEXTS.items()}
SHEET_DATA = {name: yaml.safe_load(text) for name, text in SHEET_TEXTS.items()}
STATION_DATA = {name: tomllib.loads(text) for name, text in STATION_TEXTS.items()}
MAP_DATA = {name: tomllib.loads(text) for name, text in MAP_TEXTS.items()}


def test_seeds_are_valid(tmp_path: Path) -> None:
    """The fuzzers start from good documents, so what they find is the mutation's doing."""
    for name, text in PLAN_TEXTS.items():
        (tmp_path / name).write_text(text, "utf-8")
        load_plan(tmp_path / name)
    for name, text in SHEET_TEXTS.items():
        (tmp_path / name).write_text(text, "utf-8")
        load_sheet(tmp_path / name)
    for name, text in STATION_TEXTS.items():
        (tmp_path / name).write_text(text, "utf-8")
        build_instruments(load_station(tmp_path / name), SIM_ENDPOINTS)
    for path in MAP_FILES:
        load_map(path)
    # and the writers give back what they were given
    for name, data in STATION_DATA.items():
        assert tomllib.loads(to_toml(data)) == data, name
    for name, data in MAP_DATA.items():
        assert tomllib.loads(to_toml(data)) == data, name
    for name, data in PLAN_DATA.items():
        assert yaml.safe_load(to_yaml(data)) == data, name


# -- plumbing ---------------------------------------------------------------------------------
@contextlib.contextmanager
def written(name: str, content: str | bytes) -> Iterator[Path]:
    """`content` in a file of its own directory (plans look for `extends` next to them)."""
    with tempfile.TemporaryDirectory(prefix="hpbench-fuzz-") as tmp:
        path = Path(tmp) / name
        if isinstance(content, str):
            content = content.encode("utf-8", errors="surrogatepass")
        path.write_bytes(content)
        yield path


def timed(call: Callable[[], Any]) -> Any:
    start = time.monotonic()
    try:
        return call()
    finally:
        elapsed = time.monotonic() - start
        assert elapsed < SLOW_S, f"took {elapsed:.1f} s"


def check_plan(path: Path) -> None:
    try:
        timed(lambda: load_plan(path))
    except PlanError as exc:
        assert_clear_message(str(exc), path)
        out, err = io.StringIO(), io.StringIO()
        assert validate_command(str(path), out, err) == 2
        assert err.getvalue().strip() == str(exc).strip()
    else:
        out, err = io.StringIO(), io.StringIO()
        assert validate_command(str(path), out, err) == 0, err.getvalue()


def check_sheet(path: Path) -> None:
    try:
        timed(lambda: load_sheet(path))
    except SheetError as exc:
        assert_clear_message(str(exc), path)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert scop_command(str(path), False, io.StringIO()) == 2
        assert err.getvalue().strip() == str(exc).strip()
    else:
        assert scop_command(str(path), True, io.StringIO()) == 0


# Three bugs this suite found in bench/station.py (fixed; each has a regression test below):
# deeply nested TOML raised RecursionError, a key's control characters reached the message,
# and build_instruments let a driver's ValueError / TypeError through.


def check_station(path: Path) -> None:
    try:
        timed(lambda: load_station(path))
    except StationError as exc:
        assert_clear_message(str(exc), path, escaped=True)


def check_map(path: Path) -> None:
    try:
        regmap = timed(lambda: load_map(path))
    except RegisterMapError as exc:
        assert_clear_message(str(exc), path)
        return
    # A map that loads must decode whatever a device sends: a Reading, never an exception.
    for reg in regmap.registers:
        for words in ([0] * reg.width, [0xFFFF] * reg.width, [*[32768, 0][: reg.width], 0]):
            reading = decode(reg, words[: reg.width])
            if reading.quality is Quality.OK:
                assert reading.value is not None and math.isfinite(reading.value)
                assert reg.min is None or reading.value >= reg.min
                assert reg.max is None or reading.value <= reg.max


# -- structure-aware: one field wrong --------------------------------------------------------
def _seeded(texts: dict[str, Any], *, nulls: bool, yaml_syntax: bool) -> st.SearchStrategy:
    return st.sampled_from(sorted(texts)).flatmap(
        lambda name: st.tuples(
            st.just(name), mutated_data(texts[name], nulls=nulls, yaml_syntax=yaml_syntax)
        )
    )


plan_documents = _seeded(PLAN_DATA, nulls=True, yaml_syntax=True)
sheet_documents = _seeded(SHEET_DATA, nulls=True, yaml_syntax=True)
station_documents = _seeded(STATION_DATA, nulls=False, yaml_syntax=False)
map_documents = _seeded(MAP_DATA, nulls=False, yaml_syntax=False)


@FUZZ
@given(case=plan_documents)
@example(case=("demo.yaml", ({**PLAN_DATA["demo.yaml"], "\x1b[2J": 1}, [])))  # found: raw ESC
@example(
    case=("demo.yaml", ({**PLAN_DATA["demo.yaml"], "name": HUGE_TEXT}, []))
)  # found: 5 kB line
@example(case=("demo.yaml", ({"name": "x", "points": alias_bomb(12)}, [])))
@example(case=("demo.yaml", ({"name": "x", "points": deep_list(1100)}, [])))
def test_plan_documents(case: tuple[str, tuple[Any, list[Any]]]) -> None:
    name, (data, _mutations) = case
    with written(name, to_yaml(data)) as path:
        check_plan(path)


@FUZZ
@given(case=sheet_documents)
@example(case=("loria.yaml", ({"climate": "average", "points": alias_bomb(12)}, [])))  # found
@example(case=("loria.yaml", ({"climate": "average", "points": deep_list(1100)}, [])))
def test_sheet_documents(case: tuple[str, tuple[Any, list[Any]]]) -> None:
    name, (data, _mutations) = case
    with written(name, to_yaml(data)) as path:
        check_sheet(path)


@FUZZ
@given(case=station_documents)
def test_station_documents(case: tuple[str, tuple[Any, list[Any]]]) -> None:
    name, (data, _mutations) = case
    with written(name, to_toml(data)) as path:
        check_station(path)


@FUZZ
@given(case=map_documents)
@example(case=("hpbench_hm.toml", ({"make": deep_list(1100)}, [])))  # found: RecursionError
@example(case=("hpbench_hm.toml", ({**MAP_DATA["hpbench_hm.toml"], "\x1b[2J": 1}, [])))  # found
@example(case=("hpbench_hm.toml", (ONE_SIDED_MAP, [])))  # found: decode's TypeError
@example(case=("hpbench_hm.toml", (NAN_RANGE_MAP, [])))  # found: `min = nan` disabled the range
@example(case=("hpbench_hm.toml", ({"make": deep_table(1100)}, [])))
def test_register_map_documents(case: tuple[str, tuple[Any, list[Any]]]) -> None:
    name, (data, _mutations) = case
    with written(name, to_toml(data)) as path:
        check_map(path)


# -- raw bytes: the shipped files garbled ----------------------------------------------------
def _garbled(texts: dict[str, str]) -> st.SearchStrategy:
    return st.sampled_from(sorted(texts)).flatmap(
        lambda name: st.tuples(st.just(name), mutated_bytes(texts[name].encode("utf-8")))
    )


@FUZZ
@given(case=_garbled(PLAN_TEXTS))
def test_plan_bytes(case: tuple[str, bytes]) -> None:
    name, data = case
    with written(name, data) as path:
        check_plan(path)


@FUZZ
@given(case=_garbled(SHEET_TEXTS))
def test_sheet_bytes(case: tuple[str, bytes]) -> None:
    name, data = case
    with written(name, data) as path:
        check_sheet(path)


@FUZZ
@given(case=_garbled(STATION_TEXTS))
def test_station_bytes(case: tuple[str, bytes]) -> None:
    name, data = case
    with written(name, data) as path:
        check_station(path)


@FUZZ
@given(case=_garbled(MAP_TEXTS))
@example(case=("hpbench_hm.toml", b"\xa3" + MAP_TEXTS["hpbench_hm.toml"].encode()))  # found
def test_register_map_bytes(case: tuple[str, bytes]) -> None:
    name, data = case
    with written(name, data) as path:
        check_map(path)


# -- a station that loads must also build, or say why ----------------------------------------
BAD_OPTIONS = LAB_STATION.replace('map = "hpbench_hm"', 'map = "no_such_map"')
ESCAPED_KEY = LAB_STATION.replace('lab = "fuzz lab"', '"\\u001b[2J" = "fuzz lab"')
DEEP = LAB_STATION.replace('serial = "C2-1"', f"serial = {'[' * 600}{']' * 600}")


def check_station_builds(path: Path) -> None:
    try:
        station = load_station(path)
    except (StationError, RecursionError):
        return  # check_station's business
    try:
        build_instruments(station, SIM_ENDPOINTS)
    except StationError as exc:
        # resolve_address's messages name the address, not the file: clear enough, so the
        # file is not demanded here
        assert "Traceback" not in str(exc) and str(exc).strip()


@FUZZ
@given(case=station_documents)
def test_station_documents_build(case: tuple[str, tuple[Any, list[Any]]]) -> None:
    name, (data, _mutations) = case
    with written(name, to_toml(data)) as path:
        check_station_builds(path)


def test_station_bug_bad_option_escapes(tmp_path: Path) -> None:
    """build_instruments: a map that does not exist raises RegisterMapError, not StationError."""
    path = tmp_path / "lab.toml"
    path.write_text(BAD_OPTIONS, "utf-8")
    check_station_builds(path)


def test_station_bug_deep_nesting(tmp_path: Path) -> None:
    """parse_station: tomllib's RecursionError escapes (it catches only TOMLDecodeError)."""
    path = tmp_path / "lab.toml"
    path.write_text(DEEP, "utf-8")
    check_station(path)


ESCAPED_OPTION = LAB_STATION.replace("rs485_address = 1,", '"\\u001b[2J" = 1,')


def test_station_bug_option_control_characters(tmp_path: Path) -> None:
    """parse_station's option check built the field path with `'.'.join(loc)`: an unknown
    option's name went raw into `instruments.<role>.options.<ESC>[2J: ...` (fixed)."""
    path = tmp_path / "lab.toml"
    path.write_text(ESCAPED_OPTION, "utf-8")
    check_station(path)


def test_station_bug_control_characters(tmp_path: Path) -> None:
    """_format_errors: a key's ESC goes into the message raw (it joins loc with str)."""
    path = tmp_path / "lab.toml"
    path.write_text(ESCAPED_KEY, "utf-8")
    check_station(path)


# -- the command line: exit 2, the same one message, no traceback -------------------------
def hpbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("hpbench")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bench.cli"]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [*command, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=env
    )


NESTED = "nested too deeply"


def assert_refused(
    result: subprocess.CompletedProcess[str], message: str | None, path: Path | None = None
) -> None:
    """Exit 2, no traceback, and on stderr the message the loader gave in-process.

    One exception: how deep a parser may recurse depends on the recursion limit, which
    hypothesis raises while a test runs; a document nested a few hundred levels deep may
    then load here and be "nested too deeply" in the command, or the other way round. Both
    are clear messages.
    """
    both = result.stdout + result.stderr
    assert "Traceback" not in both, both
    assert result.returncode == 2, f"exit {result.returncode}:\n{both}"
    if message is None:
        return
    if NESTED in result.stderr and NESTED not in message and path is not None:
        assert_clear_message(result.stderr.strip(), path)
        return
    assert message.strip() in result.stderr, result.stderr


@few(per=40, least=1)
@given(case=st.one_of(plan_documents, _garbled(PLAN_TEXTS)))
def test_cli_validate(case: tuple[str, Any]) -> None:
    name, doc = case
    content = doc if isinstance(doc, bytes) else to_yaml(doc[0])
    with written(name, content) as path:
        try:
            load_plan(path)
        except PlanError as exc:
            assert_refused(hpbench("validate", str(path), cwd=REPO), str(exc), path)
        else:
            assert hpbench("validate", str(path), cwd=REPO).returncode == 0


@few(per=40, least=1)
@given(case=st.one_of(sheet_documents, _garbled(SHEET_TEXTS)))
def test_cli_scop(case: tuple[str, Any]) -> None:
    name, doc = case
    content = doc if isinstance(doc, bytes) else to_yaml(doc[0])
    with written(name, content) as path:
        try:
            load_sheet(path)
        except SheetError as exc:
            assert_refused(hpbench("scop", str(path), cwd=REPO), str(exc), path)
        else:
            assert hpbench("scop", str(path), cwd=REPO).returncode == 0


@few(per=40, least=1)
@given(case=st.one_of(station_documents, _garbled(STATION_TEXTS)))
def test_cli_probe(case: tuple[str, Any]) -> None:
    """A bad station file is refused before anything is opened; a good one here points at
    nothing (loopback port 1), so probe says it cannot reach it: exit 2 either way."""
    name, doc = case
    content = doc if isinstance(doc, bytes) else to_toml(doc[0])
    with written(name, content) as path:
        try:
            station = load_station(path)
        except StationError as exc:
            message: str | None = str(exc)
        else:
            message = None
            with contextlib.suppress(StationError):  # a sim: address, or a bad option value
                build_instruments(station, None)
        result = hpbench("probe", "--station", str(path), "--duration", "0.1", cwd=REPO)
        assert_refused(result, message, path)


@few(per=40, least=1)
@given(case=st.one_of(map_documents, _garbled(MAP_TEXTS)))
def test_cli_probe_map(case: tuple[str, Any]) -> None:
    """A register map reaches the command line through a station's `options.map`: a bad one
    is refused with its own message (under the station entry's name), exit 2."""
    name, doc = case
    content = doc if isinstance(doc, bytes) else to_toml(doc[0])
    with written(name, content) as path:
        station = path.with_name("lab.toml")
        station.write_text(LAB_STATION.replace('"hpbench_hm"', f'"{path}"'), "utf-8")
        try:
            load_map(path)
        except RegisterMapError as exc:
            message: str | None = str(exc)
        else:
            message = None  # a good map on loopback port 1: cannot reach it
        result = hpbench("probe", "--station", str(station), "--duration", "0.1", cwd=REPO)
        assert_refused(result, message, path)


@few(per=100, least=1)  # `hpbench run` imports the whole engine: seconds per example
@given(case=st.one_of(plan_documents, _garbled(PLAN_TEXTS)))
def test_cli_run(case: tuple[str, Any]) -> None:
    """A bad plan is refused with its message before anything is connected or written; a good
    one meets the lab station on loopback port 1 and cannot reach it: exit 2 either way."""
    name, doc = case
    content = doc if isinstance(doc, bytes) else to_yaml(doc[0])
    with written(name, content) as path:
        station = path.with_name("lab.toml")
        station.write_text(LAB_STATION, "utf-8")
        results = path.parent / "results"
        results.mkdir()
        try:
            load_plan(path)
        except PlanError as exc:
            message: str | None = str(exc)
        else:
            message = None
        args = ("run", str(path), "--station", str(station), "--results", str(results))
        assert_refused(hpbench(*args, cwd=REPO), message, path)
        if message is not None:
            assert not any(results.iterdir()), "a refused plan left a run directory behind"


def test_cli_probe_bad_options(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(BAD_OPTIONS, "utf-8")
    load_station(path)  # the file itself is fine
    result = hpbench("probe", "--station", str(path), "--duration", "0.1", cwd=REPO)
    assert_refused(result, None)
