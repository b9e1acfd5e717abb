"""A sealed run directory, verified, as the lab database takes it.

Verification is `hpbench verify`'s: every result file against SHA256SUMS and result.json
against its schema (bench/export). The package hash is the SHA-256 of SHA256SUMS itself: it
pins every sealed file at once. Frames are read from run.sqlite raw (the stored blobs, not
`Frame` objects): the sync is bound by how fast rows reach the COPY.
"""

from __future__ import annotations

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


PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z, PostgreSQL's timestamp zero
FLOAT8_OID, INT2_OID = 701, 21
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # binary COPY signature
COPY_TRAILER = struct.pack(">h", -1)


class BinaryFrames:
    """Rows for `COPY frames (run, seq, t, value, quality, detail) FROM STDIN (FORMAT binary)`.

    Binary, not text: formatting 40 floats as text costs more CPU than the server spends
    storing them. Each row is one `struct.pack` of a template list whose value and quality
    slots are filled by slice assignment (C speed): run int8, seq int4, t timestamptz (µs
    since 2000), value float8[] and quality int2[] (1-D, no NULLs: NaN stays NaN), detail jsonb.
    """

    def __init__(self, run: int, channels: int) -> None:
        n = channels
        self._values = struct.Struct(f"<{n}d")
        value_len = 20 + 12 * n  # ndim, flags, oid, size, lbound + (len, float8) each
        quality_len = 20 + 6 * n
        self._row = struct.Struct(
            ">h" + "iq" + "ii" + "iq" + "iiiiii" + "id" * n + "iiiiii" + "ih" * n
        )
        template: list[Any] = [6, 8, run, 4, 0, 8, 0]
        template += [value_len, 1, 0, FLOAT8_OID, n, 1] + [8, 0.0] * n
        template += [quality_len, 1, 0, INT2_OID, n, 1] + [2, 0] * n
        self._template = template
        self._first_value = 14  # after the header slots and the first element's length
        self._first_quality = 14 + 2 * n + 6
        self._n = n

    def rows(self, rows: list[FrameRow]) -> bytes:
        out = []
        template, pack, unpack = self._template, self._row.pack, self._values.unpack
        v0, q0, n2 = self._first_value, self._first_quality, 2 * self._n
        for seq, t, value, quality, detail in rows:
            args = template.copy()
            args[4] = seq
            args[6] = round(t * 1e6) - PG_EPOCH_US
            args[v0 : v0 + n2 : 2] = unpack(value)
            args[q0 : q0 + n2 : 2] = quality
            out.append(pack(*args))
            if detail is None:
                out.append(b"\xff\xff\xff\xff")  # NULL
            else:
                data = b"\x01" + detail.encode()  # jsonb binary: version 1, then the text
                out.append(struct.pack(">i", len(data)) + data)
        return b"".join(out)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_escape(text: str) -> str:
    """A text field for COPY's text format: backslash, tab, newline and CR escaped."""
    return text.translate(_COPY_ESCAPES)
