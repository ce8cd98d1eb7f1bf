"""Network faults beyond those in test_crawl_faults.py: redirects that leave the source (to another
host, or to an internal address from a public source) and TLS, broken or self-signed."""

from __future__ import annotations

import json

import pytest
import sqlite_utils

from servers import Page, PortalServer, self_signed
from spiders.guard import is_internal_host, refusal, source_ports
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


SECRET = "/tin-tuc/chuyen-doi-so/bai-noi-bo-9999.html"  # an internal service's page that looks like an article


def test_internal_services_behind_host_names_and_other_ports_are_never_fetched(tmp_path, db_path):
    """A source served under the name `localhost`: links and redirects to the same name on another
    port, to another 127.x address, and to the internal service in numeric forms are never fetched."""
    with PortalServer() as portal, PortalServer() as same_host, PortalServer(host="127.0.0.2") as other_host:
        for service in (same_host, other_host):
            service.routes[SECRET] = Page(article_html(99, title="Tài liệu nội bộ chuyển đổi số"))
        q = same_host.port
        portal.routes["/danh-sach"] = Page(listing_html([
            article_path(1), f"http://localhost:{q}{SECRET}", f"{other_host.base}{SECRET}",
            f"http://2130706433:{q}{SECRET}", f"http://0x7f000001:{q}{SECRET}", article_path(2), article_path(3),
            article_path(4)]))
        portal.routes[article_path(1)] = Page(article_html(1))
        for i, target in ((2, f"http://localhost:{q}{SECRET}"), (3, f"http://127.1:{q}{SECRET}"),
                          (4, f"{other_host.base}{SECRET}")):
            portal.routes[article_path(i)] = Page("", status=302, headers={"Location": target})
        start = f"http://localhost:{portal.port}/danh-sach"
        cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [start]}])
        crawl(cfg, db_path)
    assert same_host.log == [] and other_host.log == []
    urls = [r["url"] for r in sqlite_utils.Database(db_path).query("SELECT url FROM articles")]
    assert urls == [f"http://localhost:{portal.port}{article_path(1)}"]
    errors = json.loads(last_runs(db_path)["tinh"]["errors"])
    assert errors.get("offsite_port") and errors.get("offsite_redirect"), errors


@pytest.mark.parametrize("target", ["http://0x7f000001/", "http://2130706433/", "http://127.1/", "http://0177.0.0.1/",
                                    "http://[::ffff:127.0.0.1]/", "http://[::ffff:169.254.169.254]/",
                                    "http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/"])
def test_every_textual_form_of_an_internal_address_is_recognised(target):
    assert refusal(target, {"thanhhoa.gov.vn"}, redirected=False).kind == "internal_address"


def test_a_name_that_resolves_inside_is_refused_and_ports_are_the_sources_own():
    inside = {"cds.thanhhoa.gov.vn": ["10.0.0.5"], "thanhhoa.gov.vn": ["8.8.4.4"]}
    ports = source_ports(["https://thanhhoa.gov.vn/tin-tuc"])
    check = lambda url: refusal(url, {"thanhhoa.gov.vn"}, False, ports, None, lambda h: inside.get(h, []))  # noqa: E731
    assert check("https://cds.thanhhoa.gov.vn/a").kind == "internal_address"
    assert check("http://thanhhoa.gov.vn:8080/quan-tri").kind == "offsite_port"
    assert check("http://thanhhoa.gov.vn/tin-tuc/a.html") is None  # http and https default ports: always
    assert check("https://www.thanhhoa.gov.vn/a") is None
