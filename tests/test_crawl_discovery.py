"""Discovery on loopback portals: pagination kinds, a platform preset, feeds, sitemaps (index, gzip,
robots.txt Sitemap lines, lastmod). One crawl covers several sources, as in production."""

from __future__ import annotations

import gzip
from html import escape

import sqlite_utils

from servers import Page
from helpers import article_html, crawl, last_runs, listing_html, write_config


def slug_path(prefix: str, i: int) -> str:
    return f"/{prefix}/tin-tuc/dia-phuong-trien-khai-chuyen-doi-so-dot-{i}-{5000 + i}.html"


def pager_site(portal, prefix: str, pages: int, per_page: int, pager) -> list[str]:
    """A listing of `pages` pages; `pager(n)` returns the HTML that links page n to page n+1."""
    paths = []
    for n in range(1, pages + 1):
        ids = range((n - 1) * per_page, n * per_page)
        links = [slug_path(prefix, i) for i in ids]
        paths += links
        extra = pager(n) if n < pages else ""
        portal.routes[page_url(prefix, n)] = Page(listing_html(links, extra=extra))
        for i in ids:
            portal.routes[slug_path(prefix, i)] = Page(article_html(sum(map(ord, prefix)) * 100 + i))
    return paths


def page_url(prefix: str, n: int) -> str:
    return f"/{prefix}/danh-sach" if n == 1 else f"/{prefix}/danh-sach?trang={n}"


def stored_by_source(db_path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in sqlite_utils.Database(db_path).query("SELECT source, url FROM articles"):
        out.setdefault(row["source"], set()).add(row["url"].split("/", 3)[3])
    return {k: {"/" + p for p in v} for k, v in out.items()}


def test_pagination_kinds_preset_and_page_limit(portal, tmp_path, db_path):
    expected = {
        "relnext": pager_site(portal, "relnext", 3, 2,
                              lambda n: f"<a rel='next' href='{page_url('relnext', n + 1)}'>Xem thêm</a>"),
        "raquo": pager_site(portal, "raquo", 3, 2, lambda n: f"<a href='{page_url('raquo', n + 1)}'>»</a>"),
        "numbers": pager_site(portal, "numbers", 3, 2, lambda n: "".join(
            f"<a href='{page_url('numbers', k)}'>{k}</a>" for k in range(1, 4) if k != n)),
        "selector": pager_site(portal, "selector", 2, 2,
                               lambda n: f"<a class='xem-them' href='{page_url('selector', n + 1)}'>Các tin khác</a>"),
        "limited": pager_site(portal, "limited", 4, 2, lambda n: f"<a href='{page_url('limited', n + 1)}'>Trang sau</a>")[:4],
    }
    # the national timestamp-id CMS: page 2 lives at /timelinelist/{zone}/2.htm, found through the preset
    ts_articles = [f"/thoi-su/thu-tuong-chi-dao-chuyen-doi-so-{i}-10225101508300{i:04d}.htm" for i in range(4)]
    portal.routes["/chuyen-doi-so.htm"] = Page(listing_html(ts_articles[:2], extra="<input type='hidden' id='hdZoneId' value='1087'>"))
    portal.routes["/timelinelist/1087/2.htm"] = Page(listing_html(ts_articles[2:]))
    for n, path in enumerate(ts_articles):
        portal.routes[path] = Page(article_html(900 + n))
    expected["timestamp"] = ts_articles
    sources = [{"name": name, "start_urls": [portal.url(page_url(name, 1))]}
               for name in ("relnext", "raquo", "numbers", "limited")]
    sources[-1]["max_pages"] = 2
    sources.append({"name": "selector", "start_urls": [portal.url(page_url("selector", 1))], "next_page": "a.xem-them"})
    sources.append({"name": "timestamp", "level": "national", "platform": "timestamp-news",
                    "start_urls": [portal.url("/chuyen-doi-so.htm")]})
    cfg = write_config(tmp_path / "cfg", sources)
    result = crawl(cfg, db_path)
    assert result.returncode == 0, result.stdout + result.stderr
    stored = stored_by_source(db_path)
    for name, paths in expected.items():
        assert stored.get(name) == set(paths), name
    assert portal.requests_to(page_url("limited", 3)) == 0  # max_pages: 2
    # menus, tags and contact pages were never fetched as articles
    assert portal.requests_to("/tag/cds") == 0 and portal.requests_to("/lien-he") == 0


RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Tin chuyển đổi số</title>{items}</channel></rss>"""


def rss(portal, paths: list[str], offsite: str) -> str:
    items = "".join(f"<item><title>Tin {n}</title><link>{escape(portal.url(p))}?utm_source=rss</link>"
                    f"<pubDate>Wed, 1{n} Oct 2025 01:30:00 GMT</pubDate></item>" for n, p in enumerate(paths))
    items += f"<item><title>Ngoài trang</title><link>{offsite}</link></item>"
    return RSS.format(items=items)


def atom(portal, paths: list[str]) -> str:
    entries = "".join(f"<entry><title>Bài {n}</title><link href='{escape(portal.url(p))}'/>"
                      f"<updated>2025-10-1{n}T09:00:00+07:00</updated></entry>" for n, p in enumerate(paths))
    return f"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>x</title>{entries}</feed>"


def urlset(entries: list[tuple[str, str | None]]) -> bytes:
    body = "".join(f"<url><loc>{escape(u)}</loc>{f'<lastmod>{m}</lastmod>' if m else ''}</url>" for u, m in entries)
    return f"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{body}</urlset>".encode()


def test_feeds_and_sitemaps_with_index_gzip_robots_and_lastmod(portal, tmp_path, db_path):
    feed_paths = [slug_path("rss", i) for i in range(3)]
    atom_paths = [slug_path("atom", i) for i in range(2)]
    sm_a = [slug_path("sma", i) for i in range(3)]
    sm_b = [slug_path("smb", i) for i in range(2)]
    for n, p in enumerate(feed_paths + atom_paths + sm_a + sm_b):
        portal.routes[p] = Page(article_html(300 + n))
    portal.routes["/rss/chuyen-doi-so.rss"] = Page(rss(portal, feed_paths, "https://facebook.com/trang-tinh"),
                                                   content_type="application/rss+xml")
    portal.routes["/atom.xml"] = Page(atom(portal, atom_paths), content_type="application/atom+xml")
    index = (f"<?xml version='1.0'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
             f"<sitemap><loc>{portal.url('/sitemap-a.xml.gz')}</loc><lastmod>2025-10-01</lastmod></sitemap>"
             f"<sitemap><loc>{portal.url('/sitemap-b.xml')}</loc><lastmod>2025-10-02</lastmod></sitemap>"
             "</sitemapindex>")
    portal.routes["/sitemap-index.xml"] = Page(index, content_type="application/xml")
    portal.routes["/sitemap-a.xml.gz"] = Page(gzip.compress(urlset([(portal.url(p), "2025-10-01") for p in sm_a]
                                                                 + [(portal.url("/tag/cds"), None)])),
                                              content_type="application/x-gzip")
    portal.routes["/sitemap-b.xml"] = Page(urlset([(portal.url(p), None) for p in sm_b]), content_type="application/xml")
    portal.routes["/robots.txt"] = Page(f"User-agent: *\nAllow: /\nSitemap: {portal.url('/sitemap-index.xml')}\n",
                                        content_type="text/plain")
    cfg = write_config(tmp_path / "cfg", [
        {"name": "rss", "feeds": [portal.url("/rss/chuyen-doi-so.rss")]},
        {"name": "atom", "feeds": [portal.url("/atom.xml")]},
        {"name": "sitemaps", "sitemaps": [portal.url("/robots.txt")]},
    ])
    result = crawl(cfg, db_path)
    assert result.returncode == 0, result.stdout + result.stderr
    stored = stored_by_source(db_path)
    assert stored["rss"] == set(feed_paths)
    assert stored["atom"] == set(atom_paths)
    assert stored["sitemaps"] == set(sm_a + sm_b)
    assert portal.requests_to("/tag/cds") == 0
    # second crawl: the index changed (sitemap-b has a new lastmod), sitemap-a did not
    new_b = slug_path("smb", 9)
    portal.routes[new_b] = Page(article_html(399))
    portal.routes["/sitemap-b.xml"] = Page(urlset([(portal.url(p), None) for p in sm_b + [new_b]]),
                                           content_type="application/xml")
    portal.routes["/sitemap-index.xml"] = Page(index.replace("2025-10-02", "2025-10-09"), content_type="application/xml")
    del portal.log[:]
    assert crawl(cfg, db_path).returncode == 0
    assert portal.requests_to("/sitemap-a.xml.gz") == 0  # same lastmod: not read again
    assert portal.requests_to("/sitemap-b.xml") == 1
    fetched_articles = [r.path for r in portal.log if "/tin-tuc/" in r.path]
    assert fetched_articles == [new_b]
    assert last_runs(db_path)["sitemaps"]["articles_new"] == 1


def test_sitemap_index_that_lists_itself_is_read_once(portal, tmp_path, db_path):
    page = slug_path("vong", 1)
    portal.routes[page] = Page(article_html(1))
    loop = (f"<?xml version='1.0'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
            f"<sitemap><loc>{portal.url('/sitemap.xml')}</loc></sitemap>"
            f"<sitemap><loc>{portal.url('/sitemap-tin.xml')}</loc></sitemap></sitemapindex>")
    portal.routes["/sitemap.xml"] = Page(loop, content_type="application/xml")
    portal.routes["/sitemap-tin.xml"] = Page(urlset([(portal.url(page), None), (portal.url("/sitemap.xml"), None)]),
                                             content_type="application/xml")
    cfg = write_config(tmp_path / "cfg", [{"name": "vong", "sitemaps": [portal.url("/sitemap.xml")]}])
    assert crawl(cfg, db_path).returncode == 0
    assert portal.requests_to("/sitemap.xml") == 1 and portal.requests_to("/sitemap-tin.xml") == 1
    assert stored_by_source(db_path)["vong"] == {page}
