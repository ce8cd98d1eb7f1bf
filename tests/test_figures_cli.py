"""`dxwatch facts`: new facts from a real database, text extraction, and clear errors."""

import json

from helpers import dxwatch

from crawler.db import open_db
from crawler.items import ArticleItem
from pipelines.storage import save_article
from pipelines.facts import FactsPipeline

TEXT = ("Năm 2024, tỷ lệ hồ sơ trực tuyến toàn trình đạt 46,2%. Theo Quyết định số 1845/QĐ-UBND ngày 12/7/2024, "
        "Chủ tịch UBND tỉnh yêu cầu Sở Nội vụ khẩn trương rà soát quy trình.")


def test_lists_new_facts_with_their_articles(db_path):
    db = open_db(db_path)
    for n, text in ((1, TEXT), (2, "Cổng thông tin tỉnh bạn đưa tin. " + TEXT)):
        save_article(db, FactsPipeline().process_item(
            ArticleItem(source="tinh", url=f"https://a.gov.vn/{n}", title=f"Tin {n}", text=text, relevant=True)))
    result = dxwatch("--db", db_path, "facts", "--since", "1d", "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    directive = next(r for r in rows if r["table"] == "directives")
    assert (directive["key"], directive["mentions"]) == ("1845/QĐ-UBND", 2)
    assert [a["url"] for a in directive["articles"]] == ["https://a.gov.vn/1", "https://a.gov.vn/2"]
    assert {r["table"] for r in rows} == {"figures", "directives", "instructions"}
    table = dxwatch("--db", db_path, "facts", "--kind", "directives")
    assert "1845/QĐ-UBND" in table.stdout and "46,2" not in table.stdout


def test_extracts_from_text_or_standard_input():
    result = dxwatch("facts", "--text", "-", "--kind", "figures", input=TEXT)
    assert result.returncode == 0, result.stderr
    [figure] = json.loads(result.stdout)["figures"]
    assert (figure["kind"], figure["value"], figure["period"]) == ("percent", 46.2, "Năm 2024")


def test_bad_options_are_clear_errors(db_path):
    result = dxwatch("--db", db_path, "facts", "--since", "yesterday")
    assert result.returncode == 2 and "--since takes a duration" in result.stderr
    result = dxwatch("--db", db_path, "facts", "--kind", "people")
    assert result.returncode == 2 and "figures, references or instructions" in result.stderr


def test_kind_references_is_also_asked_by_its_table_name_directives():
    text = "Theo Quyết định số 1845/QĐ-UBND ngày 12/7/2024, tỉnh hoàn thành kế hoạch."
    for name in ("references", "directives"):
        result = dxwatch("facts", "--text", "-", "--kind", name, input=text)
        assert result.returncode == 0, result.stderr
        [reference] = json.loads(result.stdout)["directives"]  # the JSON keeps the table's name
        assert reference["number"] == "1845/QĐ-UBND"
