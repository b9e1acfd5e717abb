"""Sealing `run.sqlite`: the raw data every result file is made from is itself in SHA256SUMS.

`hpbench report` rebuilds everything from the store, so a store that could change unseen would
let an edited run pass `verify`. Before its digest is taken the store's WAL is checkpointed into
the main file and truncated (nothing of the run lives only in `run.sqlite-wal`), and the
connection closed. Reading the store later (`report`) does not write to the main file.

`report` re-seals only a store that was never sealed: if SHA256SUMS already lists `run.sqlite`
with another digest, the store changed after the run and `report` refuses (`StoreChanged`).
A run that goes on (`hpbench run --resume`) re-seals through the run's own export.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.export.settings import ExportError
from bench.export.sums import digest, read_sums
from bench.store import STORE_NAME


class StoreChanged(ExportError):
    """run.sqlite differs from the digest it was sealed with."""


def checkpoint(run_dir: Path) -> Path:
    """Fold the WAL into run.sqlite and truncate it; the connection is closed on return."""
    path = Path(run_dir) / STORE_NAME
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.close()
    if busy:
        raise ExportError(f"{path}: cannot checkpoint: another connection holds the store")
    return path


def check_sealed(run_dir: Path) -> None:
    """Raise StoreChanged when SHA256SUMS lists run.sqlite and the store no longer matches."""
    listed, _ = read_sums(Path(run_dir))
    sealed = listed.get(STORE_NAME)
    path = Path(run_dir) / STORE_NAME
    if sealed is not None and path.is_file() and digest(path) != sealed:
        raise StoreChanged(
            f"{path}: changed since the run sealed it (SHA-256 {digest(path)[:16]}… is not "
            f"{sealed[:16]}…): the result files are not remade from an altered store"
        )
