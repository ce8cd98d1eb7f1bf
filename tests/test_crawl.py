"""`dxwatch crawl` end to end against loopback portals: listing pages, storage, re-crawls.

Crawls run in a subprocess (Twisted's reactor cannot restart). The page builders and the crawl
runner are in helpers.py, shared with the other crawl tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlite_utils
import yaml

from servers import Page
from helpers import (
    article_html, article_path, crawl, last_runs, listing_html, paged_site, run_dxwatch, stored_urls,
    write_config,
)

# ---------------------------------------------------------------- tests


def test_crawl_listing_pages_end_to_end(portal, tmp_path, db_path):
    paged_site(portal, count=7, per_page=3)
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url("/tin-tuc/chuyen-doi-so.html")]}])
    result = crawl(cfg, db_path)
    assert result.returncode == 0, result.stdout + result.stderr
    urls = stored_urls(db_path)
    assert sorted(urls) == sorted(portal.url(article_path(i)) for i in range(7))
    db = sqlite_utils.Database(db_path)
    row = next(db.query("SELECT * FROM articles WHERE url = ?", [portal.url(article_path(3))]))
    assert row["source"] == "laocai" and row["province"] == "Lào Cai" and "bản tin số 3" in row["title"]
    run = last_runs(db_path)["laocai"]
    assert run["status"] == "ok" and run["articles_new"] == 7 and run["listing_pages"] == 3
    assert "laocai" in result.stdout and "ok" in result.stdout  # the summary table
    # every request named dxwatch with its contact URL, and robots.txt was read first
    assert portal.log[0].path == "/robots.txt"
    assert all("dxwatch" in r.headers.get("user-agent", "") and "+http" in r.headers["user-agent"] for r in portal.log)
    # the export has the contract's fields, and the body is the article's, not the menu
    out = run_dxwatch(cfg, db_path, "export", "--format", "jsonl")
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 7
    assert {"url", "source", "title", "published", "author", "text", "relevant", "story"} <= set(rows[0])
    assert all("Trang chủ" not in r["text"] and "Số lượt truy cập" not in r["text"] for r in rows)


def test_recrawl_of_unchanged_site_fetches_no_article_again(portal, tmp_path, db_path):
    paged_site(portal, count=6, per_page=3)
    portal.routes["/tin-tuc/chuyen-doi-so.html"].headers["ETag"] = '"v1"'
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url("/tin-tuc/chuyen-doi-so.html")]}])
    assert crawl(cfg, db_path).returncode == 0
    first = len(portal.log)
    del portal.log[:]
    assert crawl(cfg, db_path).returncode == 0
    article_requests = [r for r in portal.log if r.path.startswith("/tin-tuc/chuyen-doi-so/")]
    assert article_requests == []
    listing = [r for r in portal.log if r.path.startswith("/tin-tuc/chuyen-doi-so.html")]
    assert len(listing) == 1 and listing[0].headers.get("if-none-match") == '"v1"'
    assert len(portal.log) < first / 3
    assert len(stored_urls(db_path)) == 6


def test_recrawl_fetches_only_new_articles_and_stops_at_known_page(portal, tmp_path, db_path):
    paged_site(portal, count=6, per_page=3)
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url("/tin-tuc/chuyen-doi-so.html")]}])
    assert crawl(cfg, db_path).returncode == 0
    # two new articles appear on top; page 1 now holds 2 new + 1 known, page 2 only known ones
    portal.routes[article_path(100)] = Page(article_html(100))
    portal.routes[article_path(101)] = Page(article_html(101))
    order = [101, 100, 0, 1, 2, 3, 4, 5]
    prefix = "/tin-tuc/chuyen-doi-so.html"
    for n, ids in enumerate([order[0:3], order[3:6], order[6:]], start=1):
        path = prefix if n == 1 else f"{prefix}?page={n}"
        portal.routes[path] = Page(listing_html([article_path(i) for i in ids], f"{prefix}?page={n + 1}" if n < 3 else None))
    del portal.log[:]
    assert crawl(cfg, db_path).returncode == 0
    fetched = {r.path for r in portal.log}
    assert article_path(100) in fetched and article_path(101) in fetched
    assert not any(article_path(i) in fetched for i in range(6))
    assert f"{prefix}?page=3" not in fetched  # page 2 held only stored articles
    run = last_runs(db_path)["laocai"]
    assert run["articles_new"] == 2
    assert len(stored_urls(db_path)) == 8


def test_tracking_parameters_and_fragments_store_one_article(portal, tmp_path, db_path):
    links = [article_path(1) + "?utm_source=zalo&utm_medium=share", article_path(1) + "?fbclid=IwAR0abc",
             article_path(1) + "#binh-luan", article_path(1) + "?zarsrc=30&gclid=xyz", article_path(2)]
    portal.routes["/tin-tuc/chuyen-doi-so.html"] = Page(listing_html(links))
    portal.routes[article_path(1)] = Page(article_html(1))
    portal.routes[article_path(2)] = Page(article_html(2))
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url("/tin-tuc/chuyen-doi-so.html")]}])
    assert crawl(cfg, db_path).returncode == 0
    assert sorted(stored_urls(db_path)) == sorted([portal.url(article_path(1)), portal.url(article_path(2))])
    assert portal.requests_to(article_path(1)) == 1


@pytest.mark.slow
def test_server_that_keeps_its_etag_after_a_change_loses_its_conditional_requests(portal, tmp_path, db_path):
    """A lying ETag hides changes only until the daily full fetch; then the URL is never asked conditionally."""
    prefix = "/tin-tuc/chuyen-doi-so.html"
    shown = {"ids": [0, 1, 2]}

    def listing(request):
        if request.headers.get("if-none-match") == '"v1"':
            return Page("", status=304, headers={"ETag": '"v1"'})
        return Page(listing_html([article_path(i) for i in shown["ids"]]), headers={"ETag": '"v1"'})

    portal.routes[prefix] = listing
    for i in range(6):
        portal.routes[article_path(i)] = Page(article_html(i))
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url(prefix)]}])
    assert crawl(cfg, db_path).returncode == 0
    shown["ids"] = [3, 0, 1, 2]
    assert crawl(cfg, db_path).returncode == 0
    assert len(stored_urls(db_path)) == 3  # hidden behind the unchanged ETag, for now
    db = sqlite_utils.Database(db_path)
    db.execute("UPDATE http_state SET checked_at = ?", ["2020-01-01T00:00:00+07:00"])  # a day (or more) later
    db.conn.commit()
    assert crawl(cfg, db_path).returncode == 0
    assert portal.url(article_path(3)) in stored_urls(db_path)
    state = next(db.query("SELECT * FROM http_state WHERE url = ?", [portal.url(prefix)]))
    assert state["validators_unreliable"] == 1
    shown["ids"] = [4, 3, 0, 1, 2]
    del portal.log[:]
    assert crawl(cfg, db_path).returncode == 0
    assert "if-none-match" not in [r for r in portal.log if r.path == prefix][0].headers
    assert portal.url(article_path(4)) in stored_urls(db_path)


def test_documents_pages_of_a_source_are_read(portal, tmp_path, db_path):
    """`documents:` pages (a portal's "Văn bản" listing) lead to their files (pipelines/attachments.py) in the same crawl."""
    paged_site(portal, count=1, per_page=1)
    portal.routes["/van-ban"] = Page("<html><body><table><tr><td>Quyết định 12/QĐ-UBND</td>"
                                     "<td><a href='/files/qd-12-2025.pdf'>Tải về</a></td></tr></table></body></html>")
    portal.routes["/files/qd-12-2025.pdf"] = Page(b"%PDF-1.4 not really a pdf", content_type="application/pdf")
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url("/tin-tuc/chuyen-doi-so.html")],
                                           "documents": [portal.url("/van-ban")]}])
    crawl(cfg, db_path)
    assert portal.requests_to("/van-ban") == 1
    assert portal.requests_to("/files/qd-12-2025.pdf") == 1
    assert len(stored_urls(db_path)) == 1


def test_progress_on_a_terminal_and_plain_output_otherwise(portal, tmp_path, db_path):
    import os
    import pty

    paged_site(portal, count=3, per_page=3)
    for i in range(3):
        portal.routes[article_path(i)].delay = 0.3
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url("/tin-tuc/chuyen-doi-so.html")]}])
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "--config", str(cfg), "--db", str(db_path), "crawl"],
                            stdout=follower, stderr=follower, cwd=Path(__file__).resolve().parents[1])
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[" in shown and "laocai: " in shown and " new, " in shown  # a live rich progress line
    piped = run_dxwatch(cfg, tmp_path / "other.db", "crawl")
    assert "\x1b[" not in piped.stdout + piped.stderr and "laocai" in piped.stdout


def test_pages_rejected_by_extraction_are_not_fetched_again_on_the_next_crawl(portal, tmp_path, db_path):
    prefix = "/tin-tuc/chuyen-doi-so.html"
    video = "/tin-tuc/video/clip-hoi-nghi-chuyen-doi-so-tinh-9999.html"
    portal.routes[prefix] = Page(listing_html([article_path(1)], f"{prefix}?page=2"))
    portal.routes[f"{prefix}?page=2"] = Page(listing_html([video, article_path(2)], f"{prefix}?page=3"))
    portal.routes[f"{prefix}?page=3"] = Page(listing_html([article_path(4)]))
    portal.routes[video] = Page("<html><body><video src='/v.mp4'></video></body></html>")
    for i in (1, 2, 3, 4):
        portal.routes[article_path(i)] = Page(article_html(i))
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url(prefix)]}])
    assert crawl(cfg, db_path).returncode == 0
    assert last_runs(db_path)["laocai"]["articles_rejected"] == 1
    portal.routes[prefix] = Page(listing_html([article_path(3), article_path(1)], f"{prefix}?page=2"))
    # page 2 changed too (it now also links article 1), so it is read again, not skipped as unchanged
    portal.routes[f"{prefix}?page=2"] = Page(listing_html([video, article_path(2), article_path(1)], f"{prefix}?page=3"))
    del portal.log[:]
    assert crawl(cfg, db_path).returncode == 0
    assert portal.requests_to(video) == 0 and portal.requests_to(article_path(3)) == 1
    # page 2 held only stored and rejected links: pagination stopped there
    assert portal.requests_to(f"{prefix}?page=2") == 1 and portal.requests_to(f"{prefix}?page=3") == 0


def test_crawl_sends_instant_alerts_for_what_it_stored(portal, smtp, tmp_path, db_path):
    paged_site(portal, count=2, per_page=2)
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url("/tin-tuc/chuyen-doi-so.html")]}])
    (cfg / "digests.yaml").write_text(yaml.safe_dump({
        "smtp": {"host": "127.0.0.1", "port": smtp.port, "security": "none", "sender": "dxwatch@so-khcn.example.vn"},
        "alerts": [{"name": "tin-moi", "items": ["articles"], "recipients": ["phong-cds@so-khcn.example.vn"]}],
    }, allow_unicode=True), encoding="utf-8")
    assert crawl(cfg, db_path).returncode == 0
    assert len(smtp.messages) == 1
    body = smtp.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert "bản tin số 0" in body and "bản tin số 1" in body
    assert crawl(cfg, db_path).returncode == 0  # nothing new: no second alert
    assert len(smtp.messages) == 1
