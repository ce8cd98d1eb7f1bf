"""Canonical URLs, same-site checks, article-link recognition, pagination and feed parsing (no network)."""

from __future__ import annotations

import gzip

import pytest
from scrapy.http import HtmlResponse

from crawler.config import Source
from crawler.urls import canonical_url, is_same_site, source_hosts
from spiders import feeds
from spiders.links import article_links, classify_link, link_decisions, next_page, not_taken, rules_for, template_values
from crawler.charset import repaired_encoding
from spiders.middlewares import retry_after_seconds
from helpers import to_cp1258

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`


@pytest.mark.parametrize("raw, expected", [
    ("https://Laocai.gov.vn/tin-tuc/Chuyen-Doi-So-123.html?utm_source=zalo&utm_campaign=x#top",
     "https://laocai.gov.vn/tin-tuc/Chuyen-Doi-So-123.html"),
    ("https://a.gov.vn/bai-viet-9.html?fbclid=IwAR1&gclid=Cj0&zarsrc=31", "https://a.gov.vn/bai-viet-9.html"),
    ("https://quangninh.gov.vn/Trang/ChiTietTinTuc.aspx?title=cds-tinh.html&nid=12345",
     "https://quangninh.gov.vn/Trang/ChiTietTinTuc.aspx?nid=12345"),
    ("https://vanban.chinhphu.vn/?pageid=27160&docid=213695", "https://vanban.chinhphu.vn/?docid=213695&pageid=27160"),
    ("https://dienbien.gov.vn/portal/pages/print.aspx?p=77", "https://dienbien.gov.vn/portal/pages/print.aspx?p=77"),
    ("http://a.gov.vn:80/x.html", "http://a.gov.vn/x.html"),
    ("https://a.gov.vn/tin#:~:text=chuyển", "https://a.gov.vn/tin"),
    ("https://danang.gov.vn/web/guest/-/cong-bo-du-lieu-mo?inheritRedirect=true&redirect=%2Fweb%2Fguest",
     "https://danang.gov.vn/web/guest/-/cong-bo-du-lieu-mo"),
    ("https://a.gov.vn/dang-nhap?redirect=%2Ftin", "https://a.gov.vn/dang-nhap?redirect=%2Ftin"),
])
def test_canonical_url(raw, expected):
    assert canonical_url(raw) == expected


def test_canonical_url_keeps_path_case_and_is_idempotent():
    url = "https://hue.gov.vn/Trang-chu/He-thong/doc/all/vb/77?ID=5"
    assert canonical_url(url) == url
    assert canonical_url(canonical_url(url)) == canonical_url(url)


def test_same_site_uses_source_urls_and_allowed_domains():
    hosts = source_hosts(["https://www.laocai.gov.vn/tin-tuc/", "https://chuyendoiso.laocai.gov.vn/rss"],
                         ["congan.laocai.gov.vn"])
    assert is_same_site("https://laocai.gov.vn/a-1.html", hosts)
    assert is_same_site("https://xa1.chuyendoiso.laocai.gov.vn/a-1.html", hosts)
    assert is_same_site("https://congan.laocai.gov.vn/x", hosts)
    assert not is_same_site("https://facebook.com/sharer?u=https://laocai.gov.vn/a-1.html", hosts)
    assert not is_same_site("https://evillaocai.gov.vn/a-1.html", hosts)
    assert not is_same_site("mailto:ubnd@laocai.gov.vn", hosts)


def _source(**keys) -> Source:
    return Source(**{"name": "t", "title": "T", "level": "national", "start_urls": ["https://portal.gov.vn/tin-tuc/"],
                     **keys})


@pytest.mark.parametrize("url, is_article", [
    ("https://portal.gov.vn/tin-tuc/chuyen-doi-so/hoi-nghi-so-ket-cds-quy-3-4567.html", True),
    ("https://portal.gov.vn/thu-tuong-chu-tri-phien-hop-102251015083000123.htm", True),
    ("https://portal.gov.vn/portal/Pages/2024-4-25/Tinh-trien-khai-de-an-06-abc12.aspx", True),
    ("https://portal.gov.vn/Trang/ChiTietTinTuc.aspx?nid=12345", True),
    ("https://portal.gov.vn/2025/10/09/tinh-ra-mat-nen-tang-so/", True),
    ("https://portal.gov.vn/web/guest/-/tinh-day-manh-thanh-toan-khong-dung-tien-mat", True),
    ("https://portal.gov.vn/tin-tuc/chuyen-doi-so.html", False),        # category
    ("https://portal.gov.vn/tag/chuyen-doi-so", False),                 # tag page
    ("https://portal.gov.vn/tin-tuc/chuyen-doi-so.html?page=2", False),  # pager
    ("https://portal.gov.vn/uploads/news/2025_10/bao-cao-2025-123.pdf", False),
    ("https://portal.gov.vn/anh/hoi-nghi-cds-tinh-2025-4567.jpg", False),
    ("https://portal.gov.vn/gioi-thieu", False),
    ("https://other.gov.vn/tin-tuc/chuyen-doi-so/hoi-nghi-so-ket-cds-quy-3-4567.html", False),
])
def test_generic_article_recognition(url, is_article):
    assert classify_link(url, rules_for(_source()))[0] is is_article


def test_article_pattern_and_deny_patterns_override_the_guess():
    rules = rules_for(_source(article_pattern=r"/bai/\d+$", deny_patterns=[r"/bai/9\d+$"]))
    assert classify_link("https://portal.gov.vn/bai/123", rules)[0]
    assert not classify_link("https://portal.gov.vn/bai/999", rules)[0]
    assert not classify_link("https://portal.gov.vn/tin-tuc/hoi-nghi-so-ket-cds-quy-3-4567.html", rules)[0]


def test_platform_preset_brings_pattern_and_can_be_overridden():
    rules = rules_for(_source(platform="sharepoint-pages"))
    assert classify_link("https://portal.gov.vn/portal/Pages/2024-4-25/Tin-moi-abc.aspx", rules)[0]
    assert not classify_link("https://portal.gov.vn/portal/pages/print.aspx?p=77", rules)[0]
    own = rules_for(_source(platform="sharepoint-pages", article_pattern=r"/tin/\d+"))
    assert classify_link("https://portal.gov.vn/tin/5", own)[0]


def test_unknown_platform_is_a_config_error_with_its_line(tmp_path):
    from crawler.config import ConfigError, load_sources

    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: a\n    title: A\n    level: national\n"
                    "    start_urls: [https://a.gov.vn/]\n    platform: joomla\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources.yaml:6: sources\[0\]\.platform: unknown platform 'joomla'; "
                                          r"known: aspnet-ministry, commune-portal"):
        load_sources(path)


def _page(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode("utf-8"), encoding="utf-8")


@pytest.mark.parametrize("pager, expected", [
    ('<a rel="next" href="/tin-tuc/?p2">Xem thêm</a>', "/tin-tuc/?p2"),
    ('<a href="/tin-tuc/?trang=2">»</a>', "/tin-tuc/?trang=2"),
    ('<a href="/tin-tuc/?trang=2">Trang sau</a>', "/tin-tuc/?trang=2"),
    ('<span>1</span> <a href="/tin-tuc/page-2">2</a> <a href="/tin-tuc/page-3">3</a>', "/tin-tuc/page-2"),
    ('<a title="Trang sau" href="/tin-tuc/?page=2"><i class="icon"></i></a>', "/tin-tuc/?page=2"),
    ('<a href="/tin-tuc/?trang=1">Trang 1</a> <a href="/tin-tuc/?trang=2">Trang 2</a>', "/tin-tuc/?trang=2"),
    ('<a title="Trang 2" href="/tin-tuc/p/2"><i class="icon"></i></a>', "/tin-tuc/p/2"),
])
def test_next_page_detection(pager, expected):
    response = _page("https://portal.gov.vn/tin-tuc/", f"<html><body><ul></ul><div>{pager}</div></body></html>")
    found = next_page(response, rules_for(_source()), 1)
    assert found and found[0] == "https://portal.gov.vn" + expected


def test_next_page_none_on_last_page_and_selector_wins():
    response = _page("https://portal.gov.vn/tin-tuc/", "<a href='/tin-tuc/'>1</a><a class='more' href='/x?o=10'>Xem</a>")
    assert next_page(response, rules_for(_source()), 1) is None
    found = next_page(response, rules_for(_source(next_page="a.more")), 1)
    assert found[0] == "https://portal.gov.vn/x?o=10"


def test_timestamp_preset_page_template_uses_zone_id():
    rules = rules_for(_source(platform="timestamp-news"))
    response = _page("https://portal.gov.vn/chuyen-doi-so.htm", "<input id='hdZoneId' value='1087'><ul></ul>")
    values = template_values(response, rules)
    assert next_page(response, rules, 1, values)[0] == "https://portal.gov.vn/timelinelist/1087/2.htm"


def test_article_links_are_canonical_and_unique():
    html = ("<a href='/tin-tuc/bai-mot-hai-ba-bon-1001.html?utm_source=fb'>a</a>"
            "<a href='/tin-tuc/bai-mot-hai-ba-bon-1001.html#c'>b</a><a href='/lien-he'>c</a>")
    decisions = link_decisions(_page("https://portal.gov.vn/tin-tuc/", html), rules_for(_source()))
    assert [c for _, c, _ in article_links(decisions)] == ["https://portal.gov.vn/tin-tuc/bai-mot-hai-ba-bon-1001.html"]
    assert not_taken(decisions) == {"menu, tag, category, search or pager link": 1}


# ---------------------------------------------------------------- feeds and sitemaps

RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Tin CĐS</title>
<item><title>Tỉnh ra mắt nền tảng số</title><link>https://portal.gov.vn/tin-1.html</link>
<pubDate>Wed, 15 Oct 2025 01:30:00 GMT</pubDate></item>
<item><title>Không có link</title><guid isPermaLink="false">abc</guid></item></channel></rss>"""

ATOM = """<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>
<entry><title>Bài Atom</title><link rel="alternate" href="https://portal.gov.vn/atom-2.html"/>
<published>2025-10-16T09:00:00+07:00</published></entry></feed>"""


def test_parse_rss_and_atom():
    rss = feeds.parse_feed(RSS.encode("utf-8"))
    assert [(e.url, e.title, e.published) for e in rss] == [
        ("https://portal.gov.vn/tin-1.html", "Tỉnh ra mắt nền tảng số", "2025-10-15T08:30:00+07:00")]
    atom = feeds.parse_feed(ATOM.encode("utf-8"))
    assert atom[0].url == "https://portal.gov.vn/atom-2.html" and atom[0].published == "2025-10-16T09:00:00+07:00"


def test_feed_parser_refuses_entity_bombs_and_non_feeds():
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><rss>&b;</rss>'
    with pytest.raises(feeds.FeedError):
        feeds.parse_feed(bomb)
    with pytest.raises(feeds.FeedError, match="not an RSS or Atom feed"):
        feeds.parse_feed("<html><body>trang chủ</body></html>".encode("utf-8"))
    with pytest.raises(feeds.FeedError, match="not well-formed"):
        feeds.parse_feed(b"<rss><channel>")


def test_sitemap_index_gzip_and_urlset_with_xml_children():
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://portal.gov.vn/sm-1.xml.gz</loc><lastmod>2025-10-01</lastmod></sitemap></sitemapindex>"""
    pages, children = feeds.parse_sitemap(index)
    assert pages == [] and children[0].url.endswith("sm-1.xml.gz") and children[0].lastmod == "2025-10-01"
    mixed = gzip.compress(b"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc>https://portal.gov.vn/tin-1.html</loc><lastmod>2025-10-02</lastmod></url>
      <url><loc>https://portal.gov.vn/sitemap-news.xml</loc></url></urlset>""")
    pages, children = feeds.parse_sitemap(feeds.maybe_gunzip(mixed, 1_000_000))
    assert [p.url for p in pages] == ["https://portal.gov.vn/tin-1.html"]
    assert [c.url for c in children] == ["https://portal.gov.vn/sitemap-news.xml"]
    with pytest.raises(feeds.FeedError, match="gzip"):
        feeds.maybe_gunzip(gzip.compress(b"x" * 200_000), 10_000)


def test_robots_sitemap_lines():
    text = "User-agent: *\nDisallow: /admin\nSitemap: https://portal.gov.vn/sitemap.xml\nsitemap:https://portal.gov.vn/b.xml\n"
    assert feeds.robots_sitemaps(text) == ["https://portal.gov.vn/sitemap.xml", "https://portal.gov.vn/b.xml"]


# ---------------------------------------------------------------- charset repair and Retry-After

VIETNAMESE = "Chuyển đổi số là nhiệm vụ trọng tâm của tỉnh"


def test_charset_repair_decisions():
    utf8 = VIETNAMESE.encode("utf-8")
    assert repaired_encoding(utf8, "iso-8859-1") == "utf-8"     # mislabelled UTF-8
    assert repaired_encoding(utf8, None) == "utf-8"             # no charset at all
    assert repaired_encoding(utf8, "utf-8") is None             # correct label kept
    assert repaired_encoding(b"plain ascii", "iso-8859-1") is None
    legacy = to_cp1258(VIETNAMESE)
    enc = repaired_encoding(legacy, "utf-8")                     # legacy page labelled UTF-8
    assert enc == "cp1258"
    import unicodedata

    assert unicodedata.normalize("NFC", legacy.decode(enc)) == VIETNAMESE


def test_retry_after_header_forms():
    assert retry_after_seconds(b"3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: retry now
    assert retry_after_seconds("soon") is None


@pytest.mark.parametrize("url, is_article", [
    # article URL shapes documented for real portals (../shared/domain/vietnam.md, sections 1.2-1.3)
    ("https://baochinhphu.vn/thu-tuong-chu-tri-hoi-nghi-102241229103042518.htm", True),
    ("https://mst.gov.vn/bo-truong-lam-viec-ve-chuyen-doi-so-197260329133308364.htm", True),
    ("https://hanoi.gov.vn/tin-so-nganh/ha-noi-day-manh-chuyen-doi-so-4250407154648115.htm", True),
    ("https://bocongan.gov.vn/bai-viet/trien-khai-de-an-06-tai-cac-dia-phuong-1760687799", True),
    ("https://www.quangninh.gov.vn/Trang/ChiTietTinTuc.aspx?nid=128456&title=cds.html", True),
    ("https://congan.thainguyen.gov.vn/tin-tuc/chuyen-doi-so/cong-an-tinh-ra-quan-lam-can-cuoc-12345.html", True),
    ("https://chuyendoiso.laocai.gov.vn/tin-trong-nuoc/hoi-thao-chuyen-doi-so-nong-nghiep-2351", True),
    ("https://hochiminhcity.gov.vn/vi/web/hcm/w/thanh-pho-ra-mat-ung-dung-cong-dan-so", True),
    ("https://danang.gov.vn/chinh-quyen/chi-tiet?id=51607&_c=3,9,33", True),
    ("https://hue.gov.vn/en-us/Home/Tourism/Details/tb/le-hoi-hue-2025-1234", True),
    ("https://www.dienbien.gov.vn/portal/Pages/2024-4-25/Dien-Bien-trien-khai-chuyen-doi-so-xa-m4y1ze.aspx", True),
    # listing, pager, tag and print pages of the same portals
    ("https://baochinhphu.vn/kinh-te.htm", False),
    ("https://baochinhphu.vn/timelinelist/1087/2.htm", False),
    ("https://mic.gov.vn/mic_2020/Pages/ChuyenMuc/PhanTrang/1753/2/Chuyen-doi-so.html", False),
    ("https://moet.gov.vn/tintuc/Pages/tin-tong-hop.aspx?page=2", False),
    ("https://most.gov.vn/vn/chuyen-muc/493/Tin-tong-hop.aspx?page=3", False),
    ("https://bocongan.gov.vn/tag/701", False),
    ("https://www.dienbien.gov.vn/portal/pages/print.aspx?p=1234", False),
    ("https://sct.dongnai.gov.vn/vi/news/Chuyen-doi-so/page-2", False),
])
def test_documented_portal_url_shapes(url, is_article):
    host = url.split("/")[2]
    source = Source(name="p", title="P", level="national", start_urls=[f"https://{host}/"])
    assert classify_link(canonical_url(url), rules_for(source))[0] is is_article, classify_link(url, rules_for(source))
