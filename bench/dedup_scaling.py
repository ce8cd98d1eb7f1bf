"""Near-duplicate matching cost as the database grows: 10k, 50k and 100k stored articles.

Articles are generated deterministically: Zipf-distributed Vietnamese syllables (so common words
and phrases recur as in real text), two shared topic sentences from a pool of 60, and one article
in ten an edited copy of a recent one. Each gets its signature from StoryPipeline and its story
from `pipelines.stories.assign_story`, the function `save_article` calls, writing the real
story tables of a SQLite file (articles are inserted with the columns stories read, bodies
included; full-text indexing and facts are not part of this measurement). To keep the run short
the fill commits 500 articles per transaction; after each size is reached the next WINDOW
articles are stored one transaction each, as in a crawl, and timed: the matching step alone
(band-key lookup, verification of the candidates, and of the figures of a matching story:
`_matching_story`), the whole story assignment, and the signature. Ratios are against the first
size in the same run; peak memory is the process's max RSS.

    .venv/bin/python bench/dedup_scaling.py [--sizes 10000,50000,100000] [--window 2000]
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "dedup_eval"))

import corpus  # noqa: E402

from crawler import timeutil  # noqa: E402
from crawler.db import open_db  # noqa: E402
from crawler.textnorm import content_hash  # noqa: E402
from pipelines import stories  # noqa: E402

COPY_SHARE = 0.1
RECENT = 2_000          # copies are taken from the last RECENT originals (bounded memory in the generator)


class Generator:
    def __init__(self, seed: int = 3):
        self.rng = random.Random(seed)
        words = set()
        for sentences in corpus.TOPICS.values():
            for sentence in sentences:
                words.update(w.strip(".,:;").lower() for w in sentence.split())
        for part in (corpus.OPENERS, corpus.ACTORS, corpus.ACTIONS, corpus.OBJECTS, corpus.PURPOSES, corpus.PROVINCES):
            for phrase in part:
                words.update(w.strip(".,:;{}").lower() for w in phrase.split())
        self.vocabulary = sorted(w for w in words if w and "{" not in w)
        self.rng.shuffle(self.vocabulary)
        self.cum_weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(self.vocabulary))))
        slots = corpus.random_slots(random.Random(seed))
        self.topic_sentences = [t.format(**slots) for ts in corpus.TOPICS.values() for t in ts][:60]
        self.recent: list[tuple[str, list[str]]] = []
        self.copies: list[tuple[int, str]] = []   # (generated index, key of its original)

    def sentence(self) -> str:
        words = self.rng.choices(self.vocabulary, cum_weights=self.cum_weights, k=self.rng.randint(12, 28))
        return " ".join(words).capitalize() + "."

    def article(self, index: int) -> tuple[str, str, str]:
        """(key, title, text); a copy's key is its original's."""
        if self.recent and self.rng.random() < COPY_SHARE:
            key, sentences = self.rng.choice(self.recent)
            edited = list(sentences)
            for _ in range(self.rng.randint(0, 3)):
                edited = corpus.edit_once(self.rng, edited)
            return key, f"Bản sao {index}", " ".join(edited)
        sentences = [self.sentence() for _ in range(self.rng.randint(8, 14))]
        for sentence in self.rng.sample(self.topic_sentences, 2):
            sentences.insert(self.rng.randint(0, len(sentences)), sentence)
        key = f"a{index}"
        self.recent.append((key, sentences))
        if len(self.recent) > RECENT:
            self.recent.pop(0)
        return key, f"Bài {index}", " ".join(sentences)


class Timed:
    """Wraps a function of pipelines.stories to time each call while `on`."""

    def __init__(self, name: str):
        self.name, self.inner = name, getattr(stories, name)
        self.times: list[float] = []
        self.on = False
        setattr(stories, name, self)

    def __call__(self, *args):
        start = time.perf_counter()
        result = self.inner(*args)
        if self.on:
            self.times.append(time.perf_counter() - start)
        return result


def candidates(db, sig) -> int:
    keys = sig.band_keys
    return db.execute(f"SELECT COUNT(DISTINCT article_id) FROM story_bands WHERE band_key IN "
                      f"({','.join('?' * len(keys))})", keys).fetchone()[0]


class Run:
    def __init__(self, db):
        self.db, self.generator, self.pipeline = db, Generator(), stories.StoryPipeline()
        self.index = 0
        self.story_of_key: dict[str, int] = {}
        self.copies = self.copies_joined = 0
        self.signature_times: list[float] = []
        self.candidates: list[int] = []

    def store(self, count: int, timed: bool) -> None:
        """Generate and store `count` articles in one transaction."""
        items = []
        for _ in range(count):
            key, title, text = self.generator.article(self.index)
            hash_ = content_hash(text)  # set by the extraction stage in a crawl
            start = time.perf_counter()
            item = self.pipeline.process_item({"url": f"https://p{self.index % 40}.gov.vn/{self.index}",
                                               "source": f"p{self.index % 40}", "level": "provincial",
                                               "title": title, "text": text, "content_hash": hash_})
            if timed:
                self.signature_times.append(time.perf_counter() - start)
                self.candidates.append(candidates(self.db, item["story_signature"]))
            items.append((key, item))
            self.index += 1
        seen = timeutil.iso()
        with self.db.conn:
            for key, item in items:
                article_id = self.db.execute(
                    "INSERT INTO articles (url, source, level, title, text, content_hash, first_seen) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", [item["url"], item["source"], item["level"], item["title"],
                                                     item["text"], item["content_hash"], seen]).lastrowid
                story = stories.assign_story(self.db, article_id, item, seen)
                self.db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [story, article_id])
                if key in self.story_of_key:
                    self.copies += 1
                    self.copies_joined += self.story_of_key[key] == story
                else:
                    self.story_of_key[key] = story


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,50000,100000")
    parser.add_argument("--window", type=int, default=2_000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    matching, assigning = Timed("_matching_story"), Timed("assign_story")
    rows = []
    started = time.perf_counter()
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(open_db(Path(tmp) / "scale.db"))
        for size in sizes:
            while run.index < size:
                run.store(min(500, size - run.index), timed=False)
            for timer in (matching, assigning):
                timer.times.clear()
                timer.on = True
            run.signature_times.clear()
            run.candidates.clear()
            for _ in range(args.window):
                run.store(1, timed=True)
            matching.on = assigning.on = False
            times = sorted(matching.times)
            rows.append({
                "size": size,
                "match_us": statistics.median(times) * 1e6,
                "match_mean_us": statistics.fmean(times) * 1e6,
                "match_p95_us": times[int(len(times) * 0.95)] * 1e6,
                "assign_us": statistics.median(assigning.times) * 1e6,
                "signature_ms": statistics.median(run.signature_times) * 1e3,
                "candidates": statistics.fmean(run.candidates),
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "db_mb": sum(f.stat().st_size for f in Path(tmp).iterdir()) / 2**20,
            })
            print(f"  {size:,} stored, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        counts = run.db.execute("SELECT (SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM stories)").fetchone()
    base = rows[0]
    print(f"{counts[0]:,} articles, {counts[1]:,} stories; edited copies that joined their original's story: "
          f"{run.copies_joined:,}/{run.copies:,} ({run.copies_joined / run.copies:.2%}); "
          f"{time.perf_counter() - started:.0f} s in all; {os.cpu_count()} cores; peak RSS before storing: "
          f"{rss_start:.0f} MB\n")
    print("| stored articles | matching per article: median (mean, p95) | median vs first size | candidates per "
          "article | whole story assignment (median) | signature (median) | peak RSS | database file |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['size']:,} | {row['match_us']:.0f} µs ({row['match_mean_us']:.0f}, {row['match_p95_us']:.0f}) | "
              f"{row['match_us'] / base['match_us']:.2f} | {row['candidates']:.2f} | {row['assign_us']:.0f} µs | "
              f"{row['signature_ms']:.2f} ms | {row['rss_mb']:.0f} MB | {row['db_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
