"""APScheduler 3 job store in the dxwatch SQLite file, without SQLAlchemy.

It keeps what APScheduler's SQLAlchemyJobStore keeps (id, next run time, pickled job state) in
the table `scheduler_jobs`, through the standard library's sqlite3. Persisting the next run time
is what lets a restarted scheduler see the runs it missed while it was down.
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
from datetime import datetime
from pathlib import Path

from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler.util import datetime_to_utc_timestamp, utc_timestamp_to_datetime

from crawler.db import open_db

TABLE = "scheduler_jobs"


def stored_next_run_times(conn: sqlite3.Connection) -> dict[str, datetime | None]:
    """Next run time of every stored job, read without unpickling (for `schedule list`)."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).fetchone()
    if not exists:
        return {}
    return {
        job_id: utc_timestamp_to_datetime(ts)
        for job_id, ts in conn.execute(f"SELECT id, next_run_time FROM {TABLE}")
    }


class SQLiteJobStore(BaseJobStore):
    """One connection, one lock: APScheduler calls it from its own thread and from ours."""

    def __init__(self, db_path: Path | str):
        super().__init__()
        self.db_path = str(db_path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    def start(self, scheduler, alias):
        super().start(scheduler, alias)
        self._conn = open_db(self.db_path).conn  # its own connection: APScheduler calls from its thread

    def shutdown(self):
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ------------------------------------------------------------ reads

    def lookup_job(self, job_id):
        jobs = self._load("WHERE id = ?", (job_id,))
        return jobs[0] if jobs else None

    def get_due_jobs(self, now):
        return self._load("WHERE next_run_time <= ? ORDER BY next_run_time", (datetime_to_utc_timestamp(now),))

    def get_next_run_time(self):
        with self._lock:
            if self._conn is None:  # shut down while the scheduler thread was finishing a pass
                return None
            row = self._conn.execute(
                f"SELECT MIN(next_run_time) FROM {TABLE} WHERE next_run_time IS NOT NULL"
            ).fetchone()
        return utc_timestamp_to_datetime(row[0]) if row and row[0] is not None else None

    def get_all_jobs(self):
        jobs = self._load("ORDER BY next_run_time IS NULL, next_run_time", ())
        self._fix_paused_jobs_sorting(jobs)
        return jobs

    # ------------------------------------------------------------ writes

    def add_job(self, job):
        try:
            self._write(
                f"INSERT INTO {TABLE} (id, next_run_time, job_state) VALUES (?, ?, ?)",
                (job.id, datetime_to_utc_timestamp(job.next_run_time), self._dump(job)),
            )
        except sqlite3.IntegrityError:
            raise ConflictingIdError(job.id) from None

    def update_job(self, job):
        changed = self._write(
            f"UPDATE {TABLE} SET next_run_time = ?, job_state = ? WHERE id = ?",
            (datetime_to_utc_timestamp(job.next_run_time), self._dump(job), job.id),
        )
        if not changed:
            raise JobLookupError(job.id)

    def remove_job(self, job_id):
        if not self._write(f"DELETE FROM {TABLE} WHERE id = ?", (job_id,)):
            raise JobLookupError(job_id)

    def remove_all_jobs(self):
        self._write(f"DELETE FROM {TABLE}", ())

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _dump(job: Job) -> bytes:
        return pickle.dumps(job.__getstate__(), pickle.HIGHEST_PROTOCOL)

    def _write(self, sql: str, params: tuple) -> int:
        with self._lock, self._conn:
            return self._conn.execute(sql, params).rowcount

    def _load(self, where: str, params: tuple) -> list[Job]:
        """Unpickle jobs; a job that no longer unpickles (code moved) is logged and dropped,
        and the next reconcile adds it again from the config."""
        with self._lock:
            if self._conn is None:  # shut down while the scheduler thread was finishing a pass
                return []
            rows = self._conn.execute(f"SELECT id, job_state FROM {TABLE} {where}", params).fetchall()
        jobs, broken = [], []
        for job_id, state in rows:
            try:
                jobs.append(self._reconstitute(state))
            except Exception:
                self._logger.exception("cannot restore stored job %r; removing it", job_id)
                broken.append(job_id)
        for job_id in broken:
            self._write(f"DELETE FROM {TABLE} WHERE id = ?", (job_id,))
        return jobs

    def _reconstitute(self, state: bytes) -> Job:
        job_state = pickle.loads(state)  # noqa: S301 - our own table, written by this class
        job_state["jobstore"] = self
        job = Job.__new__(Job)
        job.__setstate__(job_state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job

    def __repr__(self):
        return f"<SQLiteJobStore {self.db_path}>"
