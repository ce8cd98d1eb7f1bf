"""`dxwatch crawl` fetching the documents articles link, from a loopback portal, in a subprocess.

The portal serves documents the test writes (a decision PDF, a Word letter, a scanned PDF, a
truncated PDF, a file over the size limit, an Excel annex behind a "Văn bản" page, a download
handler without an extension) and counts every request, so "fetched once" and "never off-site
or against robots.txt" are checked on the server's side.
"""

from __future__ import annotations

import json
from html import escape

import pytest
import sqlite_utils

import docgen
from servers import Page, Request
from helpers import article_html, crawl, listing_html, run_dxwatch, write_config

LISTING = "/tin-tuc/chuyen-doi-so.html"
MAX_BYTES = 200_000
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def article_path(n: int) -> str:
    return f"/tin-tuc/chuyen-doi-so/van-ban-moi-{n}-{5000 + n}.html"


def article_with_links(n: int, links: list[tuple[str, str]], sentence: str = "") -> str:
    """An article page whose body ends with an attachment list, as provincial portals print it."""
    page = article_html(n)
    extra = "".join(f"<li><a href='{escape(href)}'>{escape(text)}</a></li>" for href, text in links)
    extra = (f"<p>{escape(sentence)}</p>" if sentence else "") + f"<ul class='attachments'>{extra}</ul>"
    return page.replace("</div></article>", extra + "</div></article>")


def conditional(body: bytes, etag: str, content_type: str = PDF, **headers):
    """A file route that answers 304 to a matching If-None-Match, as a well-behaved file store does."""
    def route(request: Request) -> Page:
        if request.headers.get("if-none-match") == etag:
            return Page(b"", status=304, content_type=None, headers={"ETag": etag})
        return Page(body, content_type=content_type, headers={"ETag": etag, **headers})
    return route


@pytest.fixture
def site(portal, tmp_path):
    portal.routes["/robots.txt"] = Page("User-agent: *\nDisallow: /noi-bo/\n", content_type="text/plain")
    portal.routes["/files/qd-2971.pdf"] = conditional(docgen.pdf_bytes(docgen.DECISION), '"qd-v1"')
    portal.routes["/files/cv-1234.docx"] = Page(docgen.docx_bytes(docgen.LETTER), content_type=DOCX)
    portal.routes["/files/ban-chup.pdf"] = Page(docgen.scanned_pdf_bytes(), content_type=PDF)
    portal.routes["/files/hong.pdf"] = Page(docgen.corrupt_pdf_bytes(), content_type=PDF)
    portal.routes["/files/rat-lon.pdf"] = Page(docgen.enormous_bytes(MAX_BYTES * 5), content_type=PDF)
    portal.routes["/noi-bo/mat.pdf"] = Page(docgen.pdf_bytes(docgen.LETTER), content_type=PDF)
    portal.routes["/VanBan/DownloadFile.aspx?id=7"] = conditional(
        docgen.pdf_bytes(docgen.PARTY_PROGRAMME), '"ctr-v1"', "application/octet-stream",
        **{"Content-Disposition": "attachment; filename*=UTF-8''Ch%C6%B0%C6%A1ng%20tr%C3%ACnh%20257.pdf"})
    portal.routes["/van-ban/chi-tiet-99.html"] = Page(
        "<html><body><h1>Phụ lục số liệu</h1><a href='/files/phu-luc.xlsx'>phu-luc.xlsx</a>"
        "<a href='/tin-tuc/khac.html'>Tin khác</a></body></html>")
    portal.routes["/files/phu-luc.xlsx"] = Page(
        docgen.xlsx_bytes([["Chỉ tiêu", "Kết quả"], ["Hồ sơ trực tuyến toàn trình", 168746]]),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    portal.routes[article_path(1)] = Page(article_with_links(1, [
        ("/files/qd-2971.pdf", "Quyết định số 2971/QĐ-UBND"), ("/files/cv-1234.docx", "Công văn 1234"),
        ("/files/ban-chup.pdf", "Bản chụp"), ("/files/hong.pdf", "Tệp lỗi"), ("/files/rat-lon.pdf", "Phụ lục lớn"),
        ("/noi-bo/mat.pdf", "Nội bộ"), ("http://tailieu.example.invalid/ngoai.pdf", "Tài liệu ngoài"),
        ("/VanBan/DownloadFile.aspx?id=7", "Tải về")]))
    portal.routes[article_path(2)] = Page(article_with_links(
        2, [("/files/qd-2971.pdf", "Toàn văn quyết định")],
        "Tỉnh triển khai Quyết định số 2971/QĐ-UBND ngày 22/8/2023 về chuyển đổi số."))
    portal.routes[article_path(3)] = Page(article_with_links(
        3, [("/van-ban/chi-tiet-99.html", "Văn bản")],
        "UBND tỉnh vừa ban hành Quyết định số 2971/QĐ-UBND, các sở, ngành khẩn trương thực hiện."))
    portal.routes[LISTING] = Page(listing_html([article_path(n) for n in (1, 2, 3)]))
    config = write_config(tmp_path / "config", [{"name": "thanhhoa", "start_urls": [portal.url(LISTING)]}],
                          max_document_bytes=MAX_BYTES)
    return portal, config, tmp_path / "dxwatch.db"


def documents_by_path(db_path, portal) -> dict[str, dict]:
    rows = sqlite_utils.Database(db_path).query("SELECT * FROM documents")
    return {r["url"].removeprefix(portal.base): r for r in rows}


def test_crawl_fetches_linked_documents_once_and_records_each_outcome(site):
    portal, config, db_path = site
    result = crawl(config, db_path)
    assert result.returncode == 0, result.stderr[-2000:]
    docs = documents_by_path(db_path, portal)

    assert {path: d["status"] for path, d in docs.items()} == {
        "/files/qd-2971.pdf": "ok", "/files/cv-1234.docx": "ok", "/files/ban-chup.pdf": "scanned_no_text",
        "/files/hong.pdf": "corrupt", "/files/rat-lon.pdf": "too_large", "/VanBan/DownloadFile.aspx?id=7": "ok",
        "/files/phu-luc.xlsx": "ok",
    }
    decision = docs["/files/qd-2971.pdf"]
    assert (decision["number"], decision["type"], decision["date"], decision["place"]) == \
        ("2971/QĐ-UBND", "Quyết định", "2023-08-22", "Thanh Hóa")
    assert decision["issuer"] == "ỦY BAN NHÂN DÂN TỈNH THANH HÓA" and decision["etag"] == '"qd-v1"'
    programme = docs["/VanBan/DownloadFile.aspx?id=7"]  # by its bytes: the server said octet-stream
    assert (programme["number"], programme["format"], programme["filename"]) == \
        ("257-CTr/TU", "pdf", "Chương trình 257.pdf")
    assert "168.746" in docs["/files/phu-luc.xlsx"]["text"]
    assert docs["/files/hong.pdf"]["error"] and docs["/files/rat-lon.pdf"]["text"] is None

    # two articles link the decision: one download; robots.txt and other sites are respected
    assert portal.requests_to("/files/qd-2971.pdf") == 1
    assert portal.requests_to("/noi-bo/mat.pdf") == 0
    assert not any("ngoai" in path for path in docs)

    db = sqlite_utils.Database(db_path)
    figures = [r["value"] for r in db.query("SELECT value FROM figures f JOIN documents d ON d.id = f.document_id "
                                            "WHERE d.number = '2971/QĐ-UBND'")]
    assert 1250.0 in figures and 7400.0 in figures
    assert decision["key"] == "2971/QĐ-UBND (Lào Cai)"  # a province's own numbering, as the facts stage keys it
    own = list(db.query("SELECT date, title FROM directives WHERE document_id = ? AND key = ?",
                        [decision["id"], decision["key"]]))
    assert own and own[0]["date"] == "2023-08-22" and own[0]["title"] == decision["subject"]

    shown = run_dxwatch(config, db_path, "documents", "2971/QĐ-UBND", "--json")
    found = json.loads(shown.stdout)
    assert sorted((a["url"].removeprefix(portal.base), a["how"]) for a in found["articles"]) == [
        (article_path(1), "link"), (article_path(2), "link"), (article_path(3), "number")]


def test_recrawl_asks_known_files_conditionally_and_reads_changed_ones(site):
    portal, config, db_path = site
    assert crawl(config, db_path).returncode == 0
    first = documents_by_path(db_path, portal)

    amended = docgen.OfficialDocument(**{**docgen.PARTY_PROGRAMME.__dict__, "body": [
        *docgen.PARTY_PROGRAMME.body, "Phấn đấu 100% xã có hạ tầng số đến năm 2025."]})
    portal.routes["/VanBan/DownloadFile.aspx?id=7"] = conditional(docgen.pdf_bytes(amended), '"ctr-v2"',
                                                                  "application/octet-stream")
    portal.routes[article_path(4)] = Page(article_with_links(4, [
        ("/files/qd-2971.pdf", "Quyết định 2971"), ("/files/cv-1234.docx", "Công văn"),
        ("/files/hong.pdf", "Tệp lỗi"), ("/files/rat-lon.pdf", "Phụ lục lớn"),
        ("/VanBan/DownloadFile.aspx?id=7", "Tải về")]))
    portal.routes[LISTING] = Page(listing_html([article_path(n) for n in (4, 1, 2, 3)]))
    write_config(config, [{"name": "thanhhoa", "start_urls": [portal.url(LISTING)]}],
                 max_document_bytes=MAX_BYTES * 10)  # the admin raised the limit
    result = crawl(config, db_path)
    assert result.returncode == 0, result.stderr[-2000:]
    second = documents_by_path(db_path, portal)

    qd_requests = [r for r in portal.log if r.path == "/files/qd-2971.pdf"]
    assert len(qd_requests) == 2 and qd_requests[1].headers.get("if-none-match") == '"qd-v1"'  # answered 304
    assert second["/files/qd-2971.pdf"]["text"] == first["/files/qd-2971.pdf"]["text"]
    assert portal.requests_to("/files/cv-1234.docx") == 1  # no validators: fetched once, never again
    assert portal.requests_to("/files/hong.pdf") == 1
    assert portal.requests_to("/files/rat-lon.pdf") == 2  # over the old limit: asked again, and now read
    assert second["/files/rat-lon.pdf"]["status"] == "corrupt"  # a PDF start padded with zeros
    changed = second["/VanBan/DownloadFile.aspx?id=7"]
    assert "Phấn đấu 100% xã" in changed["text"] and changed["etag"] == '"ctr-v2"'
    assert changed["changed_at"] > changed["first_seen"] or changed["content_hash"] != \
        first["/VanBan/DownloadFile.aspx?id=7"]["content_hash"]
    assert len(second) == len(first)

    db = sqlite_utils.Database(db_path)
    linked = {r["document_url"].removeprefix(portal.base)
              for r in db.query("SELECT document_url FROM document_links WHERE article_url = ?",
                                [portal.url(article_path(4))])}
    assert linked == {"/files/qd-2971.pdf", "/files/cv-1234.docx", "/files/hong.pdf", "/files/rat-lon.pdf",
                      "/VanBan/DownloadFile.aspx?id=7"}
    listed = run_dxwatch(config, db_path, "documents", "--type", "chuong trinh", "--json")
    assert [json.loads(line)["number"] for line in listed.stdout.splitlines()] == ["257-CTr/TU"]


# ---------------------------------------------------------------- the spider hooks, without a crawl


@pytest.fixture
def spider(tmp_path):
    from scrapy.utils.test import get_crawler

    from crawler.config import Source
    from spiders.portal import PortalSpider

    source = Source(name="mst", title="Bộ KH&CN", level="national", start_urls=["https://mst.gov.vn/tin-tuc"],
                    documents=["https://mst.gov.vn/van-ban?trang=1"])
    crawler = get_crawler(PortalSpider, {"DXWATCH_DOCUMENT_MAX_BYTES": 123_456,
                                         "DXWATCH_DB_PATH": str(tmp_path / "dxwatch.db")})
    portal = PortalSpider.from_crawler(crawler, sources=[source], db_path=str(tmp_path / "dxwatch.db"))
    crawler.spider = portal
    crawler.stats.open_spider()
    yield portal.crawls["mst"]  # the source's part of the spider
    portal.db.conn.close()


def test_document_listing_pages_lead_to_their_files(spider):
    from scrapy import Request
    from scrapy.http import HtmlResponse

    from crawler.items import FileLinksItem
    from pipelines.attachments import AttachmentsPipeline
    from pipelines.documents import read_document, store_document
    from spiders.conditional import ConditionalRequestMiddleware

    # two files are stored already: one with an ETag, one without
    for path, etag in (("/files/tt-13.pdf", '"v7"'), ("/files/cv-cu.pdf", None)):
        item = {"url": f"https://mst.gov.vn{path}", "body": docgen.pdf_bytes(docgen.LETTER) + path.encode(),
                "source": "mst", "etag": etag}
        store_document(spider.db, item, read_document(item))
    url = spider.source.documents[0]
    page = HtmlResponse(url, request=Request(url), encoding="utf-8", body=(
        "<table><tr><td>13/2017/TT-BTTTT</td><td><a href='/files/tt-13.pdf'>Tải về</a></td></tr>"
        "<tr><td>Công văn cũ</td><td><a href='/files/cv-cu.pdf'>Tải về</a></td></tr>"
        "<tr><td>57-NQ/TW</td><td><a href='/files/nq-57.pdf'>Tải về</a></td></tr>"
        "<tr><td>Ngoài</td><td><a href='https://vanban.example.org/x.pdf'>Tải về</a></td></tr></table>").encode())
    (item,) = spider.parse_document_listing(page)
    assert isinstance(item, FileLinksItem) and item["cited_by"] is None  # a listing page cites nothing
    assert item["file_urls"] == ["https://mst.gov.vn/files/tt-13.pdf", "https://mst.gov.vn/files/cv-cu.pdf",
                                 "https://mst.gov.vn/files/nq-57.pdf"]

    # the files stage: a stored file without validators is not asked again
    pipeline = AttachmentsPipeline.from_crawler(spider.crawler)
    pipeline.open_spider()
    info = pipeline.spiderinfo
    requests = {r.url: r for r in pipeline.get_media_requests(item, info)
                if pipeline.media_to_download(r, info, item=item) is None}
    assert set(requests) == {"https://mst.gov.vn/files/tt-13.pdf", "https://mst.gov.vn/files/nq-57.pdf"}
    conditional = ConditionalRequestMiddleware.from_crawler(spider.crawler)  # as the downloader applies it
    conditional.spider_opened(spider.spider)
    for request in requests.values():
        conditional.process_request(request)
    assert requests["https://mst.gov.vn/files/tt-13.pdf"].headers.get("If-None-Match") == b'"v7"'
    fresh = requests["https://mst.gov.vn/files/nq-57.pdf"]
    assert b"If-None-Match" not in fresh.headers and fresh.meta["download_maxsize"] == 123_456
    assert fresh.meta["source"] == "mst" and fresh.meta["cited_by"] is None
    assert spider.db["document_links"].count == 0
