"""The extraction targets on the annotated corpus (tests/extraction_corpus/), as bench/extraction_eval.py measures them."""

from pathlib import Path

import pytest
from helpers import load_script

EVAL_PATH = Path(__file__).resolve().parents[1] / "bench" / "extraction_eval.py"


@pytest.fixture(scope="module")
def evaluation():
    module = load_script(EVAL_PATH)
    rows = module.load_corpus()
    return module, rows, module.evaluate_corpus(rows)


def test_corpus_is_big_and_varied_enough(evaluation):
    _, rows, _ = evaluation
    assert len(rows) >= 40 and len({r["layout"] for r in rows}) >= 8
    assert all(r["title"] and r["text"] and r["published"] for r in rows)


def test_targets_hold_on_the_corpus(evaluation):
    module, _, report = evaluation
    ours = report["dxwatch"]
    assert ours["f1"] >= 0.97, ours["misses"]
    assert ours["title"] == 1.0 and ours["published"] == 1.0, ours["misses"]
    assert ours["author"] >= 0.95, ours["misses"]
    assert ours["repeated"] == 0 and ours["boilerplate"] == 0


def test_dxwatch_beats_plain_trafilatura_on_the_corpus(evaluation):
    _, _, report = evaluation
    assert report["dxwatch"]["f1"] > report["trafilatura"]["f1"]
    assert report["dxwatch"]["published"] > report["trafilatura"]["published"]


def test_metric_can_fail():
    """The body metric is not trivially 1: furniture and missing paragraphs both cost."""
    module = load_script(EVAL_PATH)
    gold = "Một hai ba bốn năm.\n\nSáu bảy tám chín mười."
    assert module.token_prf(gold, gold) == (1.0, 1.0)
    precision, recall = module.token_prf("Một hai ba bốn năm.\n\nTin cùng chuyên mục", gold)
    assert precision < 1 and recall == 0.5
    assert module.repeated(["Một đoạn văn đủ dài để đếm lặp lại.", "Một đoạn văn đủ dài để đếm lặp lại."])


def test_committed_corpus_is_what_build_py_writes(tmp_path):
    """Pages and gold come from articles.yaml / heldout.yaml through build.py: no hand edits drift."""
    module = load_script(EVAL_PATH.parents[1] / "tests" / "extraction_corpus" / "build.py", "corpus_build")
    module.build(tmp_path)
    corpus = EVAL_PATH.parents[1] / "tests" / "extraction_corpus"
    assert (tmp_path / "gold.jsonl").read_bytes() == (corpus / "gold.jsonl").read_bytes()
    built = {p.name: p.read_bytes() for p in (tmp_path / "pages").iterdir()}
    assert built == {p.name: p.read_bytes() for p in (corpus / "pages").iterdir()}
