"""The task queue on PostgreSQL (scheduler/queue.py, scheduler/enqueue.py, `dxwatch worker`):
host locks across sessions, enqueuers that enqueue each tick once, workers that share the crawl.

Real parts only: a PostgreSQL server on loopback (tests/postgres.py; skipped with the reason where
it is not installed), loopback portals on distinct 127.x addresses, `dxwatch` child processes and
real signals.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from helpers import (REPO, WEEKLY, article_html, article_path, by_recipient, listing_html, run_dxwatch, start_dxwatch,
                     write_config, write_digest_config)
from servers import Page, PortalServer


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
    from crawler import timeutil
    from scheduler.enqueue import last_tick

    schedule_of = {s["name"]: s["schedule"] for s in sources}
    for job in jobs:  # one schedule per job, queued for that schedule's current tick (the two
        (schedule,) = {schedule_of[name] for name in job["sources"]}  # ticks coincide a third of the day)
        assert job["timestamp"] == int(last_tick(schedule, timeutil.now()).timestamp()), job
    assert all("Traceback" not in err for _, err in outputs), outputs
    listed = run_dxwatch(config, postgres_url, "schedule", "list", "--json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    now = timeutil.now()
    for row in map(json.loads, listed.stdout.splitlines()):  # the next tick, on the clock, within its interval
        gap = (timeutil.parse_iso(row["next_run"]) - now).total_seconds()
        assert not row["next_run_planned"] and 0 < gap <= (6 if row["schedule"] == "every 6h" else 2) * 3600, row


def test_the_enqueuer_queues_a_new_source_at_once_and_keeps_going_after_a_bad_edit(postgres_url, tmp_path):
    sources = [{"name": "xa-1", "start_urls": ["http://127.62.2.1:9/tin-tuc/"]}]
    config = write_config(tmp_path / "cfg", sources)
    enqueuer = start_dxwatch(config, postgres_url, "schedule", "run", "--log-file", str(tmp_path / "scheduler.log"))
    try:
        wait_for(lambda: [job["sources"] for job in queued_crawls_or_none(postgres_url)] == [["xa-1"]], enqueuer)
        (config / "sources.yaml").write_text("sources: [oops", encoding="utf-8")  # a bad edit: logged, jobs kept
        time.sleep(2.5)
        assert enqueuer.poll() is None
        write_config(config, [*sources, {"name": "xa-2", "start_urls": ["http://127.62.2.2:9/tin-tuc/"]}])
        wait_for(lambda: [job["sources"] for job in queued_crawls(postgres_url)] == [["xa-1"], ["xa-2"]], enqueuer)
    finally:
        _, err = stop([enqueuer])[0]
    assert enqueuer.returncode == 0, err[-3000:]
    assert "config reload failed" in err and "Traceback" not in err


# a crontab line whose latest tick (1 January, 00:00 +07:00) does not change while a test runs
YEARLY = "0 0 1 1 *"


def yearly_sources(*names: str) -> list[dict]:
    return [{"name": name, "schedule": YEARLY, "start_urls": [f"http://127.62.3.{i + 1}:9/tin-tuc/"]}
            for i, name in enumerate(names)]


def queued_per_source(url: str) -> dict[str, int]:
    """How many crawl jobs of this year's tick hold each source, whatever their state."""
    counts: dict[str, int] = {}
    for job in queued_crawls(url):
        for name in job["sources"]:
            counts[name] = counts.get(name, 0) + 1
    return counts


@pytest.mark.slow
def test_an_enqueuer_restarted_after_an_edit_queues_each_source_of_the_tick_once(postgres_url, tmp_path):
    """The tick's sources queued, a source added, the enqueuer restarted within the tick: only the
    new source is queued. Then a worker runs the jobs (procrastinate deletes them once done), another
    source is added, the enqueuer restarted again: still only the new one."""
    from scheduler.queue import wait_for_jobs

    config = write_config(tmp_path / "cfg", yearly_sources("xa-a", "xa-b"))
    enqueue(config, postgres_url, tmp_path)
    assert queued_per_source(postgres_url) == {"xa-a": 1, "xa-b": 1}
    write_config(config, yearly_sources("xa-a", "xa-b", "xa-c"))
    enqueue(config, postgres_url, tmp_path)  # a new process: it knows nothing of the first one's jobs
    assert queued_per_source(postgres_url) == {"xa-a": 1, "xa-b": 1, "xa-c": 1}
    enqueue(config, postgres_url, tmp_path)  # and once more, with nothing new
    assert queued_per_source(postgres_url) == {"xa-a": 1, "xa-b": 1, "xa-c": 1}

    worker = start_worker(config, postgres_url, tmp_path / "logs" / "worker.log")
    try:
        assert wait_for_jobs(postgres_url, timeout=120), stop([worker])
    finally:
        _, err = stop([worker])[0]
    assert worker.returncode == 0, err[-3000:]
    assert queued_crawls(postgres_url) == []  # done jobs are deleted (delete_jobs="successful")
    assert {row["target"] for row in job_runs(postgres_url)} == {"xa-a", "xa-b", "xa-c"}
    write_config(config, yearly_sources("xa-a", "xa-b", "xa-c", "xa-d"))
    enqueue(config, postgres_url, tmp_path)
    assert queued_per_source(postgres_url) == {"xa-d": 1}


def test_a_claim_waits_for_the_one_under_way_and_gets_what_it_left(postgres_url):
    """crawl_ticks.claim, two at once: the second waits for the first to end; a claim rolled back
    (its enqueuer died before committing) leaves its sources to the next one."""
    from crawler.db import crawl_ticks
    from scheduler.queue import install_schema

    def claim_now(names: list[str], tick: int) -> set[str]:
        with crawl_ticks.claim(postgres_url, names, tick) as claimed:
            return claimed

    install_schema(postgres_url)
    got = {}
    with crawl_ticks.claim(postgres_url, ["xa-a", "xa-b"], 100) as first:
        assert first == {"xa-a", "xa-b"}
        other = threading.Thread(target=lambda: got.update(second=claim_now(["xa-a", "xa-b", "xa-c"], 100)))
        other.start()
        other.join(1.0)
        assert other.is_alive() and not got  # waiting for the first claim to commit
    other.join(30)
    assert got == {"second": {"xa-c"}}
    with pytest.raises(RuntimeError):
        with crawl_ticks.claim(postgres_url, ["xa-d"], 100) as claimed:
            assert claimed == {"xa-d"}
            raise RuntimeError("the enqueuer dies before its claim commits")
    assert claim_now(["xa-c", "xa-d"], 100) == {"xa-d"}
    assert claim_now(["xa-a", "xa-b"], 200) == {"xa-a", "xa-b"}  # the next tick: all again
    assert claim_now(["xa-a", "xa-c"], 150) == {"xa-c"}  # never back to an older tick than the one claimed


def test_two_enqueuers_started_at_once_after_an_edit_queue_each_source_of_the_tick_once(postgres_url, tmp_path):
    """The tick's sources queued by one enqueuer, sources added, then two enqueuers (two machines, or
    a restart beside a standby) started at the same moment: every source of the tick is queued once."""
    config = write_config(tmp_path / "cfg", yearly_sources(*(f"xa-{i}" for i in range(6))))
    enqueue(config, postgres_url, tmp_path)
    names = [f"xa-{i}" for i in range(12)]
    write_config(config, yearly_sources(*names))
    enqueuers = [start_dxwatch(config, postgres_url, "schedule", "run", "--batch-size", "2",
                               "--log-file", str(tmp_path / f"logs-{n}" / "scheduler.log")) for n in range(2)]
    try:
        deadline = time.monotonic() + 60
        while set(queued_per_source(postgres_url)) != set(names):
            assert time.monotonic() < deadline and all(e.poll() is None for e in enqueuers), stop(enqueuers)
            time.sleep(0.1)
        time.sleep(2.5)  # both enqueuers look at the schedules twice more
    finally:
        outputs = stop(enqueuers)
    assert [e.returncode for e in enqueuers] == [0, 0], outputs
    assert all("Traceback" not in err for _, err in outputs), outputs
    assert queued_per_source(postgres_url) == dict.fromkeys(names, 1)
    assert len({job["timestamp"] for job in queued_crawls(postgres_url)}) == 1


def wait_for(condition, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline and process.poll() is None, stop([process])
        time.sleep(0.1)


def queued_crawls_or_none(url: str) -> list[dict]:
    """The crawl jobs, or none while no enqueuer has created procrastinate's tables yet."""
    try:
        return queued_crawls(url)
    except psycopg.errors.UndefinedTable:
        return []


def test_worker_refuses_an_sqlite_database_and_an_unknown_queue(tmp_path):
    config = write_config(tmp_path / "cfg", [{"name": "xa", "start_urls": ["http://127.62.1.1:9/"]}])
    result = run_dxwatch(config, tmp_path / "dxwatch.db", "worker")
    assert result.returncode == 2
    assert "needs a PostgreSQL database" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "dxwatch.db").exists()
    result = run_dxwatch(config, "postgresql://dxwatch@127.0.0.1:9/dxwatch", "worker", "--queue", "digests")
    assert result.returncode == 2
    assert "unknown queue digests: the queues are crawl and mail" in result.stderr


# ---------------------------------------------------------------- workers crawling loopback portals


def client_pid(client: tuple[str, int]) -> int | None:
    """The process holding the client end of a loopback TCP connection, from /proc: which crawl
    process sent a request (a worker's crawl child), whatever the worker."""
    address, port = client
    local = f"{socket.inet_aton(address)[::-1].hex().upper()}:{port:04X}"
    inode = next((fields[9] for fields in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
                  if fields[1] == local and fields[9] != "0"), None)  # inode 0: an old TIME_WAIT entry on that port
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:  # a busy process opens and closes descriptors while we look
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return int(pid)
    return None


class Visits:
    """Every request to the portals, as (host, time, pid of the process that sent it)."""

    def __init__(self):
        self.seen: list[tuple[str, float, int | None]] = []
        self._lock = threading.Lock()

    def route(self, host: str, page: Page):
        def answer(request):
            pid = client_pid(request.client)
            with self._lock:
                self.seen.append((host, time.monotonic(), pid))
            return page
        return answer

    def spans(self) -> dict[str, dict[int, tuple[float, float]]]:
        """host -> pid -> (first request, last request)."""
        out: dict[str, dict[int, tuple[float, float]]] = {}
        for host, at, pid in self.seen:
            first, last = out.setdefault(host, {}).get(pid, (at, at))
            out[host][pid] = (min(first, at), max(last, at))
        return out


@contextlib.contextmanager
def portals(visits: Visits, hosts: list[str], pages: dict[str, tuple[list[int], float]], article_delay: float = 0.0):
    """A portal on each host; `pages` maps a listing path to (its article numbers for host 0, the
    listing's delay); host i's articles are numbered after host i-1's."""
    with contextlib.ExitStack() as stack:
        servers = []
        for i, host in enumerate(hosts):
            routes = {"/robots.txt": visits.route(host, Page("User-agent: *\nAllow: /\n", content_type="text/plain"))}
            for path, (numbers, delay) in pages.items():
                mine = [n + 1000 * i for n in numbers]
                routes[path] = visits.route(host, Page(listing_html([article_path(n) for n in mine]), delay=delay))
                routes.update({article_path(n): visits.route(host, Page(article_html(n), delay=article_delay))
                               for n in mine})
            servers.append(stack.enter_context(PortalServer(routes, host=host)))
        yield servers


def stored(url: str) -> list[tuple[str, int]]:
    """(url, copies) of every stored article."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT url, count(*) FROM articles GROUP BY url ORDER BY url").fetchall()


def job_runs(url: str) -> list[dict]:
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute("SELECT * FROM job_runs ORDER BY id").fetchall()


def start_worker(config: Path, url: str, log: Path, *options: str) -> subprocess.Popen:
    """A worker whose own files (digest and alert archives) go beside its log, not into the checkout."""
    return start_dxwatch(config, url, "worker", "--heartbeat", "1", "--requeue-delay", "1", "--kill-grace", "2",
                         "--log-file", str(log), *options, env={**os.environ, "DXWATCH_DATA": str(log.parent)})


def stop(workers: list[subprocess.Popen]) -> list[tuple[str, str]]:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    return [worker.communicate(timeout=60) for worker in workers]


ALERT_NEW_ARTICLES = """\
alerts:
  - name: tin-moi
    items: [articles]
    max_age: 3650d
    recipients: [van.phong@example.vn]
"""


@pytest.mark.slow
def test_two_workers_crawl_every_article_once_and_never_one_host_twice_at_once(postgres_url, tmp_path, smtp):
    """Six portals with two sources each on two schedules: the two sources of a host are in two
    crawl jobs, which two workers take at once; each host is still crawled by one process at a
    time (the requests each crawl process sent to a host never interleave with another's). The
    alert checks after the crawls run one at a time and alert each new article once."""
    from scheduler.queue import wait_for_jobs

    visits = Visits()
    hosts = [f"127.63.0.{i + 1}" for i in range(6)]
    with portals(visits, hosts, {"/tin-tuc/": ([1, 2, 3], 0.4), "/thong-bao/": ([4, 5], 0.4)}) as servers:
        sources = []
        for i, server in enumerate(servers):
            sources.append({"name": f"xa-{i}-tin", "schedule": "every 6h", "start_urls": [server.url("/tin-tuc/")]})
            sources.append({"name": f"xa-{i}-tb", "schedule": "0 */2 * * *", "start_urls": [server.url("/thong-bao/")]})
        config = write_config(write_digest_config(tmp_path / "cfg", smtp.port, ALERT_NEW_ARTICLES), sources)
        workers = [start_worker(config, postgres_url, tmp_path / "logs" / f"worker-{n}.log") for n in range(2)]
        try:
            deadline = time.monotonic() + 60  # both workers waiting before the jobs come: they take one each at once
            while registered_workers(postgres_url) < 2:
                assert time.monotonic() < deadline and all(w.poll() is None for w in workers), stop(workers)
                time.sleep(0.1)
            enqueue(config, postgres_url, tmp_path)
            assert len(queued_crawls(postgres_url)) == 2  # one job per schedule, every host in both
            assert wait_for_jobs(postgres_url, timeout=180), "the queue was not drained"
        finally:
            outputs = stop(workers)
    assert [w.returncode for w in workers] == [0, 0], outputs
    expected = sorted(server.url(article_path(n + 1000 * i)) for i, server in enumerate(servers)
                      for n in (1, 2, 3, 4, 5))
    assert stored(postgres_url) == [(url, 1) for url in expected]  # every article, once
    assert all(pid is not None for _, _, pid in visits.seen)
    for host, per_process in visits.spans().items():
        assert len(per_process) == 2, (host, per_process)  # two crawls reached each host ...
        (_, first_end), (second_start, _) = sorted(per_process.values())
        assert first_end < second_start, (host, per_process)  # ... one after the other
    rows = job_runs(postgres_url)
    busy = [row for row in rows if row["outcome"] == "skipped" and "being crawled by another job" in row["detail"]]
    assert busy, "the two jobs never met on a host: the test did not test the lock"
    finished = {row["target"]: row["outcome"] for row in rows if row["kind"] == "crawl" and row["outcome"] != "skipped"}
    assert finished == {s["name"]: "ok" for s in sources}
    checks = sorted((row["started"], row["finished"]) for row in rows if row["kind"] == "alerts")
    assert checks and all(row["outcome"] == "ok" for row in rows if row["kind"] == "alerts")
    assert all(end <= start for (_, end), (start, _) in zip(checks, checks[1:])), checks  # one at a time
    with psycopg.connect(postgres_url) as conn:
        alerted = conn.execute("SELECT item_key, count(*) FROM delivered_items WHERE recipient = 'van.phong@example.vn' "
                               "GROUP BY item_key").fetchall()
    assert alerted and all(copies == 1 for _, copies in alerted), alerted  # each new article alerted once
    assert len(smtp.messages) >= 1
    assert all("Traceback" not in err for _, err in outputs), outputs


@pytest.mark.slow
def test_a_worker_killed_mid_crawl_loses_nothing_and_another_finishes_the_job(postgres_url, tmp_path):
    """kill -9 a worker while its crawl child fetches slow articles: the child dies with it, its
    host locks are released, the job is retried by the other worker, every article stored once."""
    from scheduler.queue import wait_for_jobs

    visits = Visits()
    hosts = [f"127.64.0.{i + 1}" for i in range(3)]
    with portals(visits, hosts, {"/tin-tuc/": (list(range(1, 9)), 0.0)}, article_delay=0.5) as servers:
        sources = [{"name": f"xa-{i}", "start_urls": [server.url("/tin-tuc/")]} for i, server in enumerate(servers)]
        config = write_config(tmp_path / "cfg", sources)
        enqueue(config, postgres_url, tmp_path)
        first = start_worker(config, postgres_url, tmp_path / "logs" / "worker-1.log")
        second = None
        try:
            child = crawl_under_way(postgres_url, first)
            first.send_signal(signal.SIGKILL)
            first.wait()
            deadline = time.monotonic() + 10
            while alive(child):  # the crawl child dies with its worker
                assert time.monotonic() < deadline, f"crawl child {child} outlived its killed worker"
                time.sleep(0.05)
            partial = len(stored(postgres_url))
            assert 0 < partial < 3 * 8
            second = start_worker(config, postgres_url, tmp_path / "logs" / "worker-2.log")
            assert wait_for_jobs(postgres_url, timeout=180), "the killed worker's job was never finished"
        finally:
            outputs = stop([w for w in (first, second) if w is not None])
    expected = sorted(server.url(article_path(n + 1000 * i)) for i, server in enumerate(servers) for n in range(1, 9))
    assert stored(postgres_url) == [(url, 1) for url in expected]
    crawlers = {pid for _, _, pid in visits.seen if pid is not None}  # None: a request whose sender died at once
    assert child in crawlers and len(crawlers) == 2  # the killed crawl, then the retried one
    rows = job_runs(postgres_url)
    assert {row["outcome"] for row in rows if row["target"] == "xa-0"} == {"interrupted", "ok"}, rows
    assert all("Traceback" not in err for _, err in outputs), outputs


@pytest.mark.slow
def test_a_worker_stopped_with_sigterm_ends_its_crawl_and_puts_the_sources_back(postgres_url, tmp_path):
    """SIGTERM mid-crawl (a deploy, systemctl stop): the worker ends its crawl child, records the
    runs as interrupted, queues the sources again at once and exits 0."""
    visits = Visits()
    with portals(visits, ["127.64.1.1", "127.64.1.2"], {"/tin-tuc/": (list(range(1, 9)), 0.0)},
                 article_delay=0.5) as servers:
        sources = [{"name": f"xa-{i}", "start_urls": [server.url("/tin-tuc/")]} for i, server in enumerate(servers)]
        config = write_config(tmp_path / "cfg", sources)
        enqueue(config, postgres_url, tmp_path)
        worker = start_worker(config, postgres_url, tmp_path / "logs" / "worker.log")
        child = crawl_under_way(postgres_url, worker)
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err[-3000:]
    assert not alive(child)
    rows = job_runs(postgres_url)
    assert {(row["target"], row["outcome"]) for row in rows} == {("xa-0", "interrupted"), ("xa-1", "interrupted")}
    assert all("the worker stopped" in row["detail"] for row in rows)
    with psycopg.connect(postgres_url) as conn:
        waiting = conn.execute("SELECT args FROM procrastinate_jobs WHERE task_name = 'dxwatch.crawl' "
                               "AND status = 'todo'").fetchall()
    assert [sorted(args["sources"]) for (args,) in waiting] == [["xa-0", "xa-1"]]
    assert "Traceback" not in err


def registered_workers(url: str) -> int:
    """Workers that have registered with the queue (0 while its tables do not exist yet)."""
    try:
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return 0


def enqueue(config: Path, url: str, tmp_path: Path) -> None:
    """`dxwatch schedule run --once`: what is due goes on the queue."""
    enqueued = run_dxwatch(config, url, "schedule", "run", "--once", "--log-file", str(tmp_path / "logs" / "scheduler.log"))
    assert enqueued.returncode == 0, enqueued.stderr[-3000:]


def crawl_under_way(url: str, worker: subprocess.Popen) -> int:
    """Wait until the worker's crawl has stored its first article; the crawl child's pid."""
    deadline = time.monotonic() + 120
    while not any(copies for _, copies in stored_or_none(url)):
        assert time.monotonic() < deadline and worker.poll() is None, stop([worker])
        time.sleep(0.1)
    return crawling_pid(url)


def stored_or_none(url: str) -> list[tuple[str, int]]:
    try:
        return stored(url)
    except psycopg.errors.UndefinedTable:
        return []


def crawling_pid(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT pid FROM crawl_runs WHERE status = 'running' LIMIT 1").fetchone()[0]


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped by whoever inherited it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.slow
def test_a_due_digest_is_sent_once_with_two_enqueuers_two_workers_and_its_job_run_twice(postgres_url, tmp_path,
                                                                                       smtp):
    """This morning's digest, missed (within the grace period): two enqueuers queue it once, a
    copy of its job deferred again for the same time (a crashed enqueuer's retry) sends nothing,
    and each recipient gets one message."""
    import asyncio

    from crawler import timeutil
    from crawler.db import close, open_db, runs
    from crawler.db.runs import RunKey
    from scheduler import queue
    from scheduler.enqueue import last_tick

    config = write_digest_config(tmp_path / "cfg", smtp.port, WEEKLY.replace(
        "  - name: weekly\n", "  - name: weekly\n    schedule: '0 8 * * *'\n    when_empty: send\n"))
    write_config(config, [{"name": "xa", "enabled": False, "start_urls": ["http://127.65.0.1:9/"]}])
    db = open_db(postgres_url)  # the digest has been sent before: a missed time is sent late, not skipped
    runs.record_job_run(db, RunKey("digest:weekly", "digest", "weekly", None), "ok", "an earlier run")
    close(db)
    logs = tmp_path / "logs"
    enqueuers = [start_dxwatch(config, postgres_url, "schedule", "run", "--digest-grace", "2d",
                               "--log-file", str(logs / f"scheduler-{n}.log")) for n in range(2)]
    workers = [start_worker(config, postgres_url, logs / "worker-0.log", "--queue", "mail"),
               start_worker(config, postgres_url, logs / "worker-1.log")]
    try:
        deadline = time.monotonic() + 60
        while len(smtp.messages) < 2:
            assert time.monotonic() < deadline, stop(enqueuers + workers)
            time.sleep(0.1)
        tick = int(last_tick("0 8 * * *", timeutil.now()).timestamp())

        async def defer_again():
            with queue.connected(postgres_url) as bound:
                async with bound.open_async():
                    await queue.digest_job.configure(lock="digest:weekly", queue=queue.MAIL_QUEUE).defer_async(
                        digest="weekly", timestamp=tick)

        asyncio.run(defer_again())
        assert queue.wait_for_jobs(postgres_url, timeout=60)
        time.sleep(1.5)  # both enqueuers look at the schedules again
    finally:
        outputs = stop(enqueuers + workers)
    assert [p.returncode for p in enqueuers + workers] == [0] * 4, outputs
    assert {rcpt: len(messages) for rcpt, messages in by_recipient(smtp).items()} == {
        "lanh.dao@example.vn": 1, "danang@example.vn": 1}
    digest_runs = [row for row in job_runs(postgres_url) if row["job_id"] == "digest:weekly" and row["scheduled"]]
    assert sorted(row["outcome"] for row in digest_runs) == ["ok", "skipped"], digest_runs
    assert "already sent" in next(row["detail"] for row in digest_runs if row["outcome"] == "skipped")
    assert all("Traceback" not in err for _, err in outputs), outputs
