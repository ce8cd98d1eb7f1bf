"""Stories and the signatures that find them: `stories`, `story_signatures`, `story_bands`.

`pipelines/stories.py` decides which stored article is the same story (MinHash, LSH, figures);
these functions are the index lookups and writes it makes, inside the article's transaction.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from crawler.db.rows import insert_ignoring_known


def same_body_in_source(db: sqlite_utils.Database, content_hash: str, source: str) -> int | None:
    """The first stored article of `source` with this body hash."""
    row = db.execute("SELECT s.article_id FROM story_signatures s JOIN articles a ON a.id = s.article_id "
                     "WHERE s.content_hash = ? AND a.source = ? ORDER BY s.article_id LIMIT 1",
                     [content_hash, source]).fetchone()
    return row[0] if row else None


def story_with_body(db: sqlite_utils.Database, content_hash: str, article_id: int, min_shingles: int) -> int | None:
    """The story of another article with this body hash and at least `min_shingles` shingles."""
    row = db.execute("SELECT story_id FROM story_signatures WHERE content_hash = ? AND article_id != ? "
                     "AND shingles >= ? ORDER BY article_id LIMIT 1", [content_hash, article_id, min_shingles]).fetchone()
    return row[0] if row else None


def band_candidates(db: sqlite_utils.Database, band_keys: list[int], article_id: int,
                    limit: int) -> list[tuple[int, int, str, bytes]]:
    """`(story_id, shingles, content_hash, minhash)` of up to `limit` articles sharing a band key."""
    if not band_keys:
        return []
    return db.execute(
        f"SELECT s.story_id, s.shingles, s.content_hash, s.minhash FROM story_signatures s WHERE s.article_id IN "
        f"(SELECT DISTINCT article_id FROM story_bands WHERE band_key IN ({','.join('?' * len(band_keys))}) "
        f"ORDER BY article_id LIMIT {int(limit)}) AND s.article_id != ? ORDER BY s.article_id",
        [*band_keys, article_id]).fetchall()


def first_member_texts(db: sqlite_utils.Database, story_ids: list[int], limit: int) -> dict[int, list[str | None]]:
    """The bodies of each story's first `limit` members, in publication order: one query for all the
    candidate stories of an article (a round trip each would hold the article's write keys longer)."""
    found: dict[int, list[str | None]] = {story_id: [] for story_id in story_ids}
    if not story_ids:
        return found
    for story_id, text in db.execute(
        "SELECT story_id, text FROM (SELECT story_id, text, ROW_NUMBER() OVER (PARTITION BY story_id "
        "ORDER BY COALESCE(published, first_seen), id) AS n FROM articles "
        f"WHERE story_id IN ({','.join('?' * len(story_ids))})) ranked WHERE n <= ? ORDER BY story_id, n",
        [*story_ids, int(limit)]).fetchall():
        found[story_id].append(text)
    return found


def insert_story(db: sqlite_utils.Database, title: str | None, seen: str, source: str, article_id: int) -> int:
    return db.execute("INSERT INTO stories (title, first_seen, first_source, first_article_id, article_count, "
                      "last_seen) VALUES (?, ?, ?, ?, 0, ?) RETURNING id",
                      [title, seen, source, article_id, seen]).fetchall()[0][0]


def story_origin_date(db: sqlite_utils.Database, story_id: int) -> str | None:
    """When the story's current origin article was published (or stored)."""
    row = db.execute("SELECT COALESCE(a.published, a.first_seen) FROM stories s JOIN articles a "
                     "ON a.id = s.first_article_id WHERE s.id = ?", [story_id]).fetchone()
    return row[0] if row else None


def set_story_origin(db: sqlite_utils.Database, story_id: int, article_id: int, source: str,
                     title: str | None) -> None:
    db.execute("UPDATE stories SET first_article_id = ?, first_source = ?, title = COALESCE(?, title) "
               "WHERE id = ?", [article_id, source, title, story_id])


def add_story_member(db: sqlite_utils.Database, story_id: int, article_id: int, seen: str, shingles: int,
                     content_hash: str, minhash: bytes, band_keys: list[int]) -> None:
    """Count the article in its story and store its signature (and band keys, when it has any)."""
    db.execute("UPDATE stories SET article_count = article_count + 1, last_seen = ? WHERE id = ?", [seen, story_id])
    db.execute("INSERT INTO story_signatures (article_id, story_id, shingles, content_hash, minhash) "
               "VALUES (?, ?, ?, ?, ?) ON CONFLICT (article_id) DO UPDATE SET story_id = excluded.story_id, "
               "shingles = excluded.shingles, content_hash = excluded.content_hash, minhash = excluded.minhash",
               [article_id, story_id, shingles, content_hash, minhash])
    if band_keys:
        insert_ignoring_known(db, "story_bands", ("band_key", "story_id", "article_id"),
                              [(key, story_id, article_id) for key in band_keys])


def story_row(db: sqlite_utils.Database, story_id: int) -> dict[str, Any] | None:
    rows = list(db.query("SELECT id, title, first_seen, last_seen, first_source, first_article_id "
                         "FROM stories WHERE id = ?", [story_id]))
    return rows[0] if rows else None


def story_members(db: sqlite_utils.Database, story_id: int) -> list[dict[str, Any]]:
    """The articles of a story, in publication order."""
    return [{"article_id": r["id"], **{k: r[k] for k in ("source", "level", "province", "url", "title",
                                                          "published", "first_seen")}}
            for r in db.query("SELECT id, source, level, province, url, title, published, first_seen FROM articles "
                              "WHERE story_id = ? ORDER BY COALESCE(published, first_seen), id", [story_id])]


def recent_story_ids(db: sqlite_utils.Database, limit: int, min_sources: int, since: str | None) -> list[int]:
    """Stories active since `since` carried by at least `min_sources` sources, newest first."""
    active = "s.last_seen >= ? AND " if since is not None else ""
    return [r[0] for r in db.execute(
        f"SELECT s.id FROM stories s WHERE {active}"
        "(SELECT COUNT(DISTINCT a.source) FROM articles a WHERE a.story_id = s.id) >= ? "
        "ORDER BY s.last_seen DESC, s.id DESC LIMIT ?", [*([since] if since is not None else []), min_sources,
                                                         limit]).fetchall()]
