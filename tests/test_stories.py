"""Stories: exact and near copies stored in a real SQLite file join one story; other articles do not."""

from __future__ import annotations

import unicodedata

import pytest

from crawler.db import open_db
from crawler.items import ArticleItem, DocumentItem
from pipelines.storage import save_article
from pipelines import stories
from pipelines.stories import StoryPipeline, recent_stories, story_coverage
from helpers import ANNOUNCEMENT, OTHER_STORY

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`

def article(source: str, url: str, paragraphs: list[str], **extra) -> dict:
    item = {"url": url, "source": source, "level": "provincial", "province": None,
            "title": "Hội nghị sơ kết chuyển đổi số", "text": "\n\n".join(paragraphs)}
    item.update(extra)
    return item


@pytest.fixture
def db(db_target):
    return open_db(db_target)


def store(db, item: dict, through_pipeline: bool = True) -> tuple[int, bool]:
    if through_pipeline:
        item = StoryPipeline().process_item(ArticleItem(**item))
    return save_article(db, item)


def story_of(db, article_id: int) -> int:
    return db.execute("SELECT story_id FROM articles WHERE id = ?", [article_id]).fetchone()[0]


def test_same_body_under_another_url_of_the_same_source_is_stored_once(db):
    first, new = store(db, article("tinh-a", "https://a.gov.vn/tin/1", ANNOUNCEMENT))
    again, again_new = store(db, article("tinh-a", "https://a.gov.vn/print.aspx?p=1", ANNOUNCEMENT))
    assert new and not again_new and again == first
    assert db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 1
    urls = {r[0] for r in db.execute("SELECT url FROM article_urls WHERE article_id = ?", [first])}
    assert urls == {"https://a.gov.vn/tin/1", "https://a.gov.vn/print.aspx?p=1"}


def test_verbatim_copy_on_another_portal_is_a_second_member_of_one_story(db):
    first, _ = store(db, article("tinh-a", "https://a.gov.vn/tin/1", ANNOUNCEMENT))
    copy, new = store(db, article("tinh-b", "https://b.gov.vn/tin/9", ANNOUNCEMENT, title="Sơ kết CĐS"))
    assert new and copy != first
    assert story_of(db, copy) == story_of(db, first)


def test_edited_republication_joins_the_story(db):
    first, _ = store(db, article("bo", "https://bo.gov.vn/1", ANNOUNCEMENT, level="national"))
    edited = [p.replace("Ủy ban nhân dân tỉnh", "UBND tỉnh") for p in ANNOUNCEMENT[1:]]
    edited.append("Tại huyện miền núi, các tổ công nghệ số cộng đồng đã đến từng thôn bản hướng dẫn bà con.")
    copy, _ = store(db, article("tinh-b", "https://b.gov.vn/2", edited, province="Lào Cai"))
    assert story_of(db, copy) == story_of(db, first)


def test_nfd_and_old_tone_placement_do_not_hide_a_copy(db):
    first, _ = store(db, article("tinh-a", "https://a.gov.vn/1", ANNOUNCEMENT))
    decomposed = [unicodedata.normalize("NFD", p.replace("hóa", "hoá")) for p in ANNOUNCEMENT]
    copy, _ = store(db, article("tinh-c", "https://c.gov.vn/1", decomposed))
    assert story_of(db, copy) == story_of(db, first)


def test_a_different_story_on_the_same_topic_gets_its_own_story(db):
    first, _ = store(db, article("tinh-a", "https://a.gov.vn/1", ANNOUNCEMENT))
    other, _ = store(db, article("tinh-a", "https://a.gov.vn/2", OTHER_STORY, title="Tập huấn bệnh án điện tử"))
    assert story_of(db, other) != story_of(db, first)


def test_signature_is_computed_when_the_pipeline_did_not_run(db):
    first, _ = store(db, article("tinh-a", "https://a.gov.vn/1", ANNOUNCEMENT), through_pipeline=False)
    copy, _ = store(db, article("tinh-b", "https://b.gov.vn/1", ANNOUNCEMENT), through_pipeline=False)
    assert story_of(db, copy) == story_of(db, first)
    assert db.execute("SELECT COUNT(*) FROM story_signatures").fetchone()[0] == 2


def test_short_bodies_do_not_merge_stories(db):
    short = ["Xem chi tiết tại tệp đính kèm."]
    one, _ = store(db, article("tinh-a", "https://a.gov.vn/1", short, title="Thông báo lịch tiếp dân"))
    two, new = store(db, article("tinh-a", "https://a.gov.vn/2", short, title="Kế hoạch kiểm tra"))
    assert new and story_of(db, one) != story_of(db, two)


def test_coverage_names_portals_levels_and_provinces_and_the_earliest_origin(db):
    store(db, article("tinh-a", "https://a.gov.vn/1", ANNOUNCEMENT, province="Thanh Hóa",
                      published="2025-10-15T08:00:00+07:00"))
    store(db, article("tinh-b", "https://b.gov.vn/1", ANNOUNCEMENT, province="Nghệ An",
                      published="2025-10-16T08:00:00+07:00"))
    # Crawled last but published first: it becomes the story's origin and gives the title.
    origin, _ = store(db, article("baochinhphu", "https://bcp.vn/1", ANNOUNCEMENT, level="national",
                                  title="Đẩy mạnh chuyển đổi số, Đề án 06", published="2025-10-14T18:00:00+07:00"))
    coverage = story_coverage(db, story_of(db, origin))
    assert coverage["count"] == 3 and coverage["article_count"] == 3
    assert coverage["levels"] == {"national": 1, "provincial": 2}
    assert coverage["provinces"] == ["Nghệ An", "Thanh Hóa"]
    assert coverage["national"] == ["baochinhphu"]
    assert coverage["first_source"] == "baochinhphu"
    assert coverage["title"] == "Đẩy mạnh chuyển đổi số, Đề án 06"
    assert [s["source"] for s in coverage["sources"]] == ["baochinhphu", "tinh-a", "tinh-b"]


def test_recent_stories_filter_by_number_of_portals(db):
    store(db, article("tinh-a", "https://a.gov.vn/1", ANNOUNCEMENT))
    store(db, article("tinh-b", "https://b.gov.vn/1", ANNOUNCEMENT))
    store(db, article("tinh-a", "https://a.gov.vn/2", OTHER_STORY))
    assert len(recent_stories(db)) == 2
    wide = recent_stories(db, min_sources=2)
    assert len(wide) == 1 and wide[0]["count"] == 2
    assert recent_stories(db, since="2000-01-01") == recent_stories(db) and recent_stories(db, since="2999-01-01") == []
    assert len(recent_stories(db, limit=1)) == 1


def test_pipeline_passes_other_item_types_through_untouched():
    document = DocumentItem(url="https://a.gov.vn/vb.pdf", body=b"%PDF-1.4")
    assert StoryPipeline().process_item(document) == DocumentItem(url="https://a.gov.vn/vb.pdf", body=b"%PDF-1.4")


def test_pipeline_sets_content_hash_and_signature():
    item = StoryPipeline().process_item(ArticleItem(**article("tinh-a", "https://a.gov.vn/1", ANNOUNCEMENT)))
    assert item["content_hash"] == stories.content_hash(item["text"])
    assert item["story_signature"].matchable


def test_a_copy_keeping_less_than_half_of_the_original_is_the_same_story_by_containment():
    whole = stories.item_signature({"text": "\n\n".join(ANNOUNCEMENT)})
    cut = stories.item_signature({"text": "\n\n".join(ANNOUNCEMENT[1:3])})  # lead and ending cut
    jaccard, containment = stories.similarity(whole, cut)
    assert jaccard < stories.JACCARD_MIN and containment >= stories.CONTAINMENT_MIN
    assert stories.same_story(whole, cut) > 0
    unrelated = stories.item_signature({"text": "\n\n".join(OTHER_STORY)})
    assert stories.same_story(whole, unrelated) == 0


def test_verbatim_copies_add_no_band_rows(db):
    for n in range(5):
        store(db, article(f"tinh-{n}", f"https://{n}.gov.vn/1", ANNOUNCEMENT))
    assert db.execute("SELECT COUNT(*) FROM story_bands").fetchone()[0] == stories.BANDS
    assert db.execute("SELECT COUNT(DISTINCT story_id) FROM articles").fetchone()[0] == 1


MONTHLY = [
    "Trong tháng 10, Trung tâm Phục vụ hành chính công tiếp nhận {a} hồ sơ, trong đó {b}% được nộp trực tuyến.",
    "Tỷ lệ hồ sơ giải quyết đúng hạn đạt {c}%, số hồ sơ quá hạn là {d} hồ sơ, chủ yếu thuộc lĩnh vực đất đai.",
    "Trung tâm tiếp tục hướng dẫn người dân sử dụng tài khoản định danh điện tử khi nộp hồ sơ trực tuyến và "
    "thanh toán phí, lệ phí không dùng tiền mặt.",
    "Các sở, ngành được yêu cầu rà soát quy trình nội bộ, không để người dân phải bổ sung giấy tờ nhiều lần.",
]


def test_next_months_report_from_the_same_template_is_another_story(db):
    october = [p.format(a="12.480", b="71,2", c="98,6", d=37) for p in MONTHLY]
    november = [p.replace("tháng 10", "tháng 11").format(a="13.105", b="74,9", c="97,8", d=52) for p in MONTHLY]
    first, _ = store(db, article("tinh-a", "https://a.gov.vn/10", october, title="Kết quả tháng 10"))
    copy, _ = store(db, article("tinh-b", "https://b.gov.vn/10", october[:3], title="Kết quả tháng 10"))
    later, _ = store(db, article("tinh-a", "https://a.gov.vn/11", november, title="Kết quả tháng 11"))
    assert story_of(db, copy) == story_of(db, first)
    assert story_of(db, later) != story_of(db, first)
    # the wording alone would have joined them
    a = stories.item_signature({"text": "\n\n".join(october)})
    b = stories.item_signature({"text": "\n\n".join(november)})
    assert stories.same_story(a, b) > 0


def test_figures_rule():
    assert stories.numbers("đạt 12.480 hồ sơ, 71,2% trực tuyến; Quyết định 2971/QĐ-UBND") == {"12480", "712", "2971"}
    october, november = frozenset({"12480", "712", "986"}), frozenset({"13105", "749", "978"})
    assert stories.same_figures(october, october | {"38"})        # a copy with a local figure added
    assert stories.same_figures(frozenset({"12480", "712"}), october)  # a copy that kept some figures
    assert not stories.same_figures(november, october)
    assert not stories.same_figures(frozenset({"06", "13105"}), frozenset({"06", "12480"}))  # only "Đề án 06"
    assert stories.same_figures(frozenset({"06"}), october)        # too few numbers to judge


def test_minhash_is_datasketch_affine32():
    """Signatures stored by earlier versions (made with datasketch's MinHash) stay comparable."""
    import numpy as np
    from datasketch import MinHash

    grams = stories.shingles("\n\n".join(ANNOUNCEMENT))
    assert len(grams) > 50
    # the shingle hashes are already 32-bit: datasketch takes them as they are (hashfunc=int)
    expected = MinHash(num_perm=stories.NUM_PERM, seed=stories.SEED, hashfunc=int, scheme="affine32")
    expected.update_batch(grams)
    assert np.array_equal(expected.hashvalues.astype("<u4"), stories.minhash_values(grams))
    assert np.array_equal(np.full(stories.NUM_PERM, 2**32 - 1, dtype=np.uint32), stories.minhash_values(grams[:0]))
