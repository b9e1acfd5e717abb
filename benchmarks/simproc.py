"""The simulated bench in its own process, as the instruments are separate devices: the
benchmarks measure our process, not the simulator's work in it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def start_sim(folder: Path, extra: Sequence[str] = ()) -> tuple[subprocess.Popen[bytes], Path]:
    """`hpbench sim` started; returns it and the file its endpoints were written to."""
    endpoints = folder / "endpoints.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "sim", "--endpoints-json", str(endpoints), *extra],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not endpoints.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the simulated bench did not start")
        time.sleep(0.05)
    return proc, endpoints
