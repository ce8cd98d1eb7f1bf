"""Scale-out benchmark: 1, 2 and 4 `dxwatch worker` processes against one PostgreSQL database.

N generated portals on N loopback addresses (national_bench's portal server: 5 articles each) are
enqueued by `dxwatch schedule run --once` in crawl jobs of `--batch-size` sources, then W workers
(`dxwatch worker`, one job at a time each) drain the queue. A fresh database per W, on one
throwaway PostgreSQL server (tests/postgres.py: initdb/pg_ctl on loopback, fsync off). Measured
for each W:
  - wall time from the workers' start to an empty queue, articles per second, and the speed-up
    against W=1 measured in the same run;
  - the share of crawl time spent waiting on the database, by sampling pg_stat_activity every
    0.2 s: client sessions running a statement, and those among them waiting on a lock, over the
    crawl children alive at that moment; and among the lock waits, those on a write key (the
    advisory locks writers checking the same URL, body or band take turns on);
  - CPU seconds of the crawl processes and of PostgreSQL, per article; database bytes per article
    (over an empty database with the same tables);
  - duplicates (stored articles minus distinct URLs): must be 0.
Usage: python bench/scaleout_bench.py [--hosts 3000] [--workers 1,2,4] [--batch-size 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the test PostgreSQL server (tests/postgres.py)

from national_bench import ARTICLES, Portals, _children, write_config  # noqa: E402

RUN_LIMIT = 3600   # seconds one worker count may take before the benchmark gives up
SAMPLE = 0.2       # seconds between two looks at pg_stat_activity


def cpu_seconds(pid: int, children: bool = True) -> float:
    """utime + stime of a process (with `children`, plus those of its reaped children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def server_cpu(postmaster: int) -> float:
    """CPU of the PostgreSQL server: the postmaster with its reaped backends, plus the live ones (a
    backend that ends between the listing and the read is counted in the postmaster's next read)."""
    live = 0.0
    for pid in _children().get(postmaster, []):
        try:
            live += cpu_seconds(pid, children=False)
        except FileNotFoundError:
            continue
    return cpu_seconds(postmaster) + live


def crawl_children(workers: list[subprocess.Popen]) -> int:
    tree = _children()
    return sum(len(tree.get(worker.pid, [])) for worker in workers)


class Sampler(threading.Thread):
    """pg_stat_activity every SAMPLE seconds: busy client sessions, lock waits, crawl children."""

    def __init__(self, url: str, workers: list[subprocess.Popen]):
        super().__init__(daemon=True)
        self.url, self.workers = url, workers
        self.samples: list[tuple[int, int, int, int]] = []  # (crawl children, active sessions, waiting on a
        self.stop = threading.Event()                        # lock, waiting on a write key)

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(SAMPLE):
                rows = conn.execute(
                    "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND state = 'active' "
                    "AND application_name <> 'dxwatch host locks' AND query NOT ILIKE '%%LISTEN%%'").fetchall()
                children = crawl_children(self.workers)
                self.samples.append((children, len(rows), sum(1 for kind, _ in rows if kind == "Lock"),
                                     sum(1 for kind, event in rows if (kind, event) == ("Lock", "advisory"))))

    def shares(self) -> dict:
        crawling = [s for s in self.samples if s[0]]
        child_time = sum(s[0] for s in crawling) or 1
        return {"samples": len(crawling),
                "db_busy_share": round(sum(min(s[1], s[0]) for s in crawling) / child_time, 3),
                "db_lock_wait_share": round(sum(min(s[2], s[0]) for s in crawling) / child_time, 3),
                "db_key_wait_share": round(sum(min(s[3], s[0]) for s in crawling) / child_time, 3)}


def empty_size(server) -> int:
    """Bytes of a database holding dxwatch's and the task queue's tables and nothing else."""
    import psycopg

    from crawler.db import close, open_db
    from scheduler.queue import install_schema

    url = server.new_database()
    try:
        close(open_db(url))
        install_schema(url)
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    finally:
        server.drop_database(url)


def run_workers(count: int, server, postmaster: int, config: Path, work: Path, batch_size: int,
                expected: int) -> dict:
    import psycopg

    from scheduler.queue import wait_for_jobs

    url = server.new_database()
    dxwatch = [sys.executable, "-m", "crawler", "--config", str(config), "--db", url]
    env = {**os.environ, "DXWATCH_DATA": str(work / f"data-{count}")}
    enqueue = subprocess.run([*dxwatch, "schedule", "run", "--once", "--batch-size", str(batch_size)],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if enqueue.returncode:
        raise SystemExit(f"enqueue failed: {enqueue.stderr[-3000:]}")
    cpu_db_before = server_cpu(postmaster)
    started = time.perf_counter()
    workers = [subprocess.Popen([*dxwatch, "worker", "--heartbeat", "5", "--name", f"bench-{count}-{i}"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=open(work / f"worker-{count}-{i}.log", "wb")) for i in range(count)]
    sampler = Sampler(url, workers)
    sampler.start()
    try:
        if not wait_for_jobs(url, timeout=RUN_LIMIT, poll=1.0):
            raise SystemExit(f"{count} workers: the queue was not drained in {RUN_LIMIT} s")
        wall = time.perf_counter() - started
        crawl_cpu = sum(cpu_seconds(worker.pid) for worker in workers)
        db_cpu = server_cpu(postmaster) - cpu_db_before
    finally:
        sampler.stop.set()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=120)
    with psycopg.connect(url) as conn:
        stored, distinct = conn.execute("SELECT count(*), count(DISTINCT url) FROM articles").fetchone()
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] - empty_size(server)
        runs = dict(conn.execute("SELECT status, count(*) FROM crawl_runs GROUP BY status").fetchall())
    server.drop_database(url)
    return {"workers": count, "wall_s": round(wall, 1), "articles": stored, "expected": expected,
            "duplicates": stored - distinct, "articles_per_s": round(stored / wall, 1),
            "crawl_cpu_ms_per_article": round(crawl_cpu * 1000 / max(stored, 1), 1),
            "db_cpu_ms_per_article": round(db_cpu * 1000 / max(stored, 1), 2),
            "db_bytes_per_article": round(size / max(stored, 1)), "crawl_runs": runs, **sampler.shares()}


def report(machine: dict, settings: dict, results: list[dict], json_path: Path | None) -> None:
    """Add each run's speed-up against the first (measured in the same run) and the load at the
    end, then print the report as JSON (and write it to `json_path`)."""
    base = results[0]["articles_per_s"] or 1
    for result in results:
        result["speed_up_vs_first"] = round(result["articles_per_s"] / base, 2)
    machine["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    text = json.dumps({"machine": machine, **settings, "results": results}, indent=2, ensure_ascii=False)
    print(text)
    if json_path:
        json_path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=3000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from postgres import PostgresServer, unavailable

    reason = unavailable()
    if reason:
        raise SystemExit(f"no PostgreSQL here: {reason}")
    work = Path(tempfile.mkdtemp(prefix="scaleout-bench-"))
    machine = {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 1) for x in os.getloadavg()]}
    print(f"machine: {machine}; work files in {work}", flush=True)
    server = PostgresServer().start()
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    portals = Portals(args.hosts, work)
    results = []
    try:
        config = work / "config"
        write_config(portals, config)
        for count in (int(n) for n in args.workers.split(",")):
            result = run_workers(count, server, postmaster, config, work, args.batch_size, args.hosts * ARTICLES)
            results.append(result)
            print(f"  {count} worker(s): {result}", flush=True)
    finally:
        portals.close()
        server.stop()
    report(machine, {"hosts": args.hosts, "batch_size": args.batch_size}, results, args.json)
    bad = [r["workers"] for r in results if r["duplicates"] or r["articles"] != r["expected"]]
    if bad:
        raise SystemExit(f"duplicates or missing articles with {bad} worker(s)")


if __name__ == "__main__":
    main()
