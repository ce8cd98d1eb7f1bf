"""`dxwatch schedule run`: APScheduler 3 running the jobs the config asks for, unattended.

The jobs live in the SQLite job store (`scheduler_jobs`), so a restart knows which runs it
missed: they are coalesced into one run, and a digest is sent late only within the grace period.
The config is reconciled into the store on start, on SIGHUP and when a config file changes; an
invalid edit is logged and the running jobs are kept. SIGTERM/SIGINT end running crawl children
(SIGTERM, then SIGKILL), let a digest being sent finish, and exit 0.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import signal
import sys
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
)
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from crawler import timeutil
from crawler.config import Config, ConfigError, load_config
from crawler.db import runs
from crawler.db.dialect import shown
from scheduler.batches import CrawlBatches
from scheduler.jobs import (JOB_FUNCS, ContextExecutor, JobSpec, alerts_after_crawl, desired_jobs, open_database,
                            trigger_signature)
from scheduler.jobstore import SQLiteJobStore
from scheduler.lock import SchedulerLock
from crawler.db.runs import RunKey

log = logging.getLogger("dxwatch.scheduler")

DEFAULT_DIGEST_GRACE = 12 * 3600   # a digest missed by more than this is recorded as missed, not sent
DEFAULT_KILL_GRACE = 10.0          # seconds a crawl child gets after SIGTERM before SIGKILL
WATCH_INTERVAL = 1.0               # how often the config files are checked for changes
LOG_FILE_BYTES = 5_000_000
LOG_FILE_BACKUPS = 5


class Service:
    """The running scheduler: current config, the APScheduler instance, stop and reload flags."""

    def __init__(self, config_dir: Path, db_path: Path | str, log_file: Path, digest_grace: int = DEFAULT_DIGEST_GRACE,
                 kill_grace: float = DEFAULT_KILL_GRACE):
        self.config_dir = Path(config_dir)
        self.db_path = str(db_path)  # the --db target: a file path or a postgresql:// URL
        self.log_dir = Path(log_file).parent
        self.digest_grace = digest_grace
        self.kill_grace = kill_grace
        self.config: Config | None = None
        self.stopping = threading.Event()
        self.alerts_lock = threading.Lock()
        self._reload = threading.Event()
        self._settled = threading.Condition()
        self._settled_jobs: set[str] = set()
        self.failed_runs: list[str] = []  # job ids whose run failed or timed out (`--once` exit code)
        self.scheduler: BackgroundScheduler | None = None
        self.batches: CrawlBatches | None = None

    @contextmanager
    def database(self) -> Iterator:
        with open_database(self.db_path) as db:
            yield db

    # ------------------------------------------------------------ running

    def run(self, once: bool = False) -> None:
        """Hold the lock, start, reconcile, and run until signalled (or, with `once`, until every
        job that was due has run)."""
        with SchedulerLock(self.db_path):
            self.config = self._load_config()
            with self.database() as db:
                abandoned = runs.close_abandoned_job_runs(db)
            if abandoned:
                log.warning("runs left by a stopped scheduler marked interrupted",
                            extra={"jobs": [key.job_id for key in abandoned]})
            self.scheduler = self._build_scheduler(self.config)
            self.batches = CrawlBatches(self, self.config.settings.max_parallel_crawls,
                                        after_batch=lambda config: alerts_after_crawl(self, config))
            self.scheduler.start(paused=True)
            try:
                self.reconcile(self.config)
                self._resume_interrupted_digests(abandoned)
                due = self._due_job_ids()
                self._install_signal_handlers()
                log.info("scheduler started", extra={"jobs": len(self.scheduler.get_jobs()), "due": len(due),
                                                     "once": once, "db": shown(self.db_path)})
                self.scheduler.resume()
                if once:
                    self._wait_for(due)
                    self.scheduler.pause()
                    while not self.batches.idle() and not self.stopping.is_set():  # queued crawls run
                        self.batches.wait_idle(timeout=0.5)
                else:
                    self._watch()
            finally:
                self._shutdown()

    def _build_scheduler(self, config: Config) -> BackgroundScheduler:
        scheduler = BackgroundScheduler(
            timezone=timeutil.VN,
            # "default" mirrors the config; "volatile" holds one-off resumptions
            jobstores={"default": SQLiteJobStore(self.db_path), "volatile": MemoryJobStore()},
            executors={
                "crawls": ContextExecutor(self, 2),  # a crawl job only queues its source (scheduler.batches)
                "digests": ContextExecutor(self, 1),
            },
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        scheduler.add_listener(self._on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
                               | EVENT_JOB_MAX_INSTANCES)
        return scheduler

    def _due_job_ids(self) -> set[str]:
        now = timeutil.now()
        return {job.id for job in self.scheduler.get_jobs() if job.next_run_time and job.next_run_time <= now}

    def _wait_for(self, job_ids: set[str]) -> None:
        with self._settled:
            while not job_ids <= self._settled_jobs and not self.stopping.is_set():
                self._settled.wait(timeout=0.5)

    def _watch(self) -> None:
        """Main thread: sleep, reloading on SIGHUP or when the config files settle after a change."""
        seen = self._config_signature()
        pending = None
        while not self.stopping.wait(WATCH_INTERVAL):
            current = self._config_signature()
            if self._reload.is_set():
                self._reload.clear()
                log.info("reload requested (SIGHUP)")
                self.reload()
                seen, pending = current, None
            elif current != seen:
                if current == pending:  # unchanged for one interval: the editor has finished writing
                    log.info("config files changed")
                    self.reload()
                    seen, pending = current, None
                else:
                    pending = current

    def _config_signature(self) -> tuple:
        return config_signature(self.config_dir)

    def _shutdown(self) -> None:
        if self.stopping.is_set():
            log.info("stopping: ending running crawls, letting a digest being sent finish")
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if self.batches is not None:
            self.stopping.set()  # the batch threads end (a running crawl child is stopped)
            self.batches.stop()
        log.info("scheduler stopped")

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        def stop(signum, frame):
            log.info("signal received; stopping", extra={"signal": signal.Signals(signum).name})
            self.stopping.set()
            with self._settled:
                self._settled.notify_all()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, lambda signum, frame: self._reload.set())

    # ------------------------------------------------------------ config

    def reload(self) -> bool:
        """Load the config again and reconcile; an invalid config is reported and changes nothing."""
        try:
            config = self._load_config()
        except ConfigError as exc:
            log.error("config reload failed; the running jobs are kept", extra={"error": str(exc)})
            return False
        if config.settings.max_parallel_crawls != self.config.settings.max_parallel_crawls:
            log.warning("max_parallel_crawls changed; it takes effect when the scheduler restarts")
        self.config = config
        self.reconcile(config)
        return True

    def _load_config(self) -> Config:
        """The config; with digests or alert rules it must say how to send them (`smtp:`)."""
        config = load_config(self.config_dir)
        if config.digests_file and (config.digests_file.digests or config.digests_file.alerts):
            config.require_smtp("schedule run (digests.yaml has digests or alerts)")
        return config

    def reconcile(self, config: Config) -> dict[str, list[str]]:
        """Make the stored jobs match the config. An unchanged job keeps its stored next run time
        (that is how missed runs survive a restart); a changed schedule is recomputed from now."""
        existing = {job.id: job for job in self.scheduler.get_jobs(jobstore="default")}
        changes: dict[str, list[str]] = {"added": [], "changed": [], "removed": []}
        for spec in desired_jobs(config):
            job = existing.pop(spec.id, None)
            options = self._job_options(spec)
            if job is None:
                self.scheduler.add_job(spec.func, trigger=spec.trigger(), id=spec.id, name=spec.id, args=[spec.target],
                                       next_run_time=spec.first_run(timeutil.now()), replace_existing=True, **options)
                changes["added"].append(spec.id)
                continue
            trigger = spec.trigger()
            changed = False
            if trigger_signature(job.trigger) != trigger_signature(trigger):
                self.scheduler.reschedule_job(spec.id, trigger=trigger)
                changed = True
            if (job.func_ref, job.executor, job.misfire_grace_time, job.max_instances, job.coalesce) != (
                    spec.func, options["executor"], options["misfire_grace_time"], 1, True):
                self.scheduler.modify_job(spec.id, func=spec.func, **options)
                changed = True
            if changed:
                changes["changed"].append(spec.id)
        for job_id in existing:
            self.scheduler.remove_job(job_id)
            changes["removed"].append(job_id)
        if any(changes.values()):
            log.info("jobs reconciled with the config", extra={k: v for k, v in changes.items() if v})
        return changes

    def _resume_interrupted_digests(self, abandoned: list[RunKey]) -> None:
        """A digest run cut short by a crash runs again with its own fire time, hence its own run
        key: recipients already served are not sent it twice, the rest get it."""
        configured = {spec.target for spec in desired_jobs(self.config) if spec.kind == "digest"}
        now = timeutil.now()
        for key in abandoned:
            if key.kind != "digest" or key.scheduled is None or key.target not in configured:
                continue
            if (now - key.scheduled).total_seconds() > self.digest_grace:
                log.warning("interrupted digest is past the grace period; not resumed",
                            extra={"job": key.job_id, "scheduled": key.scheduled_iso})
                continue
            self.scheduler.add_job(JOB_FUNCS["digest"],
                                   trigger=DateTrigger(run_date=key.scheduled, timezone=timeutil.VN),
                                   args=[key.target], id=f"{key.job_id}@{key.scheduled_iso}", jobstore="volatile",
                                   executor="digests", misfire_grace_time=self.digest_grace)
            log.info("resuming an interrupted digest", extra={"job": key.job_id, "scheduled": key.scheduled_iso})

    def _job_options(self, spec: JobSpec) -> dict:
        return {
            "executor": spec.executor,
            # a crawl is worth running late whatever the delay; a digest only within the grace period
            "misfire_grace_time": None if spec.kind == "crawl" else self.digest_grace,
            "max_instances": 1,
            "coalesce": True,
        }

    # ------------------------------------------------------------ events

    def _on_event(self, event) -> None:
        """Record the runs that never reached a job function (skipped, missed) and settle `--once`."""
        job_id = event.job_id.partition("@")[0]  # a resumed digest run is "digest:<name>@<fire time>"
        kind, _, target = job_id.partition(":")
        if event.code == EVENT_JOB_MAX_INSTANCES:
            for scheduled in event.scheduled_run_times:
                self._record(RunKey(job_id, kind, target, scheduled), "skipped", "the previous run is still going")
            log.warning("run skipped: the previous run is still going", extra={"job": job_id})
        elif event.code == EVENT_JOB_MISSED:
            detail = f"missed by more than the grace period of {self.digest_grace} s; not sent late"
            self._record(RunKey(job_id, kind, target, event.scheduled_run_time), "missed", detail)
            log.warning("run missed", extra={"job": job_id, "scheduled": timeutil.iso(event.scheduled_run_time)})
        elif event.code == EVENT_JOB_ERROR:
            log.error("job raised", extra={"job": job_id, "error": repr(event.exception)})
        if event.code == EVENT_JOB_ERROR or (event.code == EVENT_JOB_EXECUTED and event.retval in ("failed", "timeout")):
            self.failed_runs.append(job_id)
        with self._settled:
            self._settled_jobs.add(event.job_id)
            self._settled.notify_all()

    def _record(self, key: RunKey, outcome: str, detail: str) -> None:
        with self.database() as db:
            runs.record_job_run(db, key, outcome, detail)


def config_signature(config_dir: Path) -> tuple:
    """What changes when a config file is edited: the files' times and sizes."""
    signature = []
    for name in ("sources.yaml", "digests.yaml"):
        try:
            stat = (Path(config_dir) / name).stat()
            signature.append((stat.st_mtime_ns, stat.st_size))
        except OSError:
            signature.append(None)
    return tuple(signature)


# ---------------------------------------------------------------- logging


_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JSONLineFormatter(logging.Formatter):
    """One JSON object per line: time (+07:00), level, logger, message and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": timeutil.iso(datetime.fromtimestamp(record.created, timeutil.VN)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(log_file: Path, extra_loggers: tuple[str, ...] = ()) -> None:
    """Structured lines to stderr and to a rotating file; `extra_loggers` (a library's, such as
    procrastinate's in `dxwatch worker`) log there too, from INFO."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    formatter = JSONLineFormatter()
    handlers = [
        logging.StreamHandler(sys.stderr),
        logging.handlers.RotatingFileHandler(log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS,
                                             encoding="utf-8"),
    ]
    for handler in handlers:
        handler.setFormatter(formatter)
    root = logging.getLogger("dxwatch")
    root.handlers.clear()  # the CLI's plain lines (crawler/logs.py) give way to these
    root.setLevel(logging.INFO)
    aps = logging.getLogger("apscheduler")
    aps.setLevel(logging.WARNING)
    for name in extra_loggers:
        logging.getLogger(name).setLevel(logging.INFO)
    for logger in (root, aps, *map(logging.getLogger, extra_loggers)):
        logger.propagate = False
        for handler in handlers:
            logger.addHandler(handler)
