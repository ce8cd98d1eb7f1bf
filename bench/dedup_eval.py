"""Near-duplicate evaluation: precision and recall of "same story" pairs on the labelled set.

Runs tests/dedup_eval (generated deterministically) through the real store for five seeds and
prints a Markdown table for BENCHMARKS.md, with the similarity margin between the closest pair of
different stories and the furthest copy within the 20% target (exact shingle Jaccard), then the
same runs with the figures rule switched off, to show what it is for.

    .venv/bin/python bench/dedup_eval.py
"""

from __future__ import annotations

import itertools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "dedup_eval"))

import corpus  # noqa: E402
import evaluate  # noqa: E402

from pipelines import stories  # noqa: E402

SEEDS = (7, 8, 9, 10, 11)


def margin(samples: list[corpus.Sample]) -> tuple[float, float]:
    """(highest Jaccard between different stories, lowest between a story and a copy <= 20% edited)."""
    grams = {s.key: set(stories.shingles(s.text).tolist()) for s in samples}
    closest_other, furthest_copy = 0.0, 1.0
    for a, b in itertools.combinations(samples, 2):
        same = a.group == b.group
        if same and max(a.edited or 0, b.edited or 0) > evaluate.TARGET_EDITED:
            continue
        ga, gb = grams[a.key], grams[b.key]
        jaccard = len(ga & gb) / len(ga | gb)
        if same:
            furthest_copy = min(furthest_copy, jaccard)
        else:
            closest_other = max(closest_other, jaccard)
    return closest_other, furthest_copy


def main() -> None:
    print(f"shingles: {stories.SHINGLE_SIZE} syllables; MinHash {stories.NUM_PERM} permutations, LSH "
          f"{stories.BANDS} bands x {stories.ROWS} rows; same story when estimated Jaccard >= "
          f"{stories.JACCARD_MIN} or containment >= {stories.CONTAINMENT_MIN}, and more than "
          f"{stories.NUMBERS_SHARED_MIN:.0%} of the numbers shared when both have {stories.MIN_NUMBERS} or more\n")
    print("| seed | articles | stories (labelled) | pair precision | recall, copies <= 20% edited "
          "| recall, 20-100% edited | closest different stories (J) | furthest copy <= 20% (J) |")
    print("|---|---|---|---|---|---|---|---|")
    buckets: dict[str, list[int]] = {}
    for seed in SEEDS:
        with tempfile.TemporaryDirectory() as tmp:
            result = evaluate.run(Path(tmp) / "eval.db", seed=seed)
        other, copy = margin(corpus.evaluation_set(seed))
        print(f"| {seed} | {result['samples']} | {result['stories']} ({result['groups']}) | "
              f"{result['precision']:.4f} ({result['false_pairs']} false pairs) | "
              f"{result['recall_target']:.4f} of {result['pairs_target']} pairs | {result['recall_beyond']:.4f} | "
              f"{other:.2f} | {copy:.2f} |")
        for label, (found, total) in result["copy_recall_by_bucket"].items():
            tally = buckets.setdefault(label, [0, 0])
            tally[0] += found
            tally[1] += total
    print("\nWithout the figures rule (`same_figures` always true):\n")
    print("| seed | pair precision | recall, copies <= 20% edited |")
    print("|---|---|---|")
    rule = stories.same_figures
    stories.same_figures = lambda article, story: True
    try:
        for seed in SEEDS:
            with tempfile.TemporaryDirectory() as tmp:
                result = evaluate.run(Path(tmp) / "eval.db", seed=seed)
            print(f"| {seed} | {result['precision']:.4f} ({result['false_pairs']} false pairs) | "
                  f"{result['recall_target']:.4f} |")
    finally:
        stories.same_figures = rule
    print("\nCopies that joined their original's story, by share of words edited (all seeds):\n")
    print("| edited | " + " | ".join(buckets) + " |")
    print("|---|" + "---|" * len(buckets))
    print("| joined | " + " | ".join(f"{f}/{t} ({f / t:.0%})" for f, t in buckets.values()) + " |")


if __name__ == "__main__":
    main()
