"""Extraction on real pages nobody here wrote (../shared), scored as bench/extraction_real_eval.py does."""

from pathlib import Path

import pytest
from helpers import load_script

EVAL_PATH = Path(__file__).resolve().parents[1] / "bench" / "extraction_real_eval.py"


@pytest.fixture(scope="module")
def bench():
    return load_script(EVAL_PATH)


def test_the_benchmark_metric_leaves_pages_without_text_out_of_precision(bench):
    gold = "one two three four five six"
    counts = [bench.page_counts("", gold), bench.page_counts("one two three four five six seven", gold)]
    assert counts[0] == (0, 0, 3) and counts[1] == (3, 1, 0)
    scores = bench.prf(counts)
    assert scores["precision"] == 0.75 and scores["recall"] == 0.5 and scores["empty"] == 1
    assert bench.page_counts("a b", "a b") == (1, 0, 0)  # shorter than a shingle: one shorter shingle


def test_the_split_is_deterministic_and_about_one_third_held_out(bench):
    parts = [bench.split_of(f"{i:04d}") for i in range(1, 1001)]
    assert parts == [bench.split_of(f"{i:04d}") for i in range(1, 1001)]
    assert 280 <= parts.count("heldout") <= 390


def test_real_vietnamese_articles_field_by_field(bench, shared_dir):
    report = bench.evaluate_real()["dxwatch"]
    n = report["pages"]
    assert n >= 7
    fields = report["fields"]
    assert (fields["title"], fields["published"], fields["last_paragraph"]) == (n, n, n), report["misses"]


@pytest.mark.slow
def test_no_empty_result_where_trafilatura_finds_an_article(bench, shared_dir):
    """A sample of the WCXB tuning pages (every eighth): dxwatch returns text wherever plain
    trafilatura finds at least 500 characters (pages refused as listings are the listing
    detector's call, not the body extraction's)."""
    from pipelines.extraction import NoArticle, extract_article_or_raise

    pages = bench.wcxb_pages("tuning")[::8]
    assert len(pages) >= 50
    lost = []
    for page in pages:
        if len(bench.trafilatura_text(page["html"], page["url"])) < 500:
            continue
        try:
            extract_article_or_raise(page["html"], page["url"])
        except NoArticle as exc:
            if exc.reason != "listing":
                lost.append((page["id"], exc.reason))
    assert lost == []
