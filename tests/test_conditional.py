"""Conditional requests (spiders/conditional.py) for every kind of request, against a loopback
portal whose every route answers 304 to matching validators, as a well-behaved server does.

The server's log is the evidence: which requests carried If-None-Match / If-Modified-Since,
and which were answered 304.
"""

from __future__ import annotations

from html import escape

import pytest
import sqlite_utils

import docgen
from helpers import article_html, article_path, crawl, last_runs, listing_html, write_config
from servers import Page, Request

LISTING = "/tin-tuc/chuyen-doi-so.html"
FEED = "/rss/chuyen-doi-so.rss"
SITEMAP = "/sitemap-tin.xml"
DOCUMENT = "/files/qd-12.pdf"
LAST_MODIFIED = "Wed, 01 Oct 2025 08:00:00 GMT"


def conditional(body, etag: str | None, content_type: str = "text/html; charset=utf-8"):
    """A route with an ETag (or, given None, only a Last-Modified) that answers 304 when it matches."""
    def route(request: Request) -> Page:
        if (etag and request.headers.get("if-none-match") == etag) or \
                (not etag and request.headers.get("if-modified-since") == LAST_MODIFIED):
            return Page(b"", status=304, content_type=None)
        validators = {"ETag": etag} if etag else {"Last-Modified": LAST_MODIFIED}
        return Page(body, content_type=content_type, headers=validators)
    return route


def feed_xml(portal, paths: list[str]) -> str:
    items = "".join(f"<item><title>Tin {n}</title><link>{escape(portal.url(p))}</link></item>"
                    for n, p in enumerate(paths))
    return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>CĐS</title>{items}</channel></rss>"


def sitemap_xml(portal, paths: list[str]) -> str:
    urls = "".join(f"<url><loc>{escape(portal.url(p))}</loc></url>" for p in paths)
    return f"<?xml version='1.0' encoding='utf-8'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>"


def headers_of(portal, path: str) -> list[dict]:
    return [r.headers for r in portal.log if r.path == path]


@pytest.mark.slow
def test_every_kind_of_request_is_asked_conditionally_as_its_policy_says(portal, tmp_path, db_path):
    article = article_html(1).replace("</div></article>", f"<a href='{DOCUMENT}'>Quyết định 12</a></div></article>")
    portal.routes[LISTING] = conditional(listing_html([article_path(1)]), '"listing-v1"')
    portal.routes[FEED] = conditional(feed_xml(portal, [article_path(2)]), None, "application/rss+xml")
    portal.routes[SITEMAP] = conditional(sitemap_xml(portal, [article_path(3)]), '"sitemap-v1"', "application/xml")
    for n in (2, 3):
        portal.routes[article_path(n)] = conditional(article_html(n), f'"article-{n}"')
    portal.routes[article_path(1)] = conditional(article, '"article-1"')
    portal.routes[DOCUMENT] = conditional(docgen.pdf_bytes(docgen.DECISION), '"qd-v1"', "application/pdf")
    config = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url(LISTING)],
                                              "feeds": [portal.url(FEED)], "sitemaps": [portal.url(SITEMAP)]}])

    assert crawl(config, db_path).returncode == 0
    assert all("if-none-match" not in h and "if-modified-since" not in h for r in portal.log for h in [r.headers])
    db = sqlite_utils.Database(db_path)
    assert db["articles"].count == 3 and db["documents"].count == 1
    checked = db.execute("SELECT checked_at FROM documents").fetchone()[0]
    pages = {r["url"]: r for r in db.query("SELECT * FROM http_state")}

    # a new article in the listing would not be seen behind a 304; it is there to be found on the next full fetch
    portal.routes[article_path(4)] = Page(article_html(4).replace(
        "</div></article>", f"<a href='{DOCUMENT}'>Quyết định 12</a></div></article>"))
    del portal.log[:]
    assert crawl(config, db_path).returncode == 0

    # pages: the validator each one gave (ETag, or Last-Modified for the feed), answered 304
    assert [h.get("if-none-match") for h in headers_of(portal, LISTING)] == ['"listing-v1"']
    assert [h.get("if-modified-since") for h in headers_of(portal, FEED)] == [LAST_MODIFIED]
    assert [h.get("if-none-match") for h in headers_of(portal, SITEMAP)] == ['"sitemap-v1"']
    # a 304 leaves the page's row as the last 200 wrote it (its full fetch is due a day after that)
    assert {r["url"]: r for r in db.query("SELECT * FROM http_state")} == pages
    assert last_runs(db_path)["laocai"]["status"] == "ok"
    # stored articles are not asked at all, so never conditionally
    assert not any(portal.requests_to(article_path(n)) for n in (1, 2, 3))

    # a stored file is asked with its validator when an article links it again; the 304 marks it checked
    portal.routes[LISTING] = Page(listing_html([article_path(4), article_path(1)]))
    del portal.log[:]
    assert crawl(config, db_path).returncode == 0
    assert [h.get("if-none-match") for h in headers_of(portal, DOCUMENT)] == ['"qd-v1"']
    assert [h.get("if-none-match") for h in headers_of(portal, article_path(4))] == [None]
    assert db.execute("SELECT checked_at FROM documents").fetchone()[0] > checked
    assert db["documents"].count == 1 and db["articles"].count == 4


def test_a_304_to_a_request_that_sent_no_validators_is_an_error(portal, tmp_path, db_path):
    """Articles are never conditional: a server that answers 304 anyway gave no article, and the
    article stays owed for the next crawl."""
    portal.routes[LISTING] = Page(listing_html([article_path(1), article_path(2)]))
    portal.routes[article_path(1)] = Page(article_html(1))
    portal.routes[article_path(2)] = Page(b"", status=304, content_type=None)
    config = write_config(tmp_path / "cfg", [{"name": "laocai", "start_urls": [portal.url(LISTING)]}])
    crawl(config, db_path)
    run = last_runs(db_path)["laocai"]
    assert run["articles_new"] == 1 and '"http_304": 1' in run["errors"]
    owed = [r["url"] for r in sqlite_utils.Database(db_path).query("SELECT url FROM crawl_frontier")]
    assert portal.url(article_path(2)) in owed
