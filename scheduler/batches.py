"""Crawl batches: the sources that fall due together are crawled by one child process.

Each source keeps its own APScheduler job (its schedule, its next run, its `job_runs` rows, its
line in `schedule list`), but a job that fires only queues its source here. A few batch threads
(`max_parallel_crawls`) each take the queued sources, up to BATCH_MAX, and run one child
`dxwatch crawl --source A --source B ... --if-due --processes 1` for all of them: a cycle over
4,000 sources starts a handful of processes instead of 4,000, each loading the config once.
Every source's outcome comes from its own `crawl_runs` row; a source with no row takes the
child's outcome (a time limit, a crash, the scheduler stopping). A source whose last run failed
or timed out is crawled on its own next time, so a portal that hangs holds no other back twice.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from crawler import timeutil
from crawler.config import Config
from crawler.db import runs
from crawler.db.runs import RunKey

log = logging.getLogger("dxwatch.scheduler")

CRAWL_COMMAND_ENV = "DXWATCH_CRAWL_COMMAND"  # replaces `python -m crawler` (tests run scripts)

BATCH_MAX = 500       # sources per crawl child (one engine: a few hundred MB at most)
GATHER_QUIET = 0.5    # seconds without a new source before a batch starts ...
GATHER_MAX = 3.0      # ... or at most this long after its first source was queued
FAILED = ("failed", "timeout")


@dataclass(frozen=True)
class Queued:
    source: str
    run_id: int
    key: RunKey


class CrawlBatches:
    """The queue of due sources and the threads that crawl them in batches."""

    def __init__(self, service, parallel: int, after_batch: Callable[[Config], None]):
        """`service` is the running scheduler (its config, database, stop flag); `after_batch(config)`
        runs after each batch that was not stopped (the alert check)."""
        self.service = service
        self.after_batch = after_batch
        self._lock = threading.Condition()
        self._queue: list[Queued] = []
        self._pending: set[str] = set()      # queued or being crawled
        self._alone: set[str] = set()        # last run failed or timed out: crawled on its own
        self._running = 0
        self._last_queued = 0.0
        self._threads = [threading.Thread(target=self._loop, name=f"crawl-batches-{i + 1}", daemon=True)
                         for i in range(parallel)]
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------ the jobs' side

    def claim(self, source: str) -> bool:
        """Reserve `source` for a run; False when its previous run is still queued or going."""
        with self._lock:
            if source in self._pending:
                return False
            self._pending.add(source)
            return True

    def release(self, source: str) -> None:
        with self._lock:
            self._pending.discard(source)
            self._lock.notify_all()

    def submit(self, source: str, run_id: int, key: RunKey) -> None:
        with self._lock:
            self._queue.append(Queued(source, run_id, key))
            self._last_queued = time.monotonic()
            self._lock.notify_all()

    def idle(self) -> bool:
        with self._lock:
            return not self._queue and not self._running

    def wait_idle(self, timeout: float) -> None:
        with self._lock:
            self._lock.wait_for(lambda: (not self._queue and not self._running) or self.service.stopping.is_set(),
                                timeout=timeout)

    def stop(self) -> None:
        """Record the queued, never started runs as interrupted; wake the threads so they end."""
        with self._lock:
            left, self._queue = self._queue, []
            self._lock.notify_all()
        if left:
            with self.service.database() as db:
                for entry in left:
                    runs.finish_job_run(db, entry.run_id, "interrupted", "the scheduler was stopping; not started")
        for entry in left:
            self.release(entry.source)
        for thread in self._threads:
            thread.join(timeout=self.service.kill_grace + 30)

    # ------------------------------------------------------------ the batch threads

    def _take(self) -> list[Queued] | None:
        """Wait for queued sources, let a burst of due jobs arrive, then take one batch."""
        with self._lock:
            while not self.service.stopping.is_set():
                if self._queue:
                    first = time.monotonic()
                    while (not self.service.stopping.is_set() and len(self._queue) < BATCH_MAX
                           and time.monotonic() - self._last_queued < GATHER_QUIET
                           and time.monotonic() - first < GATHER_MAX):
                        self._lock.wait(timeout=GATHER_QUIET / 2)
                    if not self._queue:
                        continue
                    batch = self._batch()
                    self._running += 1
                    return batch
                self._lock.wait(timeout=1.0)
            return None

    def _batch(self) -> list[Queued]:
        """The next batch: one source that must go alone, or up to BATCH_MAX of the others."""
        for i, entry in enumerate(self._queue):
            if entry.source in self._alone:
                return [self._queue.pop(i)]
        batch, self._queue = self._queue[:BATCH_MAX], self._queue[BATCH_MAX:]
        return batch

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                self._crawl(batch)
            except Exception:  # noqa: BLE001 - _crawl closed its runs; the thread goes on
                log.exception("crawl batch failed", extra={"sources": len(batch)})
            finally:
                with self._lock:
                    self._running -= 1
                    self._lock.notify_all()

    def _crawl(self, batch: list[Queued]) -> None:
        service, config = self.service, self.service.config
        names = [entry.source for entry in batch]
        output = service.log_dir / (f"crawl-{names[0]}.log" if len(names) == 1 else f"crawl-batch-{batch[0].run_id}.log")
        for entry in batch:
            log.info("crawl started", extra={"job": entry.key.job_id, "scheduled": entry.key.scheduled_iso,
                                             "batch": len(batch)})
        started = timeutil.iso()
        left = {entry.source: entry for entry in batch}

        def finish_done_sources() -> None:
            """A source whose run row says ok is done: recorded and free to run again at once,
            however long the rest of its batch takes."""
            with service.database() as db:
                rows = crawl_rows(db, list(left), started)
                for name, row in rows.items():
                    if row["status"] == "ok":
                        self._finish(db, left.pop(name), "ok", row["summary"])

        try:
            try:
                outcome, detail = run_child(crawl_command(config, names), output,
                                            config.settings.crawl_time_limit, service.stopping,
                                            service.kill_grace, on_tick=finish_done_sources,
                                            env=crawl_env(service.db_path))
            except Exception as exc:  # noqa: BLE001 - every run must be closed
                outcome, detail = "failed", f"{type(exc).__name__}: {exc}"
            with service.database() as db:
                rows = crawl_rows(db, list(left), started)
                for name, entry in list(left.items()):
                    self._finish(db, left.pop(name), *source_outcome(rows.get(name), outcome, detail))
        finally:
            if left:  # the database failed us: the runs are closed as failed, never left running
                with service.database() as db:
                    for entry in left.values():
                        self._finish(db, entry, "failed", "the crawl batch failed; see the scheduler log")
        if outcome != "interrupted":
            self.after_batch(config)

    def _finish(self, db, entry: Queued, outcome: str, detail: str | None) -> None:
        runs.finish_job_run(db, entry.run_id, outcome, detail or None)
        with self._lock:
            (self._alone.add if outcome in FAILED else self._alone.discard)(entry.source)
        if outcome in FAILED:
            self.service.failed_runs.append(entry.key.job_id)
        level = logging.INFO if outcome == "ok" else logging.WARNING
        log.log(level, "crawl finished", extra={"job": entry.key.job_id, "outcome": outcome, "detail": detail})
        self.release(entry.source)


def source_outcome(row: dict | None, outcome: str, detail: str | None) -> tuple[str, str | None]:
    """One source's outcome in a batch: its own crawl_runs row, else the child's outcome."""
    if row is None or row["status"] == "running":
        if outcome == "ok":
            return "ok", "not crawled: not due yet (--if-due)"
        return outcome, detail
    summary = row["summary"]
    if row["status"] == "failed":
        return "failed", "; ".join(filter(None, [summary, detail]))
    if row["status"] == "interrupted" and outcome != "ok":
        return outcome, "; ".join(filter(None, [summary, detail]))
    return "ok", summary


# ---------------------------------------------------------------- the crawl child


def crawl_command(config: Config, sources: list[str]) -> list[str]:
    """The child's command line; its database comes through `crawl_env`."""
    prefix = shlex.split(os.environ[CRAWL_COMMAND_ENV]) if os.environ.get(CRAWL_COMMAND_ENV) else [
        sys.executable, "-m", "crawler"]
    # --if-due: a source that publishes weekly is not crawled hourly (its schedule stays the upper bound);
    # --processes 1: the scheduler already runs max_parallel_crawls batches side by side
    named = [arg for source in sources for arg in ("--source", source)]
    return [*prefix, "--config", str(config.directory), "crawl", *named, "--if-due", "--processes", "1"]


def crawl_env(db_target: str) -> dict[str, str]:
    """The child's environment: the database in DXWATCH_DB, not on its command line, where `ps`
    would show a PostgreSQL URL's password to every user of the machine."""
    return {**os.environ, "DXWATCH_DB": str(db_target)}




def run_child(command: list[str], output: Path, time_limit: float, stop: threading.Event,
              kill_grace: float, on_tick: Callable[[], None] | None = None,
              preexec_fn: Callable[[], None] | None = None,
              env: dict[str, str] | None = None) -> tuple[str, str | None]:
    """Run a child in its own process group with its output in `output`; stop it (SIGTERM, then
    SIGKILL after `kill_grace`) past `time_limit` or when `stop` is set. `on_tick` is called about
    once a second while the child runs; `preexec_fn` runs in the child before it starts; `env` is
    its environment (this process's when None)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "wb") as sink:
        try:
            child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                                     start_new_session=True, preexec_fn=preexec_fn, env=env)
        except OSError as exc:
            return "failed", f"cannot start {command[0]}: {exc}"
        deadline = time.monotonic() + time_limit
        ticked = time.monotonic()
        while True:
            try:
                code = child.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            if on_tick is not None and time.monotonic() - ticked >= 1.0:
                ticked = time.monotonic()
                on_tick()
            if stop.is_set() or time.monotonic() >= deadline:
                _stop_group(child, kill_grace)
                if stop.is_set():
                    return "interrupted", "the scheduler stopped; the crawl was ended"
                return "timeout", f"ran past its time limit of {time_limit:g} s and was stopped"
    if code == 0:
        return "ok", None
    return "failed", f"exit code {code}: {_last_line(output) or 'no output'} (output in {output})"


def crawl_rows(db, sources: list[str], since: str) -> dict[str, dict]:
    """Each source's latest `crawl_runs` row started since `since`: its status and a summary for
    `schedule list` ("ok: 12 pages, 5 new, 0 known, last error: ...")."""
    found: dict[str, dict] = {}
    for row in runs.crawl_runs_since(db, sources, since):
        summary = f"{row['status']}: {row['pages']} pages, {row['articles_new']} new, {row['articles_known']} known"
        last_error = row["last_error"]
        found[row["source"]] = {"status": row["status"],
                                "summary": f"{summary}, last error: {last_error[:200]}" if last_error else summary}
    return found


def _stop_group(child: subprocess.Popen, kill_grace: float) -> None:
    for sig, wait in ((signal.SIGTERM, kill_grace), (signal.SIGKILL, None)):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            pass
        try:
            child.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _last_line(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - 4096))
            lines = [ln.strip() for ln in handle.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return None
    return lines[-1][:300] if lines else None
