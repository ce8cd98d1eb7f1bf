"""`dxwatch schedule run` on a PostgreSQL database: put due crawls and digests on the task queue.

No job runs here: `dxwatch worker` processes run them (`scheduler.queue`). Every second the
enqueuer works out, for each schedule of the config, its latest fire time (a *tick*) and defers
that tick's jobs unless some process already did: procrastinate's periodic defer keeps one row
per (task, id, tick), so any number of enqueuers (one per machine, for failover) enqueue each
tick once. Interval schedules tick on the clock ("every 6h" at 00:00, 06:00, ... +07:00, counted
from 2000-01-01), so every enqueuer computes the same ticks; crontab lines tick as written.

- The sources of one schedule due at one tick are sharded by host (`crawler.workers`) into
  crawl jobs of at most `batch_size` sources; a job's id is the hash of its sources. Which
  sources a tick already has is kept in the database, not in this process: before queuing, the
  enqueuer claims the sources for the tick (`crawler.db.crawl_ticks`, one row per source, one
  enqueuer at a time), and queues only those no enqueuer claimed yet. So a source added to the
  config later in the tick gets a batch of its own, and an enqueuer restarted after the edit,
  or a second one started on another machine, queues no source of the tick twice. `covered`
  only spares the database: a schedule whose sources this process has seen claimed for the
  current tick is not looked up again (one claim per schedule per tick, plus one per edit).
  An enqueuer killed between deferring a batch and committing its claim leaves that batch to
  be queued again by the next one (dropped by the periodic defer when the batch is the same).
- A tick missed while no enqueuer ran is coalesced: only the latest is deferred. A digest is
  deferred late only within `digest_grace` of its time, and a digest new to the config waits
  for its first time (one whose `job_runs` history is empty and whose tick is before the
  enqueuer started).
- The config is read again when its files change or on SIGHUP; an invalid edit is logged and the
  last good config goes on.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
from datetime import datetime

from crawler import timeutil
from crawler.config import Config, ConfigError, load_config, parse_schedule
from crawler.db import crawl_ticks, dialect, runs
from crawler.workers import shard_sources
from scheduler import queue
from scheduler.service import config_signature

log = logging.getLogger("dxwatch.scheduler")

ANCHOR = datetime(2000, 1, 1, tzinfo=timeutil.VN)  # interval ticks are counted from here
BATCH_SIZE = 50       # sources per crawl job (one crawl child, one engine)
TICK = 1.0            # seconds between two looks at the schedules


def last_tick(schedule: str, now: datetime) -> datetime:
    """The latest fire time of `schedule` at or before `now`."""
    kind, value = parse_schedule(schedule)
    if kind == "interval":
        elapsed = (now - ANCHOR).total_seconds()
        return datetime.fromtimestamp(ANCHOR.timestamp() + math.floor(elapsed / value) * value, timeutil.VN)
    from croniter import croniter

    return croniter(value, now.astimezone(timeutil.VN)).get_prev(datetime)


def next_tick(schedule: str, now: datetime) -> datetime:
    """The first fire time of `schedule` after `now` (`schedule list` on a PostgreSQL database)."""
    kind, value = parse_schedule(schedule)
    if kind == "interval":
        return datetime.fromtimestamp(last_tick(schedule, now).timestamp() + value, timeutil.VN)
    from croniter import croniter

    return croniter(value, now.astimezone(timeutil.VN)).get_next(datetime)


class Enqueuer:
    def __init__(self, config_dir, db_url: str, digest_grace: float, batch_size: int = BATCH_SIZE):
        self.config_dir = config_dir
        self.db_url = db_url
        self.digest_grace = digest_grace
        self.batch_size = batch_size
        self.started = timeutil.now()
        self.config: Config | None = None
        self.done: set[tuple[str, int]] = set()   # (digest job, tick) deferred or found deferred by this process
        self.covered: dict[str, int] = {}         # source -> the tick this process saw it claimed for (crawl_ticks)
        self.stopping = asyncio.Event()
        self.reload_requested = False

    # ------------------------------------------------------------ one look at the schedules

    async def tick(self, now: datetime) -> int:
        """Defer every job due at `now` that no process deferred yet; the number deferred."""
        deferred = 0
        config = self.config
        groups: dict[str, list] = {}
        for source in config.sources:
            if source.enabled:
                groups.setdefault(source.effective_schedule, []).append(source)
        for schedule, sources in groups.items():
            at = int(last_tick(schedule, now).timestamp())
            unseen = [s for s in sources if self.covered.get(s.name) != at]  # a new tick, a new source, a restart
            if not unseen:
                continue
            with crawl_ticks.claim(self.db_url, [s.name for s in unseen], at) as claimed:
                pending = [s for s in unseen if s.name in claimed]  # the others: an enqueuer queued them already
                count = max(1, math.ceil(len(pending) / self.batch_size))
                for shard in shard_sources(pending, count):
                    names = [s.name for s in shard]
                    job = queue.periodic_job(queue.CRAWL_TASK, {"sources": names, "timestamp": at})
                    if await queue.defer_once(job, queue.batch_id(names), at) is not None:
                        deferred += 1
                        log.info("crawl queued", extra={"sources": len(names), "scheduled": timeutil.iso(
                            queue.tick_time(at))})
            self.covered.update(dict.fromkeys((s.name for s in unseen), at))
        for digest in (config.digests_file.digests if config.digests_file else []):
            when = last_tick(digest.schedule, now)
            at = int(when.timestamp())
            key = (f"digest:{digest.name}", at)
            if key in self.done:
                continue
            self.done.add(key)
            if (now - when).total_seconds() > self.digest_grace:
                continue  # missed by more than the grace period: the next digest carries everything
            if when < self.started and not self._digest_known(digest.name):
                continue  # a digest new to the config waits for its first time
            job = queue.periodic_job(queue.DIGEST_TASK, {"digest": digest.name, "timestamp": at},
                                     lock=key[0], priority=queue.MAIL_PRIORITY, queue=queue.MAIL_QUEUE)
            if await queue.defer_once(job, key[0], at) is not None:
                deferred += 1
                log.info("digest queued", extra={"job": key[0], "scheduled": timeutil.iso(when)})
        return deferred

    def _digest_known(self, name: str) -> bool:
        from scheduler.jobs import open_database

        with open_database(self.db_url) as db:
            return f"digest:{name}" in runs.last_job_runs(db)

    # ------------------------------------------------------------ running

    def load(self) -> bool:
        try:
            config = load_config(self.config_dir)
            if config.digests_file and (config.digests_file.digests or config.digests_file.alerts):
                config.require_smtp("schedule run (digests.yaml has digests or alerts)")
        except ConfigError as exc:
            if self.config is None:
                raise
            log.error("config reload failed; the running schedules are kept", extra={"error": str(exc)})
            return False
        self.config = config
        return True

    async def run(self, once: bool = False) -> int:
        """Enqueue until SIGTERM/SIGINT (or, with `once`, what is due now); the jobs deferred."""
        self.load()
        queue.install_schema(self.db_url)
        loop = asyncio.get_running_loop()
        if not once:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self.stopping.set)
            loop.add_signal_handler(signal.SIGHUP, lambda: setattr(self, "reload_requested", True))
        total = 0
        seen = config_signature(self.config_dir)
        with queue.connected(self.db_url) as bound:
            async with bound.open_async():
                log.info("enqueuer started", extra={"db": dialect.shown(self.db_url), "once": once})
                while True:
                    total += await self.tick(timeutil.now())
                    if once:
                        return total
                    try:
                        await asyncio.wait_for(self.stopping.wait(), timeout=TICK)
                        log.info("enqueuer stopped")
                        return total
                    except asyncio.TimeoutError:
                        pass
                    current = config_signature(self.config_dir)
                    if self.reload_requested or current != seen:
                        self.reload_requested, seen = False, current
                        if self.load():
                            log.info("config reloaded")

