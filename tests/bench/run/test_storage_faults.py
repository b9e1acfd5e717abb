"""Results disks that are missing, read-only or full: refused before the run; a disk that fills
during the run holds the bench in the safe state with an alarm, and loses nothing.

The read-only and full disks are real: small tmpfs mounts made by the test (CI runs as root,
as the sessions do; root ignores permission bits, but not a read-only or full file system).
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench.station import sim_station_path
from bench.store import RunStore
from tests.bench.run.conftest import plan_text

A7 = """
  - id: A7W35
    air: {dry_bulb_c: 7, wet_bulb_c: 6}
    water: {outlet_c: 35}
"""


@contextlib.contextmanager
def tmpfs(path: Path, size: str, *extra: str):
    path.mkdir(parents=True, exist_ok=True)
    opts = ",".join([f"size={size}", *extra])
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], check=False)
    if mounted.returncode != 0:
        pytest.fail("these tests mount a small tmpfs and must run as root (as CI does)")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def hpbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_a_read_only_results_disk_is_refused(tmp_path):
    with tmpfs(tmp_path / "ro", "1m", "ro") as results:
        done = hpbench("run", "test_plans/demo.yaml", "--sim", "--results", str(results))
    assert done.returncode == 2
    assert "results directory is on a read-only file system" in done.stderr


def test_a_full_results_disk_is_refused(tmp_path):
    with tmpfs(tmp_path / "full", "1m") as results:
        (results / "filler").write_bytes(b"\0" * (1024 * 1024 - 4096))
        done = hpbench("run", "test_plans/demo.yaml", "--sim", "--results", str(results))
    assert done.returncode == 2
    assert "results directory is on a full disk" in done.stderr or "MB free" in done.stderr


def test_too_little_free_space_is_refused_with_the_numbers(tmp_path):
    with tmpfs(tmp_path / "small", "8m") as results:
        done = hpbench("run", "test_plans/demo.yaml", "--sim", "--results", str(results))
    assert done.returncode == 2
    assert "MB free on the results disk" in done.stderr and "min_free_mb" in done.stderr


def fill(path: Path) -> Path:
    """Write until the disk is full."""
    filler = path / "filler"
    with contextlib.suppress(OSError), open(filler, "wb") as handle:
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
            os.fsync(handle.fileno())
    return filler


class Lines:
    """The process's stdout, line by line, read on a thread (a select() on a buffered pipe can
    miss lines already buffered)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.queue: queue.Queue[str] = queue.Queue()
        self.text = ""
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.queue.put(line)

    def until(self, needle: str, limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        while needle not in self.text:
            try:
                self.text += self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"never saw {needle!r}:\n{self.text[-3000:]}") from None

    def rest(self) -> str:
        self.proc.wait(timeout=180)
        time.sleep(0.2)
        while not self.queue.empty():
            self.text += self.queue.get()
        return self.text


def test_a_disk_filling_during_the_run_holds_the_bench_safe_and_loses_nothing(tmp_path):
    station = tmp_path / "station.toml"
    station.write_text(
        sim_station_path()
        .read_text()
        .replace("initial_flow_m3h = 1.6", "min_free_mb = 0.1\ninitial_flow_m3h = 1.6")
    )
    plan = tmp_path / "plan.yaml"
    plan.write_text(plan_text(A7, name="diskfull"))
    with tmpfs(tmp_path / "disk", "4m") as results:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.cli",
                "run",
                str(plan),
                "--station",
                str(station),
                "--sim",
                "--speed",
                "60",
                "--results",
                str(results),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines = Lines(proc)
        try:
            lines.until("setting -> stabilising", 60)
            filler = fill(results)
            lines.until("run store failing", 60)
            lines.until("safe state reached", 30)
            filler.unlink()  # the operator makes room in the morning
            out = lines.rest()
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, proc.stderr.read()[-2000:]  # type: ignore[union-attr]
        assert "run store writing again" in out
        store = RunStore.open(out.strip().splitlines()[-1])
        seqs = [f.seq for f in store.frames()]
        assert seqs == list(range(len(seqs)))  # nothing lost while the disk was full
        assert store.meta()["outcome"] == "done"
        assert {r.status for r in store.points()} == {"valid"}
        store.close()
