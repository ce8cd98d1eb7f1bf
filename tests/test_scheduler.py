"""The scheduler for real: `dxwatch schedule run` in a child process, second-scale schedules,
a real SQLite file, crawl children that are small scripts (raise, hang, write), signals.

Crawl children are replaced through DXWATCH_CRAWL_COMMAND by a script written here, so a crawl
can crash or hang on purpose; everything else (APScheduler, job store, lock, records) is real.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from crawler import timeutil
from crawler.db import open_db, runs
from crawler.db.runs import RunKey
from helpers import dxwatch

FAKE_CRAWL = textwrap.dedent(
    """
    import os, sqlite3, sys, time
    from datetime import datetime
    from zoneinfo import ZoneInfo
    args = sys.argv[1:]
    sources = [args[i + 1] for i, arg in enumerate(args) if arg == "--source"]
    db = os.environ["DXWATCH_DB"]  # the scheduler passes the database in the environment, never on the command line
    for source in sources:
        marker = os.path.join(os.path.dirname(db), f"{source}.pids")
        with open(marker, "a") as out:
            out.write(f"{os.getpid()}\\n")
        print(f"thu thập {source}", flush=True)
    # like `dxwatch crawl`: each source of the batch gets its own crawl_runs row
    now = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).isoformat(timespec="seconds")
    conn = sqlite3.connect(db, timeout=30)
    with conn:
        conn.execute("CREATE TABLE IF NOT EXISTS fake_pages (source TEXT, n INTEGER)")
        for source in sources:
            if source.startswith("hang"):
                continue
            failed = source.startswith("boom")
            conn.execute("INSERT INTO crawl_runs (source, started, finished, status, last_error) VALUES (?, ?, ?, ?, ?)",
                         (source, now, now, "failed" if failed else "ok", "http_500: lỗi 500" if failed else None))
            if not failed:
                conn.executemany("INSERT INTO fake_pages VALUES (?, ?)", [(source, i) for i in range(200)])
    conn.close()
    if any(source.startswith("boom") for source in sources):
        raise SystemExit("cổng thông tin trả lỗi 500 liên tục")
    if any(source.startswith("hang") for source in sources):
        time.sleep(600)
    """
)


def source_entry(name: str, schedule: str, enabled: bool = True) -> str:
    return textwrap.dedent(
        f"""\
          - name: {name}
            title: Cổng thông tin {name}
            level: provincial
            province: Tỉnh {name.title()}
            start_urls: [http://127.0.0.1:9/tin-tuc]
            schedule: {schedule}
            enabled: {str(enabled).lower()}
            allow_fast_schedule: true
        """
    )


def write_sources(config_dir: Path, entries: list[str], time_limit: int = 10, parallel: int = 3) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    text = f"settings:\n  crawl_time_limit: {time_limit}\n  max_parallel_crawls: {parallel}\nsources:\n"
    (config_dir / "sources.yaml").write_text(text + "".join(entries), encoding="utf-8")


class Scheduler:
    """One `dxwatch schedule run` child process with its stderr in a file."""

    def __init__(self, tmp_path: Path, config_dir: Path, db: Path, *extra: str, once: bool = False,
                 fake_crawls: bool = True):
        script = tmp_path / "fake_crawl.py"
        script.write_text(FAKE_CRAWL, encoding="utf-8")
        self.stderr_path = tmp_path / f"scheduler-{time.monotonic_ns()}.err"
        env = {**os.environ}
        env.pop("DXWATCH_CRAWL_COMMAND", None)
        if fake_crawls:
            env["DXWATCH_CRAWL_COMMAND"] = f"{sys.executable} {script}"
        command = [sys.executable, "-m", "crawler", "--config", str(config_dir), "--db", str(db),
                   "schedule", "run", "--kill-grace", "1", *(["--once"] if once else []), *extra]
        self._stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._stderr, env=env)

    def log(self) -> list[dict]:
        lines = self.stderr_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def messages(self) -> list[str]:
        return [entry["message"] for entry in self.log()]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self._stderr.close()
        return code

    def wait(self, timeout: float = 30) -> int:
        code = self.process.wait(timeout=timeout)
        self._stderr.close()
        return code

    def __enter__(self) -> "Scheduler":
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


def wait_until(predicate, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def query(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        conn.close()


def outcomes(db: Path, job_id: str) -> list[str]:
    return [r[0] for r in query(db, "SELECT outcome FROM job_runs WHERE job_id = ? ORDER BY id", (job_id,))]


def stored_jobs(db: Path) -> set[str]:
    return {r[0] for r in query(db, "SELECT id FROM scheduler_jobs")}


def cli(config_dir: Path, db: Path, *args: str) -> subprocess.CompletedProcess:
    return dxwatch("--config", config_dir, "--db", db, *args, env={"COLUMNS": "200"}, timeout=60)


# ---------------------------------------------------------------- records (no process)


def test_digest_run_key_is_claimed_once(db_path):
    from crawler.db import open_db

    db = open_db(db_path)
    fire = datetime(2026, 11, 23, 8, 0, tzinfo=timeutil.VN)
    key = RunKey("digest:tuan", "digest", "tuan", fire)
    first = runs.start_job_run(db, key)
    assert first is not None
    assert runs.start_job_run(db, key) is None, "a second run for the same fire time must be refused while running"
    runs.finish_job_run(db, first, "ok")
    assert runs.start_job_run(db, key) is None, "and once it was sent"
    other = runs.start_job_run(db, RunKey("digest:tuan", "digest", "tuan", datetime(2026, 11, 30, 8, 0, tzinfo=timeutil.VN)))
    runs.finish_job_run(db, other, "failed", "SMTP 451")
    retry = runs.start_job_run(db, RunKey("digest:tuan", "digest", "tuan", datetime(2026, 11, 30, 8, 0, tzinfo=timeutil.VN)))
    assert retry is not None, "a failed run may be tried again with the same key"
    assert runs.close_abandoned_job_runs(db) == [RunKey("digest:tuan", "digest", "tuan",
                                                    datetime(2026, 11, 30, 8, 0, tzinfo=timeutil.VN))]
    assert runs.last_job_runs(db)["digest:tuan"]["outcome"] == "interrupted"


# ---------------------------------------------------------------- schedule list and --once


@pytest.mark.slow
def test_schedule_list_shows_every_job_then_outcomes_after_once(tmp_path):
    config_dir, db = tmp_path / "config", tmp_path / "data" / "dxwatch.db"
    write_sources(config_dir, [source_entry("an-giang", "every 1h"), source_entry("boom", "every 2h"),
                               source_entry("ca-mau", "every 1h", enabled=False)])
    (config_dir / "digests.yaml").write_text(textwrap.dedent(
        """\
        smtp: {host: 127.0.0.1, port: 2525, sender: dxwatch@example.org}
        digests:
          - name: tuan
            schedule: "0 8 * * mon"
            recipients: [ban-tin@example.org]
        """), encoding="utf-8")

    assert cli(config_dir, db, "schedule", "list").returncode == 2  # a --db that names no file is refused
    open_db(db)  # an empty database: nothing has run yet
    listed = cli(config_dir, db, "schedule", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["job"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert set(rows) == {"crawl:an-giang", "crawl:boom", "crawl:ca-mau", "digest:tuan"}
    assert rows["crawl:ca-mau"]["schedule"] == "disabled" and rows["crawl:ca-mau"]["next_run"] is None
    monday = timeutil.parse_iso(rows["digest:tuan"]["next_run"])
    assert (monday.weekday(), monday.hour, monday.minute) == (0, 8, 0)
    assert monday.utcoffset().total_seconds() == 7 * 3600
    assert all(row["next_run_planned"] and row["last_outcome"] is None
               for job, row in rows.items() if job != "crawl:ca-mau")

    with Scheduler(tmp_path, config_dir, db, once=True) as first:
        assert first.wait() == 1, "a failed crawl makes --once exit 1 (for cron)"
    assert outcomes(db, "crawl:an-giang") == ["ok"]
    assert outcomes(db, "crawl:boom") == ["failed"]
    assert outcomes(db, "digest:tuan") == [], "the digest was not due"
    detail = query(db, "SELECT detail FROM job_runs WHERE job_id = 'crawl:boom'")[0][0]
    assert "exit code 1" in detail and "lỗi 500" in detail

    listed = cli(config_dir, db, "schedule", "list", "--json")
    rows = {row["job"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert rows["crawl:boom"]["last_outcome"] == "failed"
    assert rows["crawl:an-giang"]["last_outcome"] == "ok" and not rows["crawl:an-giang"]["next_run_planned"]
    next_crawl = timeutil.parse_iso(rows["crawl:an-giang"]["next_run"])
    assert 3000 < (next_crawl - timeutil.now()).total_seconds() <= 3600

    table = cli(config_dir, db, "schedule", "list")
    assert "crawl:boom" in table.stdout and "failed" in table.stdout

    with Scheduler(tmp_path, config_dir, db, once=True) as second:
        assert second.wait() == 0
    assert outcomes(db, "crawl:an-giang") == ["ok"], "nothing was due the second time"


def test_once_crawls_a_loopback_portal_with_the_real_crawl_command(tmp_path, portal):
    from helpers import paged_site, write_config

    paged_site(portal, count=4, per_page=2)
    config_dir, db = tmp_path / "config", tmp_path / "dxwatch.db"
    write_config(config_dir, [{"name": "lao-cai", "start_urls": [portal.url("/tin-tuc/chuyen-doi-so.html")],
                               "schedule": "every 1h"}])
    with Scheduler(tmp_path, config_dir, db, once=True, fake_crawls=False) as once:
        assert once.wait(timeout=180) == 0
    assert outcomes(db, "crawl:lao-cai") == ["ok"], (tmp_path / "logs" / "crawl-lao-cai.log").read_text()
    assert query(db, "SELECT COUNT(*) FROM articles WHERE source = 'lao-cai'") == [(4,)]
    assert query(db, "SELECT status FROM crawl_runs WHERE source = 'lao-cai'") == [("ok",)]
    detail = query(db, "SELECT detail FROM job_runs WHERE job_id = 'crawl:lao-cai'")[0][0]
    assert detail.startswith("ok: ") and "4 new, 0 known" in detail
    assert (tmp_path / "logs" / "crawl-lao-cai.log").stat().st_size > 0, "the crawl's own output is kept"


def test_alerts_are_checked_after_a_crawl(tmp_path, portal, smtp):
    from helpers import paged_site, write_config

    paged_site(portal, count=2, per_page=2)
    config_dir, db = tmp_path / "config", tmp_path / "dxwatch.db"
    write_config(config_dir, [{"name": "hue", "start_urls": [portal.url("/tin-tuc/chuyen-doi-so.html")]}])
    (config_dir / "digests.yaml").write_text(textwrap.dedent(
        f"""\
        smtp: {{host: 127.0.0.1, port: {smtp.port}, sender: dxwatch@example.org}}
        alerts:
          - name: tin-moi
            items: [articles]
            recipients: [truc-ban@example.org]
        """), encoding="utf-8")
    with Scheduler(tmp_path, config_dir, db, once=True, fake_crawls=False) as once:
        assert once.wait(timeout=180) == 0
    assert outcomes(db, "crawl:hue") == ["ok"]
    assert outcomes(db, "alerts") == ["ok"]
    assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "truc-ban@example.org"
    listed = {row["job"]: row for row in map(json.loads, cli(config_dir, db, "schedule", "list", "--json").stdout.splitlines())}
    assert listed["alerts"]["schedule"] == "after each crawl" and listed["alerts"]["last_outcome"] == "ok"


# ---------------------------------------------------------------- the long-running scheduler


@pytest.mark.slow
def test_crashing_and_hanging_crawls_leave_the_scheduler_running(tmp_path):
    config_dir, db = tmp_path / "config", tmp_path / "dxwatch.db"
    write_sources(config_dir, [source_entry("boom", "every 1s"), source_entry("hang", "every 1s"),
                               source_entry("binh-duong", "every 1s")], time_limit=10)
    with Scheduler(tmp_path, config_dir, db) as scheduler:
        wait_until(lambda: "timeout" in outcomes(db, "crawl:hang"), timeout=40, what="the hanging crawl to time out")
        timed_out_at = time.monotonic()
        ok_before = outcomes(db, "crawl:binh-duong").count("ok")
        wait_until(lambda: outcomes(db, "crawl:binh-duong").count("ok") >= ok_before + 2, what="crawls after the timeout")
        assert scheduler.process.poll() is None, "the scheduler kept running"
        assert scheduler.stop() == 0
    assert time.monotonic() - timed_out_at < 20
    hang = outcomes(db, "crawl:hang")
    assert "skipped" in hang, "runs that fired while the hanging crawl was going were skipped, not stacked"
    assert hang.count("timeout") >= 1
    assert outcomes(db, "crawl:boom").count("failed") >= 2
    detail = query(db, "SELECT detail FROM job_runs WHERE job_id = 'crawl:hang' AND outcome = 'timeout'")[0][0]
    assert "time limit of 10 s" in detail
    pids = [int(p) for p in (tmp_path / "hang.pids").read_text().split()]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_sigterm_stops_cleanly_with_the_database_intact(tmp_path):
    config_dir, db = tmp_path / "config", tmp_path / "dxwatch.db"
    write_sources(config_dir, [source_entry("hang", "every 1h"), source_entry("writer", "every 1s")])
    with Scheduler(tmp_path, config_dir, db) as scheduler:
        wait_until(lambda: "running" in outcomes(db, "crawl:hang"), what="the hanging crawl to start")
        wait_until(lambda: outcomes(db, "crawl:writer").count("ok") >= 2, what="writing crawls")
        started = time.monotonic()
        assert scheduler.stop(signal.SIGTERM) == 0
        assert time.monotonic() - started < 10
        messages = scheduler.messages()
    assert "scheduler stopped" in messages
    logged = [json.loads(line) for line in (tmp_path / "logs" / "scheduler.log").read_text(encoding="utf-8").splitlines()]
    assert [e["message"] for e in logged] == messages, "the log file holds the same structured lines as stderr"
    assert {"job": "crawl:hang", "outcome": "interrupted"}.items() <= next(
        e for e in logged if e["message"] == "crawl finished" and e["job"] == "crawl:hang").items()
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert outcomes(db, "crawl:hang") == ["interrupted"]
    assert not query(db, "SELECT id FROM job_runs WHERE outcome = 'running'")
    for pid in map(int, (tmp_path / "hang.pids").read_text().split()):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert query(db, "SELECT COUNT(*) % 200 FROM fake_pages") == [(0,)], "each child wrote whole transactions"


def test_sigint_also_exits_zero(tmp_path):
    config_dir, db = tmp_path / "config", tmp_path / "dxwatch.db"
    write_sources(config_dir, [source_entry("writer", "every 1h")])
    with Scheduler(tmp_path, config_dir, db) as scheduler:
        wait_until(lambda: "ok" in outcomes(db, "crawl:writer"), what="the first crawl")
        assert scheduler.stop(signal.SIGINT) == 0


def test_an_invalid_config_at_start_is_one_line_and_exit_code_2(tmp_path):
    config_dir, db = tmp_path / "config", tmp_path / "dxwatch.db"
    write_sources(config_dir, [source_entry("an-giang", "mỗi sáng thứ hai")])
    with Scheduler(tmp_path, config_dir, db) as scheduler:
        assert scheduler.wait() == 2
        error = scheduler.stderr_path.read_text(encoding="utf-8")
    assert "sources.yaml:10: sources[0].schedule: not a schedule" in error and "Traceback" not in error
    assert not query(db, "SELECT id FROM scheduler_jobs")


def test_second_scheduler_on_the_same_database_is_refused(tmp_path):
    config_dir, db = tmp_path / "config", tmp_path / "dxwatch.db"
    write_sources(config_dir, [source_entry("writer", "every 1h")])
    with Scheduler(tmp_path, config_dir, db) as first:
        wait_until(lambda: "crawl:writer" in stored_jobs(db), what="the first scheduler to start")
        (tmp_path / "alias").symlink_to(tmp_path)
        for once, same_db in ((False, db), (True, tmp_path / "alias" / "dxwatch.db")):
            with Scheduler(tmp_path, config_dir, same_db, once=once) as second:
                assert second.wait() == 1
                error = second.stderr_path.read_text(encoding="utf-8")
            assert "another scheduler is already running" in error
            assert f"pid {first.process.pid}" in error
            assert "Traceback" not in error
        assert first.process.poll() is None, "the first one is untouched"
        assert first.stop() == 0
    with Scheduler(tmp_path, config_dir, db, once=True) as after:
        assert after.wait() == 0, "the lock is free once the first one stopped"


def test_config_edits_add_and_remove_jobs_and_bad_edits_keep_jobs(tmp_path):
    config_dir, db = tmp_path / "config", tmp_path / "dxwatch.db"
    write_sources(config_dir, [source_entry("an-giang", "every 1h"), source_entry("boom", "every 1h")])
    with Scheduler(tmp_path, config_dir, db) as scheduler:
        wait_until(lambda: stored_jobs(db) == {"crawl:an-giang", "crawl:boom"}, what="the first jobs")

        write_sources(config_dir, [source_entry("an-giang", "every 2h"), source_entry("dong-thap", "every 1h")])
        wait_until(lambda: stored_jobs(db) == {"crawl:an-giang", "crawl:dong-thap"}, what="the edit to apply")
        wait_until(lambda: "ok" in outcomes(db, "crawl:dong-thap"), what="the new source to be crawled at once")
        reconciled = [e for e in scheduler.log() if e["message"] == "jobs reconciled with the config"][-1]
        assert reconciled == {**reconciled, "added": ["crawl:dong-thap"], "changed": ["crawl:an-giang"],
                              "removed": ["crawl:boom"]}

        write_sources(config_dir, [source_entry("an-giang", "mỗi sáng thứ hai")])
        failure = wait_until(lambda: [e for e in scheduler.log() if e["message"].startswith("config reload failed")],
                             what="the bad edit to be reported")
        assert "sources.yaml:10: sources[0].schedule: not a schedule" in failure[0]["error"]
        assert stored_jobs(db) == {"crawl:an-giang", "crawl:dong-thap"}, "the running jobs are kept"

        write_sources(config_dir, [source_entry("an-giang", "every 2h")])
        scheduler.process.send_signal(signal.SIGHUP)
        wait_until(lambda: stored_jobs(db) == {"crawl:an-giang"}, what="the fixed config to apply")
        wait_until(lambda: "reload requested (SIGHUP)" in scheduler.messages(), what="SIGHUP to be handled")
        assert scheduler.process.poll() is None, "SIGHUP reloads, it does not stop the scheduler"
        assert scheduler.stop() == 0


# ---------------------------------------------------------------- digests across restarts


def write_digest_config(config_dir: Path, smtp_port: int, schedule: str) -> None:
    write_sources(config_dir, [source_entry("an-giang", "every 1h", enabled=False)])
    (config_dir / "digests.yaml").write_text(textwrap.dedent(
        f"""\
        smtp: {{host: 127.0.0.1, port: {smtp_port}, sender: dxwatch@example.org}}
        digests:
          - name: nhanh
            title: Bản tin thử nghiệm
            schedule: "{schedule}"
            when_empty: send
            recipients: [lanh-dao@example.org]
        """), encoding="utf-8")


def digest_next_run(db: Path) -> datetime | None:
    rows = query(db, "SELECT next_run_time FROM scheduler_jobs WHERE id = 'digest:nhanh'")
    return datetime.fromtimestamp(rows[0][0], timeutil.VN) if rows else None


def test_a_digest_missed_while_down_is_sent_once_at_restart(tmp_path, smtp):
    config_dir, db = tmp_path / "config", tmp_path / "dxwatch.db"
    write_digest_config(config_dir, smtp.port, "every 6s")
    with Scheduler(tmp_path, config_dir, db) as first:
        due = wait_until(lambda: digest_next_run(db), what="the digest job to be stored")
        assert first.stop() == 0
    assert timeutil.now() < due, "stopped before the digest was due"
    assert smtp.messages == []
    time.sleep(max(0.0, (due - timeutil.now()).total_seconds()) + 0.5)

    restarting = timeutil.now()
    with Scheduler(tmp_path, config_dir, db, "--digest-grace", "1h") as second:
        wait_until(lambda: "ok" in outcomes(db, "digest:nhanh"), what="the missed digest to be sent")
        assert second.stop() == 0
    # Fire times missed while down coalesce into one send, stamped with the latest of them (more than
    # one is missed when the restart takes longer than the interval, as on a loaded machine).
    sent_for_missed = query(db, "SELECT scheduled, outcome FROM job_runs WHERE job_id = 'digest:nhanh' "
                                "AND scheduled >= ? AND scheduled <= ?", (timeutil.iso(due), timeutil.iso(restarting)))
    assert [outcome for _, outcome in sent_for_missed] == ["ok"]
    missed_run = sent_for_missed[0][0]
    ok_runs = outcomes(db, "digest:nhanh").count("ok")  # a later fire time may also have come round
    assert len(smtp.messages) == ok_runs
    assert all(m["To"] == "lanh-dao@example.org" for m in smtp.messages)

    with Scheduler(tmp_path, config_dir, db, once=True) as third:
        assert third.wait() == 0
    assert query(db, "SELECT COUNT(*) FROM job_runs WHERE job_id = 'digest:nhanh' AND scheduled = ? AND outcome = 'ok'",
                 (missed_run,)) == [(1,)], "a restart never sends the same run again"
    assert len(smtp.messages) == outcomes(db, "digest:nhanh").count("ok")


def test_a_digest_missed_beyond_the_grace_period_is_recorded_not_sent(tmp_path, smtp):
    config_dir, db = tmp_path / "config", tmp_path / "dxwatch.db"
    write_digest_config(config_dir, smtp.port, "every 6s")
    with Scheduler(tmp_path, config_dir, db) as first:
        due = wait_until(lambda: digest_next_run(db), what="the digest job to be stored")
        assert first.stop() == 0
    # with start-up on top, the run is found more than the 1 s grace late (and
    # well before the next fire time, six seconds on)
    time.sleep(max(0.0, (due - timeutil.now()).total_seconds()) + 1.0)
    with Scheduler(tmp_path, config_dir, db, "--digest-grace", "1s", once=True) as late:
        assert late.wait() == 0
    assert outcomes(db, "digest:nhanh") == ["missed"]
    assert smtp.messages == []


def test_a_digest_cut_short_by_a_crash_is_resumed_with_its_run_key(tmp_path, smtp):
    from crawler.db import open_db

    config_dir, db_path = tmp_path / "config", tmp_path / "dxwatch.db"
    write_digest_config(config_dir, smtp.port, "0 8 * * mon")
    fire = timeutil.now().replace(microsecond=0) - timedelta(minutes=5)
    db = open_db(db_path)
    runs.start_job_run(db, RunKey("digest:nhanh", "digest", "nhanh", fire))  # what a killed scheduler leaves
    old = runs.start_job_run(db, RunKey("digest:nhanh", "digest", "nhanh", fire - timedelta(days=2)))
    db.conn.close()
    with Scheduler(tmp_path, config_dir, db_path, "--digest-grace", "1h", once=True) as once:
        assert once.wait() == 0
    rows = query(db_path, "SELECT scheduled, outcome FROM job_runs ORDER BY id")
    assert rows == [(timeutil.iso(fire), "interrupted"), (timeutil.iso(fire - timedelta(days=2)), "interrupted"),
                    (timeutil.iso(fire), "ok")], "resumed within the grace period only"
    assert old and len(smtp.messages) == 1
    with Scheduler(tmp_path, config_dir, db_path, "--digest-grace", "1h", once=True) as again:
        assert again.wait() == 0
    assert len(smtp.messages) == 1
