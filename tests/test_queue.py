"""The task queue on PostgreSQL (scheduler/queue.py, scheduler/enqueue.py, `dxwatch worker`):
host locks across sessions, enqueuers that enqueue each tick once, workers that share the crawl.

Real parts only: a PostgreSQL server on loopback (tests/postgres.py; skipped with the reason where
it is not installed), loopback portals on distinct 127.x addresses, `dxwatch` child processes and
real signals.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psycopg
import pytest

from helpers import REPO, run_dxwatch, start_dxwatch, write_config


def queued_crawls(url: str) -> list[dict]:
    """Every crawl job in the queue, whatever its state: its sources and tick."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT args FROM procrastinate_jobs WHERE task_name = 'dxwatch.crawl' "
                            "ORDER BY id").fetchall()
    return [row[0] for row in rows]


def test_a_host_lock_is_held_by_one_session_and_goes_with_it(postgres_url):
    from crawler.db import locks

    first, second = locks.lock_session(postgres_url), locks.lock_session(postgres_url)
    try:
        assert locks.try_lock_hosts(first, ["127.61.0.1", "127.61.0.2"]) == []
        # all or nothing: 127.61.0.3 was free, but is not kept while 127.61.0.2 is busy
        assert locks.try_lock_hosts(second, ["127.61.0.2", "127.61.0.3"]) == ["127.61.0.2"]
        third = locks.lock_session(postgres_url)
        assert locks.try_lock_hosts(third, ["127.61.0.3"]) == []
        third.close()
        # a process that dies holding a lock (kill -9) loses its session, and the lock with it
        holder = subprocess.Popen([sys.executable, "-c",
                                   "import sys, time; from crawler.db import locks; "
                                   "c = locks.lock_session(sys.argv[1]); "
                                   "assert locks.try_lock_hosts(c, ['127.61.0.9']) == []; "
                                   "print('held', flush=True); time.sleep(60)", postgres_url],
                                  cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "held"
        assert locks.try_lock_hosts(second, ["127.61.0.9"]) == ["127.61.0.9"]
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        lock_when_free(second, ["127.61.0.9"])
        first.close()  # the server ends the session a moment after the client has gone
        lock_when_free(second, ["127.61.0.1", "127.61.0.2"])
    finally:
        first.close()
        second.close()


def lock_when_free(session, hosts: list[str], timeout: float = 10) -> None:
    from crawler.db import locks

    deadline = time.monotonic() + timeout
    while locks.try_lock_hosts(session, hosts):
        assert time.monotonic() < deadline, f"{hosts} were never released"
        time.sleep(0.05)


def test_two_enqueuers_enqueue_each_due_crawl_once(postgres_url, tmp_path):
    """Two `schedule run` processes on one database, side by side for a few seconds, then both
    stopped: every source is in exactly one crawl job of the current tick, batches sharded by host."""
    sources = []
    for i in range(12):  # two sources per host, on two schedules: the host's sources share a job per schedule
        for path, schedule in (("/tin-tuc/", "every 6h"), ("/thong-bao/", "0 */2 * * *")):
            sources.append({"name": f"xa-{i:02d}{path.strip('/')[:3]}", "schedule": schedule,
                            "start_urls": [f"http://127.62.0.{i + 1}:9{path}"]})
    config = write_config(tmp_path / "cfg", sources)
    enqueuers = [start_dxwatch(config, postgres_url, "schedule", "run", "--batch-size", "4",
                               "--log-file", str(tmp_path / f"logs-{n}" / "scheduler.log")) for n in range(2)]
    try:
        deadline = time.monotonic() + 60
        while sum(len(job["sources"]) for job in queued_crawls_or_none(postgres_url)) < len(sources):
            assert time.monotonic() < deadline, [e.poll() for e in enqueuers]
            time.sleep(0.2)
        time.sleep(2.5)  # both enqueuers look at the schedules twice more
    finally:
        for enqueuer in enqueuers:
            enqueuer.send_signal(signal.SIGTERM)
        outputs = [enqueuer.communicate(timeout=30) for enqueuer in enqueuers]
    assert [e.returncode for e in enqueuers] == [0, 0], outputs
    jobs = queued_crawls(postgres_url)
    names = [name for job in jobs for name in job["sources"]]
    assert sorted(names) == sorted(s["name"] for s in sources)  # each source once
    assert all(len(job["sources"]) <= 4 for job in jobs)
    for job in jobs:  # a job holds one schedule's sources, with both its sources on a host together
        hosts = {name[:5] for name in job["sources"]}
        assert all(f"{host}{kind}" in job["sources"] for host in hosts for kind in
                   ({name[5:] for name in job["sources"]}))
    assert len({job["timestamp"] for job in jobs}) == 2  # one tick per schedule
    assert all("Traceback" not in err for _, err in outputs), outputs


def queued_crawls_or_none(url: str) -> list[dict]:
    """The crawl jobs, or none while no enqueuer has created procrastinate's tables yet."""
    try:
        return queued_crawls(url)
    except psycopg.errors.UndefinedTable:
        return []


def test_worker_refuses_an_sqlite_database(tmp_path):
    config = write_config(tmp_path / "cfg", [{"name": "xa", "start_urls": ["http://127.62.1.1:9/"]}])
    result = run_dxwatch(config, tmp_path / "dxwatch.db", "worker")
    assert result.returncode == 2
    assert "needs a PostgreSQL database" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "dxwatch.db").exists()
