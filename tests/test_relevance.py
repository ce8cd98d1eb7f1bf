"""Relevance to digital transformation: diacritics-aware keywords, false positives, weights by field."""

import unicodedata

import pytest
from scrapy.utils.test import get_crawler

from crawler.items import ArticleItem, DocumentItem
from pipelines.relevance import RelevancePipeline, score_relevance

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`

ON_TOPIC_BODY = ("Sáng nay, tỉnh tổ chức hội nghị đánh giá kết quả chuyển đổi số. Tỷ lệ hồ sơ nộp qua dịch vụ "
                 "công trực tuyến đạt 52%, kinh tế số chiếm 12% GRDP.")
OFF_TOPIC_BODY = "Sáng nay, tỉnh tổ chức lễ khánh thành cầu mới bắc qua sông, tổng vốn 300 tỷ đồng."


def test_on_topic_article_is_relevant_with_its_keywords():
    relevant, score, keywords = score_relevance("Hội nghị chuyển đổi số năm 2025", ON_TOPIC_BODY,
                                                "https://example.gov.vn/tin-tuc/hoi-nghi.html")
    assert relevant and score > 10
    assert keywords[0] == "chuyển đổi số"  # the title hit first
    assert {"dịch vụ công trực tuyến", "kinh tế số"} <= set(keywords)


def test_off_topic_article_is_not_relevant():
    relevant, score, keywords = score_relevance("Khánh thành cầu mới", OFF_TOPIC_BODY, "https://example.gov.vn/a")
    assert (relevant, score, keywords) == (False, 0.0, [])


@pytest.mark.parametrize("text", [
    "Người dùng cần chuyển đổi số lượng lớn tệp sang định dạng mới.",
    "Phần mềm giúp chuyển đổi số liệu thống kê sang biểu đồ.",
    "Nhà mạng hoàn tất chuyển đổi số điện thoại 11 số sang 10 số.",
    "Khách hàng được hướng dẫn chuyển đổi số thuê bao trả trước.",
    "Theo Nghị định của Chính phủ số 30/2020, văn bản phải có chữ ký.",
    "Đội bóng kinh tế số 1 của trường giành chiến thắng.",
    "Ai cũng biết rằng mùa mưa đã đến.",                      # "ai" (who) is not "AI"
])
def test_false_positives_do_not_match(text):
    assert score_relevance("Tin địa phương", text, "https://example.gov.vn/b") == (False, 0.0, [])


def test_title_outweighs_body_and_url_slug_is_a_prior():
    in_title = score_relevance("Đẩy mạnh chuyển đổi số", OFF_TOPIC_BODY, "https://x.gov.vn/a")
    in_body = score_relevance("Tin địa phương", OFF_TOPIC_BODY + " Dự án có ứng dụng chuyển đổi số.", "https://x.gov.vn/a")
    assert in_title[1] > in_body[1] > 0
    assert in_title[0]
    with_slug = score_relevance("Tin địa phương", OFF_TOPIC_BODY + " Dự án có ứng dụng chuyển đổi số.",
                                "https://x.gov.vn/chuyen-doi-so/tin-123.html")
    assert with_slug[1] > in_body[1] and with_slug[0]


def test_one_passing_mention_in_the_body_is_not_enough():
    relevant, score, _ = score_relevance("Khánh thành cầu mới", OFF_TOPIC_BODY + " Cầu có camera an ninh mạng.",
                                         "https://x.gov.vn/a")
    assert not relevant and 0 < score


def test_abbreviations_are_case_sensitive():
    assert "CĐS" in score_relevance("Triển khai CĐS ở cấp xã", "", "")[2]
    assert "AI" in score_relevance("Ứng dụng AI trong y tế", "", "")[2]


def test_decomposed_text_old_tone_marks_and_look_alikes_match():
    nfd = unicodedata.normalize("NFD", "Hội nghị chuyển đổi số")
    assert score_relevance(nfd, "", "")[2] == ["chuyển đổi số"]
    assert "chuyển đổi số" in score_relevance("Hội nghị CHUYỂN ĐỔI SỐ", "", "")[2]
    assert "CĐS" in score_relevance("Triển khai C\u00d0S", "", "")[2]          # Ð (eth) from a cp1258 page
    assert "hóa đơn điện tử" in score_relevance("", "Sử dụng hoá đơn điện tử.", "")[2]  # old tone placement


def test_diacritics_matter_in_text_but_not_in_url_slugs():
    assert score_relevance("Chuyen doi so", "", "")[2] == []
    assert score_relevance("Tin", "", "https://x.gov.vn/chuy%C3%AAn-m%E1%BB%A5c/chuyen-doi-so/")[1] > 0


def test_extra_keywords_from_the_source():
    relevant, _, keywords = score_relevance("Nông nghiệp thông minh", "Truy xuất nguồn gốc nông sản.", "",
                                            extra_keywords=["nông nghiệp thông minh", "truy xuất nguồn gốc"])
    assert relevant and keywords[:2] == ["nông nghiệp thông minh", "truy xuất nguồn gốc"]


def test_pipeline_fills_fields_and_passes_documents_through():
    crawler = get_crawler()
    pipeline = RelevancePipeline.from_crawler(crawler)
    item = pipeline.process_item(ArticleItem(title="Hội nghị chuyển đổi số", text=ON_TOPIC_BODY,
                                             url="https://x.gov.vn/a"))
    assert item["relevant"] is True and item["relevance_score"] > 0 and "chuyển đổi số" in item["keywords"]
    document = DocumentItem(label="chuyển đổi số", url="https://x.gov.vn/a.pdf")
    assert pipeline.process_item(document) == DocumentItem(label="chuyển đổi số", url="https://x.gov.vn/a.pdf")


def test_pipeline_reads_keywords_of_the_source_the_item_came_from():
    """One engine crawls many sources: the keywords are those of the item's own source."""
    class Crawl:
        def __init__(self, keywords):
            self.source = type("Source", (), {"keywords": keywords})()

    class Spider:
        crawls = {"nongnghiep": Crawl(["nông sản"]), "other": Crawl(["du lịch"])}

        def crawl_for(self, item):
            return self.crawls.get(item.get("source"))

    crawler = get_crawler()
    crawler.spider = Spider()
    pipeline = RelevancePipeline.from_crawler(crawler)
    mine = pipeline.process_item(ArticleItem(source="nongnghiep", title="Nông sản lên sàn du lịch",
                                             text="Hỗ trợ nông sản địa phương.", url="https://x.gov.vn/a"))
    assert "nông sản" in mine["keywords"] and "du lịch" not in mine["keywords"]
    theirs = pipeline.process_item(ArticleItem(source="other", title="Nông sản lên sàn du lịch",
                                               text="Hỗ trợ nông sản địa phương.", url="https://x.gov.vn/b"))
    assert "du lịch" in theirs["keywords"] and "nông sản" not in theirs["keywords"]


def test_labelled_articles():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import facts_eval

    precision, recall, n, wrong = facts_eval.relevance_scores()
    assert n >= 40
    assert precision >= 0.9 and recall >= 0.9, wrong
