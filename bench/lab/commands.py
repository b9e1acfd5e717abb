"""`hpbench lab init | sync | status | runs | points | compare`: the lab database commands.

Exit codes: 0 done, 1 a sync refused (the package does not verify, or the database holds
another package under its run id) or a sync failed, 2 bad input or an unreachable database.
Each problem is one line naming the run or the database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import psycopg
from rich.console import Console
from rich.table import Table

from bench.lab import outbox, queries
from bench.lab.config import LabConfigError, connection_kwargs, redact
from bench.lab.package import PackageRefused, open_package
from bench.lab.schema import applied, frames_partitioning, migrate, migrations
from bench.lab.sync import SyncRefused, sync_package

EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT = 0, 1, 2
CONNECT_TIMEOUT_S = 10
DB_HELP = "postgresql://user@host[:port]/db (password: HPBENCH_LAB_PASSWORD or PGPASSWORD)"


class LabUnavailable(Exception):
    """The database cannot be used; str() is one line naming it."""


def connect(url: str, password_env: str | None = None) -> psycopg.Connection:
    """An autocommit connection (each sync step opens its own transaction)."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise LabConfigError(f"{redact(url)}: scheme must be postgresql://")
    return psycopg.connect(
        url,
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT_S,
        application_name="hpbench",
        **connection_kwargs(url, password_env),
    )


def _open(url: str) -> psycopg.Connection:
    try:
        conn = connect(url)
    except LabConfigError as exc:
        raise LabUnavailable(str(exc)) from None
    except psycopg.Error as exc:
        raise LabUnavailable(f"{redact(url)}: cannot connect: {_first_line(exc)}") from None
    latest = migrations()[-1].version
    if latest not in applied(conn):
        conn.close()
        raise LabUnavailable(f"{redact(url)}: no lab schema: run `hpbench lab init --db URL`")
    return conn


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__


def add_lab_parser(sub: Any) -> None:
    lab = sub.add_parser("lab", help="the lab database (PostgreSQL): sync runs, query them")
    cmds = lab.add_subparsers(dest="lab_command", required=True, metavar="LAB_COMMAND")

    def db(p: argparse.ArgumentParser, required: bool = True) -> None:
        p.add_argument("--db", metavar="URL", required=required, help=DB_HELP)

    init = cmds.add_parser("init", help="create or update the schema (idempotent)")
    db(init)
    sync = cmds.add_parser("sync", help="verify run directories and put them in the database")
    sync.add_argument("run_dirs", nargs="*", metavar="RUNDIR")
    db(sync, required=False)
    sync.add_argument("--outbox", action="store_true", help="drain the results dir's outbox")
    sync.add_argument("--results", default="results", metavar="DIR", help="(with --outbox)")
    status = cmds.add_parser("status", help="the outbox: syncs pending, failed, done")
    status.add_argument("--results", default="results", metavar="DIR")
    status.add_argument("--json", action="store_true")
    runs = cmds.add_parser("runs", help="synced runs, newest first")
    db(runs)
    runs.add_argument("--unit", metavar="MODEL")
    runs.add_argument("--serial", metavar="S")
    runs.add_argument("--since", metavar="DATE", type=dt.date.fromisoformat)
    runs.add_argument("--json", action="store_true")
    points = cmds.add_parser("points", help="one point of one model over time, every bench")
    db(points)
    points.add_argument("--unit", metavar="MODEL", required=True)
    points.add_argument("--point", metavar="ID", required=True)
    points.add_argument("--json", action="store_true")
    compare = cmds.add_parser("compare", help="one unit on two benches: E_n per point")
    db(compare)
    compare.add_argument("runs", nargs=2, metavar="RUN")
    compare.add_argument("--json", action="store_true")
    lab.set_defaults(func=cmd_lab)


def cmd_lab(args: argparse.Namespace) -> int:
    handlers: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
        "init": _init,
        "sync": _sync,
        "status": _status,
        "runs": _runs,
        "points": _points,
        "compare": _compare,
    }
    try:
        return handlers[args.lab_command](args, sys.stdout)
    except (LabUnavailable, LabConfigError, queries.QueryError) as exc:
        print(f"hpbench lab {args.lab_command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except psycopg.Error as exc:
        print(f"hpbench lab {args.lab_command}: database: {_first_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _init(args: argparse.Namespace, out: TextIO) -> int:
    try:
        conn = connect(args.db)
    except psycopg.Error as exc:
        raise LabUnavailable(f"{redact(args.db)}: cannot connect: {_first_line(exc)}") from None
    with conn:
        done = migrate(conn)
        mode = frames_partitioning(conn)
    what = ", ".join(done) if done else "nothing to apply"
    print(f"{redact(args.db)}: schema up to date ({what}); frames: {mode} partitioning", file=out)
    return EXIT_OK


def _sync(args: argparse.Namespace, out: TextIO) -> int:
    if args.outbox:
        box = outbox.outbox_of(Path(args.results))
        with outbox.worker_lock(box, wait=True):
            tried = outbox.drain(box, everything=True, log=lambda line: print(line, file=out))
        if not tried:
            print(f"{box}: nothing to sync", file=out)
        return EXIT_OK if all(e.state == outbox.DONE for e in tried) else EXIT_REFUSED
    if not args.run_dirs or not args.db:
        raise LabConfigError("give RUNDIR... --db URL, or --outbox")
    code = EXIT_OK
    with _open(args.db) as conn:
        for run_dir in args.run_dirs:
            try:
                print(f"{run_dir}: {sync_package(conn, open_package(Path(run_dir)))}", file=out)
            except (PackageRefused, SyncRefused) as exc:
                print(f"hpbench lab sync: {exc}", file=sys.stderr)
                code = EXIT_REFUSED
    return code


def _status(args: argparse.Namespace, out: TextIO) -> int:
    rows = outbox.status_rows(outbox.outbox_of(Path(args.results)))
    if args.json:
        print(json.dumps(rows, indent=2), file=out)
        return EXIT_OK
    if not rows:
        print(f"{outbox.outbox_of(Path(args.results))}: empty", file=out)
        return EXIT_OK
    _table(rows, out, title=f"lab outbox of {args.results}")
    return EXIT_OK


def _runs(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args.db) as conn:
        rows = queries.runs(conn, unit=args.unit, serial=args.serial, since=args.since)
    return _show(args, rows, out, "synced runs", drop=("package_sha256", "synced_at"))


def _points(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args.db) as conn:
        rows = queries.points(conn, unit=args.unit, point=args.point)
    return _show(args, rows, out, f"{args.unit} {args.point}: COP with U (k=2) over time")


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    with _open(args.db) as conn:
        rows = queries.compare(conn, *args.runs)
    code = _show(args, rows, out, f"{args.runs[0]} vs {args.runs[1]}: E_n = |d| / √(U1² + U2²)")
    if not args.json and rows:
        bad = [r for r in rows if r["agree"] is False]
        verdict = "all |E_n| ≤ 1" if not bad else f"{len(bad)} result(s) with |E_n| > 1"
        print(verdict, file=out)
    return code


def _show(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    out: TextIO,
    title: str,
    drop: tuple[str, ...] = (),
) -> int:
    if args.json:
        print(json.dumps(rows, indent=2, default=_jsonable), file=out)
    elif rows:
        _table([{k: v for k, v in r.items() if k not in drop} for r in rows], out, title=title)
    else:
        print("no rows", file=out)
    return EXIT_OK


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return str(value)


def _table(rows: list[dict[str, Any]], out: TextIO, *, title: str) -> None:
    table = Table(title=title)
    for key in rows[0]:
        table.add_column(key, no_wrap=True)
    for row in rows:
        table.add_row(*(_cell(v) for v in row.values()))
    console = Console(file=out)
    if not console.is_terminal:  # a pipe or a file: whole rows, never folded to 80 columns
        console = Console(file=out, width=240)
    console.print(table)
