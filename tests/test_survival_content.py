"""Hostile content and network faults in one crawl: every hostile source is recorded, none crashes
the crawl, and a well-behaved source crawled beside them is stored in full.

Each case is a source of its own on a loopback portal, so the crawl_runs row tells what happened
to it. The "What dxwatch survives" table of docs/operations.md is drawn from these cases.
"""

from __future__ import annotations

import gzip
import json
import zlib

import brotli
import pytest
import sqlite_utils

from servers import Page
from helpers import article_html, article_path, crawl, last_runs, listing_html, write_config

MB = 1024 * 1024


def gzip_bomb(size: int) -> bytes:
    """A small gzip body that inflates to `size` bytes of spaces."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b" " * MB
    out = [z.compress(b"<html><body>")]
    for _ in range(size // MB):
        out.append(z.compress(chunk))
    out.append(z.flush())
    return b"".join(out)


def nested_html(depth: int) -> str:
    return "<html><body>" + "<div>" * depth + "chuyển đổi số" + "</div>" * depth + "</body></html>"


def hostile_routes(portal) -> dict[str, str]:
    """Register one listing per hostile case, each linking to one poisoned article URL."""
    cases = {
        "truncated": Page(article_html(1)[:400]),
        "binary-as-html": Page(bytes(range(256)) * 400),
        "pdf-as-article": Page(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
                               content_type="application/pdf"),
        "image-as-article": Page(b"\x89PNG\r\n\x1a\n" + b"\0" * 5000, content_type="image/png"),
        "huge-page": Page(b"<html><body><p>" + b"chuyen doi so " * (50 * MB // 14) + b"</p></body></html>"),
        "gzip-bomb": Page(gzip_bomb(200 * MB), encoding="gzip"),
        "brotli-bomb": Page(brotli.compress(b" " * (200 * MB), quality=5), encoding="br"),
        "deep-nesting": Page(nested_html(100_000)),
        "empty-page": Page(b""),
        "reset-mid-body": Page(article_html(2), reset_after=300),
        "slow-drip": Page(article_html(3) + " " * 40_000, drip=0.5),
        "server-error-storm": Page("lỗi", status=503),
    }
    names = {}
    for n, (name, page) in enumerate(cases.items()):
        path = f"/{name}/tin-tuc/bai-viet-chuyen-doi-so-doc-hai-{n}-{9000 + n}.html"
        portal.routes[f"/{name}/danh-sach"] = Page(listing_html([path]))
        portal.routes[path] = page
        names[name] = path
    return names


EXPECTED = {
    "truncated": "rejected", "binary-as-html": "rejected", "pdf-as-article": "rejected",
    "image-as-article": "rejected", "deep-nesting": "rejected", "empty-page": "rejected",
    "huge-page": "too_large", "gzip-bomb": "too_large", "brotli-bomb": "too_large",
    "reset-mid-body": "data_loss", "slow-drip": "timeout", "server-error-storm": "http_503",
}


def test_hostile_pages_and_faults_never_crash_and_never_stop_the_others(portal, tmp_path, db_path):
    hostile = hostile_routes(portal)
    for i in range(3):
        portal.routes[f"/good{article_path(i)}"] = Page(article_html(i))
    # a UTF-8 page whose header and meta both claim UTF-16: repaired, not lost
    portal.routes[f"/good{article_path(3)}"] = Page(article_html(3, charset="utf-16").encode("utf-8"),
                                                    content_type="text/html; charset=utf-16")
    portal.routes["/good/danh-sach"] = Page(listing_html([f"/good{article_path(i)}" for i in range(4)]))
    sources = [{"name": name, "start_urls": [portal.url(f"/{name}/danh-sach")]} for name in ["good", *hostile]]
    cfg = write_config(tmp_path / "cfg", sources, download_timeout=3, retry_times=1, max_page_bytes=5 * MB)

    result = crawl(cfg, db_path)

    assert result.returncode in (0, 1), result.stderr[-2000:]
    runs = last_runs(db_path)
    assert set(runs) == {"good", *hostile}
    assert all(r["status"] in ("ok", "failed") for r in runs.values()), runs
    db = sqlite_utils.Database(db_path)
    stored = {r["url"]: r for r in db.query("SELECT url, source, title, text FROM articles")}
    assert sum(1 for r in stored.values() if r["source"] == "good") == 4
    assert "đẩy mạnh chuyển đổi số" in stored[portal.url(f"/good{article_path(3)}")]["title"]
    # nothing hostile became an article, and every hostile article page was either refused or rejected
    assert not [u for u, r in stored.items() if r["source"] != "good"], stored.keys()
    outcome = {name: ("rejected" if runs[name]["articles_rejected"] else
                      ",".join(sorted(json.loads(runs[name]["errors"] or "{}")))) for name in hostile}
    assert outcome == EXPECTED
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def feed(items: str) -> str:
    return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>{items}</channel></rss>"


BACKFILL = 12  # articles of the huge sitemap fetched per crawl (max_articles): enough to see the newest first


@pytest.mark.slow
def test_xml_entity_bombs_external_entities_and_huge_sitemaps(portal, tmp_path, db_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("KHONG-DUOC-DOC", encoding="utf-8")
    laughs = ("<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
              + "".join(f"<!ENTITY lol{i + 1} '{('&lol' + (str(i) if i else '') + ';') * 10}'>" for i in range(9))
              + "]><rss version='2.0'><channel><item><title>&lol9;</title>"
              "<link>" + portal.url("/bomb/tin-tuc/bai-1-1001.html") + "</link></item></channel></rss>")
    external = ("<?xml version='1.0'?><!DOCTYPE r [<!ENTITY xxe SYSTEM 'file://" + str(secret) + "'>]>"
                "<rss version='2.0'><channel><item><title>&xxe;</title><link>"
                + portal.url("/xxe/tin-tuc/bai-2-1002.html") + "</link></item></channel></rss>")
    many = "".join(f"<url><loc>{portal.url(f'/big/tin-tuc/bai-{i}-{10000 + i}.html')}</loc>"
                   f"<lastmod>2026-{1 + i % 12:02d}-{1 + i % 28:02d}</lastmod></url>" for i in range(60_000))
    huge_sitemap = f"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{many}</urlset>"
    portal.routes["/bomb/rss"] = Page(laughs, content_type="application/rss+xml")
    portal.routes["/xxe/rss"] = Page(external, content_type="application/rss+xml")
    portal.routes["/big/sitemap.xml.gz"] = Page(gzip.compress(huge_sitemap.encode()), content_type="application/gzip")
    portal.routes["/good/rss"] = Page(feed(f"<item><title>Tin tốt</title><link>{portal.url('/good' + article_path(7))}"
                                           "</link></item>"), content_type="application/rss+xml")
    portal.routes["/good" + article_path(7)] = Page(article_html(7))
    sources = [{"name": "bomb", "feeds": [portal.url("/bomb/rss")]},
               {"name": "xxe", "feeds": [portal.url("/xxe/rss")]},
               {"name": "big", "sitemaps": [portal.url("/big/sitemap.xml.gz")], "max_articles": BACKFILL},
               {"name": "good", "feeds": [portal.url("/good/rss")]}]
    cfg = write_config(tmp_path / "cfg", sources, download_timeout=5, retry_times=0)

    result = crawl(cfg, db_path)

    assert result.returncode in (0, 1)
    runs = last_runs(db_path)
    assert runs["good"]["articles_new"] == 1
    db = sqlite_utils.Database(db_path)
    everything = json.dumps([dict(r) for r in db.query("SELECT * FROM articles")], ensure_ascii=False)
    assert "KHONG-DUOC-DOC" not in everything and "lollollol" not in everything
    assert portal.requests_to("/bomb/tin-tuc/bai-1-1001.html") == 0  # the bomb feed was refused whole
    # an enormous sitemap is read whole, and the crawl takes the newest `max_articles` of it
    big = [r.path for r in portal.log if r.path.startswith("/big/tin-tuc/")]
    assert len(big) == BACKFILL
    newest = {f"/big/tin-tuc/bai-{i}-{10000 + i}.html" for i in range(60_000) if i % 12 == 11 and i % 28 == 27}
    assert set(big) <= newest  # all dated 2026-12-28, the latest lastmod in the file
    del portal.log[:]
    crawl(cfg, db_path, "--source", "big")  # the backfill goes on where the last crawl stopped
    more = [r.path for r in portal.log if r.path.startswith("/big/tin-tuc/")]
    assert len(more) == BACKFILL and not set(more) & set(big)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
