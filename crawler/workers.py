"""A big crawl on every core: its sources shared out by host over a few crawl processes.

One Scrapy engine is bound to one core (extraction, facts and stories are CPU work on the
reactor thread), so a crawl of many sources forks one worker per core, each running one engine
over its shard. Sources that share a host always land in the same shard: Scrapy's per-host
slots, and so politeness, are per process. Workers write their own `crawl_runs` rows (SQLite
queues the writers of the processes on its busy timeout; every store write is BEGIN IMMEDIATE)
and send their progress and results to the parent over a pipe.
"""

from __future__ import annotations

import heapq
import logging
import multiprocessing
import os
import signal
import time
from multiprocessing.connection import wait
from typing import Callable
from urllib.parse import urlsplit

from crawler.config import Config, Source

logger = logging.getLogger("dxwatch.crawl")

PROGRESS_EVERY = 0.5          # seconds between two progress messages about one source


def process_count(configured: int, sources: list[Source]) -> int:
    """How many crawl processes: `crawl_processes` from the config, or (0) one per usable core, as
    long as there are hosts to share out (sources on one host stay in one process)."""
    if configured:
        return max(1, min(configured, len(sources)))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, len(host_groups(sources))))


def source_hosts(source: Source) -> set[str]:
    return {(urlsplit(url).hostname or url).lower() for url in source.urls}


def host_groups(sources: list[Source]) -> list[list[Source]]:
    """The sources grouped so that sources sharing a host (directly or through another) are together."""
    parent: dict[str, str] = {}

    def root(host: str) -> str:
        while parent.setdefault(host, host) != host:
            parent[host] = parent[parent[host]]
            host = parent[host]
        return host

    for source in sources:
        hosts = sorted(source_hosts(source)) or [f"source:{source.name}"]
        for host in hosts[1:]:
            parent[root(host)] = root(hosts[0])
    groups: dict[str, list[Source]] = {}
    for source in sources:
        hosts = sorted(source_hosts(source)) or [f"source:{source.name}"]
        groups.setdefault(root(hosts[0]), []).append(source)
    return list(groups.values())


def shard_sources(sources: list[Source], count: int) -> list[list[Source]]:
    """`count` shards of about equal size; sources that share a host are in the same shard."""
    shards: list[list[Source]] = [[] for _ in range(count)]
    sizes = [(0, i) for i in range(count)]  # a heap: the smallest shard takes the next largest group
    for group in sorted(host_groups(sources), key=len, reverse=True):
        size, i = heapq.heappop(sizes)
        shards[i].extend(group)
        heapq.heappush(sizes, (size + len(group), i))
    order = {source.name: i for i, source in enumerate(sources)}
    return [sorted(shard, key=lambda s: order[s.name]) for shard in shards if shard]


def preload() -> None:
    """Import Scrapy and every crawl stage once, before forking: each worker inherits them instead
    of importing them again (seconds of CPU per worker); a stage that does not import stops the
    crawl here, with one line (BrokenModule), before any worker starts."""
    import scrapy.crawler  # noqa: F401

    from crawler.settings import item_pipelines

    item_pipelines()


def crawl_in_workers(config: Config, db_path, shards: list[list[Source]], run_ids: dict[str, int],
                     on_progress: Callable[[str, dict], None] | None,
                     crawl: Callable[..., list[dict]]) -> tuple[list[dict], dict[str, str]]:
    """Run `crawl(config, db_path, shard, run_ids, on_progress)` in a forked process per shard.

    Returns the results the workers sent, and for the sources of a worker that died without
    sending them, why (their runs are finished by the caller). SIGTERM to this process is passed
    on to the workers, which end their crawls as a single process would.
    """
    context = multiprocessing.get_context("fork")  # the config is inherited, not pickled
    workers = []
    for shard in shards:
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_worker, args=(crawl, config, db_path, shard, run_ids, sender),
                                  name=f"dxwatch-crawl-{len(workers) + 1}", daemon=False)
        process.start()
        sender.close()
        workers.append({"process": process, "pipe": receiver, "shard": shard, "results": None})

    def forward(signum, _frame):
        for worker in workers:
            if worker["process"].is_alive():
                os.kill(worker["process"].pid, signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        _collect(workers, on_progress)
    finally:
        signal.signal(signal.SIGTERM, previous)
    results, lost = [], {}
    for worker in workers:
        worker["process"].join()
        if worker["results"] is not None:
            results.extend(worker["results"])
        else:
            why = f"its crawl process ended with exit code {worker['process'].exitcode} before finishing"
            lost.update({source.name: why for source in worker["shard"]})
    return results, lost


def _collect(workers: list[dict], on_progress) -> None:
    """Read the workers' messages until every pipe is closed."""
    open_pipes = {worker["pipe"]: worker for worker in workers}
    while open_pipes:
        for pipe in wait(list(open_pipes), timeout=1.0):
            worker = open_pipes[pipe]
            try:
                kind, payload = pipe.recv()
            except (EOFError, OSError):
                del open_pipes[pipe]
                continue
            if kind == "progress" and on_progress is not None:
                on_progress(*payload)
            elif kind == "results":
                worker["results"] = payload


def _worker(crawl, config: Config, db_path, shard: list[Source], run_ids: dict[str, int], pipe) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # Scrapy installs its own shutdown handlers
    last: dict[str, float] = {}

    def progress(name: str, summary: dict) -> None:
        now = time.monotonic()
        if now - last.get(name, 0.0) >= PROGRESS_EVERY:
            last[name] = now
            pipe.send(("progress", (name, summary)))

    try:
        results = crawl(config, db_path, shard, {s.name: run_ids[s.name] for s in shard}, progress)
        pipe.send(("results", results))
    finally:
        pipe.close()
