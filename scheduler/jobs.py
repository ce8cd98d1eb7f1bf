"""The job model (derived from the config) and what each job does when it fires.

A crawl job queues its source; the sources due together are crawled by one child process
(`scheduler.batches`: `dxwatch crawl --source A --source B ...` with a time limit), so a crawl
that crashes, hangs or leaks memory cannot take the scheduler down; alerts are checked after it.
A digest job calls `digests.runner.send_digest` with the scheduled fire time as its run key.
The executor hands each run its scheduled time and the running service through `current_run()`.
"""

from __future__ import annotations

import contextvars
import json
from concurrent import futures
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ContextManager, Iterator, Protocol

from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler import timeutil
from crawler.config import TIMEZONE, Config, parse_schedule
from crawler.db import runs
from crawler.db.runs import RunKey

log = logging.getLogger("dxwatch.scheduler")

ALERTS_JOB_ID = "alerts"
JOB_FUNCS = {"crawl": "scheduler.jobs:crawl_job", "digest": "scheduler.jobs:digest_job"}  # stored by reference


# ---------------------------------------------------------------- the job model


@dataclass(frozen=True)
class JobSpec:
    """One job the config asks for: its id is stable, so reconciling can add, change or remove it."""

    id: str
    kind: str      # crawl | digest
    target: str    # the source or digest name
    schedule: str  # as written in the config

    def trigger(self):
        return build_trigger(self.schedule)

    def first_run(self, now: datetime) -> datetime | None:
        """A new crawl job runs at once (a new source is crawled right away); a new digest waits
        for its schedule."""
        return now if self.kind == "crawl" else self.trigger().get_next_fire_time(None, now)

    @property
    def func(self) -> str:
        return JOB_FUNCS[self.kind]

    @property
    def executor(self) -> str:
        return "crawls" if self.kind == "crawl" else "digests"


def build_trigger(schedule: str):
    kind, value = parse_schedule(schedule)
    if kind == "interval":
        return IntervalTrigger(seconds=value, timezone=TIMEZONE)
    return CronTrigger.from_crontab(value, timezone=TIMEZONE)


def trigger_signature(trigger) -> str:
    """What identifies a schedule: "interval[6:00:00]" or the cron fields, without start dates."""
    return str(trigger)


def desired_jobs(config: Config) -> list[JobSpec]:
    """Every job the config asks for: a crawl per enabled source, one job per digest."""
    specs = [JobSpec(f"crawl:{s.name}", "crawl", s.name, s.effective_schedule) for s in config.sources if s.enabled]
    digests = config.digests_file.digests if config.digests_file else []
    specs += [JobSpec(f"digest:{d.name}", "digest", d.name, d.schedule) for d in digests]
    return specs


def has_alerts(config: Config) -> bool:
    return bool(config.digests_file and config.digests_file.alerts)


def job_overview(config: Config, db) -> list[dict]:
    """Rows for `schedule list`: every job, its next run (stored by a running or past scheduler,
    else what a fresh start would give) and its last run's outcome."""
    from scheduler.jobstore import stored_next_run_times

    stored = stored_next_run_times(db)
    last = runs.last_job_runs(db)
    now = timeutil.now()
    rows = []
    for spec in desired_jobs(config):
        if spec.id in stored:
            next_run = stored[spec.id]
            planned = False
        else:
            next_run = spec.first_run(now)
            planned = True
        rows.append(_overview_row(spec.id, spec.kind, spec.target, spec.schedule, next_run, planned, last))
    for source in config.sources:
        if not source.enabled:
            rows.append(_overview_row(f"crawl:{source.name}", "crawl", source.name, "disabled", None, False, last))
    if has_alerts(config):
        rows.append(_overview_row(ALERTS_JOB_ID, "alerts", ALERTS_JOB_ID, "after each crawl", None, False, last))
    return rows


def _overview_row(job_id, kind, target, schedule, next_run, planned, last) -> dict:
    previous = last.get(job_id) or {}
    return {
        "job": job_id,
        "kind": kind,
        "target": target,
        "schedule": schedule,
        "next_run": timeutil.iso(next_run) if next_run else None,
        "next_run_planned": planned,  # not yet stored: the scheduler has not registered this job
        "last_run": previous.get("started"),
        "last_outcome": previous.get("outcome"),
        "last_detail": previous.get("detail"),
    }


# ---------------------------------------------------------------- the run context and executor


class JobContext(Protocol):
    """What a job needs from the scheduler running it (`scheduler.service.Service` provides it)."""

    config: Config
    db_path: str  # the --db target: a file path or a postgresql:// URL
    log_dir: Path
    kill_grace: float
    stopping: threading.Event      # set when the scheduler is shutting down
    alerts_lock: threading.Lock    # one alert check at a time

    def database(self) -> ContextManager: ...


@dataclass(frozen=True)
class RunContext:
    service: JobContext
    scheduled: datetime | None


_CURRENT: contextvars.ContextVar[RunContext] = contextvars.ContextVar("dxwatch_job_run")


def current_run() -> RunContext:
    return _CURRENT.get()


class ContextExecutor(BaseExecutor):
    """An APScheduler executor whose runs learn their scheduled fire time and the service
    (APScheduler 3 passes neither to the job function; a digest's exactly-once key is that time).
    With `coalesce` there is one run time.

    Built on APScheduler 3's executor extension point rather than its thread-pool executor's
    insides: `BaseExecutor._do_submit_job` is the abstract method every executor implements
    (APScheduler's own DebugExecutor and pool executors do exactly this), the run goes through
    `apscheduler.executors.base.run_job` with the job's store alias (`job._jobstore_alias`, which
    APScheduler's executors pass the same way: a job has no public accessor for it), and its end is
    reported with `_run_job_success` / `_run_job_error`, the base class's completion protocol for
    subclasses. The thread pool is our own. These underscored names are why pyproject.toml pins
    APScheduler to the minor versions they were checked against (docs/operations.md).
    """

    def __init__(self, service: JobContext, max_workers: int):
        super().__init__()
        self.service = service
        self.pool = futures.ThreadPoolExecutor(max_workers, thread_name_prefix="dxwatch-job")

    def _do_submit_job(self, job, run_times):
        def run_with_context():
            token = _CURRENT.set(RunContext(self.service, run_times[-1]))
            try:
                return run_job(job, job._jobstore_alias, run_times, self._logger.name)
            finally:
                _CURRENT.reset(token)

        def done(future):
            exc = future.exception()
            if exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, future.result())

        self.pool.submit(run_with_context).add_done_callback(done)

    def shutdown(self, wait=True):
        self.pool.shutdown(wait)


# ---------------------------------------------------------------- crawl jobs


def crawl_job(source: str) -> str:
    """Queue one source's crawl for the next batch (scheduler.batches records its outcome)."""
    ctx = current_run()
    service = ctx.service
    key = RunKey(f"crawl:{source}", "crawl", source, ctx.scheduled)
    config = service.config
    with service.database() as db:
        if service.stopping.is_set():
            runs.record_job_run(db, key, "interrupted", "the scheduler was stopping; not started")
            return "interrupted"
        if source not in {s.name for s in config.sources if s.enabled}:
            runs.record_job_run(db, key, "skipped", "the source is no longer in the config")
            return "skipped"
        if not service.batches.claim(source):
            runs.record_job_run(db, key, "skipped", "the previous run is still going")
            log.warning("run skipped: the previous run is still going", extra={"job": key.job_id})
            return "skipped"
        try:
            run_id = runs.start_job_run(db, key)
        except BaseException:
            service.batches.release(source)
            raise
    service.batches.submit(source, run_id, key)
    return "queued"


def alerts_after_crawl(service: "Service", config: Config) -> None:
    """`dxwatch crawl` checks alerts itself when it ends normally; this check also covers a crawl
    stopped at its time limit, whose stored articles would otherwise wait for the next crawl."""
    if has_alerts(config) and not service.stopping.is_set():
        check_alerts(service, config)


def check_alerts(service: JobContext, config: Config) -> None:
    """Alert rules after a crawl, one check at a time, recorded like any job run."""
    with service.alerts_lock, service.database() as db:
        run_alert_check(config, db)


def run_alert_check(config: Config, db) -> str:
    """One alert check, recorded in `job_runs` (the embedded scheduler's and the task queue's)."""
    key = RunKey(ALERTS_JOB_ID, "alerts", ALERTS_JOB_ID, timeutil.now())
    run_id = runs.start_job_run(db, key)
    try:
        from digests.alerts import run_alerts

        result = run_alerts(config, db)
    except Exception as exc:  # noqa: BLE001 - one failed check must not stop the crawls
        log.exception("alerts failed", extra={"job": ALERTS_JOB_ID})
        runs.finish_job_run(db, run_id, "failed", f"{type(exc).__name__}: {exc}")
        return "failed"
    runs.finish_job_run(db, run_id, "ok", _summary(result))
    return "ok"


# ---------------------------------------------------------------- digest jobs


def digest_job(name: str) -> str:
    """Send one digest for this fire time; the run key makes a second attempt a no-op."""
    ctx = current_run()
    with ctx.service.database() as db:
        return run_digest(ctx.service.config, db, name, ctx.scheduled)


def run_digest(config: Config, db, name: str, scheduled: datetime | None) -> str:
    """Send digest `name` for its fire time `scheduled` (the embedded scheduler's and the task
    queue's digest jobs): the run key is that time, so a second run of it sends nothing."""
    key = RunKey(f"digest:{name}", "digest", name, scheduled)
    if name not in {d.name for d in (config.digests_file.digests if config.digests_file else [])}:
        runs.record_job_run(db, key, "skipped", "the digest is no longer in the config")
        return "skipped"
    run_id = runs.start_job_run(db, key)
    if run_id is None:
        runs.record_job_run(db, key, "skipped", f"the run for {key.scheduled_iso} was already sent or is running")
        log.info("digest already sent", extra={"job": key.job_id, "scheduled": key.scheduled_iso})
        return "skipped"
    log.info("digest started", extra={"job": key.job_id, "scheduled": key.scheduled_iso})
    try:
        from digests.runner import send_digest

        result = send_digest(config, db, name, run_key=key.scheduled_iso)
    except Exception as exc:  # noqa: BLE001 - recorded; the scheduler keeps going
        log.exception("digest failed", extra={"job": key.job_id, "scheduled": key.scheduled_iso})
        runs.finish_job_run(db, run_id, "failed", f"{type(exc).__name__}: {exc}")
        return "failed"
    runs.finish_job_run(db, run_id, "ok", _summary(result))
    log.info("digest finished", extra={"job": key.job_id, "outcome": "ok"})
    return "ok"


def _summary(result) -> str | None:
    """What send_digest/run_alerts returned, as JSON for the `detail` column."""
    return None if result is None else json.dumps(result, ensure_ascii=False, default=str)[:1000]


@contextmanager
def open_database(db_path: str) -> Iterator:
    """A connection per use: job threads never share one."""
    from crawler.db import close, open_db

    db = open_db(db_path)
    try:
        yield db
    finally:
        close(db)
