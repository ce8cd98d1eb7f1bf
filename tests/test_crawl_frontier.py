"""The crawl frontier: whatever stops a crawl (kill -9, SIGTERM, `crawl_time_limit`, `max_articles`),
the next crawls store every article of the portal exactly once, without downloading stored ones again.

Real crawls in child processes against a loopback portal, real signals, a real SQLite file.
"""

from __future__ import annotations

import signal
from collections import Counter

import pytest
import sqlite_utils

from servers import Page
from helpers import (article_html, article_path, count, crawl, last_runs, listing_html, paged_site, run_dxwatch,
                     start_dxwatch, wait_for, write_config)

LISTING = "/tin-tuc/chuyen-doi-so.html"


def stored(db_path) -> list[str]:
    return [r["url"] for r in sqlite_utils.Database(db_path).query("SELECT url FROM articles")]


def article_fetches(portal, total: int) -> Counter:
    paths = {article_path(i) for i in range(total)}
    return Counter(r.path for r in portal.log if r.path in paths)


def slow_articles(portal, total: int, delay: float) -> None:
    for i in range(total):
        portal.routes[article_path(i)] = Page(article_html(i), delay=delay)


def owed(db_path) -> int:
    return count(db_path, "SELECT count(*) FROM crawl_frontier WHERE kind = 'article'")


@pytest.mark.slow
def test_max_articles_backfill_reaches_the_whole_portal(portal, tmp_path, db_path):
    """60 articles on 6 listing pages, 15 per crawl: 15, 30, 45, 60, each fetched once."""
    paged_site(portal, count=60, per_page=10, prefix=LISTING)
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url(LISTING)], "max_pages": 10,
                                           "max_articles": 15}])
    progress = []
    for _ in range(4):
        assert crawl(cfg, db_path).returncode == 0
        progress.append(len(stored(db_path)))
        if len(progress) == 1:
            status = run_dxwatch(cfg, db_path, "sources", "status")
            assert "45 articles owed" in status.stdout, status.stdout
    assert progress == [15, 30, 45, 60]
    assert sorted(stored(db_path)) == sorted(portal.url(article_path(i)) for i in range(60))
    assert set(article_fetches(portal, 60).values()) == {1}
    assert owed(db_path) == 0
    assert "owed" not in run_dxwatch(cfg, db_path, "sources", "status").stdout


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
def test_stopped_after_page_one_the_next_crawl_reads_the_deeper_pages(portal, tmp_path, db_path, stop):
    """Stopped once page 1's articles are stored and before page 2 is read: the re-crawl finds page 1
    all known, and still resumes pagination where it stopped instead of ending with 'ok, 0 new'."""
    paged_site(portal, count=30, per_page=10, prefix=LISTING)
    slow_articles(portal, 30, 0.05)
    portal.routes[f"{LISTING}?page=2"].delay = 3.0  # page 2 is slow to answer: the stop comes first
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url(LISTING)]}],
                       concurrent_requests=1, per_domain_concurrency=1)
    proc = start_dxwatch(cfg, db_path, "crawl")
    wait_for(lambda: count(db_path, "SELECT count(*) FROM articles") >= 10)
    proc.send_signal(stop)
    proc.communicate(timeout=60)
    assert len(stored(db_path)) == 10
    portal.routes[f"{LISTING}?page=2"].delay = 0

    assert crawl(cfg, db_path).returncode == 0
    assert sorted(stored(db_path)) == sorted(portal.url(article_path(i)) for i in range(30))
    assert max(article_fetches(portal, 30).values()) == 1
    assert last_runs(db_path)["tinh"]["status"] == "ok"


@pytest.mark.slow
def test_kill_9_at_several_moments_then_every_article_is_stored_once(portal, tmp_path, db_path):
    total = 40
    paged_site(portal, count=total, per_page=10, prefix=LISTING)
    slow_articles(portal, total, 0.15)
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url(LISTING)], "max_pages": 10}],
                       concurrent_requests=2, per_domain_concurrency=2)
    kills = 0
    for threshold in (3, 12, 21, 33):  # inside page 1, across pages 2 and 3, late on page 4
        proc = start_dxwatch(cfg, db_path, "crawl")
        wait_for(lambda: count(db_path, "SELECT count(*) FROM articles") >= threshold)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        kills += 1
        assert count(db_path, "SELECT count(*) FROM articles") < total
    assert crawl(cfg, db_path).returncode == 0

    urls = stored(db_path)
    assert len(urls) == len(set(urls)) == total
    fetches = article_fetches(portal, total)
    # an article is fetched again only when a kill caught it in flight (at most 2 at a time)
    assert sum(fetches.values()) <= total + 2 * kills
    assert owed(db_path) == 0
    statuses = [r["status"] for r in sqlite_utils.Database(db_path).query("SELECT status FROM crawl_runs ORDER BY id")]
    assert statuses == ["interrupted"] * kills + ["ok"]


@pytest.mark.slow
def test_crawl_time_limit_stops_then_the_next_crawls_finish(portal, tmp_path, db_path):
    total = 40
    paged_site(portal, count=total, per_page=10, prefix=LISTING)
    slow_articles(portal, total, 0.4)
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url(LISTING)], "max_pages": 10}],
                       concurrent_requests=1, per_domain_concurrency=1, crawl_time_limit=10)
    crawl(cfg, db_path)
    first = len(stored(db_path))
    assert 0 < first < total
    assert last_runs(db_path)["tinh"]["status"] == "interrupted"
    status = run_dxwatch(cfg, db_path, "sources", "status").stdout
    assert "INCOMPLETE" in status and "resumes where it stopped" in status, status
    if owed(db_path):  # the limit fell while links of a page read were still to fetch (timing)
        assert f"{owed(db_path)} articles owed" in status, status
    for _ in range(4):
        if len(stored(db_path)) == total:
            break
        crawl(cfg, db_path)
    urls = stored(db_path)
    assert len(urls) == len(set(urls)) == total
    assert sum(article_fetches(portal, total).values()) <= total + 4  # at most the one in flight per stop


def test_fresh_news_is_fetched_before_a_long_backlog(portal, tmp_path, db_path):
    """With a backlog larger than max_articles, an article published since is still fetched by the
    next crawl: the backlog gets what the entry points leave of the budget."""
    paged_site(portal, count=30, per_page=10, prefix=LISTING)
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url(LISTING)], "max_articles": 10}])
    assert crawl(cfg, db_path).returncode == 0
    assert len(stored(db_path)) == 10 and owed(db_path) == 20
    fresh = article_path(100)
    portal.routes[fresh] = Page(article_html(100))
    page_one = [fresh] + [article_path(i) for i in range(10)]
    portal.routes[LISTING] = Page(listing_html(page_one, f"{LISTING}?page=2"))
    assert crawl(cfg, db_path).returncode == 0
    assert portal.url(fresh) in stored(db_path) and len(stored(db_path)) == 20
    for _ in range(2):
        crawl(cfg, db_path)
    assert len(stored(db_path)) == 31 and owed(db_path) == 0
