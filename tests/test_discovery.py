"""Discovery by structure (crawler/listing.py) on portals configured with `start_urls` alone, in
URL shapes no rule knows (tests/discovery_layouts.py); and the unit behaviour behind it: URL
templates, the main list against menus and topic strips, pagers, listings refused as articles."""

from __future__ import annotations

import json
from contextlib import ExitStack

import pytest
import sqlite_utils
from lxml import html as lxml_html

from crawler.config import load_config
from crawler.db import open_db
from crawler.health import source_status
from crawler.urls import canonical_url
from discovery_layouts import HELD_OUT, LAYOUTS, listing_page
from helpers import article_body, article_html, crawl, last_runs, run_dxwatch, write_config
from pipelines.extraction import NoArticle, extract_article_or_raise
from servers import Page, PortalServer
from crawler import listing


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def serve_layout(server: PortalServer, layout, seed: int) -> tuple[set[str], set[str]]:
    """The layout's two listing pages, its articles, and its other links served as article-like pages
    (so that taking one would store it). Returns (article URLs, other paths)."""
    articles, others = set(), set()
    for page in (1, 2):
        html, paths, not_articles = listing_page(layout, page)
        route = layout.listing_path if page == 1 else layout.pager_path
        server.routes[route] = server.routes[_path(canonical_url(server.url(route)))] = Page(html)
        for n, path in enumerate(paths):
            page_html = article_html(seed + n + 10 * page)
            server.routes[path] = server.routes[_path(canonical_url(server.url(path)))] = Page(page_html)
            articles.add(canonical_url(server.url(path)))
        others.update(p for p in not_articles if p not in (layout.listing_path, layout.pager_path))
    for n, path in enumerate(sorted(others)):
        server.routes.setdefault(path, Page(article_html(seed + 500 + n, title=f"Trang không phải tin bài số {n}")))
        server.routes.setdefault(_path(canonical_url(server.url(path))), server.routes[path])
    return articles, others


@pytest.mark.parametrize("layouts", [LAYOUTS, HELD_OUT], ids=["layouts", "held-out"])
def test_unseen_layouts_every_main_list_article_and_nothing_else(tmp_path, db_path, layouts):
    """Each layout crawled with only start_urls; the held-out ones (numeric path, .aspx ItemID,
    hash suffix, UUID) were written after the method, their first run is in BENCHMARKS.md."""
    with ExitStack() as stack:
        servers = {layout.name: stack.enter_context(PortalServer()) for layout in layouts}
        expected = {}
        for seed, layout in enumerate(layouts):
            expected[layout.name] = serve_layout(servers[layout.name], layout, 100 * seed)
        cfg = write_config(tmp_path / "cfg", [
            {"name": layout.name, "start_urls": [servers[layout.name].url(layout.listing_path)]} for layout in layouts])
        result = crawl(cfg, db_path)
        assert result.returncode == 0, result.stdout + result.stderr
        db = sqlite_utils.Database(db_path)
        for layout in layouts:
            server = servers[layout.name]
            articles, others = expected[layout.name]
            stored = {r["url"] for r in db.query("SELECT url FROM articles WHERE source = ?", [layout.name])}
            assert stored == articles, layout.name
            for path in others:  # menus, categories, topics, events, tags, static pages: never fetched
                assert server.requests_to(path) == 0, (layout.name, path)
            pager = {layout.pager_path, _path(canonical_url(server.url(layout.pager_path)))}
            assert sum(server.requests_to(p) for p in pager) == 1, layout.name  # page 2, read once
        # the verified template is kept per source and shown by the database
        templates = {r["source"]: r for r in db.query("SELECT * FROM source_templates")}
        assert set(templates) == {layout.name for layout in layouts}
        if layouts is LAYOUTS:
            assert templates["query-param"]["template"] == "/index.php?act=view&code=N&module=news"
            assert templates["id-first"]["template"] == "/bai-viet/{W-N1}"
            assert len(json.loads(templates["bare-number"]["sample"])) == 5
        runs = last_runs(db_path)
        assert all(runs[layout.name]["status"] == "ok" for layout in layouts)


def test_learned_template_takes_a_thin_last_page_and_relearns(portal, tmp_path, db_path):
    layout = next(layout for layout in LAYOUTS if layout.name == "bare-number")
    articles, _others = serve_layout(portal, layout, 0)
    cfg = write_config(tmp_path / "cfg", [{"name": "so", "start_urls": [portal.url(layout.listing_path)]}])
    assert crawl(cfg, db_path).returncode == 0
    shown = run_dxwatch(cfg, db_path, "sources", "test", "so", "--limit", "0").stdout
    assert "learned article template: /news/{N2} (verified by 11 articles" in shown
    # the listing now shows one new article only: one headline is no list, but it has the learned template
    portal.routes["/news"] = Page("<html><body><div class='topnav'><a href='/page/12'>Giới thiệu</a></div>"
                                  "<p><a href='/news/99999'>Tin mới nhất về chuyển đổi số của tỉnh</a></p>"
                                  "<p><a href='/tag/cds'>Thẻ chuyển đổi số trong năm nay</a></p></body></html>")
    portal.routes["/news/99999"] = Page(article_html(777))
    assert crawl(cfg, db_path).returncode == 0
    stored = {r["url"] for r in sqlite_utils.Database(db_path).query("SELECT url FROM articles")}
    assert stored == articles | {portal.url("/news/99999")}
    assert portal.requests_to("/tag/cds") == 0


def test_a_listing_whose_links_are_no_articles_is_broken_with_what_to_configure(portal, tmp_path, db_path):
    items = "".join(f"<li><a href='/muc/{i}'>Chuyên mục số {i} của cổng thông tin tỉnh</a>"
                    f"<p>Các tin bài thuộc chuyên mục số {i}, cập nhật hằng ngày.</p></li>" for i in range(6))
    portal.routes["/danh-muc"] = Page(f"<html><body><ul class='list'>{items}</ul></body></html>")
    for i in range(6):  # each "article" is itself a short list page: extraction refuses it
        portal.routes[f"/muc/{i}"] = Page("<html><body><h1>Chuyên mục</h1><p>Không có tin.</p></body></html>")
    cfg = write_config(tmp_path / "cfg", [{"name": "hong", "start_urls": [portal.url("/danh-muc")]}])
    crawl(cfg, db_path)
    row = next(r for r in source_status(open_db(db_path), load_config(cfg)) if r["source"] == "hong")
    assert row["verdict"] == "BROKEN"
    assert "article_pattern" in row["reason"] and "rejected by extraction" in row["reason"]
    assert "BROKEN" in run_dxwatch(cfg, db_path, "sources", "status").stdout


# ---------------------------------------------------------------- the analysis itself


@pytest.mark.parametrize("segment, shape", [
    ("gia-vang-tang-manh-5047621.html", "W-N3.html"),
    ("10-buoc-quyet-toan-thue-2494870.html", "W-N3.html"),   # a headline starting with a number
    ("chuyen-doi-so-ho-kinh-doanh-e1999.htm", "W-eN2.htm"),  # a topic id, told apart by its prefix
    ("48213-so-hoa-ho-so", "N2-W"),                          # an id before the slug
    ("70231", "N2"),
    ("p2", "pN1"),
])
def test_segment_shapes(segment, shape):
    assert listing.segment_shape(segment) == shape


def test_template_round_trip_and_literals():
    urls = ["http://x.vn/tin-tuc/abc-def-ghi-jkl-1234567.html", "http://x.vn/tin-tuc/mot-hai-ba-bon-7654321.html"]
    template = listing.learn_template(urls)
    assert str(template) == "/tin-tuc/{W-N3}.html"
    assert listing.Template.parse(str(template)) == template
    assert template.matches("http://x.vn/tin-tuc/nam-sau-bay-tam-1111111.html")
    assert not template.matches("http://x.vn/event/nam-sau-bay-tam-1111111.html")
    assert not template.matches("http://x.vn/tin-tuc/chu-de-45.html")


def _analysis(body: str, url: str = "http://x.vn/tin"):
    return listing.analyse(lxml_html.document_fromstring(f"<html><body>{body}</body></html>"), url)


def test_topic_strip_and_menu_lose_to_the_main_list_whatever_their_urls():
    items = "".join(f"<div class='it'><h3><a href='/a/{i}-bai-viet-so-{i}'>Tỉnh triển khai nền tảng số đợt {i}</a></h3>"
                    f"<span>0{i}/10/2025</span></div>" for i in range(5))
    topics = "".join(f"<a href='/a/{90 + i}-chu-de-{i}'>Chủ đề {i}</a> " for i in range(6))  # same URL shape
    menu = "<div class='main-menu'>" + "".join(f"<a href='/m/{i}'>Mục lớn số {i} của cổng thông tin</a>"
                                               for i in range(8)) + "</div>"
    result = _analysis(menu + f"<div class='tags'>{topics}</div><div class='list'>{items}</div>")
    assert set(result.taken) == {f"http://x.vn/a/{i}-bai-viet-so-{i}" for i in range(5)}
    assert result.not_taken["http://x.vn/a/90-chu-de-0"] == "short link text (menu, tag, category or pager)"
    assert result.not_taken["http://x.vn/m/0"] == "menu, header or footer"


def test_read_more_beside_every_teaser_is_not_a_pager():
    from scrapy.http import HtmlResponse

    from crawler.config import Source
    from spiders.links import next_page, rules_for

    items = "".join(f"<div><a href='/tin/{i}'>Tin bài số {i} về chuyển đổi số</a> <a href='/tin/{i}'>Xem tiếp</a></div>"
                    for i in range(4))
    html = f"<html><body>{items}<a href='/tin-moi/trang-2'>2</a></body></html>"
    response = HtmlResponse(url="http://x.vn/tin-moi", body=html.encode(), encoding="utf-8")
    rules = rules_for(Source(name="x", title="x", level="national", start_urls=["http://x.vn/tin-moi"]))
    assert next_page(response, rules, 1) == ("http://x.vn/tin-moi/trang-2", "page number 2")
    bare = HtmlResponse(url="http://x.vn/tin-moi", body=items.replace("Xem tiếp", "Xem").encode()
                        + b"<a href='/tin-moi-p2'><i></i></a>", encoding="utf-8")
    assert next_page(bare, rules, 1) == ("http://x.vn/tin-moi-p2", "the listing's own URL with the next page number")


@pytest.mark.parametrize("here, there, page_no, expected", [
    ("https://a.vn/kinh-doanh.htm", "https://a.vn/kinh-doanh/trang-2.htm", 1, True),
    ("https://a.vn/kinh-doanh", "https://a.vn/kinh-doanh-p2", 1, True),
    ("https://a.vn/blog/", "https://a.vn/blog/page/2/", 1, True),
    ("https://a.vn/tin?start=0", "https://a.vn/tin?start=10", 1, True),
    ("https://a.vn/tin-tuc/?page=2", "https://a.vn/tin-tuc/?page=1", 2, False),
    ("https://a.vn/tin-tuc/", "https://a.vn/the-thao/?page=2", 1, False),
    ("https://a.vn/tin-tuc/", "https://a.vn/tin-tuc/12345", 1, False),
])
def test_next_listing_url(here, there, page_no, expected):
    assert listing.is_next_listing_url(here, there, page_no) is expected


def test_listing_pages_are_refused_and_real_articles_are_not(shared_dir):
    pages = shared_dir / "real-pages" / "pages"
    refused = {}
    for page in sorted(pages.glob("*.html")):
        try:
            extract_article_or_raise(page.read_bytes(), None)
            refused[page.stem] = None
        except NoArticle as exc:
            refused[page.stem] = exc.reason
    assert all(reason is None for stem, reason in refused.items() if stem.endswith("-1")), refused
    assert sum(1 for stem, reason in refused.items() if stem.endswith("-2") and reason == "listing") >= 6, refused


@pytest.mark.parametrize("layout", LAYOUTS + HELD_OUT, ids=lambda layout: layout.name)
def test_every_layout_listing_is_refused_as_an_article(layout):
    html, _articles, _others = listing_page(layout)
    with pytest.raises(NoArticle) as refused:
        extract_article_or_raise(html, "http://portal.example.gov.vn" + layout.listing_path)
    # headlines and dates alone (no summaries) are under an article's shortest text
    assert refused.value.reason == ("no_text" if layout.name == "uuid" else "listing")


def test_a_short_article_with_a_related_news_list_is_not_refused():
    related = "".join(f"<li><a href='/tin/{i}-bai-lien-quan'>Tin liên quan số {i} về chuyển đổi số ở cơ sở</a>"
                      f"<span>0{i}/10/2025</span><p>Tóm tắt tin liên quan số {i}, đăng trên cổng thông tin tỉnh.</p></li>"
                      for i in range(8))
    page = article_html(5).replace("</article>", f"</article><div class='related'><ul>{related}</ul></div>")
    result = extract_article_or_raise(page, "http://x.gov.vn/tin-tuc/bai-5-1005.html")
    assert article_body(5)[0] in result["text"]
