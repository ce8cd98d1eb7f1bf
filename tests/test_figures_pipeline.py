"""FactsPipeline on article items, the store's one-row-per-mention, and `new_facts` (what is new)."""

from datetime import timedelta

from scrapy.utils.test import get_crawler

import pytest

from crawler import timeutil
from crawler.db import open_db
from crawler.items import ArticleItem, DocumentItem
from pipelines.storage import save_article
from crawler.db.facts import new_facts
from pipelines.kinds import tables
from pipelines.facts import FactsPipeline, article_facts

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`

ARTICLE = ("Theo Quyết định số 1845/QĐ-UBND ngày 12/7/2024, tỉnh triển khai 52 nhiệm vụ. Năm 2024, tỷ lệ hồ sơ "
           "trực tuyến toàn trình đạt 46,2%. Chủ tịch UBND tỉnh yêu cầu Sở Nội vụ khẩn trương rà soát quy trình.")
REPRINT = ("Tin từ Cổng thông tin tỉnh. Năm 2024, tỷ lệ hồ sơ trực tuyến toàn trình đạt 46,2%. Việc này thực hiện "
           "theo Quyết định số 1845/QĐ-UBND và Nghị quyết số 57-NQ/TW.")


def item(url, text, title="Kết quả chuyển đổi số", province="Thanh Hóa", **extra):
    return ArticleItem(**{"source": "tinh", "url": url, "title": title, "text": text, "province": province, **extra})


def test_pipeline_fills_facts_and_passes_other_items_through():
    pipeline = FactsPipeline.from_crawler(get_crawler())
    out = pipeline.process_item(item("https://a.gov.vn/1", ARTICLE))
    assert [(f["raw"], f["unit"]) for f in out["figures"]] == [("52", "nhiệm vụ"), ("46,2%", "%")]
    assert [d["key"] for d in out["directives"]] == ["1845/QĐ-UBND (Thanh Hóa)"]
    assert out["directives"][0]["number"] == "1845/QĐ-UBND"
    assert out["instructions"][0]["directed"] == "Sở Nội vụ"
    document = DocumentItem(url="https://a.gov.vn/qd.pdf", body=ARTICLE.encode())
    assert pipeline.process_item(document) == DocumentItem(url="https://a.gov.vn/qd.pdf", body=ARTICLE.encode())


def test_one_row_per_key_in_an_article_keeps_the_richest_mention():
    facts = article_facts("Quyết định số 1845/QĐ-UBND", "Theo Quyết định số 1845/QĐ-UBND ngày 12/7/2024 về chuyển đổi số.")
    [d] = facts["directives"]
    assert (d["date"], d["title"]) == ("2024-07-12", "về chuyển đổi số")


def test_title_figures_are_not_counted_twice():
    facts = article_facts("Hồ sơ trực tuyến đạt 46,2%, vượt kế hoạch",
                          "Năm 2024, tỷ lệ hồ sơ trực tuyến toàn trình của tỉnh đạt 46,2%.")
    [figure] = facts["figures"]
    assert figure["period"] == "Năm 2024"  # the body's richer mention is the one kept
    only_in_title = article_facts("Tỉnh có 1.086 tổ công nghệ số", "Các tổ hỗ trợ người dân.")["figures"]
    assert [f["value"] for f in only_in_title] == [1086]


def test_local_document_numbers_are_scoped_to_the_province_national_ones_are_not():
    text = ("Quyết định số 1845/QĐ-UBND, Nghị quyết số 55/2025/NQ-HĐND, Nghị quyết số 05-NQ/TU, "
            "Quyết định số 749/QĐ-TTg, Nghị định số 30/2020/NĐ-CP và Nghị quyết số 57-NQ/TW.")
    keys_a = [d["key"] for d in article_facts(None, text, "Thanh Hóa")["directives"]]
    keys_b = [d["key"] for d in article_facts(None, text, "Ninh Bình")["directives"]]
    assert keys_a[:3] == ["1845/QĐ-UBND (Thanh Hóa)", "55/2025/NQ-HĐND (Thanh Hóa)", "05-NQ/TU (Thanh Hóa)"]
    assert keys_b[:3] == ["1845/QĐ-UBND (Ninh Bình)", "55/2025/NQ-HĐND (Ninh Bình)", "05-NQ/TU (Ninh Bình)"]
    assert keys_a[3:] == keys_b[3:] == ["749/QĐ-TTg", "30/2020/NĐ-CP", "57-NQ/TW"]


def test_new_facts_groups_mentions_and_reports_what_is_new(db_path):
    db = open_db(db_path)
    pipeline = FactsPipeline.from_crawler(get_crawler())
    before_first = timeutil.ago(60)
    save_article(db, pipeline.process_item(item("https://a.gov.vn/1", ARTICLE)))
    between = timeutil.ago(15)
    db.execute("UPDATE articles SET first_seen = ?", [timeutil.ago(30)])
    for table in ("figures", "directives", "instructions"):
        db.execute(f"UPDATE {table} SET first_seen = ?", [timeutil.ago(30)])
    db.conn.commit()
    save_article(db, pipeline.process_item(item("https://b.gov.vn/2", REPRINT, source="khac")))

    everything = new_facts(db, tables(), before_first)
    directive = next(d for d in everything["directives"] if d["number"] == "1845/QĐ-UBND")
    assert directive["mentions"] == 2
    assert [a["url"] for a in directive["articles"]] == ["https://a.gov.vn/1", "https://b.gov.vn/2"]
    assert directive["date"] == "2024-07-12"  # the first mention's fields
    figure = next(f for f in everything["figures"] if f["raw"] == "46,2%")
    assert figure["mentions"] == 2

    since_second = new_facts(db, tables(), between)
    assert [d["key"] for d in since_second["directives"]] == ["57-NQ/TW"]    # only the document not seen before
    assert since_second["figures"] == []                                      # 46,2% was already known
    assert new_facts(db, tables(), timeutil.iso(timeutil.now() + timedelta(minutes=1))) == {
        "figures": [], "directives": [], "instructions": []}


def test_new_facts_can_keep_to_relevant_articles(db_path):
    db = open_db(db_path)
    save_article(db, FactsPipeline().process_item(item("https://a.gov.vn/1", ARTICLE, relevant=False)))
    assert new_facts(db, tables(), timeutil.ago(60), only_relevant=True)["directives"] == []
    assert new_facts(db, tables(), timeutil.ago(60))["directives"]
