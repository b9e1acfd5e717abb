"""Syncs waiting for the lab database: a directory of JSON files under the results dir.

A run that ends enqueues itself (`after_run`, the one call the run makes) and starts a
detached worker process; the run never waits on the database, and a database that is down
never touches the bench. The worker syncs what is due, backs off (doubling, with jitter) on
each failure, and exits once nothing is pending; the next run's worker, or
`hpbench lab sync --outbox`, takes over what is left. One lock file serialises workers of one
results dir; a worker that exits looks once more after letting go of it, so an entry written
at that moment is never stranded.

States: pending (to do, or retrying), done (synced or already synced), refused (the package
does not verify, or the database holds another package under its run id: a retry cannot
help), failed (attempts used up, or a setting that cannot work: drained again by hand).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.export import atomic
from bench.lab.config import LabConfigError, LabSettings, redact

OUTBOX_DIR = "lab-outbox"
LOCK_NAME = ".worker.lock"
WORKER_LOG = "worker.log"
PENDING, DONE, REFUSED, FAILED = "pending", "done", "refused", "failed"


@dataclass
class Entry:
    """One run to sync; the file `<outbox>/<run dir name>.json`."""

    run_dir: str
    database: str  # never with a password: that comes from the environment at sync time
    password_env: str | None = None
    state: str = PENDING
    attempts: int = 0
    next_attempt: float = 0.0  # epoch seconds
    last_error: str = ""
    message: str = ""
    enqueued: str = ""
    finished: str = ""
    retry_initial_s: float = 5.0
    retry_max_s: float = 600.0
    max_attempts: int = 50

    @property
    def name(self) -> str:
        return Path(self.run_dir).name

    def due(self, now: float) -> bool:
        return self.state == PENDING and self.next_attempt <= now

    def failed_once(self, error: str, now: float) -> None:
        self.attempts += 1
        self.last_error = error
        if self.attempts >= self.max_attempts:
            self.state = FAILED
            return
        delay = min(self.retry_initial_s * 2 ** (self.attempts - 1), self.retry_max_s)
        self.next_attempt = now + delay * random.uniform(0.8, 1.2)

    def finish(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        self.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def outbox_of(results: Path) -> Path:
    return Path(results) / OUTBOX_DIR


def save(outbox: Path, entry: Entry) -> None:
    outbox.mkdir(exist_ok=True)  # in an existing results dir: a vanished one is an error
    atomic.write_text(outbox / f"{entry.name}.json", json.dumps(dataclasses.asdict(entry)))


def entries(outbox: Path) -> list[Entry]:
    """Every entry, oldest first; a file that does not parse is reported as failed."""
    found = []
    for path in sorted(outbox.glob("*.json")) if outbox.is_dir() else []:
        try:
            found.append(Entry(**json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError) as exc:
            found.append(Entry(str(path), "", state=FAILED, last_error=f"unreadable: {exc}"))
    return sorted(found, key=lambda e: (e.enqueued, e.name))


def enqueue(run_dir: Path, settings: LabSettings) -> Entry:
    """Put a finished run into its results dir's outbox (a run already there starts over)."""
    run_dir = Path(run_dir).resolve()
    entry = Entry(
        str(run_dir),
        redact(settings.database),
        settings.password_env,
        enqueued=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        retry_initial_s=settings.retry_initial_s,
        retry_max_s=settings.retry_max_s,
        max_attempts=settings.max_attempts,
    )
    save(outbox_of(run_dir.parent), entry)
    return entry


def sync_entry(entry: Entry, now: float) -> None:
    """One attempt: verify, connect, sync; the entry's state says how it went."""
    import psycopg

    from bench.lab.commands import connect
    from bench.lab.package import PackageRefused, open_package
    from bench.lab.sync import SyncRefused, sync_package

    try:
        package = open_package(Path(entry.run_dir))
        with connect(entry.database, entry.password_env) as conn:
            outcome = sync_package(conn, package)
        entry.finish(DONE, str(outcome))
    except (PackageRefused, SyncRefused) as exc:
        entry.finish(REFUSED, str(exc))
    except LabConfigError as exc:
        entry.finish(FAILED, str(exc))
    except (psycopg.Error, OSError) as exc:
        entry.failed_once(f"{type(exc).__name__}: {str(exc).strip() or 'no message'}", now)


@contextlib.contextmanager
def worker_lock(outbox: Path, *, wait: bool) -> Iterator[bool]:
    """The outbox's lock: True when held (False only when `wait` is off and it is taken)."""
    outbox.mkdir(parents=True, exist_ok=True)
    with open(outbox / LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def drain(
    outbox: Path,
    *,
    everything: bool = False,
    log: Callable[[str], None] = print,
    attempt: Callable[[Entry, float], None] = sync_entry,
) -> list[Entry]:
    """Attempt the due entries (with `everything`, also those backing off and the failed
    ones, once). The caller holds the lock. Returns the entries attempted."""
    tried = []
    now = time.time()
    for entry in entries(outbox):
        if entry.state == FAILED and everything and entry.database:
            entry.state, entry.attempts = PENDING, 0
        if not (entry.due(now) or (everything and entry.state == PENDING)):
            continue
        attempt(entry, time.time())
        save(outbox, entry)
        tried.append(entry)
        what = entry.message if entry.state != PENDING else f"retrying: {entry.last_error}"
        log(f"{entry.name}: {entry.state}: {what}")
    return tried


def run_worker(outbox: Path, log: Callable[[str], None] = print) -> int:
    """Drain `outbox` until nothing is pending; sleeps through each back-off."""
    while True:
        with worker_lock(outbox, wait=False) as held:
            if not held:
                return 0  # another worker has it, and looks again before it exits
            drain(outbox, log=log)
        pending = [e for e in entries(outbox) if e.state == PENDING]
        if not pending:
            return 0
        wake = min(e.next_attempt for e in pending)
        time.sleep(max(0.0, min(wake - time.time(), 60.0)))


def start_worker(outbox: Path) -> None:
    """A detached worker process: it outlives the run, and its output goes to worker.log."""
    outbox.mkdir(parents=True, exist_ok=True)
    with open(outbox / WORKER_LOG, "ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "bench.lab.outbox", str(outbox)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


def after_run(run_dir: Path, lab: LabSettings | None) -> None:
    """The run's end: enqueue its sync and start a worker when the station has `[lab]`.
    Never raises: a lab database problem must not change a run's outcome."""
    if lab is None or not lab.enabled:
        return
    try:
        entry = enqueue(run_dir, lab)
        start_worker(outbox_of(Path(entry.run_dir).parent))
        print(f"lab: sync of {entry.name} queued ({redact(lab.database)})", flush=True)
    except Exception as exc:
        print(f"lab: sync not queued: {exc}; run `hpbench lab sync {run_dir}`", file=sys.stderr)


def status_rows(outbox: Path, now: float | None = None) -> list[dict[str, Any]]:
    now = time.time() if now is None else now
    rows = []
    for e in entries(outbox):
        wait = e.next_attempt - now if e.state == PENDING and e.next_attempt > now else 0.0
        rows.append(
            {
                "run": e.name,
                "state": e.state,
                "attempts": e.attempts,
                "next_try_s": round(wait, 1),
                "database": e.database,
                "detail": e.message or e.last_error,
            }
        )
    return rows


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(run_worker(Path(sys.argv[1]), log=lambda line: print(line, flush=True)))
