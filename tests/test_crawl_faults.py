"""Faults on loopback portals: redirects, rel=canonical, robots.txt, 5xx then success, 429 with
Retry-After, wrong charsets, and broken sources (dead, 403, redirect loop) that must not stop the
others; then a crawl interrupted with Ctrl-C and started again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
import sqlite_utils

from servers import Page
from helpers import article_html, crawl, last_runs, listing_html, to_cp1258, write_config


def path(prefix: str, i: int, word: str = "bai-viet") -> str:
    return f"/{prefix}/tin-tuc/{word}-ve-chuyen-doi-so-so-{i}-{7000 + i}.html"


def flaky(first: Page, then: Page, times: int = 1, clock: list | None = None):
    """A route answering `first` the first `times` requests, then `then`; `clock` gets each request's time."""
    calls = {"n": 0}

    def route(_request):
        calls["n"] += 1
        if clock is not None:
            clock.append(time.monotonic())
        return first if calls["n"] <= times else then

    return route


def titles(db_path) -> dict[str, str]:
    return {r["url"]: r["title"] for r in sqlite_utils.Database(db_path).query("SELECT url, title FROM articles")}


def test_faults_and_broken_sources(portal, tmp_path, db_path):
    r = portal.routes
    # redirects and rel=canonical
    old, new = path("redirects", 1, "bai-cu"), path("redirects", 1, "bai-moi")
    printable = path("redirects", 2) + "?in=1"
    r["/redirects/danh-sach"] = Page(listing_html([old, printable]))
    r[old] = Page("", status=301, headers={"Location": new})
    r[new] = Page(article_html(1))
    r[printable] = Page(article_html(2, canonical=portal.url(path("redirects", 2))))
    # robots.txt
    r["/robots.txt"] = Page("User-agent: *\nDisallow: /robots/cam/\n", content_type="text/plain")
    r["/robots/danh-sach"] = Page(listing_html(["/robots/cam/tin-tuc/bai-khong-duoc-lay-ve-cds-1-9001.html",
                                                path("robots", 3)]))
    r[path("robots", 3)] = Page(article_html(3))
    # 5xx then success, 429 with Retry-After
    r["/flaky/danh-sach"] = flaky(Page("loi may chu", status=500), Page(listing_html([path("flaky", 4)])))
    r[path("flaky", 4)] = flaky(Page("tam thoi", status=503), Page(article_html(4)), times=2)
    clock: list[float] = []
    r["/throttled/danh-sach"] = Page(listing_html([path("throttled", 5)]))
    r[path("throttled", 5)] = flaky(Page("cham lai", status=429, headers={"Retry-After": "1"}), Page(article_html(5)),
                                    clock=clock)
    # charsets: legacy windows-1258 labelled UTF-8, UTF-8 labelled ISO-8859-1, UTF-8 with no label at all
    r["/charset/danh-sach"] = Page(listing_html([path("charset", i) for i in (6, 7, 8)]))
    r[path("charset", 6)] = Page(to_cp1258(article_html(6, charset="utf-8")))
    r[path("charset", 7)] = Page(article_html(7, charset="iso-8859-1").encode("utf-8"),
                                 content_type="text/html; charset=iso-8859-1")
    r[path("charset", 8)] = Page(article_html(8, charset="").encode("utf-8"), content_type="text/html")
    # broken sources
    r["/forbidden/danh-sach"] = Page("cam truy cap", status=403)
    r["/loop/a"] = Page("", status=302, headers={"Location": "/loop/b"})
    r["/loop/b"] = Page("", status=302, headers={"Location": "/loop/a"})
    names = ["redirects", "robots", "flaky", "throttled", "charset", "forbidden"]
    sources = [{"name": n, "start_urls": [portal.url(f"/{n}/danh-sach")]} for n in names]
    sources += [{"name": "loop", "start_urls": [portal.url("/loop/a")]},
                {"name": "dead", "start_urls": ["http://127.0.0.1:9/tin-tuc/"]}]
    cfg = write_config(tmp_path / "cfg", sources, retry_times=2)
    result = crawl(cfg, db_path)
    assert result.returncode == 1  # some sources failed, and the others were still crawled
    runs = last_runs(db_path)
    stored = titles(db_path)

    assert portal.url(new) in stored and portal.url(old) not in stored
    db = sqlite_utils.Database(db_path)
    alias_of = {a["url"]: a["article_id"] for a in db.query("SELECT * FROM article_urls")}
    assert alias_of[portal.url(old)] == alias_of[portal.url(new)]
    assert portal.url(path("redirects", 2)) in stored and portal.url(printable) not in stored

    assert portal.requests_to("/robots/cam/tin-tuc/bai-khong-duoc-lay-ve-cds-1-9001.html") == 0
    assert portal.url(path("robots", 3)) in stored

    assert portal.url(path("flaky", 4)) in stored and runs["flaky"]["status"] == "ok"
    assert portal.requests_to(path("flaky", 4)) == 3
    assert portal.url(path("throttled", 5)) in stored
    assert len(clock) == 2 and clock[1] - clock[0] >= 0.9  # Retry-After: 1 was honoured

    for i in (6, 7, 8):
        title = stored[portal.url(path("charset", i))]
        assert title == unicodedata.normalize("NFC", title) and "đẩy mạnh chuyển đổi số" in title, title

    assert {n: runs[n]["status"] for n in ("forbidden", "loop", "dead")} == dict.fromkeys(("forbidden", "loop", "dead"), "failed")
    assert "http_403" in json.loads(runs["forbidden"]["errors"])
    assert "too_many_redirects" in json.loads(runs["loop"]["errors"])
    assert "connection_refused" in json.loads(runs["dead"]["errors"])
    assert all(runs[n]["status"] == "ok" for n in names if n != "forbidden")

    # next crawl: the listing gained an article; the old URL is a known alias and is not fetched again
    r["/redirects/danh-sach"] = Page(listing_html([path("redirects", 9), old, printable]))
    r[path("redirects", 9)] = Page(article_html(9))
    del portal.log[:]
    crawl(cfg, db_path, "--source", "redirects")
    assert portal.requests_to(old) == 0 and portal.requests_to(printable) == 0
    assert portal.requests_to(path("redirects", 9)) == 1


@pytest.mark.parametrize("stop, recorded", [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "interrupted"),
                                            (signal.SIGKILL, "running")])  # a killed process cannot say so
def test_interrupted_crawl_loses_nothing_and_stores_nothing_twice(portal, tmp_path, db_path, stop, recorded):
    count = 12
    links = [path("slow", i) for i in range(count)]
    portal.routes["/slow/danh-sach"] = Page(listing_html(links), headers={"ETag": '"same"'})
    for i, p in enumerate(links):
        portal.routes[p] = Page(article_html(500 + i), delay=0.4)
    cfg = write_config(tmp_path / "cfg", [{"name": "slow", "start_urls": [portal.url("/slow/danh-sach")]}],
                       per_domain_concurrency=1, concurrent_requests=1)  # Ctrl-C lets in-flight requests finish
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "--config", str(cfg), "--db", str(db_path), "crawl"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db_path.exists() and _count(db_path) >= 2:
            break
        time.sleep(0.1)
    proc.send_signal(stop)
    proc.communicate(timeout=60)
    first = _count(db_path)
    assert 2 <= first < count
    assert last_runs(db_path)["slow"]["status"] == recorded
    # the listing's ETag must not make the next crawl skip what the first one missed
    assert crawl(cfg, db_path).returncode == 0
    db = sqlite_utils.Database(db_path)
    urls = [r["url"] for r in db.query("SELECT url FROM articles")]
    assert sorted(urls) == sorted(portal.url(p) for p in links)
    assert last_runs(db_path)["slow"]["articles_new"] == count - first


def _count(db_path) -> int:
    try:
        return sqlite_utils.Database(db_path).execute("SELECT count(*) FROM articles").fetchone()[0]
    except Exception:  # the crawl may not have created the table yet
        return 0


def test_page_size_and_download_time_limits(portal, tmp_path, db_path):
    big, small = path("limits", 1), path("limits", 2)
    portal.routes["/limits/danh-sach"] = Page(listing_html([big, small]))
    portal.routes[big] = Page(article_html(1).replace("</article>", "<p>" + "Chuyển đổi số. " * 4000 + "</p></article>"))
    portal.routes[small] = Page(article_html(2))
    portal.routes["/cham/danh-sach"] = Page(listing_html([path("cham", 3)]), delay=3)
    cfg = write_config(tmp_path / "cfg", [{"name": "limits", "start_urls": [portal.url("/limits/danh-sach")]},
                                          {"name": "cham", "start_urls": [portal.url("/cham/danh-sach")]}],
                       max_page_bytes=20_000, download_timeout=1, retry_times=0)
    crawl(cfg, db_path)
    runs = last_runs(db_path)
    assert "too_large" in json.loads(runs["limits"]["errors"])
    assert list(titles(db_path)) == [portal.url(small)]
    assert runs["cham"]["status"] == "failed" and "timeout" in json.loads(runs["cham"]["errors"])


def test_public_suffix_list_is_never_downloaded():
    """tldextract (Scrapy's cookie domains) must use its bundled list: crawls make no request off the portals."""
    code = ("import crawler.settings, scrapy.downloadermiddlewares.cookies as c; "
            "print(list(c._split_domain.suffix_list_urls))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "[]", out.stderr


def test_https_with_a_self_signed_certificate_works_and_a_tls_failure_is_recorded(portal, tmp_path, db_path):
    """gov.vn certificates often have incomplete chains: they must not stop a crawl; a broken handshake is `tls`."""
    import shutil
    import ssl

    from servers import PortalServer

    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=cong-thu-nghiem.local"], check=True, capture_output=True)
    secure = PortalServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    secure.httpd.socket = context.wrap_socket(secure.httpd.socket, server_side=True)
    secure.routes["/tin-tuc/"] = Page(listing_html([path("https", 1)]))
    secure.routes[path("https", 1)] = Page(article_html(1))
    with secure:
        base = f"https://127.0.0.1:{secure.port}"
        cfg = write_config(tmp_path / "cfg", [
            {"name": "https", "start_urls": [base + "/tin-tuc/"]},
            {"name": "handshake", "start_urls": [f"https://127.0.0.1:{portal.port}/tin-tuc/"]},  # plain HTTP there
        ], retry_times=0)
        crawl(cfg, db_path)
    runs = last_runs(db_path)
    assert runs["https"]["status"] == "ok" and list(titles(db_path)) == [base + path("https", 1)]
    assert runs["handshake"]["status"] == "failed" and "tls" in json.loads(runs["handshake"]["errors"])
