"""The outbox: `deliveries` (one row per run and recipient, the exact message bytes) and
`delivered_items` (what each row carries: the per-recipient watermark). `digests/` decides what to
send and when; these functions are its reads and writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import sqlite_utils

from crawler.db import dialect
from crawler.db.connection import write_transaction
from crawler.db.rows import insert_ignoring_known, insert_row

SUMMARY_COLUMNS = ("id", "run_id", "recipient", "status", "subject", "counts", "attempts", "last_error", "archive")
HISTORY_COLUMNS = ("id", "recipient", "status", "subject", "counts", "attempts", "last_error", "sent_at", "archive")


def insert_delivery(db: sqlite_utils.Database, row: dict, items: list[tuple[str, str]]) -> int:
    """One outbox row and the items it carries (inside the caller's transaction); returns its id."""
    row = {**row, "counts": json.dumps(row["counts"])}
    delivery_id = insert_row(db, "deliveries", row)
    insert_ignoring_known(db, "delivered_items", ("delivery_id", "digest", "recipient", "item_type", "item_key"),
                          [(delivery_id, row["digest"], row["recipient"], t, str(k)) for t, k in items])
    return delivery_id


def set_archive(db: sqlite_utils.Database, delivery_id: int, archive: str | None) -> None:
    """Record where the archived HTML of a row is (inside the caller's transaction)."""
    db.conn.execute("UPDATE deliveries SET archive = ? WHERE id = ?", [archive, delivery_id])


def delivery_status(db: sqlite_utils.Database, run_id: int, recipient: str) -> str | None:
    row = db.execute("SELECT status FROM deliveries WHERE run_id = ? AND recipient = ?", [run_id, recipient]).fetchone()
    return row[0] if row else None


def outstanding(db: sqlite_utils.Database, digest: str, stale_before: str) -> list[int]:
    """Ids of rows of `digest` still to send: pending, or `sending` claimed before `stale_before`."""
    return [r[0] for r in db.execute(
        "SELECT id FROM deliveries WHERE digest = ? AND (status = 'pending' OR "
        "(status = 'sending' AND attempted_at < ?)) ORDER BY id", [digest, stale_before])]


def claim(db: sqlite_utils.Database, delivery_id: int, now: str, stale_before: str) -> dict | None:
    """Mark a row `sending` unless another sender holds a live claim; the row (with `claimed_from`,
    its status before: `sending` means a sender died holding it), or None."""
    with write_transaction(db):
        before = db.conn.execute("SELECT status FROM deliveries WHERE id = ?", [delivery_id]).fetchone()
        cur = db.conn.execute(
            "UPDATE deliveries SET status = 'sending', attempted_at = ? WHERE id = ? AND "
            "(status = 'pending' OR (status = 'sending' AND attempted_at < ?))",
            [now, delivery_id, stale_before])
    if cur.rowcount != 1:
        return None  # another sender has it
    row = list(db.query("SELECT * FROM deliveries WHERE id = ?", [delivery_id]))[0]  # list: no open cursor
    return {**row, "claimed_from": before[0]}


def record_attempt(db: sqlite_utils.Database, delivery_id: int, **fields) -> None:
    """Count one attempt on a row and set `fields` (status, last_error, sent_at...)."""
    sets = "".join(f"{k} = ?, " for k in fields)
    with write_transaction(db):
        db.conn.execute(f"UPDATE deliveries SET {sets}attempts = attempts + 1 WHERE id = ?",
                        [*fields.values(), delivery_id])


def database_folder(db: sqlite_utils.Database) -> Path | None:
    """The folder of the database file (None for an in-memory database; the local data folder for
    a server database)."""
    return dialect.database_folder(db)


def delivered_items(db: sqlite_utils.Database, digest: str, recipient: str,
                    statuses: Iterable[str]) -> set[tuple[str, str]]:
    """`(item_type, item_key)` carried by rows of `digest` to `recipient` whose status is in `statuses`."""
    statuses = list(statuses)
    rows = db.execute(
        "SELECT di.item_type, di.item_key FROM delivered_items di JOIN deliveries d ON d.id = di.delivery_id "
        f"WHERE di.digest = ? AND di.recipient = ? AND d.status IN ({','.join('?' * len(statuses))})",
        [digest, recipient, *statuses],
    ).fetchall()
    return {(t, k) for t, k in rows}


def deliveries_of_run(db: sqlite_utils.Database, run_id: int, columns: tuple[str, ...] = SUMMARY_COLUMNS) -> list[dict]:
    return [dict(r) for r in db.query(f"SELECT {', '.join(columns)} FROM deliveries WHERE run_id = ? ORDER BY id",
                                      [run_id])]


def deliveries_by_id(db: sqlite_utils.Database, ids: list[int]) -> list[dict]:
    if not ids:
        return []
    return [dict(r) for r in db.query(f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM deliveries "
                                      f"WHERE id IN ({','.join('?' * len(ids))}) ORDER BY id", list(ids))]


def count_deliveries(db: sqlite_utils.Database, run_id: int) -> int:
    """How many outbox rows a run wrote."""
    return db.execute("SELECT COUNT(*) FROM deliveries WHERE run_id = ?", [run_id]).fetchone()[0]
