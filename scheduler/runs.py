"""The scheduler's own tables: every run of every job, with its outcome.

`job_runs` is what `schedule list` reads for "last outcome", what an admin queries after a
bad night, and the guard that makes a digest run key deliverable only once: a unique index over
the (job, scheduled time) pairs of digest runs that are running or succeeded.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from crawler import timeutil

FINAL_OUTCOMES = ("ok", "failed", "timeout", "skipped", "missed", "interrupted")


@dataclass(frozen=True)
class RunKey:
    """What a run belongs to: the job and the fire time it was scheduled for."""

    job_id: str
    kind: str
    target: str
    scheduled: datetime | None

    @property
    def scheduled_iso(self) -> str | None:
        return timeutil.iso(self.scheduled) if self.scheduled else None


def start_run(db: sqlite_utils.Database, key: RunKey) -> int | None:
    """Insert a `running` row; None when a digest run with this key is already running or sent."""
    try:
        with db.conn:
            cursor = db.conn.execute(
                "INSERT INTO job_runs (job_id, kind, target, scheduled, started, outcome) "
                "VALUES (?, ?, ?, ?, ?, 'running')",
                (key.job_id, key.kind, key.target, key.scheduled_iso, timeutil.iso()),
            )
    except sqlite3.IntegrityError:
        return None
    return cursor.lastrowid


def finish_run(db: sqlite_utils.Database, run_id: int, outcome: str, detail: str | None = None) -> None:
    if outcome not in FINAL_OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    with db.conn:
        db.conn.execute(
            "UPDATE job_runs SET finished = ?, outcome = ?, detail = ? WHERE id = ?",
            (timeutil.iso(), outcome, detail, run_id),
        )


def record_run(db: sqlite_utils.Database, key: RunKey, outcome: str, detail: str | None = None) -> int:
    """A run that never started (skipped, missed): one finished row."""
    if outcome not in FINAL_OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    now = timeutil.iso()
    with db.conn:
        cursor = db.conn.execute(
            "INSERT INTO job_runs (job_id, kind, target, scheduled, started, finished, outcome, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key.job_id, key.kind, key.target, key.scheduled_iso, now, now, outcome, detail),
        )
    return cursor.lastrowid


def close_abandoned_runs(db: sqlite_utils.Database) -> list[RunKey]:
    """Rows still `running` from a scheduler that died: mark them interrupted (we hold the lock)
    and return their keys, so an interrupted digest can be resumed with the same run key."""
    with db.conn:
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


def last_runs(db: sqlite_utils.Database) -> dict[str, dict]:
    """The latest row of each job id."""
    if "job_runs" not in db.table_names():
        return {}
    rows = db.query(
        "SELECT * FROM job_runs WHERE id IN (SELECT MAX(id) FROM job_runs GROUP BY job_id)"
    )
    return {row["job_id"]: row for row in rows}
