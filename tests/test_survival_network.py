"""Network faults beyond those in test_crawl_faults.py: redirects that leave the source (to another
host, or to an internal address from a public source) and TLS, broken or self-signed."""

from __future__ import annotations

import json

import pytest
import sqlite_utils

from servers import Page, PortalServer, self_signed
from spiders.guard import is_internal_host, refusal
from helpers import article_html, article_path, crawl, last_runs, listing_html, write_config


def test_a_redirect_to_another_host_is_not_followed(portal, tmp_path, db_path):
    elsewhere = f"http://localhost:{portal.port}/noi-khac/bai-viet-1.html"
    portal.routes["/danh-sach"] = Page(listing_html([article_path(1), article_path(2)]))
    portal.routes[article_path(1)] = Page("", status=302, headers={"Location": elsewhere})
    portal.routes[article_path(2)] = Page(article_html(2))
    portal.routes["/noi-khac/bai-viet-1.html"] = Page(article_html(1))
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url("/danh-sach")]}])

    crawl(cfg, db_path)

    assert portal.requests_to("/noi-khac/bai-viet-1.html") == 0
    urls = [r["url"] for r in sqlite_utils.Database(db_path).query("SELECT url FROM articles")]
    assert urls == [portal.url(article_path(2))]
    assert json.loads(last_runs(db_path)["tinh"]["errors"]) == {"offsite_redirect": 1}


@pytest.mark.parametrize("target", [
    "http://127.0.0.1/admin", "http://localhost:8080/", "http://10.1.2.3/x", "http://192.168.1.1/",
    "http://172.16.0.9/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[fd00::1]/",
    "http://0.0.0.0/", "http://router.lan/", "http://db.internal/",
])
def test_a_public_source_never_reaches_an_internal_address(target):
    for redirected in (True, False):
        refused = refusal(target, {"thanhhoa.gov.vn"}, redirected=redirected)
        assert refused is not None and refused.kind == "internal_address"


def test_public_and_own_addresses_are_allowed():
    assert refusal("https://thanhhoa.gov.vn/tin-tuc/a.html", {"thanhhoa.gov.vn"}, redirected=True) is None
    assert refusal("https://chuyendoiso.thanhhoa.gov.vn/a", {"thanhhoa.gov.vn"}, redirected=True) is None
    assert refusal("https://baochinhphu.vn/a", {"thanhhoa.gov.vn"}, redirected=True).kind == "offsite_redirect"
    # a source that is itself on loopback (the demo, the tests) may stay there
    assert refusal("http://127.0.0.1:8701/a", {"127.0.0.1"}, redirected=False) is None
    assert not is_internal_host("8.8.8.8") and is_internal_host("[::ffff:127.0.0.1]")


def test_tls_handshake_failure_is_recorded_and_a_self_signed_portal_is_crawled(portal, tmp_path, db_path):
    """Scrapy does not verify chains (incomplete chains are common on gov.vn); a handshake that fails
    (here: TLS spoken to a plain HTTP server) is a recorded `tls` error that stops no other source."""
    _, context = self_signed(tmp_path)
    with PortalServer(ssl_context=context) as secure:
        secure.routes["/danh-sach"] = Page(listing_html([article_path(3)]))
        secure.routes[article_path(3)] = Page(article_html(3))
        portal.routes["/danh-sach"] = Page(listing_html([article_path(4)]))
        broken = f"https://127.0.0.1:{portal.port}/danh-sach"
        cfg = write_config(tmp_path / "cfg", [{"name": "https-ok", "start_urls": [secure.url("/danh-sach")]},
                                              {"name": "tls-broken", "start_urls": [broken]}], retry_times=0)
        crawl(cfg, db_path)
    runs = last_runs(db_path)
    assert runs["https-ok"]["status"] == "ok" and runs["https-ok"]["articles_new"] == 1
    assert runs["tls-broken"]["status"] == "failed"
    assert set(json.loads(runs["tls-broken"]["errors"])) <= {"tls", "connection_lost", "data_loss"}, runs["tls-broken"]
