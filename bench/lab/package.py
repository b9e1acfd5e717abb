"""A sealed run directory, verified, as the lab database takes it.

Verification is `hpbench verify`'s: every result file against SHA256SUMS and result.json
against its schema (bench/export). The package hash is the SHA-256 of SHA256SUMS itself: it
pins every sealed file at once. Frames are read from run.sqlite raw (the stored blobs, not
`Frame` objects): the sync is bound by how fast rows reach the COPY.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.export.commands import RESULT_FILES
from bench.export.result import RESULT_NAME, schema_problems
from bench.export.sums import SUMS_NAME, check_sums
from bench.store import STORE_NAME

FrameRow = tuple[int, float, bytes, bytes, str | None]  # run.sqlite frames: seq, t, value...


class PackageRefused(Exception):
    """The run directory is not a whole, sealed, unaltered package; str() says what."""


@dataclass(frozen=True)
class Package:
    run_dir: Path
    sha256: str  # of SHA256SUMS
    result: dict[str, Any]
    run_id: str
    channels: list[tuple[str, str]]  # (id, unit) in frame order

    @property
    def store_path(self) -> Path:
        return self.run_dir / STORE_NAME

    def frame_batches(self, size: int) -> Iterator[list[FrameRow]]:
        """The stored frames in seq order, `size` rows at a time (read-only, chunked)."""
        conn = sqlite3.connect(f"{self.store_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            last = -1
            while True:
                rows = conn.execute(
                    "SELECT seq, t, value, quality, detail FROM frames WHERE seq > ?"
                    " ORDER BY seq LIMIT ?",
                    (last, size),
                ).fetchall()
                if not rows:
                    return
                yield rows
                last = rows[-1][0]
        finally:
            conn.close()

    def meta(self, key: str) -> Any:
        """A run.sqlite meta value (JSON-decoded), None when absent."""
        conn = sqlite3.connect(f"{self.store_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        finally:
            conn.close()
        return json.loads(row[0]) if row else None

    def events(self) -> list[tuple[int, float, int | None, str, str, str | None]]:
        conn = sqlite3.connect(f"{self.store_path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute(
                "SELECT id, t, seq, kind, message, data FROM events ORDER BY id"
            ).fetchall()
        finally:
            conn.close()


def open_package(run_dir: Path) -> Package:
    """Verify a run directory and open it; PackageRefused names the first problems."""
    run_dir = Path(run_dir)
    if not (run_dir / STORE_NAME).is_file():
        raise PackageRefused(f"{run_dir}: no {STORE_NAME}: not a run directory")
    problems = [str(p) for p in check_sums(run_dir, RESULT_FILES)]
    if problems:
        raise PackageRefused(f"{run_dir}: package does not verify: " + "; ".join(problems[:3]))
    try:
        result = json.loads((run_dir / RESULT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PackageRefused(f"{run_dir / RESULT_NAME}: cannot read: {exc}") from None
    bad = schema_problems(result)
    if bad:
        raise PackageRefused(f"{run_dir / RESULT_NAME}: schema: " + "; ".join(bad[:3]))
    conn = sqlite3.connect(f"{(run_dir / STORE_NAME).resolve().as_uri()}?mode=ro", uri=True)
    try:
        (run_id,) = conn.execute("SELECT value FROM meta WHERE key = 'run_id'").fetchone()
        channels = conn.execute("SELECT id, unit FROM channels ORDER BY idx").fetchall()
        (frames,) = conn.execute("SELECT count(*) FROM frames").fetchone()
    except (sqlite3.Error, TypeError) as exc:
        raise PackageRefused(f"{run_dir / STORE_NAME}: cannot read: {exc}") from None
    finally:
        conn.close()
    run_id = json.loads(run_id)
    if run_id != result["run"]["id"] or frames != result["run"]["frames"]:
        raise PackageRefused(
            f"{run_dir}: {STORE_NAME} (run {run_id}, {frames} frames) does not match "
            f"{RESULT_NAME} (run {result['run']['id']}, {result['run']['frames']} frames)"
        )
    sha = hashlib.sha256((run_dir / SUMS_NAME).read_bytes()).hexdigest()
    return Package(run_dir, sha, result, run_id, [(c, u) for c, u in channels])


def copy_text(run: int, rows: list[FrameRow], channels: int) -> bytes:
    """Rows for `COPY frames (run, seq, t, value, quality, detail) FROM STDIN` (text format)."""
    values = struct.Struct(f"<{channels}d")
    utc = dt.UTC
    stamp = dt.datetime.fromtimestamp
    lines = []
    for seq, t, value, quality, detail in rows:
        numbers = ",".join(map(repr, values.unpack(value)))  # nan, inf: PostgreSQL reads them
        codes = ",".join(map(str, quality))
        extra = "\\N" if detail is None else copy_escape(detail)
        when = stamp(t, utc).isoformat()
        lines.append(f"{run}\t{seq}\t{when}\t{{{numbers}}}\t{{{codes}}}\t{extra}\n")
    return "".join(lines).encode()


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_escape(text: str) -> str:
    """A text field for COPY's text format: backslash, tab, newline and CR escaped."""
    return text.translate(_COPY_ESCAPES)
