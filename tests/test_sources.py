"""`dxwatch sources status` verdicts and the `sources test` dry run, against loopback portals."""

from __future__ import annotations

from datetime import timedelta

from crawler import timeutil
from crawler.config import load_config
from crawler.health import source_status
from crawler.db import open_db
from servers import Page
from helpers import article_html, article_path, crawl, listing_html, paged_site, run_dxwatch, write_config


def test_sources_test_is_a_dry_run_that_explains_itself(portal, tmp_path, db_path):
    paged_site(portal, count=4, per_page=2)
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url("/tin-tuc/chuyen-doi-so.html")]}])
    result = run_dxwatch(cfg, db_path, "sources", "test", "laocai", "--limit", "1")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert not db_path.exists()  # nothing written, not even an empty database
    assert "/tin-tuc/chuyen-doi-so.html?page=2" in out and "next-page link 'trang sau'" in out
    assert "in the page's main list" in out  # why a URL was taken as an article
    assert "main list of 2 items at ul.news>li>a: headlines 100%" in out  # the list chosen and its evidence
    assert "template /tin-tuc/chuyen-doi-so/{W-N2}.html" in out
    assert "page 1: 4 menu, tag, category, search or pager link, 1 menu, header or footer" in out  # the others
    assert "/tag/cds" in out  # each link not taken, with its reason
    assert "Lào Cai đẩy mạnh chuyển đổi số" in out  # the first article's extracted title
    assert "2025-10-01T08:00:00+07:00" in out
    assert "3 more article links not fetched" in out
    assert portal.requests_to(article_path(1)) == 0


def test_sources_test_unknown_source_is_a_config_error(tmp_path, db_path):
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": ["http://127.0.0.1:9/"]}])
    result = run_dxwatch(cfg, db_path, "sources", "test", "khong-co")
    assert result.returncode == 2 and "no source named 'khong-co'" in result.stderr


def test_status_verdicts_ok_broken_layout_rejected_dead_and_stale(portal, tmp_path, db_path):
    paged_site(portal, count=2, per_page=2)
    # a portal whose layout changed: the listing still answers but links no article any more
    portal.routes["/doi-giao-dien/danh-sach"] = Page(listing_html([], extra="<div id='app'></div>"))
    # a portal whose article pages no longer hold an article (a JavaScript shell)
    shell = "/vo-rong/tin-tuc/trang-chi-co-khung-giao-dien-rong-1234.html"
    portal.routes["/vo-rong/danh-sach"] = Page(listing_html([shell]))
    portal.routes[shell] = Page("<html><body><div id='root'></div><script>app()</script></body></html>")
    cfg = write_config(tmp_path / "cfg", [
        {"name": "tot", "start_urls": [portal.url("/tin-tuc/chuyen-doi-so.html")]},
        {"name": "doi-giao-dien", "start_urls": [portal.url("/doi-giao-dien/danh-sach")]},
        {"name": "vo-rong", "start_urls": [portal.url("/vo-rong/danh-sach")]},
        {"name": "chet", "start_urls": ["http://127.0.0.1:9/tin-tuc/"]},
        {"name": "moi", "start_urls": [portal.url("/moi/")], "enabled": False},
    ], retry_times=0)
    crawl(cfg, db_path)
    out = run_dxwatch(cfg, db_path, "sources", "status").stdout
    config = load_config(cfg)
    rows = {r["source"]: r for r in source_status(open_db(db_path), config)}
    assert rows["tot"]["verdict"] == "OK" and rows["tot"]["articles_new"] == 2
    assert rows["doi-giao-dien"]["verdict"] == "BROKEN" and "layout" in rows["doi-giao-dien"]["reason"]
    assert rows["vo-rong"]["verdict"] == "BROKEN" and "rejected by extraction" in rows["vo-rong"]["reason"]
    assert rows["chet"]["verdict"] == "BROKEN" and "connection_refused" in rows["chet"]["reason"]
    assert rows["moi"]["verdict"] == "DISABLED"
    for name in ("tot", "doi-giao-dien", "vo-rong", "chet", "BROKEN", "OK"):
        assert name in out
    # three weeks later with nothing new, the good source is STALE (stale_after_days defaults to 14)
    later = {r["source"]: r for r in source_status(open_db(db_path), config, now=timeutil.now() + timedelta(days=21))}
    assert later["tot"]["verdict"] == "STALE" and "no new article since" in later["tot"]["reason"]


def test_status_of_a_source_never_crawled(tmp_path, db_path):
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": ["http://127.0.0.1:9/"]}])
    rows = source_status(open_db(db_path), load_config(cfg))
    assert rows[0]["verdict"] == "NOT CRAWLED" and rows[0]["last_success"] is None


def test_a_second_good_run_clears_broken(portal, tmp_path, db_path):
    portal.routes["/ds"] = Page("tam dung", status=503)
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url("/ds")]}], retry_times=0)
    crawl(cfg, db_path)
    assert source_status(open_db(db_path), load_config(cfg))[0]["verdict"] == "BROKEN"
    portal.routes["/ds"] = Page(listing_html([article_path(1)]))
    portal.routes[article_path(1)] = Page(article_html(1))
    crawl(cfg, db_path)
    assert source_status(open_db(db_path), load_config(cfg))[0]["verdict"] == "OK"


def _articles(db, source: str, days_ago: list[float]) -> None:
    now = timeutil.now()
    db["articles"].insert_all([{"url": f"http://127.0.0.1:9/{source}/{i}", "source": source,
                                "published": timeutil.iso(now - timedelta(days=d)), "first_seen": timeutil.iso(now)}
                               for i, d in enumerate(days_ago)])
    db.conn.commit()


def test_revisit_interval_follows_the_publishing_rhythm_within_the_schedule(tmp_path, db_path):
    from crawler.health import crawl_due, revisit_interval

    cfg = write_config(tmp_path / "cfg", [
        {"name": "weekly", "start_urls": ["http://127.0.0.1:9/a"], "schedule": "every 1h"},
        {"name": "busy", "start_urls": ["http://127.0.0.1:9/b"], "schedule": "every 1h"},
        {"name": "new", "start_urls": ["http://127.0.0.1:9/c"], "schedule": "every 2h"},
        {"name": "cron", "start_urls": ["http://127.0.0.1:9/d"], "schedule": "0 8 * * mon"},
    ])
    config = load_config(cfg)
    db = open_db(db_path)
    _articles(db, "weekly", [1, 8, 15, 22, 29, 36, 43, 50])   # one a week
    _articles(db, "busy", [i / 8 for i in range(60)])         # eight a day
    _articles(db, "new", [1])
    seconds = {s.name: revisit_interval(db, s)[0] for s in config.sources}
    assert seconds["weekly"] == 86400                 # a weekly portal: daily, not hourly
    assert seconds["busy"] == 3600                    # never more often than the schedule
    assert seconds["new"] == 7200                     # too little history: as configured
    assert seconds["cron"] == 0
    db["crawl_runs"].insert({"source": "weekly", "started": timeutil.ago(3 * 3600), "status": "ok"})
    db.conn.commit()
    due, why = crawl_due(db, config.source("weekly"))
    assert not due and "publishes about every" in why
    assert crawl_due(db, config.source("weekly"), now=timeutil.now() + timedelta(hours=22))[0]
    assert crawl_due(db, config.source("busy"))[0]


def test_crawl_if_due_skips_a_source_crawled_recently_that_publishes_rarely(portal, tmp_path, db_path):
    paged_site(portal, count=1, per_page=1)
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url("/tin-tuc/chuyen-doi-so.html")],
                                           "schedule": "every 1h"}])
    db = open_db(db_path)
    _articles(db, "laocai", [3, 10, 17, 24])  # weekly rhythm
    db["crawl_runs"].insert({"source": "laocai", "started": timeutil.ago(2 * 3600), "status": "ok"})
    db.conn.commit()
    result = run_dxwatch(cfg, db_path, "crawl", "--if-due")
    assert result.returncode == 0 and "laocai: skipped, next crawl useful in" in result.stdout
    assert [r.path for r in portal.log] == []
    result = run_dxwatch(cfg, db_path, "crawl")  # without --if-due a crawl always runs
    assert portal.requests_to(article_path(0)) == 1
