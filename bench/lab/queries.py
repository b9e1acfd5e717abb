"""The questions engineers ask the lab database, as plain SQL returning dicts.

`compare` is the lab's own round robin: the same unit on two benches, each point's results
against their combined expanded uncertainty as an E_n number,

    E_n = (x2 - x1) / sqrt(U1² + U2²),   satisfactory when |E_n| <= 1

(ISO 13528:2022 §9.7 "E_n numbers", the score of ISO/IEC 17043:2023 proficiency tests).
U is each run's expanded uncertainty (GUM propagation, k = 2: docs/standards.md §3).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import psycopg
from psycopg.rows import dict_row

EN_PASS = 1.0  # |E_n| <= 1: the two benches agree within their uncertainties
COMPARED = ("capacity_w", "power_w", "cop")


class QueryError(Exception):
    """A question the database cannot answer as asked (unknown run...); str() is one line."""


def runs(
    conn: psycopg.Connection,
    *,
    unit: str | None = None,
    serial: str | None = None,
    since: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Synced runs, newest first; `unit` matches the model (case-insensitive)."""
    where, params = ["true"], []
    if unit:
        where.append("u.model ILIKE %s")
        params.append(unit)
    if serial:
        where.append("u.serial = %s")
        params.append(serial)
    if since:
        where.append("r.created >= %s")
        params.append(dt.datetime.combine(since, dt.time(), dt.UTC))
    sql = (
        "SELECT r.run_id, s.name AS station, u.make, u.model, u.serial, r.plan_name AS plan,"
        " r.outcome, r.created, r.frames,"
        " (SELECT count(*) FROM points p WHERE p.run = r.id AND p.status = 'valid') AS valid,"
        " (SELECT count(*) FROM points p WHERE p.run = r.id) AS points,"
        " r.package_sha256, r.synced_at"
        " FROM runs r JOIN stations s ON s.id = r.station_id JOIN units u ON u.id = r.unit_id"
        f" WHERE {' AND '.join(where)} ORDER BY r.created DESC, r.run_id"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()  # type: ignore[arg-type]


def points(conn: psycopg.Connection, *, unit: str, point: str) -> list[dict[str, Any]]:
    """One rating point of one model over time, on every bench: is a bench drifting?"""
    sql = (
        "SELECT r.created, s.name AS station, r.run_id, u.serial, p.status, p.cop, p.cop_u,"
        " p.capacity_w, p.capacity_u_w, p.power_w, p.power_u_w"
        " FROM points p JOIN runs r ON r.id = p.run JOIN stations s ON s.id = r.station_id"
        " JOIN units u ON u.id = r.unit_id WHERE u.model ILIKE %s AND p.point_id = %s"
        " ORDER BY r.created, r.run_id"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, (unit, point)).fetchall()


def last_synced(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """Each station's newest synced run (the fleet view's column)."""
    sql = (
        "SELECT DISTINCT ON (s.name) s.name AS station, r.run_id, r.outcome, r.synced_at"
        " FROM runs r JOIN stations s ON s.id = r.station_id ORDER BY s.name, r.synced_at DESC"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return {row["station"]: row for row in cur.execute(sql).fetchall()}


def compare(conn: psycopg.Connection, first: str, second: str) -> list[dict[str, Any]]:
    """Per point both runs measured, per quantity: the difference and its E_n number."""
    info = {}
    with conn.cursor(row_factory=dict_row) as cur:
        for run_id in (first, second):
            row = cur.execute(
                "SELECT r.id, r.unit_id, s.name AS station, u.model, u.serial FROM runs r"
                " JOIN stations s ON s.id = r.station_id JOIN units u ON u.id = r.unit_id"
                " WHERE r.run_id = %s",
                (run_id,),
            ).fetchone()
            if row is None:
                raise QueryError(f"run {run_id}: not in the lab database")
            info[run_id] = row
        a, b = info[first], info[second]
        if a["unit_id"] != b["unit_id"]:
            raise QueryError(
                f"runs {first} ({a['model']} {a['serial']}) and {second} ({b['model']} "
                f"{b['serial']}) tested different units: a round robin compares one unit"
            )
        rows = cur.execute(
            "SELECT p1.idx, p1.point_id, q1.quantity, q1.value AS v1, q1.expanded_u AS u1,"
            " q2.value AS v2, q2.expanded_u AS u2, p1.status AS status1, p2.status AS status2"
            " FROM points p1 JOIN points p2 ON p2.run = %s AND p2.point_id = p1.point_id"
            " JOIN point_results q1 ON q1.run = p1.run AND q1.idx = p1.idx"
            " JOIN point_results q2 ON q2.run = p2.run AND q2.idx = p2.idx"
            "  AND q2.quantity = q1.quantity"
            " WHERE p1.run = %s AND q1.quantity = ANY(%s) ORDER BY p1.idx, q1.quantity",
            (b["id"], a["id"], list(COMPARED)),
        ).fetchall()
    out = []
    for r in rows:
        d = r["v2"] - r["v1"]
        combined = math.hypot(r["u1"], r["u2"]) if r["u1"] is not None and r["u2"] else None
        en = abs(d) / combined if combined else None
        out.append(
            {
                "point": r["point_id"],
                "quantity": r["quantity"],
                "bench1": a["station"],
                "value1": r["v1"],
                "U1": r["u1"],
                "bench2": b["station"],
                "value2": r["v2"],
                "U2": r["u2"],
                "difference": d,
                "U_combined": combined,
                "En": en,
                "agree": None if en is None else en <= EN_PASS,
                "status": f"{r['status1']}/{r['status2']}",
            }
        )
    return out
