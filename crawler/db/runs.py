"""The three run ledgers, one place: `crawl_runs` (one row per crawl of a source), `digest_runs`
(one row per digest or alert run, keyed by its run key) and `job_runs` (every run of every
scheduled job, with its outcome).

Each ledger has the same life: a row is started as `running`, finished with an outcome, and rows a
killed process left `running` are closed by the next one. `job_runs` is also the guard that makes
a digest run key deliverable only once: a unique index over the (job, scheduled time) pairs of
digest runs that are running or succeeded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from crawler import timeutil
from crawler.db import dialect
from crawler.db.connection import write_transaction
from crawler.db.rows import insert_ignoring_known, insert_row, update_row


def start_crawl_runs(db: sqlite_utils.Database, sources: list[str], started: str, pid: int,
                     host: str) -> dict[str, int]:
    """A `running` row for each source of one crawl, in one transaction: source -> run id."""
    with write_transaction(db):
        return {source: insert_row(db, "crawl_runs", {"source": source, "started": started, "status": "running",
                                                      "pid": pid, "host": host})
                for source in sources}


def finish_crawl_runs(db: sqlite_utils.Database, finished: str, results: list[dict]) -> None:
    """Close many runs in one transaction; each result has `run_id`, `status`, `last_error` and the numbers."""
    with write_transaction(db):
        for result in results:
            _finish(db, result["run_id"], finished, result["status"], result, result["last_error"])


def _finish(db: sqlite_utils.Database, run_id: int, finished: str, status: str, summary: dict,
            last_error: str | None) -> None:
    update_row(db, "crawl_runs", run_id, {
        "finished": finished, "status": status,
        **{k: summary[k] for k in ("pages", "listing_pages", "articles_new", "articles_known", "articles_rejected")},
        "errors": json.dumps(summary["errors"], ensure_ascii=False) if summary["errors"] else None,
        "last_error": last_error,
    })


def running_crawl_runs(db: sqlite_utils.Database) -> list[tuple[int, int, str]]:
    """`(id, pid, host)` of crawl runs still marked running by a known process."""
    return db.execute("SELECT id, pid, host FROM crawl_runs WHERE status = 'running' AND pid IS NOT NULL").fetchall()


def interrupt_crawl_runs(db: sqlite_utils.Database, started_before: str, ids: list[int]) -> None:
    """Mark interrupted the running crawl runs started before `started_before`, and those in `ids`."""
    with write_transaction(db):
        listed = f" OR id IN ({','.join('?' * len(ids))})" if ids else ""  # PostgreSQL refuses an empty IN ()
        db.execute("UPDATE crawl_runs SET status = 'interrupted', finished = COALESCE(finished, started) "
                   f"WHERE status = 'running' AND (started < ?{listed})", [started_before, *ids])


def last_crawl_run(db: sqlite_utils.Database, source: str, status: str | None = None) -> dict | None:
    """The latest finished crawl run of `source` (with `status`, when given), or None."""
    where = "status = ?" if status else "status != 'running'"
    rows = list(db.query(f"SELECT * FROM crawl_runs WHERE source = ? AND {where} ORDER BY started DESC, id DESC "
                         "LIMIT 1", [source, status] if status else [source]))
    return rows[0] if rows else None


def crawl_running(db: sqlite_utils.Database, source: str) -> bool:
    return db.execute("SELECT 1 FROM crawl_runs WHERE source = ? AND status = 'running' LIMIT 1",
                      [source]).fetchone() is not None


def start_digest_run(db: sqlite_utils.Database, digest: str, kind: str, run_key: str) -> dict:
    """The `digest_runs` row of `(digest, run_key)`, created `running` unless it exists."""
    with write_transaction(db):
        insert_ignoring_known(db, "digest_runs", ("digest", "kind", "run_key", "started"),
                              [(digest, kind, run_key, timeutil.iso())])
    # list(), not next(): a half-read cursor would keep an old snapshot open into the next transaction
    return list(db.query("SELECT * FROM digest_runs WHERE digest = ? AND run_key = ?", [digest, run_key]))[0]


def finish_digest_run(db: sqlite_utils.Database, run_id: int) -> str:
    """Close a digest run: `done` when none of its mails is left to send, else `incomplete`."""
    with write_transaction(db, [f"digest run {run_id}"]):  # two senders finishing it count in turn
        left = db.execute("SELECT COUNT(*) FROM deliveries WHERE run_id = ? AND status IN ('pending', 'sending')",
                          [run_id]).fetchone()[0]
        status = "incomplete" if left else "done"
        db.conn.execute("UPDATE digest_runs SET status = ?, finished = ? WHERE id = ?",
                        [status, timeutil.iso(), run_id])
    return status


def delete_digest_run(db: sqlite_utils.Database, run_id: int) -> None:
    """Remove a run that queued nothing (an alert check that found nothing)."""
    with write_transaction(db):
        db.conn.execute("DELETE FROM digest_runs WHERE id = ?", [run_id])


def latest_digest_runs(db: sqlite_utils.Database, limit: int) -> list[dict]:
    return [dict(r) for r in db.query("SELECT * FROM digest_runs ORDER BY id DESC LIMIT ?", [limit])]


def crawl_runs_since(db: sqlite_utils.Database, sources: list[str], since: str) -> list[dict]:
    """The crawl runs of these sources started at or after `since`, oldest first."""
    rows: list[dict] = []
    for i in range(0, len(sources), 500):
        chunk = sources[i:i + 500]
        rows += db.query(f"SELECT * FROM crawl_runs WHERE started >= ? AND source IN ({','.join('?' * len(chunk))}) "
                         "ORDER BY id", [since, *chunk])
    return sorted(rows, key=lambda row: row["id"])


# ---------------------------------------------------------------- job_runs (the scheduler)

FINAL_OUTCOMES = ("ok", "failed", "timeout", "skipped", "missed", "interrupted")


@dataclass(frozen=True)
class RunKey:
    """What a job run belongs to: the job and the fire time it was scheduled for."""

    job_id: str
    kind: str
    target: str
    scheduled: datetime | None

    @property
    def scheduled_iso(self) -> str | None:
        return timeutil.iso(self.scheduled) if self.scheduled else None


def _final(outcome: str) -> str:
    if outcome not in FINAL_OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    return outcome


def start_job_run(db: sqlite_utils.Database, key: RunKey) -> int | None:
    """Insert a `running` row; None when a digest run with this key is already running or sent."""
    try:
        with write_transaction(db):
            return insert_row(db, "job_runs", {"job_id": key.job_id, "kind": key.kind, "target": key.target,
                                               "scheduled": key.scheduled_iso, "started": timeutil.iso(),
                                               "outcome": "running"})
    except dialect.integrity_errors():
        return None


def finish_job_run(db: sqlite_utils.Database, run_id: int, outcome: str, detail: str | None = None) -> None:
    with write_transaction(db):
        db.conn.execute("UPDATE job_runs SET finished = ?, outcome = ?, detail = ? WHERE id = ?",
                        (timeutil.iso(), _final(outcome), detail, run_id))


def record_job_run(db: sqlite_utils.Database, key: RunKey, outcome: str, detail: str | None = None) -> int:
    """A run that never started (skipped, missed): one finished row."""
    now = timeutil.iso()
    with write_transaction(db):
        return insert_row(db, "job_runs", {"job_id": key.job_id, "kind": key.kind, "target": key.target,
                                           "scheduled": key.scheduled_iso, "started": now, "finished": now,
                                           "outcome": _final(outcome), "detail": detail})


def close_abandoned_job_runs(db: sqlite_utils.Database) -> list[RunKey]:
    """Rows still `running` from a scheduler that died: mark them interrupted (the caller holds the
    scheduler lock) and return their keys, so an interrupted digest can be resumed with the same run key."""
    with write_transaction(db):
        rows = db.conn.execute(
            "SELECT id, job_id, kind, target, scheduled FROM job_runs WHERE outcome = 'running'"
        ).fetchall()
        db.conn.executemany(
            "UPDATE job_runs SET outcome = 'interrupted', finished = ?, "
            "detail = 'the scheduler stopped before this run finished' WHERE id = ?",
            [(timeutil.iso(), row[0]) for row in rows],
        )
    return [RunKey(job_id, kind, target, timeutil.parse_iso(scheduled) if scheduled else None)
            for _, job_id, kind, target, scheduled in rows]


def last_job_runs(db: sqlite_utils.Database) -> dict[str, dict]:
    """The latest row of each job id."""
    rows = db.query("SELECT * FROM job_runs WHERE id IN (SELECT MAX(id) FROM job_runs GROUP BY job_id)")
    return {row["job_id"]: row for row in rows}


def interrupt_job_runs(db: sqlite_utils.Database, key: RunKey, detail: str) -> None:
    """Close the `running` rows of this run key as interrupted: the task queue runs a dead worker's
    job again under the same key, and the dead attempt's rows would otherwise stay running."""
    with write_transaction(db):
        db.conn.execute("UPDATE job_runs SET outcome = 'interrupted', finished = ?, detail = ? "
                        "WHERE job_id = ? AND scheduled = ? AND outcome = 'running'",
                        (timeutil.iso(), detail, key.job_id, key.scheduled_iso))
