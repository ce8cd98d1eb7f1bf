"""National-scale benchmark: N portals on N loopback addresses, one config, one machine.

N generated portals (5 new articles each, a listing page, robots.txt) answer on N distinct
addresses 127.100.x.y (Linux routes all of 127.0.0.0/8 to `lo`), served by one asyncio process
that is NOT under the crawl's file-descriptor limit (binding N sockets is the server's cost).
Each crawl is the documented command, the `dxwatch` script installed beside this Python (README,
docs/operations.md), run under `ulimit -n 1024`, the usual soft limit; measured, for each N:
  1. the plain Scrapy baseline (one spider, trafilatura, one SQLite insert per article, the same
     politeness) over the same portals;
  2. `dxwatch crawl` of all N sources: wall time, peak RSS of the whole process tree, peak file
     descriptors of one process and of the tree, CPU per article, every source stored;
  3. `dxwatch crawl` again over the unchanged portals: only listing pages (and robots.txt) asked;
  4. the scheduler's path, `dxwatch schedule run --once`, on a fresh database, then again.
Usage: python bench/national_bench.py [--sizes 100,1000,4000] [--paths crawl,scheduler] [--skip-baseline] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from crawl_bench import article_page, article_url_path, listing_page

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = 5
FD_LIMIT = 1024
POLL = 0.25              # seconds between two samples of the process tree
RUN_LIMIT = 3600         # seconds any one crawl may take before the benchmark gives up on it
MAX_SIZE = 62_000        # 127.100.0.1 .. 127.100.247.250
# the documented command (README, docs/operations.md): the `dxwatch` script installed next to this Python
DXWATCH = [str(Path(sys.executable).with_name("dxwatch"))] if Path(sys.executable).with_name("dxwatch").exists() \
    else [sys.executable, "-m", "crawler"]


def address(i: int) -> str:
    return f"127.100.{i // 250}.{i % 250 + 1}"


def portal_index(host: str) -> int:
    _, _, third, fourth = (int(part) for part in host.split("."))
    return third * 250 + fourth - 1


# ---------------------------------------------------------------- the portals (a child process)


def answer(index: int, path: str) -> tuple[str, int, bytes]:
    """(kind, status, body) for a request to portal `index`."""
    if path == "/robots.txt":
        return "robots", 200, b"User-agent: *\nAllow: /\n"
    if path == "/tin-tuc/":
        return "listing", 200, listing_page(1, ARTICLES)
    if path.startswith("/tin-tuc/chuyen-doi-so/"):
        for i in range(ARTICLES):
            if path == article_url_path(i):
                return "article", 200, article_page(index, i)
    return "other", 404, "<html><body>Không tìm thấy</body></html>".encode()


class PortalProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, just enough for GET; the portal is the address connected to."""

    counts: dict[str, int] = {}
    MAX_HEAD = 16_384

    def connection_made(self, transport):
        self.transport = transport
        self.index = portal_index(transport.get_extra_info("sockname")[0])
        self.buffer = b""

    def data_received(self, data):
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.respond(head)
        if len(self.buffer) > self.MAX_HEAD:
            self.transport.close()

    def respond(self, head: bytes) -> None:
        try:
            method, path, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        except ValueError:
            self.transport.close()
            return
        if path == "/_bench/stats":
            kind, status, body = "control", 200, json.dumps(self.counts).encode()
        elif path == "/_bench/reset":
            self.counts.clear()
            kind, status, body = "control", 200, b"{}"
        else:
            kind, status, body = answer(self.index, path)
            self.counts[kind] = self.counts.get(kind, 0) + 1
        content_type = "text/plain" if kind in ("robots", "control") else "text/html; charset=utf-8"
        close = b"connection: close" in head.lower()
        self.transport.write(
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n"
            .encode("latin-1") + (body if method != "HEAD" else b""))
        if close:
            self.transport.close()


def serve(count: int, port_file: str) -> None:
    """Bind `count` portals on one port (the first free one tried) and serve until SIGTERM."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for port in range(28_000 + os.getpid() % 1000, 60_000, 97):
            servers = []
            try:
                for i in range(count):
                    servers.append(await loop.create_server(PortalProtocol, address(i), port, backlog=512))
                break
            except OSError:
                for server in servers:
                    server.close()
        else:
            raise SystemExit("no free port on the loopback addresses")
        Path(port_file).write_text(str(port))
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()

    asyncio.run(main())


class Portals:
    def __init__(self, count: int, work: Path):
        port_file = work / f"port-{count}"
        self.process = subprocess.Popen([sys.executable, __file__, "--serve", str(count), str(port_file)])
        deadline = time.monotonic() + 120
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit("the portal server did not start")
            time.sleep(0.1)
        self.port = int(port_file.read_text())
        self.count = count

    def url(self, i: int, path: str = "/tin-tuc/") -> str:
        return f"http://{address(i)}:{self.port}{path}"

    def stats(self, reset: bool = False) -> dict[str, int]:
        with urllib.request.urlopen(self.url(0, "/_bench/stats"), timeout=30) as response:
            counts = json.loads(response.read())
        if reset:
            urllib.request.urlopen(self.url(0, "/_bench/reset"), timeout=30).close()
        return counts

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


# ---------------------------------------------------------------- measuring a process tree


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def _sample(root: int) -> tuple[int, int, int, int]:
    """(RSS bytes of the tree, fds of the tree, most fds in one process, processes)."""
    tree, todo, rss, fds, most, seen = _children(), [root], 0, 0, 0, 0
    page = os.sysconf("SC_PAGE_SIZE")
    while todo and seen < 10_000:
        pid = todo.pop()
        seen += 1
        todo.extend(tree.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm") as handle:
                rss += int(handle.read().split()[1]) * page
            count = len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
        fds += count
        most = max(most, count)
    return rss, fds, most, seen


def measured(cmd: list[str], label: str, log: Path) -> dict:
    """Run `cmd` under `ulimit -n FD_LIMIT`, sampling its process tree; fail loudly on a bad exit."""
    def limit_fds():
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(log, "wb") as sink:
        process = subprocess.Popen(cmd, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, preexec_fn=limit_fds)
        peak = {"rss": 0, "fds": 0, "fds_one": 0, "processes": 0}
        while process.poll() is None:
            if time.perf_counter() - started > RUN_LIMIT:
                process.kill()
                raise SystemExit(f"{label}: still running after {RUN_LIMIT} s; see {log}")
            rss, fds, most, count = _sample(process.pid)
            peak = {"rss": max(peak["rss"], rss), "fds": max(peak["fds"], fds),
                    "fds_one": max(peak["fds_one"], most), "processes": max(peak["processes"], count)}
            time.sleep(POLL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{label}: exit code {process.returncode}\n{tail}")
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "peak_rss_mb": round(peak["rss"] / 2**20),
            "peak_fds_tree": peak["fds"], "peak_fds_one_process": peak["fds_one"], "processes": peak["processes"]}


def db_counts(db: Path) -> dict:
    with sqlite3.connect(db) as conn:
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        runs = dict(conn.execute("SELECT status, count(*) FROM crawl_runs WHERE id IN "
                                 "(SELECT max(id) FROM crawl_runs GROUP BY source) GROUP BY status").fetchall())
    return {"articles": articles, "last_run_by_status": runs}


def config_load(config: Path) -> dict:
    """Seconds to load sources.yaml (best of 3): dxwatch's loader, and the pure-Python loader parsing
    the text twice (compose for line numbers, then load) as dxwatch did before, for comparison."""
    import yaml

    from crawler.config import load_config

    def best(call) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        return round(min(times), 3)

    text = (config / "sources.yaml").read_text(encoding="utf-8")
    return {"dxwatch_s": best(lambda: load_config(config)),
            "pure_python_twice_s": best(lambda: (yaml.compose(text, Loader=yaml.SafeLoader),
                                                 yaml.load(text, Loader=yaml.SafeLoader)))}  # noqa: S506


def six_hours_later(db: Path) -> None:
    """The scheduler's re-crawl comes round when the schedule says (every 6h) and `--if-due` agrees:
    the recorded crawl times are moved back seven hours and the stored next run times cleared, as
    if the scheduler were started again seven hours later."""
    from datetime import datetime, timedelta

    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, started, finished FROM crawl_runs").fetchall()
        back = lambda t: t and (datetime.fromisoformat(t) - timedelta(hours=7)).isoformat(timespec="seconds")  # noqa: E731
        conn.executemany("UPDATE crawl_runs SET started = ?, finished = ? WHERE id = ?",
                         [(back(started), back(finished), run_id) for run_id, started, finished in rows])
        conn.execute("DELETE FROM scheduler_jobs")


# ---------------------------------------------------------------- one size


def write_config(portals: Portals, directory: Path) -> None:
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    sources = [{"name": f"xa-{i:05d}", "title": f"Cổng thông tin điện tử xã {i}", "level": "provincial",
                "province": f"Tỉnh {i % 34}", "start_urls": [portals.url(i)], "schedule": "every 6h"}
               for i in range(portals.count)]
    settings = {"crawl_time_limit": RUN_LIMIT}  # politeness as configured by default
    (directory / "sources.yaml").write_text(yaml.safe_dump({"settings": settings, "sources": sources},
                                                           allow_unicode=True), encoding="utf-8")


def run_size(count: int, work: Path, paths: list[str], baseline: bool) -> dict:
    portals = Portals(count, work)
    try:
        config = work / f"config-{count}"
        write_config(portals, config)
        expected = count * ARTICLES
        result: dict = {"sources": count, "articles": expected}
        dxwatch = [*DXWATCH, "--config", str(config)]
        result["config_load"] = config_load(config)
        print(f"  config load: {result['config_load']}", flush=True)
        if baseline:
            base_db = work / f"baseline-{count}.db"
            urls = work / f"urls-{count}.json"
            urls.write_text(json.dumps([portals.url(i) for i in range(count)]))
            portals.stats(reset=True)
            run = measured([sys.executable, str(Path(__file__).resolve()), "--baseline", str(urls), str(base_db)],
                           f"baseline {count}", work / f"baseline-{count}.log")
            with sqlite3.connect(base_db) as conn:
                stored = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            result["baseline"] = {**run, "stored": stored, "cpu_ms_per_article": round(run["cpu_s"] * 1000 / expected, 1)}
            print(f"  baseline: {result['baseline']}", flush=True)
        commands = {"crawl": ["crawl"], "scheduler": ["schedule", "run", "--once"]}
        for name in paths:
            command = commands[name]
            db = work / f"{name}-{count}.db"
            for phase in ("first", "again"):
                if name == "scheduler" and phase == "again":
                    six_hours_later(db)
                portals.stats(reset=True)
                run = measured([*dxwatch, "--db", str(db), *command], f"{name} {phase} {count}",
                               work / f"{name}-{phase}-{count}.log")
                counts = db_counts(db)
                requests = portals.stats()
                run.update(counts, requests=requests)
                if phase == "first" and name == "crawl":  # a crawl process with nothing to do
                    result["crawl_nothing_due"] = measured([*dxwatch, "--db", str(db), "crawl", "--if-due"],
                                                           f"crawl --if-due {count}", work / f"idle-{count}.log")
                    print(f"  crawl --if-due, nothing due: {result['crawl_nothing_due']}", flush=True)
                if phase == "first":
                    run["cpu_ms_per_article"] = round(run["cpu_s"] * 1000 / max(counts["articles"], 1), 1)
                    run["every_source_stored"] = (counts["articles"] == expected
                                                  and counts["last_run_by_status"].get("ok") == count)
                else:
                    run["only_listing_requests"] = requests.get("article", 0) == 0 and counts["articles"] == expected
                result[f"{name}_{phase}"] = run
                print(f"  {name} {phase}: {run}", flush=True)
        return result
    finally:
        portals.close()


def baseline(urls_file: str, db_file: str) -> None:
    """The plain single-spider Scrapy crawl (crawl_bench's) with dxwatch's default politeness."""
    from crawl_bench import baseline_worker

    baseline_worker(json.loads(Path(urls_file).read_text()), db_file, download_delay=0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,4000")
    parser.add_argument("--paths", default="crawl,scheduler", help="which of crawl,scheduler to run")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--serve", nargs=2, metavar=("COUNT", "PORT_FILE"))
    parser.add_argument("--baseline", nargs=2, metavar=("URLS_JSON", "DB"))
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    if args.baseline:
        baseline(*args.baseline)
        return
    sizes = [int(n) for n in args.sizes.split(",")]
    if any(n < 1 or n > MAX_SIZE for n in sizes):
        raise SystemExit(f"sizes must be 1..{MAX_SIZE}")
    work = Path(tempfile.mkdtemp(prefix="national-bench-"))
    machine = {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 1) for x in os.getloadavg()],
               "fd_limit": FD_LIMIT}
    print(f"machine: {machine}; work files in {work}", flush=True)
    results = []
    for count in sizes:
        print(f"== {count} portals", flush=True)
        results.append(run_size(count, work, args.paths.split(","), not args.skip_baseline))
    report = {"machine": machine, "results": results}
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    failed = [f"{r['sources']} {k}" for r in results for k, v in r.items()
              if isinstance(v, dict) and v.get("every_source_stored") is False or
              isinstance(v, dict) and v.get("only_listing_requests") is False]
    if failed:
        raise SystemExit(f"not every source was stored, or a re-crawl fetched articles: {', '.join(failed)}")


if __name__ == "__main__":
    main()
