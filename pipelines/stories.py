"""Stories: one article republished by many portals becomes one story, with who carried it and when.

Matching happens in two steps, both answered by SQLite indexes so the cost per article does not
grow with the size of the database:

1. exact copies: the same normalised body (`content_hash`) already stored;
2. near copies: MinHash (datasketch's "affine32" scheme, computed here with numpy) over syllable shingles of the `match_key` text (NFC,
   lower-cased, old/new tone placement unified). The signature is cut into LSH bands; each band's
   key is a row in `story_bands`, so candidates are found by index lookups, then verified against
   the candidate's stored signature (estimated Jaccard, or containment for a copy with a local
   paragraph added or the lead cut) and against the story's figures (a copy keeps its numbers;
   next month's report from the same template does not).

A story keeps the title and source of its earliest-published member; `story_coverage` reports
which national and provincial portals carried it and when.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from crawler.db import stories as store
from crawler.items import ArticleItem
from crawler.textnorm import content_hash, normalize_text, tone_key

SHINGLE_SIZE = 3          # syllables per shingle (vietnam.md 5.5: 3-grams separate best)
NUM_PERM = 128            # MinHash permutations
BANDS, ROWS = 32, 4       # LSH: a pair with Jaccard 0.5 becomes a candidate with p = 0.87, 0.6 -> 0.99
SEED = 1                  # fixed: signatures stored in the database must stay comparable
MIN_SHINGLES = 20         # below this a body is too short to match on its own
JACCARD_MIN = 0.5         # estimated Jaccard that makes two bodies one story
CONTAINMENT_MIN = 0.8     # ... or the share of the shorter body found in the longer one
CONTAINMENT_MAX_RATIO = 2.5  # ... when the longer body is at most this many times the shorter
CANDIDATE_LIMIT = 200     # bound on signatures verified per article (hot band keys)
MIN_NUMBERS = 2           # an article and a story with at least this many distinct numbers each ...
NUMBERS_SHARED_MIN = 0.5  # ... must share more than this share of the smaller set to be one story
STORY_NUMBERS_FROM = 20   # a story's numbers are those of its first 20 members

_SYLLABLE = re.compile(r"\w+(?:[.,/]\w+)*")
_NUMBER = re.compile(r"\d+(?:[.,/]\d+)*")
_SEPARATORS = re.compile(r"[.,]")
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                 0xFF51AFD7ED558CCD], dtype=np.uint64)  # odd multipliers, one per position in a run
assert BANDS * ROWS == NUM_PERM and SHINGLE_SIZE <= len(_MIX)


@dataclass(frozen=True)
class Signature:
    """What matching needs from a body: its MinHash (uint32 x NUM_PERM) and shingle count."""

    minhash: bytes
    shingles: int
    content_hash: str

    @property
    def matchable(self) -> bool:
        return self.shingles >= MIN_SHINGLES

    def values(self) -> np.ndarray:
        return np.frombuffer(self.minhash, dtype="<u4")

    @functools.cached_property
    def band_keys(self) -> list[int]:
        """The LSH band keys: looked up by matching, stored with the article and taken as its write
        keys, so computed once per signature."""
        step = ROWS * 4
        return [
            int.from_bytes(hashlib.blake2b(bytes([band]) + self.minhash[band * step:(band + 1) * step],
                                           digest_size=8).digest(), "little", signed=True)
            for band in range(BANDS)
        ]


@functools.lru_cache(maxsize=200_000)
def _syllable_hash(syllable: str) -> int:
    """Hash of a lower-cased NFC syllable after tone_key (= its part of the body's match_key)."""
    return int.from_bytes(hashlib.blake2b(tone_key(syllable).encode("utf-8"), digest_size=8).digest(), "little")


def shingles(text: str | None) -> np.ndarray:
    """Distinct 32-bit hashes of the runs of SHINGLE_SIZE syllables of the matching key of a body.

    Tone placement is unified per distinct syllable (cached) rather than over the whole text, and a
    run's hash is mixed from its syllables' hashes with numpy: about half the cost of match_key
    plus hashing every shingle string with datasketch's default hash.
    """
    syllables = _SYLLABLE.findall(normalize_text(text).lower())
    hashes = np.array([_syllable_hash(s) for s in syllables], dtype=np.uint64)
    if not len(hashes):
        return np.empty(0, dtype=np.uint32)
    size = min(SHINGLE_SIZE, len(hashes))
    runs = np.lib.stride_tricks.sliding_window_view(hashes, size)
    mixed = (runs * _MIX[:size]).sum(axis=1, dtype=np.uint64)  # wraps modulo 2**64, order-sensitive
    return np.unique((mixed >> np.uint64(32)).astype(np.uint32))


def _affine32_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) of datasketch 2.0's "affine32" MinHash for this seed: h -> a*h + b mod 2**32, a odd.

    Drawn here in the same order from the same generator, so signatures stored by earlier versions
    (made with `datasketch.MinHash`) stay comparable, without importing datasketch, whose package
    pulls in scipy (about 0.4 s at every crawl start).
    """
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


_PERM_A, _PERM_B = _affine32_permutations(NUM_PERM, SEED)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (the scheme's pre-mix of each input hash); wraps modulo 2**32."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def minhash_values(grams: np.ndarray) -> np.ndarray:
    """MinHash of 32-bit shingle hashes: NUM_PERM uint32 minima (all 2**32-1 for no shingles)."""
    if not len(grams):
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    mixed = _fmix32(np.asarray(grams, dtype=np.uint32)).reshape(-1, 1)
    return (mixed * _PERM_A + _PERM_B).min(axis=0)


def signature(text: str | None, hash_: str | None = None) -> Signature:
    """MinHash signature of a body (CPU work: done in StoryPipeline, outside the store's transaction)."""
    grams = shingles(text)
    return Signature(minhash_values(grams).astype("<u4").tobytes(), len(grams), hash_ or content_hash(text or ""))


def similarity(a: Signature, b: Signature) -> tuple[float, float]:
    """Estimated (Jaccard, containment of the smaller shingle set in the larger) of two bodies."""
    jaccard = float(np.count_nonzero(a.values() == b.values())) / NUM_PERM
    shared = jaccard / (1 + jaccard) * (a.shingles + b.shingles)
    smaller = min(a.shingles, b.shingles)
    return jaccard, (min(1.0, shared / smaller) if smaller else 0.0)


def same_story(a: Signature, b: Signature) -> float:
    """A score > 0 when the two bodies are one article republished (higher = closer), else 0."""
    if not (a.matchable and b.matchable):
        return 0.0
    if a.content_hash == b.content_hash:
        return 2.0
    jaccard, containment = similarity(a, b)
    if jaccard >= JACCARD_MIN:
        return 1.0 + jaccard
    sizes = sorted((a.shingles, b.shingles))
    if containment >= CONTAINMENT_MIN and sizes[1] <= CONTAINMENT_MAX_RATIO * sizes[0]:
        return containment
    return 0.0


def numbers(text: str | None) -> frozenset[str]:
    """The distinct numbers of a body, thousands and decimal separators dropped ("12.345" = "12345")."""
    return frozenset(_SEPARATORS.sub("", n) for n in _NUMBER.findall(text or ""))


def same_figures(article: frozenset[str], story: frozenset[str]) -> bool:
    """False when at most half of an article's numbers are in the story's: same template, new figures.

    A republication keeps the figures of what it keeps; next month's report written from the same
    template, or another province's, changes them while its wording can be as close as an edit.
    Bodies with fewer than MIN_NUMBERS numbers are not judged by them.
    """
    if min(len(article), len(story)) < MIN_NUMBERS:
        return True
    return len(article & story) / min(len(article), len(story)) > NUMBERS_SHARED_MIN


def item_signature(item: dict[str, Any]) -> Signature:
    """The signature StoryPipeline put on the item, or one computed now."""
    found = item.get("story_signature")
    if not isinstance(found, Signature):
        found = item["story_signature"] = signature(item.get("text"), item.get("content_hash"))
    return found


class StoryPipeline:
    """Computes the story signature of each article before storage (pipeline order 400)."""

    @classmethod
    def from_crawler(cls, crawler) -> "StoryPipeline":
        return cls()

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(item, ArticleItem) or item.get("text") is None:
            return item
        if not item.get("content_hash"):
            item["content_hash"] = content_hash(item["text"])
        item["story_signature"] = signature(item["text"], item["content_hash"])
        return item


# ---------------------------------------------------------------- the store's side


def story_keys(item: dict[str, Any]) -> list[str | int]:
    """What `stored_copy` and `assign_story` read, as write keys (crawler/db/connection.py): the
    body hash, and the band keys of a matchable body. An article stored meanwhile by another
    process can change the story chosen only if it shares one of them, so those two take turns."""
    sig = item_signature(item)
    return [f"body {sig.content_hash}", *(sig.band_keys if sig.matchable else [])]


def stored_copy(db, item: dict[str, Any]) -> int | None:
    """The id of an article of the same source with the same body (a second URL of it), if any."""
    sig = item_signature(item)
    if not sig.matchable:
        return None
    return store.same_body_in_source(db, sig.content_hash, item["source"])


def assign_story(db, article_id: int, item: dict, seen: str) -> int:
    """Attach the stored article to a story and return the story id (inside the caller's transaction)."""
    sig = item_signature(item)
    story_id = _matching_story(db, article_id, sig, numbers(item.get("text")))
    if story_id is None:
        story_id = store.insert_story(db, item.get("title"), seen, item["source"], article_id)
    else:
        _maybe_earlier_origin(db, story_id, article_id, item, seen)
    store.add_story_member(db, story_id, article_id, seen, sig.shingles, sig.content_hash, sig.minhash,
                           sig.band_keys if sig.matchable else [])
    return story_id


def _matching_story(db, article_id: int, sig: Signature, figures: frozenset[str]) -> int | None:
    """The story of the closest stored copy: the same body, or a near copy that keeps the figures."""
    if not sig.matchable:
        return None
    exact = store.story_with_body(db, sig.content_hash, article_id, MIN_SHINGLES)
    if exact:
        return exact
    scored = [(story_id, same_story(sig, Signature(minhash, shingle_count, hash_)))
              for story_id, shingle_count, hash_, minhash in store.band_candidates(db, sig.band_keys, article_id,
                                                                                   CANDIDATE_LIMIT)]
    story_numbers = _story_numbers(db, list(dict.fromkeys(story_id for story_id, score in scored if score > 0)))
    best, best_score = None, 0.0
    for story_id, score in scored:
        if score > best_score and same_figures(figures, story_numbers[story_id]):
            best, best_score = story_id, score
    return best


def _story_numbers(db, story_ids: list[int]) -> dict[int, frozenset[str]]:
    """The numbers of each story's first STORY_NUMBERS_FROM members (each copy may keep only some)."""
    return {story_id: frozenset().union(*(numbers(text) for text in texts))
            for story_id, texts in store.first_member_texts(db, story_ids, STORY_NUMBERS_FROM).items()}


def _maybe_earlier_origin(db, story_id: int, article_id: int, item: dict, seen: str) -> None:
    """A member published before the story's current origin becomes its origin (title, first source)."""
    origin = store.story_origin_date(db, story_id)
    when = item.get("published") or seen
    if origin and when < origin:
        store.set_story_origin(db, story_id, article_id, item["source"], item.get("title"))


# ---------------------------------------------------------------- reading stories


def story_coverage(db, story_id: int) -> dict[str, Any]:
    """Who carried a story and when: the digest's "đăng trên N cổng" and `dxwatch stories`.

    `count` is the number of distinct portals (sources); `article_count` the number of stored
    articles (a portal may carry it twice under different bodies). `sources` lists each portal once,
    with its earliest article, in publication order.
    """
    story = store.story_row(db, story_id)
    if story is None:
        raise KeyError(f"no story {story_id}")
    members = store.story_members(db, story_id)
    sources: dict[str, dict] = {}
    for member in members:
        sources.setdefault(member["source"], member)
    levels: dict[str, int] = {}
    for entry in sources.values():
        levels[entry["level"] or "unknown"] = levels.get(entry["level"] or "unknown", 0) + 1
    first = next((m for m in members if m["article_id"] == story["first_article_id"]),
                 members[0] if members else None)
    return {
        "story_id": story["id"],
        "title": story["title"],
        "first_seen": story["first_seen"],
        "last_seen": story["last_seen"],
        "first_source": story["first_source"],
        "first_url": first["url"] if first else None,
        "first_published": first["published"] if first else None,
        "count": len(sources),
        "article_count": len(members),
        "levels": levels,
        "national": [s for s, e in sources.items() if e["level"] == "national"],
        "provinces": sorted({e["province"] for e in sources.values() if e["province"]}),
        "sources": list(sources.values()),
        "members": members,
    }


def recent_stories(db, limit: int = 20, min_sources: int = 1, since: str | None = None) -> list[dict[str, Any]]:
    """The most recently active stories, each with its coverage, newest first."""
    return [story_coverage(db, story_id) for story_id in store.recent_story_ids(db, limit, min_sources, since)]
