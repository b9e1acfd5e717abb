"""The `hpbench` command: one entry point, one sub-command per job.

A user's mistake (a bad file, an unreachable instrument) ends with one clear line and exit
code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

from rich.console import Console

from bench.export import atomic
from bench.lab.commands import add_lab_parser
from bench.plan.catalog import find_plan
from bench.station import StationError, load_station, sim_station_path
from bench.telemetry.commands import add_fleet_arguments, add_mqtt_argument, cmd_fleet
from instruments.clock import Clock, make_clock
from instruments.sim.faults import parse_fault_spec

T = TypeVar("T")
EXIT_BAD_INPUT = 2


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1.0 <= value <= 100_000.0:
        raise argparse.ArgumentTypeError("speed must be between 1 and 100000")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _fault(text: str) -> tuple:
    try:
        return parse_fault_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hpbench", description="Heat-pump test bench controller (EN 14511 / EN 14825)."
    )
    parser.add_argument("--version", action="version", version=f"hpbench {version('hpbench')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser("sim", help="run the simulated bench standalone and print its endpoints")
    sim.add_argument("--speed", type=_speed, default=1.0, help="bench time / wall time (1-100000)")
    sim.add_argument("--seed", type=int, default=0, help="seed of the sensor noise")
    sim.add_argument("--endpoints-json", metavar="FILE", help="also write the endpoints as JSON")
    sim.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="SPEC",
        help="inject a fault: role:kind[@after][+duration][:key=value,...] in bench seconds, "
        "e.g. heat_pump:modbus_exception@60+30:code=6 (repeatable)",
    )
    sim.add_argument(
        "--chamber-baud",
        type=int,
        metavar="BAUD",
        help="give the chamber's tty the line time of a real serial link (e.g. 9600)",
    )
    sim.add_argument("--duration", type=_positive, help="stop after this many wall seconds")
    sim.set_defaults(func=cmd_sim)

    probe = sub.add_parser("probe", help="connect to every instrument and watch its channels")
    _add_bench_arguments(
        probe,
        sim_help="start the simulated bench; alone, use its shipped station file",
        speed_help="simulator speed (--sim only)",
    )
    probe.add_argument("--period", type=_positive, default=1.0, help="refresh period, seconds")
    probe.add_argument("--duration", type=_positive, help="stop after this many seconds")
    probe.add_argument(
        "--driver", metavar="NAME", help="with --sim: that one device's simulator and driver"
    )
    probe.set_defaults(func=cmd_probe)

    run = sub.add_parser("run", help="run a test plan (headless)")
    _add_plan_run_arguments(run)
    run.add_argument(
        "--fault-campaign",
        type=int,
        metavar="SEED",
        help="inject every simulator fault into every instrument on a seeded schedule (--sim)",
    )
    run.set_defaults(func=cmd_run)

    tui = sub.add_parser("tui", help="the terminal UI: watch, steer and review bench runs")
    _add_plan_run_arguments(tui)
    tui.set_defaults(func=cmd_tui)

    validate = sub.add_parser("validate", help="check a plan: points, duration, problems")
    validate.add_argument(
        "plan", metavar="PLAN", help="a plan file, or a shipped plan by name (hpbench plans)"
    )
    validate.add_argument(
        "--station", metavar="FILE", help="also check the plan fits this station's [limits]"
    )
    validate.add_argument("--sim", action="store_true", help="... the simulated bench's")
    validate.set_defaults(func=cmd_validate)

    report = sub.add_parser("report", help="write a run's result files again from run.sqlite")
    report.add_argument("run_dir", metavar="RUNDIR")
    report.add_argument("--pdf", action="store_true", help="also print report.pdf (Chromium)")
    report.add_argument(
        "--beside", metavar="RUNDIR", help="show that run's bin-method SCOP beside a load-based one"
    )
    report.set_defaults(func=cmd_report)

    approve = sub.add_parser("approve", help="record who authorised a run's test report")
    approve.add_argument("run_dir", metavar="RUNDIR")
    approve.add_argument("--name", required=True, help="the person authorising the report")
    approve.add_argument("--role", required=True, help="their role, e.g. technical manager")
    approve.add_argument("--key", metavar="FILE", help="sign SHA256SUMS with this private key")
    approve.set_defaults(func=cmd_approve)

    verify = sub.add_parser("verify", help="check a run's result files: sums and schema")
    verify.add_argument("run_dir", metavar="RUNDIR")
    verify.add_argument("--public-key", metavar="FILE", help="check SHA256SUMS.sig with it")
    verify.set_defaults(func=cmd_verify)

    keygen = sub.add_parser("keygen", help="make an Ed25519 key pair for signing results")
    keygen.add_argument("key_file", metavar="KEYFILE", help="private key; KEYFILE.pub is public")
    keygen.set_defaults(func=cmd_keygen)

    fleet = sub.add_parser("fleet", help="watch every bench on an MQTT broker")
    add_fleet_arguments(fleet)
    fleet.set_defaults(func=cmd_fleet)

    plans = sub.add_parser("plans", help="list the shipped plans (run one by its name)")
    plans.set_defaults(func=cmd_plans)
    add_lab_parser(sub)

    scop = sub.add_parser("scop", help="EN 14825 SCOP from a data-sheet file")
    scop.add_argument("sheet", metavar="SHEET.yaml")
    scop.add_argument("--json", action="store_true", help="print the figures as JSON")
    scop.set_defaults(func=cmd_scop)
    return parser


def _add_bench_arguments(
    parser: argparse.ArgumentParser,
    *,
    sim_help: str = "run on the simulated bench",
    speed_help: str = "time-warp (--sim only)",
) -> None:
    """Which bench: every command that opens one takes these, checked the same way."""
    parser.add_argument("--station", metavar="FILE", help="station file (TOML)")
    parser.add_argument("--sim", action="store_true", help=sim_help)
    parser.add_argument("--speed", type=_speed, default=1.0, help=speed_help)


def _add_plan_run_arguments(parser: argparse.ArgumentParser) -> None:
    """`run` and `tui` run a plan on a bench alike: one definition, so they cannot drift."""
    parser.add_argument(
        "plan",
        nargs="?",
        metavar="PLAN",
        help="a plan file, or a shipped plan by name (hpbench plans)",
    )
    _add_bench_arguments(parser)
    parser.add_argument(
        "--results", default="results", metavar="DIR", help="where runs are written"
    )
    parser.add_argument("--resume", metavar="RUNDIR", help="continue an interrupted run")
    add_mqtt_argument(parser)


def _bench_usage(args: argparse.Namespace) -> str | None:
    """What is wrong with the bench arguments (`_add_bench_arguments`), if anything."""
    if not (args.station or args.sim):
        return "give --station FILE, or --sim for the simulated bench"
    if args.speed != 1.0 and not args.sim:
        return "--speed needs --sim (real hardware runs in real time)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "plan", None):  # a bare name (`demo`) is a shipped plan; a path wins
        args.plan = find_plan(args.plan)
    try:
        return args.func(args)
    except StationError as exc:
        print(f"hpbench {args.command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _usage(command: str, message: str) -> int:
    print(f"hpbench {command}: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


@contextlib.contextmanager
def _stop_on_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> Iterator[None]:
    """SIGINT / SIGTERM end the command cleanly instead of with a traceback."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _run(coro_factory: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    async def runner() -> T:
        stop = asyncio.Event()
        with _stop_on_signals(asyncio.get_running_loop(), stop):
            return await coro_factory(stop)

    return asyncio.run(runner())


def cmd_sim(args: argparse.Namespace) -> int:
    from instruments.sim.bench import SimBench

    clock = make_clock(args.speed)

    async def serve(stop: asyncio.Event) -> int:
        async with SimBench(clock, seed=args.seed, chamber_baud=args.chamber_baud) as sim:
            for role, kind, after, duration, params in args.fault:
                sim.faults.inject(role, kind, after=after, duration=duration, **params)
            assert sim.endpoints is not None
            endpoints = sim.endpoints.as_dict()
            if args.endpoints_json:
                path = Path(args.endpoints_json)
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic.write_text(path, json.dumps(endpoints, indent=2) + "\n")
            for name, address in endpoints.items():
                print(f"{name:20} {address}", flush=True)
            print(f"simulated bench running at {clock.speed:g}x; Ctrl-C stops it", flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.duration)
        return 0

    return _run(serve)


def cmd_probe(args: argparse.Namespace) -> int:
    from bench.controller import open_bench
    from bench.liblog import library_logs_to_stderr
    from bench.probe import run_probe

    if problem := _bench_usage(args):
        return _usage("probe", problem)
    if args.driver:
        return _probe_driver(args)
    station = Path(args.station) if args.station else None
    with open_bench(station, sim=args.sim, speed=args.speed) as bench:
        library_logs_to_stderr("hpbench probe")
        return _run(
            lambda stop: run_probe(
                bench, Console(), period_s=args.period, duration_s=args.duration, stop=stop
            )
        )


def _probe_driver(args: argparse.Namespace) -> int:
    from bench.probe import run_driver_probe
    from instruments.sim.catalog import CATALOG

    if not args.sim or args.station:
        return _usage("probe", "--driver needs --sim (and no --station)")
    if args.driver not in CATALOG:
        return _usage("probe", f"--driver: one of {', '.join(CATALOG)}")
    clock: Clock = make_clock(args.speed)
    return _run(
        lambda stop: run_driver_probe(
            args.driver, clock, Console(), period_s=args.period, duration_s=args.duration, stop=stop
        )
    )


def cmd_tui(args: argparse.Namespace) -> int:
    from bench.tui.command import tui_command

    if problem := _bench_usage(args):
        return _usage("tui", problem)
    return tui_command(
        args.plan,
        args.station,
        args.sim,
        args.speed,
        results=args.results,
        mqtt=args.mqtt,
        resume=args.resume,
    )


def cmd_validate(args: argparse.Namespace) -> int:
    from bench.plan import Plan, validate_command

    if not (args.station or args.sim):
        return validate_command(args.plan, sys.stdout, sys.stderr)
    from bench.run.planning import PlanNotRunnable, point_specs

    station = load_station(args.station or sim_station_path())

    def on_bench(plan: Plan) -> str | None:
        try:
            point_specs(plan, station)
        except PlanNotRunnable as exc:
            return str(exc)
        return None

    return validate_command(args.plan, sys.stdout, sys.stderr, on_bench=on_bench)


def cmd_run(args: argparse.Namespace) -> int:
    from bench.run.cli_run import run_command

    if args.resume and (args.plan or args.station or args.speed != 1.0):
        return _usage("run", "--resume takes the plan, station and speed the run started with")
    if not args.resume and not args.plan:
        return _usage("run", "give a PLAN (or --resume RUNDIR)")
    if not args.resume and (problem := _bench_usage(args)):
        return _usage("run", problem)
    if args.fault_campaign is not None and not args.sim:
        return _usage("run", "--fault-campaign needs --sim: faults are injected into the simulator")
    return run_command(args, _run)


def cmd_report(args: argparse.Namespace) -> int:
    from bench.export import report_command

    return report_command(args.run_dir, sys.stdout, sys.stderr, pdf=args.pdf, beside=args.beside)


def cmd_approve(args: argparse.Namespace) -> int:
    from bench.export.approval import approve_command

    return approve_command(args.run_dir, args.name, args.role, args.key, sys.stdout, sys.stderr)


def cmd_verify(args: argparse.Namespace) -> int:
    from bench.export import verify_command

    return verify_command(args.run_dir, sys.stdout, sys.stderr, args.public_key)


def cmd_keygen(args: argparse.Namespace) -> int:
    from bench.export.signing import generate_key

    private = Path(args.key_file)
    if private.exists():
        return _usage("keygen", f"{private} exists: not overwriting a key")
    try:
        generate_key(private, Path(f"{private}.pub"))
    except OSError as exc:
        return _usage("keygen", f"{private}: {exc.strerror or exc}")
    print(f"private key {private} (keep it on the bench), public key {private}.pub")
    return 0


def cmd_plans(args: argparse.Namespace) -> int:
    from bench.plan.listing import plans_command

    return plans_command(sys.stdout, sys.stderr)


def cmd_scop(args: argparse.Namespace) -> int:
    from bench.metrology.sheet import scop_command

    return scop_command(args.sheet, args.json, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
