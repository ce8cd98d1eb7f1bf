"""Attachment text extraction and the official header block, on documents the tests write."""

from __future__ import annotations

import io
import unicodedata

import pytest

import docgen
from crawler.db.documents import CORRUPT, EMPTY, ENCRYPTED, OK, SCANNED, STATUSES, TOO_LARGE, UNSUPPORTED
from pipelines.documents import clean_number, extract_document, parse_header

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`

WRITERS = {"pdf": docgen.pdf_bytes, "docx": docgen.docx_bytes, "odt": docgen.odt_bytes}


# ---------------------------------------------------------------- header block


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_decision_header_is_read_from_every_format(fmt):
    extracted = extract_document(WRITERS[fmt](docgen.DECISION), url=f"http://127.0.0.1/qd-2971.{fmt}")
    assert (extracted["format"], extracted["status"]) == (fmt, OK)
    header = parse_header(extracted["text"])
    assert header == {
        "issuer": "ỦY BAN NHÂN DÂN TỈNH THANH HÓA",
        "number": "2971/QĐ-UBND",
        "type": "Quyết định",
        "place": "Thanh Hóa",
        "date": "2023-08-22",
        "subject": "Về việc phê duyệt Kế hoạch chuyển đổi số tỉnh Thanh Hóa giai đoạn 2023 - 2025",
    }


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
def test_official_letter_takes_its_subject_from_the_vv_line(fmt):
    header = parse_header(extract_document(WRITERS[fmt](docgen.LETTER))["text"])
    assert header["number"] == "1234/STTTT-CĐS"
    assert header["type"] == "Công văn"
    assert header["issuer"] == "UBND TỈNH QUẢNG NINH - SỞ THÔNG TIN VÀ TRUYỀN THÔNG"
    assert header["subject"] == "V/v triển khai nền tảng số hóa hồ sơ thủ tục hành chính"
    assert (header["place"], header["date"]) == ("Quảng Ninh", "2024-01-06")


def test_party_document_keeps_its_own_number_shape():
    header = parse_header(extract_document(docgen.pdf_bytes(docgen.PARTY_PROGRAMME))["text"])
    assert header["number"] == "257-CTr/TU"  # never "257/CTr-TU"
    assert header["type"] == "Chương trình"
    assert header["issuer"] == "TỈNH ỦY THANH HÓA"
    assert header["date"] == "2021-12-03"


def test_ocr_artefacts_in_the_number_and_a_lost_space_before_the_day():
    text = ("THỦ TƯỚNG CHÍNH PHỦ\nSố: 179 /QD-TTg Hà Nội, ngày06 tháng 10 năm 2025\nQUYẾT ĐỊNH\n"
            "Phê duyệt Đề án phát triển hạ tầng số\nTHỦ TƯỚNG CHÍNH PHỦ\nCăn cứ Luật Tổ chức Chính phủ")
    header = parse_header(text)
    assert header["number"] == "179/QĐ-TTg"
    assert (header["place"], header["date"]) == ("Hà Nội", "2025-10-06")
    assert header["issuer"] == "THỦ TƯỚNG CHÍNH PHỦ"
    assert header["subject"] == "Phê duyệt Đề án phát triển hạ tầng số"


def test_law_header_with_its_title_in_capitals():
    text = ("QUỐC HỘI\n--------\nLuật số: 20/2023/QH15\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
            "Độc lập – Tự do – Hạnh phúc\nLUẬT\nGIAO DỊCH ĐIỆN TỬ\nCăn cứ Hiến pháp nước Cộng hòa xã hội chủ nghĩa Việt Nam;")
    header = parse_header(text)
    assert header == {"issuer": "QUỐC HỘI", "number": "20/2023/QH15", "type": "Luật", "place": None, "date": None,
                      "subject": "GIAO DỊCH ĐIỆN TỬ"}


def test_old_tone_placement_and_decomposed_text_are_read_the_same():
    text = unicodedata.normalize("NFD", "UỶ BAN NHÂN DÂN\nTỈNH KHÁNH HOÀ\nSố: 05/KH-UBND\n"
                                        "Khánh Hoà, ngày 09 tháng 01 năm 2024\nKẾ HOẠCH\nChuyển đổi số năm 2024")
    header = parse_header(text)
    assert header["type"] == "Kế hoạch"
    assert header["place"] == "Khánh Hoà"
    assert header["issuer"] == "UỶ BAN NHÂN DÂN TỈNH KHÁNH HOÀ"
    assert header["subject"] == "Chuyển đổi số năm 2024"


def test_plan_whose_subject_starts_like_a_body_paragraph():
    text = ("ỦY BAN NHÂN DÂN\nTỈNH LAI CHÂU\nSố: 45/KH-UBND\nLai Châu, ngày 10 tháng 02 năm 2025\nKẾ HOẠCH\n"
            "Thực hiện Nghị quyết số 57-NQ/TW ngày 22/12/2024 của Bộ Chính trị\nI. MỤC ĐÍCH, YÊU CẦU\n"
            "Thực hiện có hiệu quả các nhiệm vụ.")
    header = parse_header(text)
    assert header["type"] == "Kế hoạch" and header["number"] == "45/KH-UBND"
    assert header["subject"] == "Thực hiện Nghị quyết số 57-NQ/TW ngày 22/12/2024 của Bộ Chính trị"


def test_signature_stamp_and_letter_spaced_title_of_a_signed_pdf():
    text = ("Ký bởi: Ủy ban Nhân dân tỉnh Bắc Ninh\nCơ quan: Tỉnh Bắc Ninh\n"
            "Thời gian ký: 07.10.2025 16:15:52 +07:00\nỦY BAN NHÂN DÂN\nTỈNH BẮC NINH\nSố: 1502/QĐ-UBND\n"
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nBắc Ninh, ngày 07 tháng 10 năm 2025\n"
            "Q U Y Ế T  Đ Ị N H\nBan hành Quy chế quản lý nền tảng số của tỉnh\nCHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH")
    header = parse_header(text)
    assert header == {"issuer": "ỦY BAN NHÂN DÂN TỈNH BẮC NINH", "number": "1502/QĐ-UBND", "type": "Quyết định",
                      "place": "Bắc Ninh", "date": "2025-10-07",
                      "subject": "Ban hành Quy chế quản lý nền tảng số của tỉnh"}


def test_impossible_date_is_dropped_not_invented():
    header = parse_header("UBND TỈNH NGHỆ AN\nSố: 88/TB-UBND\nNghệ An, ngày 31 tháng 02 năm 2024\nTHÔNG BÁO")
    assert header["date"] is None and header["number"] == "88/TB-UBND" and header["type"] == "Thông báo"


def test_an_article_is_not_mistaken_for_a_header():
    text = ("PHIÊN HỌP TỔNG KẾT NĂM 2023 CỦA BAN CHỈ ĐẠO CHUYỂN ĐỔI SỐ TỈNH\n"
            "Chiều ngày 28/12/2023, tỉnh đã có 63/63 xã kết nối mạng số liệu chuyên dùng.")
    assert parse_header(text) == dict.fromkeys(["issuer", "number", "type", "place", "date", "subject"])


@pytest.mark.parametrize("raw, clean", [("179 /QD-TTg", "179/QĐ-TTg"), ("30/2020/ND-CP", "30/2020/NĐ-CP"),
                                        ("12/NQ–HDND", "12/NQ-HĐND"), ("57-NQ/TW", "57-NQ/TW")])
def test_clean_number(raw, clean):
    assert clean_number(raw) == clean


# ---------------------------------------------------------------- text and status


def test_figure_table_rows_stay_on_one_line_in_docx():
    text = extract_document(docgen.docx_bytes(docgen.DECISION))["text"]
    assert "Tỷ lệ hồ sơ trực tuyến toàn trình | 45,2% | 80%" in text.split("\n")
    assert "Số tài khoản định danh điện tử mức độ 2 | 1.186.400 | 2.500.000" in text.split("\n")


def test_pdf_text_keeps_the_table_and_the_diacritics():
    extracted = extract_document(docgen.pdf_bytes(docgen.DECISION, extra_pages=2), "application/pdf")
    assert extracted["pages"] == 3
    assert "1.186.400" in extracted["text"] and "Phụ lục trang 3" in extracted["text"]
    assert extracted["text"] == unicodedata.normalize("NFC", extracted["text"])


def test_xlsx_numbers_are_written_the_vietnamese_way():
    body = docgen.xlsx_bytes([["Chỉ tiêu", "Giá trị"], ["Hồ sơ tiếp nhận", 168746], ["Tỷ lệ trực tuyến", 68.54]])
    extracted = extract_document(body, url="http://127.0.0.1/phu-luc.xlsx")
    assert extracted["status"] == OK and extracted["format"] == "xlsx"
    lines = extracted["text"].split("\n")
    assert "Hồ sơ tiếp nhận | 168.746" in lines and "Tỷ lệ trực tuyến | 68,54" in lines


def test_scanned_pdf_is_recorded_as_such():
    extracted = extract_document(docgen.scanned_pdf_bytes(), "application/pdf")
    assert (extracted["status"], extracted["text"], extracted["pages"]) == (SCANNED, "", 1)


def test_pdf_without_text_or_images_is_empty():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    assert extract_document(bytes(pdf.output()))["status"] == EMPTY


def test_truncated_pdf_is_corrupt_with_the_reason():
    extracted = extract_document(docgen.corrupt_pdf_bytes(), "application/pdf")
    assert extracted["status"] == CORRUPT and extracted["error"]


@pytest.mark.parametrize("url, content_type, status", [
    ("http://127.0.0.1/vb.pdf", None, CORRUPT),          # claims PDF by its name
    ("http://127.0.0.1/tai-ve?id=9", "application/msword", CORRUPT),
    ("http://127.0.0.1/tai-ve?id=9", "application/octet-stream", UNSUPPORTED),
])
def test_garbage_is_corrupt_only_when_it_claims_to_be_a_document(url, content_type, status):
    assert extract_document(docgen.garbage_bytes(), content_type, url)["status"] == status


def test_html_error_page_behind_a_pdf_link_is_not_a_document():
    extracted = extract_document(b"<!DOCTYPE html><html><body>Phi\xc3\xaan l\xc3\xa0m vi\xe1\xbb\x87c</body></html>",
                                 "text/html", "http://127.0.0.1/vb.pdf")
    assert extracted["status"] == UNSUPPORTED and "HTML" in extracted["error"]


def test_legacy_word_file_is_recorded_unsupported():
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)
    extracted = extract_document(body, "application/msword", "http://127.0.0.1/cv.doc")
    assert (extracted["format"], extracted["status"]) == ("doc", UNSUPPORTED)


def test_zip_bomb_is_refused_before_parsing():
    extracted = extract_document(docgen.zip_bomb_docx(210_000_000), url="http://127.0.0.1/bom.docx")
    assert extracted["status"] == TOO_LARGE and "unpacks" in extracted["error"]


def test_page_limit():
    extracted = extract_document(docgen.pdf_bytes(docgen.DECISION, extra_pages=5), max_pages=3)
    assert (extracted["status"], extracted["pages"], extracted["text"]) == (TOO_LARGE, 6, "")


def test_password_protected_pdf():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(docgen.pdf_bytes(docgen.DECISION))))
    writer.encrypt(user_password="mat-khau", owner_password="chu-so-huu")
    locked = io.BytesIO()
    writer.write(locked)
    assert extract_document(locked.getvalue())["status"] == ENCRYPTED

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(docgen.pdf_bytes(docgen.DECISION))))
    writer.encrypt(user_password="", owner_password="chu-so-huu")  # print-only protection, readable by all
    readable = io.BytesIO()
    writer.write(readable)
    extracted = extract_document(readable.getvalue())
    assert extracted["status"] == OK and "2971/QĐ-UBND" in extracted["text"]


# ---------------------------------------------------------------- hostile input never raises

import functools  # noqa: E402

from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from([None, "application/pdf", "application/msword", "text/html"]),
       st.sampled_from(["http://127.0.0.1/a.pdf", "http://127.0.0.1/b.docx", "http://127.0.0.1/tai-ve?id=1"]))
def test_any_bytes_give_a_status_never_an_exception(body, content_type, url):
    extracted = extract_document(body, content_type, url)
    assert extracted["status"] in set(STATUSES)


@functools.cache
def _letter_pdf() -> bytes:
    return docgen.pdf_bytes(docgen.LETTER)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=20000))
def test_a_real_pdf_with_damage_anywhere_never_raises(noise, position):
    whole = _letter_pdf()
    position = position % len(whole)
    damaged = whole[:position] + noise + whole[position + len(noise):]
    assert extract_document(damaged, "application/pdf")["status"] in set(STATUSES)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_parse_header_accepts_any_text(text):
    assert set(parse_header(text)) == {"issuer", "number", "type", "place", "date", "subject"}


# ---------------------------------------------------------------- links on an article page


def _page(body: str, url: str = "https://thanhhoa.gov.vn/tin-tuc/bai-1.html"):
    from scrapy.http import HtmlResponse

    return HtmlResponse(url, body=f"<html><body>{body}</body></html>".encode(), encoding="utf-8")


def test_document_links_on_an_article_page():
    from crawler.filelinks import document_links

    page = _page(
        "<a href='/files/QD%202971.PDF'>Quyết định</a>"
        "<a href='/files/QD%202971.PDF#trang=2'>cùng tệp</a>"
        "<a href='/VanBan/DownloadFile.aspx?id=7'>Tải về</a>"
        "<a href='/van-ban/chi-tiet-99.html'>Văn bản</a>"
        "<a href='/tin-tuc/bai-2.html'>Tin liên quan</a>"
        "<a href='https://tailieu.example.org/x.pdf'>Nơi khác</a>"
        "<a href='https://sotttt.thanhhoa.gov.vn/upload/ke-hoach.docx'>Kế hoạch</a>"
        "<iframe src='/pdfjs/web/viewer.html?file=%2Ffiles%2Fphu-luc.pdf'></iframe>"
        "<a href='javascript:void(0)'>Tải về</a>")
    links = dict(document_links(page, {"thanhhoa.gov.vn"}))
    assert list(links) == [
        "https://thanhhoa.gov.vn/files/QD%202971.PDF",
        "https://thanhhoa.gov.vn/VanBan/DownloadFile.aspx?id=7",
        "https://thanhhoa.gov.vn/van-ban/chi-tiet-99.html",
        "https://sotttt.thanhhoa.gov.vn/upload/ke-hoach.docx",
        "https://thanhhoa.gov.vn/pdfjs/web/viewer.html?file=%2Ffiles%2Fphu-luc.pdf",
    ]
    assert links["https://thanhhoa.gov.vn/VanBan/DownloadFile.aspx?id=7"] == "Tải về"
    files_only = [url for url, _ in document_links(page, {"thanhhoa.gov.vn"}, files_only=True)]
    assert "https://thanhhoa.gov.vn/VanBan/DownloadFile.aspx?id=7" not in files_only and len(files_only) == 3


def test_file_name_from_content_disposition_or_url():
    from scrapy.http import Response

    from pipelines.attachments import _filename

    named = Response("https://thanhhoa.gov.vn/DownloadFile.aspx?id=7", headers={
        "Content-Disposition": "attachment; filename*=UTF-8''K%E1%BA%BF%20ho%E1%BA%A1ch%20176.pdf"})
    assert _filename(named) == "Kế hoạch 176.pdf"
    assert _filename(Response("https://thanhhoa.gov.vn/files/qd%202971.pdf")) == "qd 2971.pdf"


def test_files_stage_passes_items_that_link_no_file_through_untouched():
    import asyncio

    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from crawler.items import ArticleItem
    from pipelines.attachments import AttachmentsPipeline

    crawler = get_crawler(Spider)
    crawler.spider = crawler._create_spider("t")
    pipeline = AttachmentsPipeline.from_crawler(crawler)
    pipeline.open_spider()
    article = ArticleItem(url="https://thanhhoa.gov.vn/tin-tuc/bai-1.html", html="<p>x</p>")
    assert asyncio.run(pipeline.process_item(article)) == \
        ArticleItem(url="https://thanhhoa.gov.vn/tin-tuc/bai-1.html", html="<p>x</p>")
    assert pipeline.get_media_requests(ArticleItem(file_urls=["https://thanhhoa.gov.vn/a.pdf"]), None) == []  # no database
    # the results go into the item, one per file that has one (a failure was recorded on the run instead)
    stored = {"url": "https://thanhhoa.gov.vn/a.pdf", "status": "ok", "document_id": 3, "outcome": "new"}
    linking = ArticleItem(file_urls=["https://thanhhoa.gov.vn/a.pdf", "https://thanhhoa.gov.vn/b.pdf"])
    assert pipeline.item_completed([(True, stored), (True, None)], linking, None)["files"] == [stored]
