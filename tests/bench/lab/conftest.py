"""A real PostgreSQL for the lab tests (one throwaway cluster per session, a fresh database per
test) and runs of the demo plan on simulated benches with their own station names.

A missing PostgreSQL FAILS with an install hint: these tests are the acceptance of the lab
database and must never silently skip.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from bench.cli import main
from tests.pgcluster import ClusterError, PgCluster

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "test_plans" / "demo.yaml"
SIM_STATION = REPO / "bench" / "stations" / "sim.toml"
HPBENCH = [sys.executable, "-m", "bench.cli"]
_names = itertools.count()


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    try:
        cluster = PgCluster().start()
    except ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield cluster
    cluster.destroy()


@pytest.fixture
def lab_url(pg: PgCluster) -> str:
    """A fresh database with the lab schema (`hpbench lab init`)."""
    if not pg.running():
        pg.start()  # a test that stopped it and failed before restarting
    url = pg.create_database(f"lab{next(_names)}")
    done = hpbench("lab", "init", "--db", url)
    assert done.returncode == 0, done.stderr
    return url


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def hpbench(*args: str) -> Done:
    """`hpbench ARGS` in this process (the same `main`; a fresh interpreter costs seconds)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Done(code, out.getvalue(), err.getvalue())


def station_file(folder: Path, name: str, extra: str = "") -> Path:
    """The simulated bench's station file under another name, plus `extra` tables."""
    text = SIM_STATION.read_text().replace('name = "sim-bench"', f'name = "{name}"', 1)
    path = folder / f"{name}.toml"
    path.write_text(text + "\n" + extra)
    return path


def start_run(
    folder: Path, name: str, *, speed: float = 300, extra: str = ""
) -> tuple[subprocess.Popen[str], Path]:
    """`hpbench run demo.yaml --sim --station <name>.toml --results <folder>/<name>`."""
    results = folder / name
    results.mkdir(parents=True, exist_ok=True)
    station = station_file(folder, name, extra)
    proc = subprocess.Popen(
        [
            *(*HPBENCH, "run", str(DEMO), "--sim", "--speed", str(speed)),
            *("--station", str(station), "--results", str(results)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
    )
    return proc, results


def finished_run(proc: subprocess.Popen[str], results: Path) -> Path:
    """The run directory once `hpbench run` has ended: completed and sealed (exit 0, or 1 when
    a point failed - on a loaded machine a time-warped point may not settle in time)."""
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode in (0, 1), out
    (run_dir,) = [p for p in results.iterdir() if (p / "run.sqlite").exists()]
    return run_dir


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo plan (one unit) on bench-a and bench-b, run at the same time; read-only."""
    folder = tmp_path_factory.mktemp("demo-runs")
    started = {name: start_run(folder, name) for name in ("bench-a", "bench-b")}
    return {name: finished_run(*started[name]) for name in started}


@pytest.fixture
def run_copy(tmp_path: Path, demo_runs: dict[str, Path]):
    """`run_copy("bench-a")`: a copy of that run the test may alter."""

    def copy(name: str) -> Path:
        target = tmp_path / "copies" / name / demo_runs[name].name
        shutil.copytree(demo_runs[name], target)
        return target

    return copy


def count(url: str, sql: str, *params: object) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return int(row[0])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first test here starts the session's cluster and demo runs (time-warped benches,
    a minute or more on a loaded 2-core CI machine): more than the default 120 s timeout."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(600))
