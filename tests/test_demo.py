"""The demo portals (served for real on loopback) and `dxwatch demo` end to end."""

from __future__ import annotations

import email
import html as html_lib
import re
import subprocess
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta
from email import policy
from pathlib import Path
from urllib.parse import unquote, urlparse
from xml.etree import ElementTree

import pytest
from lxml import html as lxml_html

from crawler import demo
from crawler.config import load_config
from helpers import demo_config, dxwatch

ANCHOR = date(2026, 3, 2)


def fetch(url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def undecorated(href: str) -> str:
    """A link without its fragment and its tracking/redirect decoration, as a crawler should see it."""
    bare = href.split("#")[0]
    path, _, query = bare.partition("?")
    return path if ("utm_" in query or "redirect" in query) else bare


def page_text(body: bytes) -> str:
    return lxml_html.fromstring(body.decode("utf-8")).text_content()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    config = load_config(demo_config(tmp_path_factory.mktemp("demo")))
    with demo.serve_portals(config, ANCHOR) as sites:
        yield sites


# ---------------------------------------------------------------- the sites


def test_every_article_is_reachable_from_the_paginated_listing(served):
    for site in served.values():
        seen_listing, found, queue = set(), set(), [site.listing_path(1)]
        while queue:
            path = queue.pop()
            if path in seen_listing:
                continue
            seen_listing.add(path)
            status, body, _ = fetch(site.base + path)
            assert status == 200, (site.name, path)
            for href in lxml_html.fromstring(body).xpath("//a/@href"):
                bare = undecorated(href)
                if bare in {a.path for a in site.articles}:
                    found.add(bare)
                elif bare in {site.listing_path(n) for n in range(2, len(site.pages) + 1)}:
                    queue.append(bare)
        assert found == {a.path for a in site.articles}, site.name
        assert len(seen_listing) >= 2, f"{site.name} should be paginated"


def test_every_internal_link_answers_like_a_real_portal(served):
    for site in served.values():
        pages = [site.listing_path(1)] + [a.path for a in site.articles[:2]]
        links = {href.split("#")[0] for path in pages
                 for href in lxml_html.fromstring(fetch(site.base + path)[1]).xpath("//a/@href")
                 if href.startswith("/")}
        for link in links:
            assert fetch(site.base + link)[0] == 200, (site.name, link)


def test_article_pages_carry_their_facts_and_the_traps(served):
    for site in served.values():
        for article in site.articles:
            status, body, headers = fetch(article.url)
            assert status == 200 and headers["Content-Type"].startswith("text/html")
            text = page_text(body)
            assert article.title in text
            for raw in article.expect.get("figures", []) + article.expect.get("directives", []):
                assert raw in text, (article.url, raw)
            assert "Tổng lượt truy cập" in text  # visitor counter
            assert "Chia sẻ" in text  # share bar
            if article.print_path:
                status, printed, _ = fetch(site.base + article.print_path)
                assert status == 200 and article.paragraphs[0] in page_text(printed)


def test_dates_are_recent_relative_to_the_anchor_and_in_the_urls(served):
    for site in served.values():
        for article in site.articles:
            assert ANCHOR - timedelta(days=14) < article.published.date() < ANCHOR
            assert article.published.utcoffset() == timedelta(hours=7)
    chinhphu = served["demo-chinhphu"].articles[0]
    assert chinhphu.path.endswith(f"-102{chinhphu.published:%y%m%d%H%M%S}001.htm")
    dienbien = served["demo-dienbien"].articles[0]
    p = dienbien.published
    assert f"/portal/Pages/{p.year}-{p.month}-{p.day}/" in dienbien.path


def test_one_national_story_is_republished_on_three_provincial_portals(served):
    original = next(a for a in served["demo-chinhphu"].articles if a.key.startswith("chinh-phu-yeu-cau"))
    copies = [a for s in served.values() for a in s.articles if a.copy_of]
    assert {a.site.name for a in copies} == {"demo-dienbien", "demo-laichau", "demo-tayninh"}
    verbatim = next(a for a in copies if a.site.name == "demo-laichau")
    assert verbatim.paragraphs == original.paragraphs and verbatim.title == original.title
    edited = [a for a in copies if a is not verbatim]
    for copy in edited:
        assert copy.paragraphs != original.paragraphs
        shared = set(copy.paragraphs) & set(original.paragraphs)
        assert shared, "a light edit keeps most of the text"


def test_feeds_and_sitemap_list_every_article(served):
    laichau = served["demo-laichau"]
    status, body, headers = fetch(laichau.base + laichau.urls["rss"])
    assert status == 200 and "xml" in headers["Content-Type"]
    links = {item.findtext("link") for item in ElementTree.fromstring(body).iter("item")}
    assert links == {a.url for a in laichau.articles}
    chinhphu = served["demo-chinhphu"]
    status, body, _ = fetch(chinhphu.base + "/sitemap.xml")
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    locs = {loc.text for loc in ElementTree.fromstring(body).iter(f"{ns}loc")}
    assert {a.url for a in chinhphu.articles} <= locs
    status, robots, _ = fetch(chinhphu.base + "/robots.txt")
    assert f"Sitemap: {chinhphu.base}/sitemap.xml" in robots.decode()


def test_titles_from_the_portal_are_escaped_in_the_html(served):
    site = served["demo-chinhphu"]
    article = next(a for a in site.articles if "&" in a.title)
    _, body, _ = fetch(article.url)
    assert b"AI &amp; d" in body and b'"AI & d' not in body


def test_conditional_requests_get_304_and_unknown_paths_404(served):
    site = served["demo-danang"]
    status, _, headers = fetch(site.base + site.listing_path(1))
    assert status == 200 and headers.get("ETag")
    status, body, _ = fetch(site.base + site.listing_path(1), {"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""
    assert fetch(site.base + "/khong-co-trang-nay")[0] == 404


def test_a_taken_port_is_a_clear_error(tmp_path):
    config = load_config(demo_config(tmp_path))
    with demo.serve_portals(config, ANCHOR):
        with pytest.raises(demo.DemoError, match="is another `dxwatch demo` running"):
            with demo.serve_portals(config, ANCHOR):
                pass


def test_the_anchor_is_kept_while_the_database_exists(tmp_path):
    db = tmp_path / "dxwatch.db"
    (tmp_path / demo.ANCHOR_FILE).write_text("2026-01-05\n")
    assert demo.demo_anchor(tmp_path, db) != date(2026, 1, 5)  # no database yet: today
    db.write_bytes(b"")
    (tmp_path / demo.ANCHOR_FILE).write_text("2026-01-05\n")
    assert demo.demo_anchor(tmp_path, db) == date(2026, 1, 5)


# ---------------------------------------------------------------- `dxwatch demo`


def run_cli(config_dir: Path, db: Path, *args: str) -> subprocess.CompletedProcess:
    return dxwatch("--config", config_dir, "--db", db, *args, timeout=240)


def read_outbox(paths: list[Path]) -> dict[str, tuple[str, str]]:
    """Recipient address -> (subject, plain-text body) of each saved message."""
    out = {}
    for path in paths:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        out[message["To"].addresses[0].addr_spec] = (str(message["Subject"]), message.get_body(("plain",)).get_content())
    return out


@pytest.mark.slow
def test_demo_delivers_a_digest_that_matches_the_portals_then_nothing_twice(tmp_path):
    config_dir = demo_config(tmp_path)
    db = tmp_path / "data" / "dxwatch.db"
    first = run_cli(config_dir, db, "demo")
    assert first.returncode == 0, first.stdout + first.stderr
    outbox = tmp_path / "data" / "outbox"
    mails = sorted(outbox.glob("*.eml"))
    config = load_config(config_dir, need_digests=True)
    (alert,) = config.digests_file.alerts
    assert len(mails) == len(config.digests_file.digests[0].recipients) + len(alert.recipients)
    assert (tmp_path / "data" / "digest-preview.html").stat().st_size > 1000

    anchor = date.fromisoformat((tmp_path / "data" / demo.ANCHOR_FILE).read_text().strip())
    sites = demo.load_sites(anchor)
    relevant = [a for s in sites.values() for a in s.articles if a.relevant and not a.copy_of]
    off_topic = [a for s in sites.values() for a in s.articles if not a.relevant]
    everything, provincial_only = config.digests_file.digests[0].recipients
    assert not everything.levels and provincial_only.levels == ["provincial"]
    received = read_outbox(mails)
    subject, body = received[everything.email]
    assert "chuyển đổi số" in subject.lower()
    # the mail is bounded; what it leaves out is in the archive copy it links to (next to the database)
    link = re.search(r"bản đầy đủ: (file://\S+)", body)
    assert link, "the demo week is larger than a mail shows in full"
    archived = Path(unquote(urlparse(link.group(1)).path))
    assert archived.parent == db.parent / "digests"
    archive = re.sub(r"<[^>]+>", "", html_lib.unescape(archived.read_text("utf-8")))
    for article in relevant:
        assert article.title in body, article.title
    for article in off_topic:
        assert article.title not in body and article.title not in archive, article.title
    directives = {d for a in relevant for d in a.expect.get("directives", []) if "/" in d}
    for number in directives:
        assert number in body or number in archive, number
    figures = {f for a in relevant for f in a.expect.get("figures", []) if len(f) > 3 and not f.endswith("%")}
    found = [f for f in figures if f in archive]
    assert len(found) >= len(figures) * 0.8, sorted(set(figures) - set(found))
    assert body.index("== VĂN BẢN VÀ CHỈ ĐẠO MỚI ==") < body.index("== SỐ LIỆU MỚI ==")
    assert re.search(r"đăng trên 4 cổng", body, re.IGNORECASE), "the republished national story"
    _, provincial = received[provincial_only.email]
    _, alerted = received[alert.recipients[0].email]
    # the alert names new documents only (issued within a month of the article), not 06/QĐ-TTg of 2022
    # or 1512/QĐ-UBND of three months before, cited again
    old = set()
    for a in relevant:
        for p in a.paragraphs:
            for number, day in re.findall(r"(\S+/\S+) ngày (\d{1,2}/\d{1,2}/\d{4})", p):
                if number in directives and a.published.date() - datetime.strptime(day, "%d/%m/%Y").date() > \
                        timedelta(days=31):
                    old.add(number)
    wanted = {d for d in directives if re.search(r"/(QĐ|CT)-", d)} - old
    assert old and not any(d in alerted for d in old)
    assert wanted and all(d in alerted for d in wanted), sorted(d for d in wanted if d not in alerted)
    assert "186/NQ-CP" not in alerted, "the alert rule asks for Quyết định and Chỉ thị only"
    assert "Kinh tế số ước chiếm 18,3% GDP" not in provincial
    assert "Điện Biên: tỷ lệ hồ sơ trực tuyến toàn trình đạt 68,5%" in provincial

    second = run_cli(config_dir, db, "demo")
    assert second.returncode == 0, second.stdout + second.stderr
    assert sorted(outbox.glob("*.eml")) == mails
    assert "nothing new" in second.stdout and "0 new in this run" in second.stdout
