"""The labelled evaluation set through the real store: precision >= 0.99, recall >= 0.95 up to 20% edited."""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "dedup_eval"))

import corpus  # noqa: E402
import evaluate  # noqa: E402

from crawler.db import open_db  # noqa: E402
from crawler.items import ArticleItem  # noqa: E402
from pipelines.storage import save_article  # noqa: E402
from pipelines.stories import StoryPipeline  # noqa: E402


def test_evaluation_set_has_every_kind_of_case():
    samples = corpus.evaluation_set(seed=7)
    kinds = {s.kind for s in samples}
    assert kinds == {"original", "verbatim", "cosmetic", "edited"}
    edited = [s.edited for s in samples if s.kind == "edited"]
    for low, high in ((0.0, 0.10), (0.10, 0.20), (0.20, 0.30), (0.30, 1.0)):
        assert sum(low < e <= high for e in edited) >= 20, (low, high)
    assert len({s.group for s in samples}) == 60


def test_edited_share_counts_words_changed():
    original = "một hai ba bốn năm sáu bảy tám chín mười"
    assert corpus.edited_share(original, original) == 0.0
    assert corpus.edited_share(original, original.replace("ba", "BA")) == pytest.approx(0.1)
    assert corpus.edited_share(original, original + " mười một mười hai") == pytest.approx(0.4)


def test_precision_and_recall_meet_the_targets(tmp_path):
    result = evaluate.run(tmp_path / "eval.db", seed=7)
    assert result["pairs_target"] >= 500
    assert result["precision"] >= 0.99, result
    assert result["recall_target"] >= 0.95, result


def test_real_portal_text_and_its_edited_copies_form_one_story_each(tmp_path, shared_dir):
    """Seed articles scraped from real portals: each with edited copies, none merged with another."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((shared_dir / "seeds").glob("*.txt"))]
    texts = [t for t in texts if len(t.split()) > 150]
    if len(texts) < 2:
        pytest.skip("fewer than two usable seed texts")
    db = open_db(tmp_path / "seeds.db")
    pipeline = StoryPipeline()
    stories_per_seed = []
    for n, text in enumerate(texts):
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
        copies = [text, corpus.cosmetic_copy(text)]
        for level in (0.1, 0.2):
            copy, share = corpus.edited_copy(random.Random(n), sentences, text, level)
            copies.append(copy)
        found = set()
        for m, body in enumerate(copies):
            article_id, _ = save_article(db, pipeline.process_item(
                ArticleItem(url=f"https://p{m}.gov.vn/{n}", source=f"p{m}", title=f"Bài {n}", text=body)))
            found.add(db.execute("SELECT story_id FROM articles WHERE id = ?", [article_id]).fetchone()[0])
        stories_per_seed.append(found)
    assert all(len(found) == 1 for found in stories_per_seed), stories_per_seed
    assert len(set.union(*stories_per_seed)) == len(texts)
