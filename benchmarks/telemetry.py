"""Telemetry: frames/s published to a local mosquitto while acquisition runs at 10 Hz, and what
telemetry costs acquisition (jitter with telemetry on against off, as a ratio).

    .venv/bin/python benchmarks/telemetry.py [--seconds 30]

Starts mosquitto on a free loopback port, and the simulated bench on its own thread, then runs
the engine on the real clock with a 0.1 s sample period (10 Hz acquisition) in five passes:

  off       no telemetry (the baseline)
  on        the run's publisher, every frame published (frame_rate_hz 10), QoS 0
  flood q0  as `on`, plus a second publisher offered frames of 40 channels as fast as the loop
            turns (up to 5000/s) with no rate limit, frames at QoS 0: how many frames/s one
            publisher gets to the broker (the rest are coalesced, as designed)
  flood q1  the same, frames at QoS 1 (each one waits for its PUBACK)
  off again the baseline once more: how much two identical passes differ on this machine

Acquisition jitter: for each frame, how late it reached the engine after its tick (wall ms;
the instruments' round trips are in it); p50 / sd / p99 / max, and p99 against `off`.
Delivered: frames a `mosquitto_sub` received. What to look for: `on` against `off` within the
spread of `off again` against `off` (telemetry costs acquisition nothing measurable), and no
missed tick even when flooded. Measured on the 2-core development machine (2 runs):

  on / off p99        1.05x, 1.34x    (off again / off: 1.12x, 1.20x)
  flood q0            1,966 and 1,509 frames/s published, all delivered; p99 2.5x, 3.7x
  flood q1            2,089 and 1,861 frames/s published, all delivered; p99 5.7x, 4.7x
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path, and its instruments.py (a sibling
# benchmark) would shadow the `instruments` package.
_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]

from bench.run.bus import Bus  # noqa: E402
from bench.run.frame import Frame, channel_id  # noqa: E402
from bench.run.runner import (  # noqa: E402
    bench_instruments,
    clock_for,
    create_store,
    make_engine,
    prepare_new,
    run_engine,
)
from bench.telemetry.commands import run_with_telemetry  # noqa: E402
from bench.telemetry.config import TelemetrySettings, resolve  # noqa: E402
from bench.telemetry.payloads import RunInfo  # noqa: E402
from bench.telemetry.publisher import Publisher  # noqa: E402
from instruments.base import Reading  # noqa: E402

PLAN = """
name: telemetry-bench
profile: en14511-3
standard: en14511
operator: benchmark
unit: {make: NIBE, model: S2125-12, serial: B-1, refrigerant: R290}
defaults:
  water: {delta_t_k: 5}
  timing: {equilibrium_min: 600, collection_min: 10, stabilise_timeout_min: 1440, sample_s: 0.1}
points:
  - id: A7W35
    air: {dry_bulb_c: 7, wet_bulb_c: 6}
    water: {outlet_c: 35}
"""


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Mosquitto:
    def __init__(self, folder: Path) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.access(exe, os.X_OK):
            raise SystemExit("mosquitto not found: apt-get install mosquitto mosquitto-clients")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        conf = folder / "mosquitto.conf"
        conf.write_text(
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\npersistence false\n"
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
        )
        self.proc = subprocess.Popen(
            [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.02)
        raise SystemExit("mosquitto did not start")

    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


class Counter:
    """mosquitto_sub counting the messages of one topic."""

    def __init__(self, port: int, topic: str) -> None:
        exe = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
        self.count = 0
        self.proc = subprocess.Popen(
            [exe, "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-q", "1", "-F", "%q"],
            stdout=subprocess.PIPE,
        )
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(0.3)  # its subscription is in place well before the pass starts

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for _ in self.proc.stdout:
            self.count += 1

    def close(self) -> int:
        time.sleep(0.3)
        self.proc.terminate()
        self.proc.wait(5)
        return self.count


@dataclasses.dataclass
class Pass:
    name: str
    late_ms: list[float]
    missed: int
    published: int = 0  # frames
    delivered: int = 0
    flood_published: int = 0
    flood_seconds: float = 0.0

    def line(self, baseline: Pass | None) -> str:
        p50, p99 = quantile(self.late_ms, 0.5), quantile(self.late_ms, 0.99)
        sd = statistics.pstdev(self.late_ms)
        ratio = f"{p99 / quantile(baseline.late_ms, 0.99):5.2f}x" if baseline else "    -"
        text = (
            f"{self.name:9} frames {len(self.late_ms):4}  late p50 {p50:5.1f} ms  sd {sd:5.1f}"
            f"  p99 {p99:5.1f}  max {max(self.late_ms):6.1f} ms  p99 vs off {ratio}"
            f"  missed ticks {self.missed}"
        )
        if self.published:
            text += f"  published {self.published}"
        if self.flood_seconds:
            rate = self.flood_published / self.flood_seconds
            text += (
                f"\n{'':9} flood: {rate:6,.0f} frames/s published"
                f" ({self.flood_published} in {self.flood_seconds:.1f} s),"
                f" {self.delivered} delivered"
            )
        return text


class FloodSource:
    """Something with the two buses a publisher attaches to, fed frames of 40 channels."""

    def __init__(self) -> None:
        self.frames: Bus[Any] = Bus()
        self.events: Bus[Any] = Bus()
        self.readings = {f"bench.ch{i:02d}": Reading.ok(20.0 + i / 7, "°C") for i in range(40)}

    async def feed(self, rate_hz: float = 5000.0) -> None:
        seq = 0
        while True:
            self.frames.publish(Frame(seq, time.time(), self.readings))
            seq += 1
            await asyncio.sleep(1.0 / rate_hz)


async def one_pass(
    name: str, folder: Path, seconds: float, mqtt: Mosquitto | None, flood_qos: int | None
) -> Pass:
    plan = folder / "plan.yaml"
    plan.write_text(PLAN)
    results = folder / name.replace(" ", "-")
    results.mkdir()
    prepared, warnings = prepare_new(plan, None, sim=True, speed=1.0, results=results)
    clock = clock_for(prepared)
    late: list[float] = []
    with bench_instruments(prepared, clock) as instruments:
        channels = {
            channel_id(role, n): unit
            for role, inst in instruments.items()
            for n, unit in inst.channels().items()
        }
        create_store(prepared, channels, warnings)
        engine = make_engine(prepared, instruments, clock)
        sink = engine.acquisition.sink

        def timed(frame: Frame) -> None:
            late.append((time.time() - frame.t) * 1000.0)
            sink(frame)

        engine.acquisition.sink = timed
        stop = asyncio.Event()
        config = None
        if mqtt is not None:
            settings = TelemetrySettings(frame_rate_hz=10, status_interval_s=1)
            config = resolve(settings, station="bench-1", mqtt_url=mqtt.url())
        flood = flood_pub = counter = None
        if flood_qos is not None and mqtt is not None:
            qos = {"status": 1, "frame": flood_qos, "point": 1, "event": 1, "run": 1}
            flood_config = dataclasses.replace(
                resolve(None, station="flood", mqtt_url=mqtt.url()), frame_rate_hz=1e6, qos=qos
            )
            counter = Counter(mqtt.port, "hpbench/flood/frame")
            flood = FloodSource()
            flood_pub = Publisher(flood_config, log=lambda line: None)
            flood_pub.attach(flood)
            await flood_pub.start()
        publisher = Publisher(config, log=lambda line: None) if config else None

        async def stopper() -> None:
            await asyncio.sleep(2.0)  # connected, acquisition settled
            late.clear()
            feeding = asyncio.create_task(flood.feed()) if flood else None
            start_count = flood_pub.stats.published["frame"] if flood_pub else 0
            started = time.monotonic()
            await asyncio.sleep(seconds)
            result.flood_seconds = time.monotonic() - started if flood else 0.0
            result.flood_published = (
                flood_pub.stats.published["frame"] - start_count if flood_pub else 0
            )
            if feeding:
                feeding.cancel()
            stop.set()

        result = Pass(name, late, 0)
        helper = asyncio.create_task(stopper())
        await run_with_telemetry(
            config,
            engine,
            run_engine(engine, prepared, stop),
            RunInfo.from_prepared(prepared),
            publisher=publisher,
        )
        await helper
        result.missed = engine.acquisition.missed_ticks
        if publisher is not None:
            result.published = publisher.stats.published["frame"]
        if flood_pub is not None:
            await flood_pub.close(linger_s=2.0)
        if counter is not None:
            result.delivered = counter.close()
        assert prepared.store is not None
        prepared.store.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measured wall seconds a pass")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hpbench-telemetry-") as tmp:
        folder = Path(tmp)
        mqtt = Mosquitto(folder)
        try:
            print(f"mosquitto on {mqtt.url()}; acquisition at 10 Hz, {args.seconds:g} s a pass")
            runs = [
                ("off", None, None),
                ("on", mqtt, None),
                ("flood q0", mqtt, 0),
                ("flood q1", mqtt, 1),
                ("off again", None, None),
            ]
            baseline = None
            for name, broker, flood_qos in runs:
                result = asyncio.run(one_pass(name, folder, args.seconds, broker, flood_qos))
                print(result.line(baseline), flush=True)
                baseline = baseline or result
        finally:
            mqtt.close()


if __name__ == "__main__":
    main()
