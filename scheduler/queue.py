"""The task queue of a deployment on PostgreSQL: crawl, digest and alert jobs run by `dxwatch worker`.

procrastinate keeps the jobs in the same PostgreSQL database as the data, so scaling out adds no
service to run (no broker, no result store): any number of `dxwatch worker` processes, on any
number of machines, take jobs from it. `dxwatch schedule run` on a postgresql:// database
enqueues the jobs (`scheduler.enqueue`) instead of running them itself.

- A crawl job is a batch of sources, sharded by host (`crawler.workers.shard_sources`). It takes a
  session advisory lock per host (`crawler.db.locks`) for every source before crawling it, so one
  host is crawled by one process at a time across all machines; a source whose host is busy is
  queued again a little later (`requeue_delay`) and its `job_runs` row says so. The crawl itself
  is the usual `dxwatch crawl --source ... --if-due --processes 1` child, as under the embedded
  scheduler (`scheduler.batches`), killed with the worker if the worker dies.
- Digest jobs and the alert check are single jobs under a procrastinate `lock`, so two of them
  never run at once; a digest's run key is its scheduled time, as under the embedded scheduler,
  so a digest job run twice sends nothing twice.
- A worker killed with kill -9 stops sending heartbeats; the other workers' stalled-job watch
  (`retry_stalled`) puts its jobs back in the queue, and one of them runs them. The crawl is
  idempotent (articles are stored once per URL), so nothing is stored twice.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import hashlib
import logging
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import procrastinate
from procrastinate import exceptions as queue_errors

from crawler import timeutil
from crawler.config import Config, load_config
from crawler.db import crawl_ticks, locks, runs
from crawler.db.runs import RunKey

log = logging.getLogger("dxwatch.worker")

CRAWL_TASK = "dxwatch.crawl"
DIGEST_TASK = "dxwatch.digest"
ALERTS_TASK = "dxwatch.alerts"
CRAWL_QUEUE, MAIL_QUEUE = "crawl", "mail"
MAIL_PRIORITY = 10     # a digest or alert job goes before the crawl jobs waiting with it
HEARTBEAT = 10.0       # seconds between two heartbeats of a worker
STALLED_AFTER = 3      # heartbeats missed before a worker's jobs are given to another
REQUEUE_DELAY = 30.0   # seconds before a source whose host is busy is tried again
POOL = {"min_size": 1, "max_size": 4}
# a job that raised (the database gone for a moment) runs again, three times at most: every job is
# safe to run twice (URLs stored once, a digest's run key, an alert's delivered items)
RETRY = procrastinate.RetryStrategy(max_attempts=3, wait=30, linear_wait=30)  # 30 s, 60 s, 90 s

app = procrastinate.App(connector=procrastinate.PsycopgConnector())


@contextmanager
def connected(url: str) -> Iterator[procrastinate.App]:
    """The app talking to this database (procrastinate's connector is chosen at run time, as --db is)."""
    with app.replace_connector(procrastinate.PsycopgConnector(conninfo=url, **POOL)) as bound:
        yield bound


def install_schema(url: str) -> bool:
    """Create procrastinate's tables with its own schema manager unless they exist (True when created),
    and the enqueuers' `crawl_ticks`. Several workers starting at once take turns (an advisory lock),
    so it is installed once."""
    with locks.QueueSchemaLock(url) as held:
        crawl_ticks.create_table(held.conn)
        if locks.queue_schema_installed(url):
            return False
        with connected(url) as bound:
            bound.open()
            try:
                bound.schema_manager.apply_schema()
            finally:
                bound.close()
        log.info("task queue tables created")
        return True


# ---------------------------------------------------------------- what a job gets from its worker


@dataclass(frozen=True)
class WorkerSettings:
    """The worker's options, handed to every job it runs (procrastinate's additional context)."""

    config_dir: Path
    db_url: str
    log_dir: Path
    kill_grace: float = 10.0
    requeue_delay: float = REQUEUE_DELAY
    heartbeat: float = HEARTBEAT

    @classmethod
    def of(cls, context) -> "WorkerSettings":
        return context.additional_context["dxwatch"]

    def config(self) -> Config:
        return load_config(self.config_dir)

    @contextmanager
    def database(self):
        from scheduler.jobs import open_database

        with open_database(self.db_url) as db:
            yield db


def tick_time(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, timeutil.VN) if timestamp is not None else None


# ---------------------------------------------------------------- crawl jobs


@app.task(name=CRAWL_TASK, queue=CRAWL_QUEUE, pass_context=True, retry=RETRY)
def crawl_job(context, sources: list[str], timestamp: int | None = None) -> dict:
    """Crawl `sources` (the run of `timestamp`, their scheduled time): each source whose hosts are
    all free is crawled under their locks; the others are queued again."""
    from crawler.workers import source_hosts

    settings = WorkerSettings.of(context)
    config = settings.config()
    scheduled = tick_time(timestamp)
    configured = {s.name: s for s in config.sources if s.enabled}
    gone = [name for name in sources if name not in configured]
    session = locks.lock_session(settings.db_url)
    try:
        mine, busy = [], {}  # sources whose hosts are now ours; the others, with the hosts someone else holds
        for name in sources:
            if name not in configured:
                continue
            held = locks.try_lock_hosts(session, sorted(source_hosts(configured[name])))
            if held:
                busy[name] = held
            else:
                mine.append(name)
        with settings.database() as db:
            for name in gone:
                runs.record_job_run(db, RunKey(f"crawl:{name}", "crawl", name, scheduled), "skipped",
                                    "the source is no longer in the config")
        outcomes = _crawl_locked(context, settings, config, mine, scheduled) if mine else {}
    finally:
        session.close()  # every host lock of this job goes with its session
    interrupted = [name for name, (outcome, _) in outcomes.items() if outcome == "interrupted"]
    again = [*busy, *interrupted]
    if again:
        when = timeutil.now() + timedelta(seconds=settings.requeue_delay)
        requeue(again, timestamp, settings.requeue_delay)
        with settings.database() as db:
            for name, hosts in busy.items():
                runs.record_job_run(db, RunKey(f"crawl:{name}", "crawl", name, scheduled), "skipped",
                                    f"{', '.join(hosts)} is being crawled by another job; queued again for "
                                    f"{timeutil.iso(when)}")
        log.info("sources queued again", extra={"busy": sorted(busy), "interrupted": interrupted,
                                                "at": timeutil.iso(when)})
    if mine and any(o != "interrupted" for o, _ in outcomes.values()) and config.digests_file \
            and config.digests_file.alerts:
        defer_alert_check()
    return {"crawled": len(mine), "busy": sorted(busy), "gone": gone, "interrupted": interrupted}


def _crawl_locked(context, settings: WorkerSettings, config: Config, names: list[str],
                  scheduled: datetime | None) -> dict[str, tuple[str, str | None]]:
    """The crawl child for `names` (their hosts locked by the caller); each source's outcome, also
    recorded in `job_runs`. A worker stopping ends the child (SIGTERM, then SIGKILL)."""
    from scheduler.batches import crawl_command, crawl_env, crawl_rows, run_child, source_outcome

    keys = {name: RunKey(f"crawl:{name}", "crawl", name, scheduled) for name in names}
    with settings.database() as db:
        for key in keys.values():  # rows left running by a worker that died on this job: its host locks are ours now
            runs.interrupt_job_runs(db, key, "its worker stopped answering (killed?); the job was run again")
        run_ids = {name: runs.start_job_run(db, key) for name, key in keys.items()}
    stop = threading.Event()
    output = settings.log_dir / f"crawl-job-{context.job.id}.log"
    started = timeutil.iso()
    log.info("crawl started", extra={"job": context.job.id, "sources": len(names)})
    try:
        outcome, detail = run_child([*crawl_command(config, names), "--no-alerts"], output,
                                    config.settings.crawl_time_limit, stop, settings.kill_grace,
                                    on_tick=lambda: context.should_abort() and stop.set(),
                                    preexec_fn=functools.partial(die_with_parent, os.getpid()),
                                    env=crawl_env(settings.db_url))
    except Exception as exc:  # noqa: BLE001 - every run must be closed
        outcome, detail = "failed", f"{type(exc).__name__}: {exc}"
    if outcome == "interrupted":
        detail = "the worker stopped; the crawl was ended and queued again"
    with settings.database() as db:
        rows = crawl_rows(db, names, started)
        outcomes = {name: source_outcome(rows.get(name), outcome, detail) for name in names}
        for name, (result, why) in outcomes.items():
            runs.finish_job_run(db, run_ids[name], result, why)
    log.info("crawl finished", extra={"job": context.job.id, "outcome": outcome, "detail": detail})
    return outcomes


_PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the forked child only calls it
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """In the crawl child: SIGKILL when the worker dies (PR_SET_PDEATHSIG), so a worker killed with
    kill -9 leaves no crawl running without its host locks (and none at all if it died already)."""
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def requeue(sources: list[str], timestamp: int | None, delay: float) -> None:
    crawl_job.configure(schedule_in={"seconds": delay}).defer(sources=sources, timestamp=timestamp)


# ---------------------------------------------------------------- digests and alerts


@app.task(name=DIGEST_TASK, queue=MAIL_QUEUE, pass_context=True, retry=RETRY)
def digest_job(context, digest: str, timestamp: int) -> str:
    """Send one digest for its scheduled time (the run key: a second run of it sends nothing)."""
    from scheduler.jobs import run_digest

    settings = WorkerSettings.of(context)
    config = settings.config()
    config.require_smtp("worker (a digest job)")
    with settings.database() as db:
        return run_digest(config, db, digest, tick_time(timestamp))


@app.task(name=ALERTS_TASK, queue=MAIL_QUEUE, pass_context=True, retry=RETRY)
def alerts_job(context) -> str:
    """The alert rules, checked after crawls; one check at a time (lock), one waiting at most."""
    from scheduler.jobs import run_alert_check

    settings = WorkerSettings.of(context)
    config = settings.config()
    with settings.database() as db:
        return run_alert_check(config, db)


def defer_alert_check() -> None:
    try:
        alerts_job.configure(lock="alerts", queueing_lock="alerts", priority=MAIL_PRIORITY).defer()
    except queue_errors.AlreadyEnqueued:
        pass  # a check is already waiting: it will see what this crawl stored


def periodic_job(task_name: str, kwargs: dict, **options):
    """A job for `defer_once`: procrastinate's `Job` for this task, with `timestamp` in its kwargs."""
    return app.configure_task(task_name, task_kwargs=kwargs, **options).job


async def defer_once(job, periodic_id: str, timestamp: int) -> int | None:
    """Defer `job` for this tick unless some process already did: procrastinate's periodic defer
    (a unique row per task, id and tick), which is what makes two enqueuers enqueue once."""
    try:
        return await app.job_manager.defer_periodic_job(job, periodic_id=periodic_id, defer_timestamp=timestamp)
    except queue_errors.AlreadyEnqueued:
        return None


def batch_id(names: list[str]) -> str:
    """A crawl batch's periodic id: the same sources give the same id in every enqueuer."""
    return "crawl:" + hashlib.sha1("\n".join(names).encode()).hexdigest()[:20]


# ---------------------------------------------------------------- stalled jobs


async def retry_stalled(bound: procrastinate.App, heartbeat: float) -> int:
    """Jobs whose worker stopped sending heartbeats (killed, frozen, its machine gone) go back to
    the queue for another worker: procrastinate's `get_stalled_jobs` and `retry_job`, the
    `retry_stalled_jobs` recipe of its documentation."""
    retried = 0
    for job in await bound.job_manager.get_stalled_jobs(seconds_since_heartbeat=heartbeat * STALLED_AFTER):
        try:
            await bound.job_manager.retry_job(job)
        except queue_errors.ConnectorException as exc:  # another worker retried it first
            log.debug("stalled job not retried", extra={"job": job.id, "error": str(exc)})
            continue
        retried += 1
        log.warning("stalled job queued again", extra={"job": job.id, "task": job.task_name,
                                                       "dead_worker": job.worker_id})
    return retried


async def watch_stalled(bound: procrastinate.App, heartbeat: float) -> None:
    """Every few heartbeats, look for stalled jobs: beside the job slots, so a worker busy with a
    long crawl still rescues a dead worker's job."""
    while True:
        await asyncio.sleep(heartbeat * STALLED_AFTER / 2)
        try:
            await retry_stalled(bound, heartbeat)
        except Exception:  # noqa: BLE001 - a database hiccup; the next round tries again
            log.exception("stalled-job check failed")


# ---------------------------------------------------------------- the worker


def run_worker(settings: WorkerSettings, concurrency: int = 1, name: str | None = None,
               queues: list[str] | None = None) -> None:
    """Take jobs (of `queues`, default all) until SIGTERM or SIGINT: a running crawl is then ended
    and its sources queued again."""
    install_schema(settings.db_url)
    settings.log_dir.mkdir(parents=True, exist_ok=True)

    async def main(bound: procrastinate.App) -> None:
        async with bound.open_async():
            watcher = asyncio.create_task(watch_stalled(bound, settings.heartbeat))
            try:
                await bound.run_worker_async(
                    name=name or "dxwatch-worker", concurrency=concurrency, queues=queues,
                    update_heartbeat_interval=settings.heartbeat,
                    # a job queued again for later, or a dead worker's job, is found within a heartbeat
                    fetch_job_polling_interval=min(5.0, settings.heartbeat),
                    stalled_worker_timeout=settings.heartbeat * STALLED_AFTER,
                    shutdown_graceful_timeout=0,  # a stopping worker ends its crawl now; its sources go back to the queue
                    delete_jobs="successful",     # our ledgers (job_runs, crawl_runs) keep the history
                    additional_context={"dxwatch": settings},
                )
            finally:
                watcher.cancel()

    with connected(settings.db_url) as bound:
        asyncio.run(main(bound))


def wait_for_jobs(url: str, timeout: float, poll: float = 0.5) -> bool:
    """True once no crawl, digest or alert job is waiting or running (tests, benchmarks, `--drain`)."""
    deadline = time.monotonic() + timeout

    async def busy(bound) -> int:
        async with bound.open_async():
            counts = await bound.job_manager.list_queues_async()
        return sum(q["todo"] + q["doing"] for q in counts if q["name"] in (CRAWL_QUEUE, MAIL_QUEUE))

    with connected(url) as bound:
        while time.monotonic() < deadline:
            if not asyncio.run(busy(bound)):
                return True
            time.sleep(poll)
    return False
