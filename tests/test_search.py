"""Search: FTS5 over a real SQLite file, with and without diacritics, with source and date filters."""

from __future__ import annotations

import unicodedata

import pytest

from crawler import search
from crawler.db import open_db
from crawler.db.fulltext import index_missing
from pipelines.storage import save_article

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`

ARTICLES = [
    ("tinh-a", "2025-09-30T08:00:00+07:00", "Thanh Hóa đẩy mạnh chuyển đổi số cấp xã",
     "Các xã trên địa bàn tỉnh đã triển khai chuyển đổi số, 100% hồ sơ được tiếp nhận qua hệ thống một cửa "
     "điện tử. Tổ công nghệ số cộng đồng hỗ trợ người dân cài đặt ứng dụng VNeID."),
    ("tinh-b", "2025-10-10T09:30:00+07:00", "Sở Y tế tập huấn bệnh án điện tử",
     "Sở Y tế tổ chức tập huấn cho cán bộ các bệnh viện. Mục tiêu là hoàn thành bệnh án điện tử trước năm "
     "2026, góp phần vào chương trình chuyển đổi số ngành y tế của tỉnh Khánh Hoà."),
    ("bo", "2025-10-20T15:00:00+07:00", "Quyết định 2971/QĐ-UBND về kế hoạch dữ liệu số",
     "Ủy ban nhân dân tỉnh ban hành Quyết định số 2971/QĐ-UBND phê duyệt kế hoạch phát triển dữ liệu số. "
     "Sở sẽ hướng dẫn số hóa hồ sơ lưu trữ."),
    ("tinh-b", None, "Lịch tiếp công dân tháng 11",
     "Lãnh đạo tỉnh tiếp công dân định kỳ vào ngày 15 hằng tháng tại trụ sở tiếp công dân."),
]


@pytest.fixture
def db(db_target):
    db = open_db(db_target)
    for n, (source, published, title, text) in enumerate(ARTICLES):
        save_article(db, {"url": f"https://{source}.gov.vn/{n}", "source": source, "title": title,
                          "text": text, "published": published})
    return db


def titles(results) -> list[str]:
    return [r["title"] for r in results]


def test_query_without_diacritics_finds_accented_text(db):
    found = titles(search.search(db, "chuyen doi so"))
    assert set(found) == {"Thanh Hóa đẩy mạnh chuyển đổi số cấp xã", "Sở Y tế tập huấn bệnh án điện tử"}
    assert found[0] == "Thanh Hóa đẩy mạnh chuyển đổi số cấp xã"  # a title hit ranks above a body-only hit


def test_query_with_diacritics_keeps_them_meaningful(db):
    # "sở" (department) and "số" (number) fold to the same letters; typed with diacritics they differ.
    assert titles(search.search(db, "sở y tế")) == ["Sở Y tế tập huấn bệnh án điện tử"]
    assert "Sở Y tế tập huấn bệnh án điện tử" not in titles(search.search(db, "số y tế"))
    assert len(search.search(db, "so y te")) == 1


def test_decomposed_query_and_old_tone_placement_match(db):
    assert len(search.search(db, unicodedata.normalize("NFD", "chuyển đổi số"))) == 2
    assert titles(search.search(db, "Khánh Hòa")) == ["Sở Y tế tập huấn bệnh án điện tử"]  # stored as "Hoà"


def test_words_of_a_part_must_be_adjacent_and_every_part_must_match(db):
    assert search.search(db, "số chuyển đổi") == []
    assert titles(search.search(db, "chuyen doi so, VNeID")) == ["Thanh Hóa đẩy mạnh chuyển đổi số cấp xã"]


def test_document_numbers_are_searchable(db):
    assert titles(search.search(db, "2971/QĐ-UBND")) == ["Quyết định 2971/QĐ-UBND về kế hoạch dữ liệu số"]
    assert len(search.search(db, "2971/qd-ubnd")) == 1


def test_source_and_date_filters(db):
    assert titles(search.search(db, "chuyen doi so", sources=["tinh-b"])) == ["Sở Y tế tập huấn bệnh án điện tử"]
    assert titles(search.search(db, "chuyen doi so", since="2025-10-01")) == ["Sở Y tế tập huấn bệnh án điện tử"]
    assert titles(search.search(db, "chuyen doi so", until="2025-09-30")) == [
        "Thanh Hóa đẩy mạnh chuyển đổi số cấp xã"]
    # No publication date: the day it was stored counts, so a filter up to the far past excludes it.
    assert search.search(db, "tiep cong dan", until="2020-01-01") == []
    assert len(search.search(db, "tiep cong dan", since="2020-01-01")) == 1


def test_newest_first(db):
    assert titles(search.search(db, "chuyen doi so", newest=True))[0] == "Sở Y tế tập huấn bệnh án điện tử"


def test_snippet_is_cut_around_the_match():
    text = "Mở đầu bài viết. " * 30 + "Tỉnh hoàn thành chuyển đổi số cấp xã. " + "Kết thúc. " * 30
    snippet = search.snippet(text, search.parse_query("chuyen doi so"), width=80)
    assert "chuyển đổi số" in snippet and snippet.startswith("…") and snippet.endswith("…")
    assert len(snippet) <= 82


def test_quotes_and_fts_syntax_in_queries_are_plain_text(db):
    assert search.search(db, 'VNeID" OR "y') == []
    assert len(search.search(db, "NEAR(chuyen doi)")) == 0


def test_bad_queries_and_dates_are_reported(db):
    with pytest.raises(ValueError, match="no words"):
        search.search(db, " , ;")
    with pytest.raises(ValueError, match="no words"):
        search.search(db, "_ * +")
    assert len(search.search(db, "__, chuyen doi so")) == 2  # a part with no words is left out
    with pytest.raises(search.BadMoment, match="takes a duration") as bad:
        search.search(db, "so", since="31/10/2025")
    assert bad.value.param == "since"  # the library names its argument; the CLI names the option
    with pytest.raises(search.BadMoment, match="must be a date") as bad:
        search.search(db, "so", until="tomorrow")
    assert bad.value.param == "until"


def test_articles_written_without_the_store_are_indexed_by_an_explicit_write_not_by_the_query(db):
    db.execute("INSERT INTO articles (url, source, title, text, first_seen) VALUES "
               "('https://x.gov.vn/1', 'x', 'Chính quyền số', 'Xây dựng chính quyền số.', '2025-11-01T08:00:00+07:00')")
    db.conn.commit()
    assert search.search(db, "chinh quyen so") == []  # a read does not write the index
    assert index_missing(db) == 1  # what `dxwatch search` runs before querying
    assert titles(search.search(db, "chinh quyen so")) == ["Chính quyền số"]
    assert index_missing(db) == 0
