"""The `scheduler_jobs` table: APScheduler's jobs (id, next run time as a UTC timestamp, pickled
state), read and written for `scheduler/jobstore.py`. Times stay UTC timestamps here: converting
them is the job store's business."""

from __future__ import annotations

import sqlite_utils

from crawler.db import dialect
from crawler.db.connection import write_transaction


class DuplicateJob(Exception):
    """A job with this id is already stored."""


def next_run_timestamps(db: sqlite_utils.Database) -> dict[str, float | None]:
    """Next run time of every stored job (None: paused)."""
    return dict(db.execute("SELECT id, next_run_time FROM scheduler_jobs").fetchall())


def earliest_next_run(db: sqlite_utils.Database) -> float | None:
    return db.execute("SELECT MIN(next_run_time) FROM scheduler_jobs WHERE next_run_time IS NOT NULL").fetchone()[0]


def job_states(db: sqlite_utils.Database, job_id: str | None = None, due_by: float | None = None
               ) -> list[tuple[str, bytes]]:
    """`(id, state)` of one job, of the jobs due by a timestamp (soonest first), or of all (paused last)."""
    if job_id is not None:
        return db.execute("SELECT id, job_state FROM scheduler_jobs WHERE id = ?", [job_id]).fetchall()
    if due_by is not None:
        return db.execute("SELECT id, job_state FROM scheduler_jobs WHERE next_run_time <= ? ORDER BY next_run_time",
                          [due_by]).fetchall()
    return db.execute("SELECT id, job_state FROM scheduler_jobs "
                      "ORDER BY next_run_time IS NULL, next_run_time").fetchall()


def insert_job(db: sqlite_utils.Database, job_id: str, next_run: float | None, state: bytes) -> None:
    try:
        with write_transaction(db):
            db.execute("INSERT INTO scheduler_jobs (id, next_run_time, job_state) VALUES (?, ?, ?)",
                       [job_id, next_run, state])
    except dialect.integrity_errors():
        raise DuplicateJob(job_id) from None


def update_job(db: sqlite_utils.Database, job_id: str, next_run: float | None, state: bytes) -> bool:
    """False when no such job is stored."""
    with write_transaction(db):
        return db.execute("UPDATE scheduler_jobs SET next_run_time = ?, job_state = ? WHERE id = ?",
                          [next_run, state, job_id]).rowcount > 0


def delete_jobs(db: sqlite_utils.Database, job_id: str | None = None) -> int:
    """Delete one job (or all, with no id); how many were deleted."""
    with write_transaction(db):
        if job_id is None:
            return db.execute("DELETE FROM scheduler_jobs").rowcount
        return db.execute("DELETE FROM scheduler_jobs WHERE id = ?", [job_id]).rowcount
