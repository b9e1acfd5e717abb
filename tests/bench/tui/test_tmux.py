"""The TUI in a real terminal that no test framework wrote: tmux runs it, sends keys, and
`capture-pane` must show live values changing and the plan advancing.

tmux is required (CI installs it): without it this test fails with a hint, it never skips.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.store import RunStore

from .conftest import QUICK_PLAN, REPO

COLUMNS, LINES = 80, 24
TIMEOUT_S = 90.0
ROW = re.compile(r"^ (\w+)\s+(-?\d+(?:\.\d+)?) \S+\s+(ok|stale|inval)")


def tmux(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=15)


def capture(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session).stdout


def wait_for(
    session: str, condition: Callable[[str], bool], what: str, timeout: float = TIMEOUT_S
) -> str:
    """Poll the pane until `condition(text)`; fail with the last screen if it never holds."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = capture(session)
        if condition(text):
            return text
        time.sleep(0.2)
    pytest.fail(f"tmux pane never showed {what} within {timeout:g} s; last screen:\n{text}")


def channel_values(text: str) -> dict[str, str]:
    """The channel table's rows (left column of the Live tab): name -> value as shown."""
    values = {}
    for line in text.splitlines():
        match = ROW.match(line[:40])
        if match:
            values[match.group(1)] = match.group(2)
    return values


@pytest.fixture
def tmux_session(tmp_path: Path):
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: `apt-get install tmux` (CI's .ci/run installs it)")
    name = f"hpbench-tui-{os.getpid()}"
    yield name
    tmux("kill-session", "-t", name)


def test_tui_in_tmux_shows_live_values_and_the_plan_advancing(
    tmux_session: str, tmp_path: Path
) -> None:
    results = tmp_path / "results"
    results.mkdir()
    command = (
        f"{sys.executable} -m bench.cli tui --sim --speed 100 "
        f"--results {results} {QUICK_PLAN}; sleep 0.1"
    )
    started = tmux(
        "new-session", "-d", "-s", tmux_session, "-x", str(COLUMNS), "-y", str(LINES),
        "-c", str(REPO), "-e", "TERM=xterm-256color", command,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr

    # the bench, idle: values arrive and keep changing
    first = wait_for(tmux_session, lambda t: "IDLE" in t and len(channel_values(t)) > 5, "values")
    before = channel_values(first)
    wait_for(
        tmux_session,
        lambda t: any(channel_values(t).get(k) not in (None, v) for k, v in before.items()),
        "a channel value changing",
    )

    # the plan screen loads the plan given on the command line; g starts it
    tmux("send-keys", "-t", tmux_session, "p")
    wait_for(tmux_session, lambda t: "2 points (A15W35, A12W35)" in t, "the plan loaded")
    tmux("send-keys", "-t", tmux_session, "g")
    wait_for(tmux_session, lambda t: "1/2 A15W35" in t, "the first point running")
    wait_for(tmux_session, lambda t: "2/2 A12W35" in t, "the plan advancing to point 2")
    wait_for(tmux_session, lambda t: "DONE" in t, "the plan done")
    wait_for(tmux_session, lambda t: "run done · 2 points" in t, "the run's summary")

    tmux("send-keys", "-t", tmux_session, "q")
    deadline = time.monotonic() + 30
    while tmux("has-session", "-t", tmux_session).returncode == 0:
        assert time.monotonic() < deadline, f"the app did not quit:\n{capture(tmux_session)}"
        time.sleep(0.2)

    (run_dir,) = [d for d in results.iterdir() if "_quick_" in d.name]
    store = RunStore.open(run_dir)
    try:
        assert store.meta()["outcome"] == "done"
        assert [p.point_id for p in store.points()] == ["A15W35", "A12W35"]
    finally:
        store.close()


def test_sigterm_during_a_run_ends_it_as_hpbench_run_does_and_it_resumes(
    tmux_session: str, tmp_path: Path
) -> None:
    """Issue 14, defect 1: `kill -TERM` the TUI during a run - exit 3, the bench safe, the run
    recorded as interrupted, the resume command on the restored terminal; then `hpbench run
    --resume` completes the run with its result files."""
    results = tmp_path / "results"
    results.mkdir()
    command = (
        f"{sys.executable} -m bench.cli tui --sim --speed 100 --results {results} {QUICK_PLAN}"
        "; echo EXIT=$?; sleep 120"
    )
    started = tmux(
        "new-session", "-d", "-s", tmux_session, "-x", str(COLUMNS), "-y", str(LINES),
        "-c", str(REPO), "-e", "TERM=xterm-256color", command,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    wait_for(tmux_session, lambda t: "IDLE" in t and len(channel_values(t)) > 5, "values")
    tmux("send-keys", "-t", tmux_session, "p")
    wait_for(tmux_session, lambda t: "2 points (A15W35, A12W35)" in t, "the plan loaded")
    tmux("send-keys", "-t", tmux_session, "g")
    wait_for(tmux_session, lambda t: "1/2 A15W35" in t, "the first point running")

    shell = int(tmux("list-panes", "-t", tmux_session, "-F", "#{pane_pid}").stdout.split()[0])
    app = int(subprocess.run(["pgrep", "-P", str(shell)], capture_output=True, text=True).stdout)
    os.kill(app, signal.SIGTERM)
    text = wait_for(tmux_session, lambda t: "EXIT=" in t, "the app ending")
    assert "EXIT=3" in text
    (run_dir,) = [d for d in results.iterdir() if "_quick_" in d.name]
    assert f"resume with: hpbench run --resume {run_dir}" in text.replace("\n", "")

    store = RunStore.open(run_dir)
    try:
        assert store.meta()["outcome"] == "interrupted"
        assert any("stopped by a signal: safe state" in e.message for e in store.events({"run"}))
        assert any(e.data.get("why") == "SIGTERM" for e in store.events({"operator"}))
    finally:
        store.close()

    resumed = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", "--resume", str(run_dir)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert resumed.returncode in (0, 1), resumed.stderr  # 1: a point judged invalid
    for name in ("result.json", "points.csv", "report.html", "SHA256SUMS", "hpbench.log"):
        assert (run_dir / name).is_file(), name
    store = RunStore.open(run_dir)
    try:
        assert store.meta()["outcome"] == "done"
        assert [p.point_id for p in store.points()] == ["A15W35", "A12W35"]
    finally:
        store.close()
