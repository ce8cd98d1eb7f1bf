"""The run ledgers: `crawl_runs` (one row per crawl of a source), and the others as they move in.

Each ledger has the same life: a row is started as `running`, finished with an outcome, and rows a
killed process left `running` are closed by the next one.
"""

from __future__ import annotations

import json

import sqlite_utils

from crawler.db.connection import write_transaction


def start_crawl_run(db: sqlite_utils.Database, source: str, started: str, pid: int, host: str) -> int:
    with write_transaction(db):
        return db["crawl_runs"].insert({"source": source, "started": started, "status": "running",
                                        "pid": pid, "host": host}).last_pk


def finish_crawl_run(db: sqlite_utils.Database, run_id: int, finished: str, status: str, summary: dict,
                     last_error: str | None) -> None:
    """Close a crawl run with its outcome and the numbers of `summary` (`errors`: {kind: count})."""
    with write_transaction(db):
        db["crawl_runs"].update(run_id, {
            "finished": finished, "status": status,
            **{k: summary[k] for k in ("pages", "listing_pages", "articles_new", "articles_known",
                                       "articles_rejected")},
            "errors": json.dumps(summary["errors"], ensure_ascii=False) if summary["errors"] else None,
            "last_error": last_error,
        })


def running_crawl_runs(db: sqlite_utils.Database) -> list[tuple[int, int, str]]:
    """`(id, pid, host)` of crawl runs still marked running by a known process."""
    return db.execute("SELECT id, pid, host FROM crawl_runs WHERE status = 'running' AND pid IS NOT NULL").fetchall()


def interrupt_crawl_runs(db: sqlite_utils.Database, started_before: str, ids: list[int]) -> None:
    """Mark interrupted the running crawl runs started before `started_before`, and those in `ids`."""
    with write_transaction(db):
        db.execute("UPDATE crawl_runs SET status = 'interrupted', finished = COALESCE(finished, started) "
                   f"WHERE status = 'running' AND (started < ? OR id IN ({','.join('?' * len(ids))}))",
                   [started_before, *ids])


def last_crawl_run(db: sqlite_utils.Database, source: str, status: str | None = None) -> dict | None:
    """The latest finished crawl run of `source` (with `status`, when given), or None."""
    where = "status = ?" if status else "status != 'running'"
    rows = list(db.query(f"SELECT * FROM crawl_runs WHERE source = ? AND {where} ORDER BY started DESC, id DESC "
                         "LIMIT 1", [source, status] if status else [source]))
    return rows[0] if rows else None


def crawl_running(db: sqlite_utils.Database, source: str) -> bool:
    return db.execute("SELECT 1 FROM crawl_runs WHERE source = ? AND status = 'running' LIMIT 1",
                      [source]).fetchone() is not None


def start_digest_run(db: sqlite_utils.Database, digest: str, kind: str, run_key: str, started: str) -> dict:
    """The `digest_runs` row of `(digest, run_key)`, created `running` unless it exists."""
    with write_transaction(db):
        db.conn.execute("INSERT OR IGNORE INTO digest_runs (digest, kind, run_key, started) VALUES (?, ?, ?, ?)",
                        [digest, kind, run_key, started])
    # list(), not next(): a half-read cursor would keep an old snapshot open into the next transaction
    return list(db.query("SELECT * FROM digest_runs WHERE digest = ? AND run_key = ?", [digest, run_key]))[0]


def finish_digest_run(db: sqlite_utils.Database, run_id: int, status: str, finished: str) -> None:
    with write_transaction(db):
        db.conn.execute("UPDATE digest_runs SET status = ?, finished = ? WHERE id = ?", [status, finished, run_id])


def delete_digest_run(db: sqlite_utils.Database, run_id: int) -> None:
    """Remove a run that queued nothing (an alert check that found nothing)."""
    with write_transaction(db):
        db.conn.execute("DELETE FROM digest_runs WHERE id = ?", [run_id])


def latest_digest_runs(db: sqlite_utils.Database, limit: int) -> list[dict]:
    return [dict(r) for r in db.query("SELECT * FROM digest_runs ORDER BY id DESC LIMIT ?", [limit])]
