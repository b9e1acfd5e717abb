"""The TUI under load: frame-to-paint delay, the app's CPU share, memory over a time-warped night.

    .venv/bin/python -m benchmarks.tui [--seconds 60] [--period 0.1] [--speed 300]

1. Latency and CPU, at 10 Hz acquisition in real time. The simulated bench runs in its own
   process (`hpbench sim`), as real instruments are separate devices. The app runs in another
   process on a real pseudo-terminal (not headless: every paint is written to the tty, which
   this script drains). Delay: from a frame's publication on the session's bus to the first
   paint that shows it or a newer frame. CPU: user + system time of that process over the
   window, against a baseline process that runs the same session (acquisition, drivers) with no
   app in the same go; the app's share is the difference.
2. Memory: `overnight.yaml` (12 h 24 min of bench time) on the in-process simulated bench at
   `--speed`, with the app on a pseudo-terminal; resident memory (VmRSS) when one bench hour has
   passed and when twelve have. Baseline: the same night with the session alone (no app).

Targets (TUI issue): p99 <= 150 ms, app CPU <= 15 % of one core, growth 1 h -> 12 h <= 30 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.simproc import start_sim

REPO = Path(__file__).resolve().parents[1]
OVERNIGHT = REPO / "test_plans" / "overnight.yaml"
WARMUP_S = 3.0


# -- helpers ------------------------------------------------------------------------------------
def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def on_pty(args: list[str], timeout: float) -> None:
    """Run `python -m benchmarks.tui ARGS` on an 80x24 pseudo-terminal, draining its output."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.tui", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=REPO,
        start_new_session=True,
    )
    os.close(slave)
    tail = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            tail.extend(chunk)
            del tail[:-4000]

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise SystemExit(f"benchmark child timed out: {args}") from None
    finally:
        os.close(master)
    if code != 0:
        raise SystemExit(
            f"benchmark child failed ({code}): {args}\n{tail.decode(errors='replace')}"
        )


# -- children -----------------------------------------------------------------------------------
def _bench_from(endpoints_file: Path) -> Any:
    from bench.station import build_instruments, load_station, sim_station_path
    from bench.tui.session import Bench
    from instruments.clock import RealClock

    station = load_station(sim_station_path())
    endpoints = json.loads(endpoints_file.read_text())
    text = sim_station_path().read_text(encoding="utf-8")
    return Bench(station, text, None, build_instruments(station, endpoints), RealClock(), True, 1.0)


def child_latency(endpoints: Path, out: Path, seconds: float, period: float) -> None:
    from bench.tui.app import HpbenchApp
    from bench.tui.session import Session
    from bench.tui.widgets.channel_table import ChannelTable

    session = Session(_bench_from(endpoints), Path(tempfile.mkdtemp()), idle_period_s=period)
    published: dict[int, float] = {}
    paints: list[tuple[float, int]] = []
    drawn = [-1]
    window: dict[str, float] = {}
    publish = session.frames.publish

    def timed_publish(frame: Any) -> None:
        published[frame.seq] = time.perf_counter()
        publish(frame)

    session.frames.publish = timed_publish  # type: ignore[method-assign]
    show = ChannelTable.show

    def timed_show(self: ChannelTable, frame: Any) -> None:
        show(self, frame)
        if frame is not None:
            drawn[0] = frame.seq

    ChannelTable.show = timed_show  # type: ignore[method-assign]

    class Measured(HpbenchApp):
        def on_mount(self) -> None:
            super().on_mount()
            display = self._display

            def timed_display(screen: Any, renderable: Any) -> None:
                display(screen, renderable)
                if renderable is not None:
                    paints.append((time.perf_counter(), drawn[0]))

            self._display = timed_display  # type: ignore[method-assign]
            self.set_timer(WARMUP_S, self._start_window)
            self.set_timer(WARMUP_S + seconds, self._end_window)

        def _start_window(self) -> None:
            window.update(cpu=cpu_s(), wall=time.perf_counter())

        async def _end_window(self) -> None:
            window.update(cpu_end=cpu_s(), wall_end=time.perf_counter())
            await self.session.close()
            self.exit(0)

    Measured(session).run()
    delays, counted = [], 0
    for seq, t in published.items():
        if not window or not window["wall"] <= t <= window["wall_end"] - 1.0:
            continue
        counted += 1
        shown = next((pt for pt, s in paints if pt >= t and s >= seq), None)
        if shown is not None:
            delays.append(shown - t)
    result = {
        "frames": sum(
            1 for t in published.values() if window["wall"] <= t <= window["wall_end"] - 1
        ),
        "painted": len(delays),
        "paints": len(paints),
        "p50_ms": quantile(delays, 0.5) * 1e3,
        "p99_ms": quantile(delays, 0.99) * 1e3,
        "cpu": (window["cpu_end"] - window["cpu"]) / (window["wall_end"] - window["wall"]),
    }
    out.write_text(json.dumps(result))


def child_baseline(endpoints: Path, out: Path, seconds: float, period: float) -> None:
    from bench.tui.session import Session

    async def run() -> dict[str, float]:
        session = Session(_bench_from(endpoints), Path(tempfile.mkdtemp()), idle_period_s=period)
        await session.connect()
        await asyncio.sleep(WARMUP_S)
        cpu0, wall0 = cpu_s(), time.perf_counter()
        frames0 = session.status().frames
        await asyncio.sleep(seconds)
        cpu1, wall1 = cpu_s(), time.perf_counter()
        frames = session.status().frames - frames0
        await session.close()
        return {"cpu": (cpu1 - cpu0) / (wall1 - wall0), "frames": frames}

    out.write_text(json.dumps(asyncio.run(run())))


class NightSampler:
    """Starts the overnight plan once the bench is connected; RSS at 1 and `hours` bench h."""

    def __init__(self, hours: float) -> None:
        self.hours = hours
        self.started: float | None = None
        self.samples: dict[str, float] = {}

    async def step(self, session: Any) -> bool:
        """Call every half second; True once the last sample is taken."""
        if self.started is None:
            if session.connected and session.engine is None:
                self.started = session.clock.now()
                await session.start_plan(OVERNIGHT)
            return False
        bench_h = (session.clock.now() - self.started) / 3600
        if bench_h >= 1 and "rss_1h_mb" not in self.samples:
            self.samples.update(rss_1h_mb=rss_mb(), frames_1h=session.status().frames)
        if bench_h < self.hours:
            return False
        self.samples.update(rss_end_mb=rss_mb(), frames_end=session.status().frames, hours=bench_h)
        return True


def child_memory(out: Path, speed: float, hours: float, with_app: bool) -> None:
    from bench.tui.app import HpbenchApp
    from bench.tui.session import Session, open_bench

    night = NightSampler(hours)

    class Measured(HpbenchApp):
        def on_mount(self) -> None:
            super().on_mount()
            self.set_interval(0.5, self._sample)

        async def _sample(self) -> None:
            if await night.step(self.session):
                levels = self.live.history.levels.values()
                night.samples["history_points"] = sum(len(level.times) for level in levels)
                await self.session.close()
                self.exit(0)

    async def engine_only(session: Session) -> None:
        await session.connect()
        done = False
        while not done:
            await asyncio.sleep(0.5)
            done = await night.step(session)
        await session.close()

    with open_bench(None, sim=True, speed=speed) as bench:
        session = Session(bench, Path(tempfile.mkdtemp()))
        if with_app:
            Measured(session).run()
        else:
            asyncio.run(engine_only(session))
    out.write_text(json.dumps(night.samples))


# -- the parent ---------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="latency / CPU window")
    parser.add_argument("--period", type=float, default=0.1, help="acquisition period, s")
    parser.add_argument("--speed", type=float, default=300.0, help="time-warp of the memory run")
    parser.add_argument("--hours", type=float, default=12.0, help="bench hours of the memory run")
    parser.add_argument(
        "--child",
        choices=("latency", "baseline", "memory", "memory-baseline"),
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--endpoints", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "latency":
        return child_latency(args.endpoints, args.out, args.seconds, args.period)
    if args.child == "baseline":
        return child_baseline(args.endpoints, args.out, args.seconds, args.period)
    if args.child in ("memory", "memory-baseline"):
        return child_memory(args.out, args.speed, args.hours, args.child == "memory")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sim, endpoints = start_sim(folder)
        try:
            common = ["--endpoints", str(endpoints), "--seconds", str(args.seconds)]
            common += ["--period", str(args.period)]
            base_out, app_out = folder / "baseline.json", folder / "latency.json"
            baseline = ["--child", "baseline", *common, "--out", str(base_out)]
            subprocess.run(
                [sys.executable, "-m", "benchmarks.tui", *baseline], check=True, cwd=REPO
            )
            on_pty(["--child", "latency", *common, "--out", str(app_out)], args.seconds + 60)
        finally:
            sim.terminate()
            sim.wait(timeout=10)
        base, app = json.loads(base_out.read_text()), json.loads(app_out.read_text())
        night = ["--speed", str(args.speed), "--hours", str(args.hours)]
        night_s = args.hours * 3600 / args.speed + 600
        mem_out, mem_base_out = folder / "memory.json", folder / "memory-baseline.json"
        on_pty(["--child", "memory", *night, "--out", str(mem_out)], timeout=night_s)
        on_pty(["--child", "memory-baseline", *night, "--out", str(mem_base_out)], night_s)
        mem, mem_base = json.loads(mem_out.read_text()), json.loads(mem_base_out.read_text())

    share = app["cpu"] - base["cpu"]
    growth = mem["rss_end_mb"] - mem["rss_1h_mb"]
    base_growth = mem_base["rss_end_mb"] - mem_base["rss_1h_mb"]
    print(f"TUI at {1 / args.period:g} Hz acquisition, {args.seconds:g} s, 80x24 pty")
    print(
        f"  frame -> paint    p50 {app['p50_ms']:.1f} ms   p99 {app['p99_ms']:.1f} ms   "
        f"({app['painted']} of {app['frames']} frames, {app['paints']} paints)"
        f"   target p99 <= 150 ms: {'ok' if app['p99_ms'] <= 150 else 'MISSED'}"
    )
    print(
        f"  CPU of one core   app + engine {app['cpu']:.1%}   engine alone {base['cpu']:.1%}   "
        f"app {share:.1%} (x{app['cpu'] / base['cpu']:.2f} of the engine alone)"
        f"   target <= 15 %: {'ok' if share <= 0.15 else 'MISSED'}"
    )
    print(
        f"  memory            {mem['hours']:.1f} bench h at x{args.speed:g}: "
        f"RSS {mem['rss_1h_mb']:.1f} MB at 1 h -> {mem['rss_end_mb']:.1f} MB "
        f"(+{growth:.1f} MB, {mem['frames_end']} frames, {mem['history_points']} plot points)"
        f"   target <= 30 MB: {'ok' if growth <= 30 else 'MISSED'}"
    )
    print(
        f"  memory baseline   engine alone, same night: RSS {mem_base['rss_1h_mb']:.1f} MB -> "
        f"{mem_base['rss_end_mb']:.1f} MB (+{base_growth:.1f} MB, {mem_base['frames_end']} frames)"
    )


if __name__ == "__main__":
    main()
