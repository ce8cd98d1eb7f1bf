"""Run the labelled evaluation set through the real store and score "same story" pairs.

Every sample is stored (in a seeded random order, each on its own portal) with
`pipelines.storage.save_article` into a fresh SQLite file, exactly as a crawl would store it; the
story ids it gets are compared with the labels, pair by pair.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from pathlib import Path

from corpus import Sample, bucket, evaluation_set

from crawler.db import open_db
from pipelines.storage import save_article
from pipelines.stories import StoryPipeline

TARGET_EDITED = 0.20


def assign(samples: list[Sample], db_path: Path, order_seed: int = 11) -> dict[str, int]:
    """Store the samples in a shuffled order; the story id each one got."""
    db = open_db(db_path)
    pipeline = StoryPipeline()
    order = list(samples)
    random.Random(order_seed).shuffle(order)
    story_of: dict[str, int] = {}
    for n, sample in enumerate(order):
        item = pipeline.process_item({"url": f"https://portal-{n}.gov.vn/{n}", "source": f"portal-{n}",
                                      "level": "provincial", "title": sample.title, "text": sample.text,
                                      "published": sample.published})
        article_id, _ = save_article(db, item)
        story_of[sample.key] = db.execute("SELECT story_id FROM articles WHERE id = ?", [article_id]).fetchone()[0]
    db.conn.close()
    return story_of


def score(samples: list[Sample], story_of: dict[str, int]) -> dict:
    """Pair precision over every pair; recall over pairs whose copies are at most TARGET_EDITED edited."""
    predicted_pairs = true_positive = 0
    within = Counter()
    found = Counter()
    for a, b in itertools.combinations(samples, 2):
        same_story = story_of[a.key] == story_of[b.key]
        same_group = a.group == b.group
        predicted_pairs += same_story
        true_positive += same_story and same_group
        if same_group:
            worst = max(a.edited or 0.0, b.edited or 0.0)
            label = "target" if worst <= TARGET_EDITED + 1e-9 else "beyond"
            within[label] += 1
            found[label] += same_story
    by_bucket = Counter()
    by_bucket_found = Counter()
    originals = {s.group: s for s in samples if s.edited is None}
    for s in samples:
        if s.edited is not None:
            by_bucket[bucket(s.edited)] += 1
            by_bucket_found[bucket(s.edited)] += story_of[s.key] == story_of[originals[s.group].key]
    groups = {s.group for s in samples}
    stories = set(story_of.values())
    return {
        "samples": len(samples),
        "groups": len(groups),
        "stories": len(stories),
        "precision": true_positive / predicted_pairs if predicted_pairs else 1.0,
        "false_pairs": predicted_pairs - true_positive,
        "recall_target": found["target"] / within["target"],
        "pairs_target": within["target"],
        "recall_beyond": found["beyond"] / within["beyond"] if within["beyond"] else None,
        "copy_recall_by_bucket": {k: (by_bucket_found[k], by_bucket[k]) for k in sorted(by_bucket, key=_order)},
    }


def _order(label: str) -> float:
    return float(label.strip("<=>%")) + (0.5 if label.startswith(">") else 0)


def run(db_path: Path, seed: int = 7, order_seed: int = 11) -> dict:
    samples = evaluation_set(seed)
    return score(samples, assign(samples, db_path, order_seed))
