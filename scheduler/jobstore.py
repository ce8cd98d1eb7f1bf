"""APScheduler 3 job store in the dxwatch database, without SQLAlchemy.

Why not APScheduler's own: APScheduler 3's only persistent job store for a SQL database is
SQLAlchemyJobStore, which would add SQLAlchemy (a large dependency, with its own connection pool
and engine URL) for one table, and would issue SQL outside `crawler/db/`, the one package that
talks to the database (the rule tests/test_architecture.py checks, and the seam a second backend
plugs into). This store keeps what SQLAlchemyJobStore keeps (id, next run time, pickled job state)
in the table `scheduler_jobs`, through the plain functions of `crawler/db/scheduler_jobs.py`.
Persisting the next run time is what lets a restarted scheduler see the runs it missed while it
was down; the jobs themselves are always rebuilt from the config.

It is a `BaseJobStore` subclass, APScheduler 3's extension point for job stores. Restoring a job
sets `job._scheduler` and `job._jobstore_alias` and sorts with `_fix_paused_jobs_sorting`, as every
store APScheduler ships does (a `Job` has no public constructor from its state); those
underscored names are listed in docs/operations.md and are why pyproject.toml pins APScheduler.
"""

from __future__ import annotations

import pickle
import threading
from datetime import datetime
from pathlib import Path

from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler.util import datetime_to_utc_timestamp, utc_timestamp_to_datetime

from crawler.db import close, open_db
from crawler.db import scheduler_jobs as store


def stored_next_run_times(db) -> dict[str, datetime | None]:
    """Next run time of every stored job, read without unpickling (for `schedule list`)."""
    return {job_id: utc_timestamp_to_datetime(ts) for job_id, ts in store.next_run_timestamps(db).items()}


class SQLiteJobStore(BaseJobStore):
    """One connection, one lock: APScheduler calls it from its own thread and from ours."""

    def __init__(self, db_path: Path | str):
        super().__init__()
        self.db_path = str(db_path)
        self._db = None
        self._lock = threading.RLock()

    def start(self, scheduler, alias):
        super().start(scheduler, alias)
        self._db = open_db(self.db_path)  # its own connection: APScheduler calls from its thread

    def shutdown(self):
        with self._lock:
            if self._db is not None:
                close(self._db)
                self._db = None

    # ------------------------------------------------------------ reads

    def lookup_job(self, job_id):
        jobs = self._load(job_id=job_id)
        return jobs[0] if jobs else None

    def get_due_jobs(self, now):
        return self._load(due_by=datetime_to_utc_timestamp(now))

    def get_next_run_time(self):
        with self._lock:
            if self._db is None:  # shut down while the scheduler thread was finishing a pass
                return None
            earliest = store.earliest_next_run(self._db)
        return utc_timestamp_to_datetime(earliest) if earliest is not None else None

    def get_all_jobs(self):
        jobs = self._load()
        self._fix_paused_jobs_sorting(jobs)
        return jobs

    # ------------------------------------------------------------ writes

    def add_job(self, job):
        try:
            with self._lock:
                store.insert_job(self._db, job.id, datetime_to_utc_timestamp(job.next_run_time), self._dump(job))
        except store.DuplicateJob:
            raise ConflictingIdError(job.id) from None

    def update_job(self, job):
        with self._lock:
            changed = store.update_job(self._db, job.id, datetime_to_utc_timestamp(job.next_run_time), self._dump(job))
        if not changed:
            raise JobLookupError(job.id)

    def remove_job(self, job_id):
        with self._lock:
            if not store.delete_jobs(self._db, job_id):
                raise JobLookupError(job_id)

    def remove_all_jobs(self):
        with self._lock:
            store.delete_jobs(self._db)

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _dump(job: Job) -> bytes:
        return pickle.dumps(job.__getstate__(), pickle.HIGHEST_PROTOCOL)

    def _load(self, job_id: str | None = None, due_by: float | None = None) -> list[Job]:
        """Unpickle jobs (see `store.job_states`); a job that no longer unpickles (code moved) is
        logged and dropped, and the next reconcile adds it again from the config."""
        with self._lock:
            if self._db is None:  # shut down while the scheduler thread was finishing a pass
                return []
            rows = store.job_states(self._db, job_id, due_by)
        jobs, broken = [], []
        for job_id, state in rows:
            try:
                jobs.append(self._reconstitute(state))
            except Exception:
                self._logger.exception("cannot restore stored job %r; removing it", job_id)
                broken.append(job_id)
        with self._lock:
            for job_id in broken:
                store.delete_jobs(self._db, job_id)
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
