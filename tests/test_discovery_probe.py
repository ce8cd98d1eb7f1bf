"""A source's first crawl probes the list structure chose before following it (spiders/probe.py):
a decoy ranked first (a big block of topic pages, dated, with summaries, URLs shaped like articles)
is dropped for the next-best list once its links extract as listings, not articles; when no list
verifies, the source is BROKEN with what to configure. Real loopback portals, layouts written here."""

from __future__ import annotations

from html import escape

import sqlite_utils
from lxml import html as lxml_html

from crawler import listing
from crawler.config import load_config
from crawler.db import open_db
from crawler.health import source_status
from discovery_layouts import headline, teaser
from helpers import article_html, crawl, last_runs, write_config
from servers import Page
from spiders.probe import PROBE_LINKS


def _topic(i: int) -> str:
    return f"/chuyen-de/chuyen-de-so-hoa-linh-vuc-so-{i}-{4100 + i}"


def _topic_box(count: int, start: int = 0, css: str = "topics") -> str:
    """A big block of topic pages: headline-length titles, a date and a summary each."""
    items = "".join(f"<div class='topic'><h3><a href='{_topic(i)}'>Chuyên đề: {escape(headline(i))}</a></h3>"
                    f"<span>{1 + i % 28:02d}/09/2025</span><p>{escape(teaser(i))}</p></div>"
                    for i in range(start, start + count))
    return f"<div class='{css}'>{items}</div>"


def _topic_page(i: int) -> str:
    """What a topic link leads to: itself a list of headlines, which extraction refuses as a listing."""
    items = "".join(f"<div class='entry'><h4><a href='/bai/{900 + 10 * i + n}'>{escape(headline(n + i))}</a></h4>"
                    f"<em>0{1 + n}/08/2025</em><p>{escape(teaser(n))}</p></div>" for n in range(8))
    return (f"<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'><title>Chuyên đề {i}</title></head>"
            f"<body><h1>Chuyên đề số {i}</h1><div class='stream'>{items}</div></body></html>")


def _page(main: str) -> str:
    return ("<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'><title>Tin tức</title></head><body>"
            "<div class='topnav'><a href='/'>Trang chủ</a> <a href='/gioi-thieu'>Giới thiệu</a></div>"
            f"<div class='col-main'>{main}</div></body></html>")


def _news_list(count: int) -> str:
    items = "".join(f"<li><a href='/bai/{52000 + i}'>{escape(headline(i + 3))}</a> <span>{1 + i:02d}/10/2025</span></li>"
                    for i in range(count))
    return f"<ul class='news-list'>{items}</ul>"


def _serve_topics(portal, count: int) -> None:
    for i in range(count):
        portal.routes[_topic(i)] = Page(_topic_page(i))


def test_a_decoy_ranked_first_is_dropped_for_the_next_best_list(portal, tmp_path, db_path):
    html = _page(_topic_box(12) + _news_list(6))
    # the decoy really is what structure ranks first
    ranked = listing.analyse(lxml_html.document_fromstring(html), portal.url("/tin-tuc"))
    assert all("/chuyen-de/" in u for u in ranked.main.urls), ranked.main.path
    portal.routes["/tin-tuc"] = Page(html)
    _serve_topics(portal, 12)
    articles = set()
    for i in range(6):
        portal.routes[f"/bai/{52000 + i}"] = Page(article_html(40 + i))
        articles.add(portal.url(f"/bai/{52000 + i}"))
    cfg = write_config(tmp_path / "cfg", [{"name": "moi", "start_urls": [portal.url("/tin-tuc")]}])
    result = crawl(cfg, db_path)
    assert result.returncode == 0, result.stdout + result.stderr
    db = sqlite_utils.Database(db_path)
    assert {r["url"] for r in db.query("SELECT url FROM articles")} == articles
    # the probe fetched a few topic pages, never the whole decoy list
    assert sum(portal.requests_to(_topic(i)) for i in range(12)) == PROBE_LINKS
    assert all(portal.requests_to(_topic(i)) == 0 for i in range(PROBE_LINKS, 12))
    template = next(db.query("SELECT template FROM source_templates WHERE source = 'moi'"))["template"]
    assert template == "/bai/{N2}"
    assert last_runs(db_path)["moi"]["status"] == "ok"
    row = next(r for r in source_status(open_db(db_path), load_config(cfg)) if r["source"] == "moi")
    assert row["verdict"] == "OK", row


def test_a_learned_template_is_not_probed_again(portal, tmp_path, db_path):
    portal.routes["/tin-tuc"] = Page(_page(_topic_box(12) + _news_list(6)))
    _serve_topics(portal, 12)
    for i in range(6):
        portal.routes[f"/bai/{52000 + i}"] = Page(article_html(40 + i))
    cfg = write_config(tmp_path / "cfg", [{"name": "moi", "start_urls": [portal.url("/tin-tuc")]}])
    assert crawl(cfg, db_path).returncode == 0
    probed = sum(portal.requests_to(_topic(i)) for i in range(12))
    # a new article appears; the learned template takes it, and no topic page is fetched again
    portal.routes["/tin-tuc"] = Page(_page(_topic_box(12) + _news_list(7)))
    portal.routes["/bai/52006"] = Page(article_html(60))
    assert crawl(cfg, db_path).returncode == 0
    stored = {r["url"] for r in sqlite_utils.Database(db_path).query("SELECT url FROM articles")}
    assert portal.url("/bai/52006") in stored
    assert sum(portal.requests_to(_topic(i)) for i in range(12)) == probed


def test_when_no_list_verifies_the_source_is_broken_with_what_to_configure(portal, tmp_path, db_path):
    # two lists of topic pages, each with a URL template of its own: neither holds an article
    other = "".join(f"<li><a href='/su-kien/{700 + i}'>Sự kiện: {escape(headline(i + 20))}</a> "
                    f"<span>{1 + i:02d}/10/2025</span></li>" for i in range(6))
    portal.routes["/tin-tuc"] = Page(_page(_topic_box(10) + f"<ul class='events'>{other}</ul>"))
    _serve_topics(portal, 10)
    for i in range(6):
        portal.routes[f"/su-kien/{700 + i}"] = Page(_topic_page(50 + i))
    cfg = write_config(tmp_path / "cfg", [{"name": "rong", "start_urls": [portal.url("/tin-tuc")]}])
    crawl(cfg, db_path)
    assert sum(portal.requests_to(f"/su-kien/{700 + i}") for i in range(6)) >= 2  # the next-best list was tried
    row = next(r for r in source_status(open_db(db_path), load_config(cfg)) if r["source"] == "rong")
    assert row["verdict"] == "BROKEN"
    assert "article_pattern" in row["reason"] and "rejected by extraction" in row["reason"]


def test_broken_pages_first_in_the_main_list_do_not_divert_it(portal, tmp_path, db_path):
    """The first links of the main list are broken pages (an error page answered 200, a binary
    page, an empty one), not listings: the probe learns nothing from them and the whole list is
    followed, not the next-best one."""
    main = _news_list(6)
    other = "".join(f"<li><a href='/goc-nhin/{800 + i}'>Góc nhìn: {escape(headline(i + 30))}</a> "
                    f"<span>{1 + i:02d}/09/2025</span></li>" for i in range(4))
    portal.routes["/tin-tuc"] = Page(_page(main + f"<ul class='other-news'>{other}</ul>"))
    portal.routes["/bai/52000"] = Page("<html><body><h1>Lỗi hệ thống</h1><p>Không tìm thấy bài viết.</p></body></html>")
    portal.routes["/bai/52001"] = Page(b"\x00\x01\x02" * 400, content_type="text/html")
    portal.routes["/bai/52002"] = Page("<html><body><p>Đang cập nhật.</p></body></html>")
    articles = set()
    for i in range(3, 6):
        portal.routes[f"/bai/{52000 + i}"] = Page(article_html(70 + i))
        articles.add(portal.url(f"/bai/{52000 + i}"))
    for i in range(4):
        portal.routes[f"/goc-nhin/{800 + i}"] = Page(article_html(90 + i))
    cfg = write_config(tmp_path / "cfg", [{"name": "hong-mot-phan", "start_urls": [portal.url("/tin-tuc")]}])
    crawl(cfg, db_path)
    stored = {r["url"] for r in sqlite_utils.Database(db_path).query("SELECT url FROM articles")}
    assert articles <= stored
    assert sum(portal.requests_to(f"/goc-nhin/{800 + i}") for i in range(4)) == 0
