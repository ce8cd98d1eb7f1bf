"""A write that fails is a failure: a full filesystem, a write lock held past the busy timeout and a
damaged database file each fail the crawl with one line and a non-zero exit code, and what was not
stored is stored by the next crawl, once.

The full disk is a real small filesystem (a tmpfs mounted for the test, so it needs root; skipped
otherwise), the lock is held by another process with BEGIN IMMEDIATE, the damage is real bytes
overwritten in the file.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlite_utils

from servers import Page
from helpers import (article_html, article_path, count, crawl, last_runs, listing_html, run_dxwatch, start_dxwatch,
                     wait_for, write_config)

LISTING = "/tin-tuc/chuyen-doi-so.html"


def big_article(i: int) -> str:
    """An article of ~30 KB of distinct text, so a few of them fill a small filesystem."""
    extra = "".join(f"<p>Đoạn {k} của bài {i}: tỉnh tiếp tục triển khai chuyển đổi số, mã {i * 1000 + k}.</p>"
                    for k in range(400))
    return article_html(i).replace("</article>", extra + "</article>")


def site(portal, ids, size=big_article, delay: float = 0.0) -> None:
    portal.routes[LISTING] = Page(listing_html([article_path(i) for i in ids]))
    for i in ids:
        portal.routes[article_path(i)] = Page(size(i), delay=delay)


def stored(db_path) -> list[str]:
    return [r["url"] for r in sqlite_utils.Database(db_path).query("SELECT url FROM articles")]


@pytest.fixture
def small_fs(tmp_path):
    """An 8 MB tmpfs: a real filesystem that fills up."""
    mount = tmp_path / "fs"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory, leave: int) -> None:
    """Write a filler file until only about `leave` bytes are free."""
    stats = os.statvfs(directory)
    free = stats.f_bavail * stats.f_frsize
    with open(directory / "filler", "wb") as handle:
        handle.write(b"\0" * max(free - leave, 0))


@pytest.mark.slow
def test_a_full_disk_fails_the_crawl_and_the_next_crawl_stores_the_rest(portal, tmp_path, small_fs):
    db_path = small_fs / "dxwatch.db"
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url(LISTING)]}])
    site(portal, range(5))
    assert crawl(cfg, db_path).returncode == 0
    site(portal, range(40))
    fill(small_fs, leave=300_000)

    full = crawl(cfg, db_path)
    assert full.returncode == 1
    output = full.stdout + full.stderr
    assert "disk_full" in output, output[-3000:]
    assert 5 <= len(stored(db_path)) < 40

    (small_fs / "filler").unlink()
    assert crawl(cfg, db_path).returncode == 0
    urls = stored(db_path)
    assert len(urls) == len(set(urls)) == 40
    assert last_runs(db_path)["tinh"]["status"] == "ok"
    assert sqlite_utils.Database(db_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


@pytest.mark.slow
def test_a_write_lock_held_past_the_busy_timeout_fails_the_crawl_and_is_recovered(portal, tmp_path, db_path):
    total = 20
    site(portal, range(total), size=article_html, delay=0.2)
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url(LISTING)]}],
                       concurrent_requests=1, per_domain_concurrency=1)
    env = {**os.environ, "DXWATCH_BUSY_TIMEOUT": "1"}
    crawler = start_dxwatch(cfg, db_path, "crawl", env=env)
    wait_for(lambda: count(db_path, "SELECT count(*) FROM articles") >= 3)
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(db_path), "6"], stdout=subprocess.PIPE, text=True)
    assert locker.stdout.readline().strip() == "locked"
    out, err = crawler.communicate(timeout=60)
    locker.wait(timeout=30)
    assert crawler.returncode == 1
    assert "Traceback" not in err, err[-3000:]
    assert "db_locked" in out + err, (out + err)[-3000:]
    assert len(stored(db_path)) < total

    assert crawl(cfg, db_path).returncode == 0
    urls = stored(db_path)
    assert len(urls) == len(set(urls)) == total


def test_a_damaged_database_stops_the_crawl_before_any_page_is_fetched(portal, tmp_path, db_path):
    site(portal, range(8), size=article_html)
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url(LISTING)]}])
    assert crawl(cfg, db_path).returncode == 0
    db = sqlite_utils.Database(db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.conn.close()
    with open(db_path, "r+b") as handle:  # scribble over the second half of the file, past the schema
        size = os.path.getsize(db_path)
        handle.seek(size // 2)
        handle.write(os.urandom(size - size // 2))
    assert pages > 4
    del portal.log[:]
    result = run_dxwatch(cfg, db_path, "crawl")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) <= 2 and "db_corrupt" in result.stderr, result.stderr
    assert portal.log == []
