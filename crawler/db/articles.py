"""Articles and the URLs that lead to them: the writes `pipelines/storage.py` makes in one
transaction and the reads the CLI, export, health and digests share."""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator

import sqlite_utils

from crawler.db.rows import insert_ignoring_known, insert_row

ARTICLE_COLUMNS = ("url", "source", "level", "province", "title", "published", "author", "credit", "text",
                   "relevant", "relevance_score", "keywords", "content_hash", "first_seen", "crawl_run_id")

_CHUNK = 500  # bound on the parameters of one IN (...) query


def known_urls(db: sqlite_utils.Database, urls: Iterable[str]) -> set[str]:
    """Which of these URLs already lead to a stored article (checked before any request)."""
    urls = list(dict.fromkeys(urls))
    found: set[str] = set()
    for i in range(0, len(urls), _CHUNK):
        chunk = urls[i : i + _CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in db.execute(f"SELECT url FROM article_urls WHERE url IN ({marks})", chunk))
    return found


def article_for_urls(db: sqlite_utils.Database, urls: list[str]) -> int | None:
    """The id of the stored article any of these URLs leads to, if one does."""
    if not urls:
        return None
    row = db.execute(f"SELECT article_id FROM article_urls WHERE url IN ({','.join('?' * len(urls))}) LIMIT 1",
                     urls).fetchone()
    return row[0] if row else None


def insert_article(db: sqlite_utils.Database, row: dict[str, Any]) -> int:
    """Insert one article row (columns of ARTICLE_COLUMNS; `keywords` a list); returns its id."""
    row = {c: row.get(c) for c in ARTICLE_COLUMNS}
    row["keywords"] = json.dumps(row["keywords"] or [], ensure_ascii=False)
    row["relevant"] = int(bool(row["relevant"]))
    return insert_row(db, "articles", row)


def add_article_urls(db: sqlite_utils.Database, article_id: int, urls: list[str]) -> None:
    """Record URLs (canonical and aliases) as leading to this article; known ones are kept."""
    insert_ignoring_known(db, "article_urls", ("url", "article_id"), [(u, article_id) for u in urls])


def set_article_story(db: sqlite_utils.Database, article_id: int, story_id: int) -> None:
    db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [story_id, article_id])


def iter_articles(db: sqlite_utils.Database) -> Iterator[dict[str, Any]]:
    """Every stored article row, in storage order, read a page at a time (by id: the export of
    millions of rows holds one page in memory on either backend, and the caller may query in between)."""
    last = 0
    while True:
        rows = list(db.query("SELECT * FROM articles WHERE id > ? ORDER BY id LIMIT ?", [last, _CHUNK]))
        yield from rows
        if len(rows) < _CHUNK:
            return
        last = rows[-1]["id"]


def count_articles(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT count(*) FROM articles").fetchone()[0]


def source_articles_since(db: sqlite_utils.Database, source: str, since: str) -> tuple[int, str | None]:
    """`(count, oldest day)` of the articles of `source` published (or stored) since `since`."""
    row = db.execute("SELECT COUNT(*), MIN(COALESCE(published, first_seen)) FROM articles "
                     "WHERE source = ? AND COALESCE(published, first_seen) >= ?", [source, since]).fetchone()
    return row[0], row[1]


def newest_article_seen(db: sqlite_utils.Database, source: str) -> str | None:
    """When dxwatch last stored an article of `source`."""
    return db.execute("SELECT MAX(first_seen) FROM articles WHERE source = ?", [source]).fetchone()[0]


def articles_stored_since(db: sqlite_utils.Database, since: str, only_relevant: bool) -> list[dict]:
    """Articles stored at or after `since` (only relevant ones, when asked), in storage order."""
    relevant = "AND relevant = 1" if only_relevant else ""
    return list(db.query(f"SELECT * FROM articles WHERE first_seen >= ? {relevant} ORDER BY first_seen, id", [since]))


def article_by_url(db: sqlite_utils.Database, url: str) -> dict | None:
    rows = list(db.query("SELECT * FROM articles WHERE url = ?", [url]))
    return rows[0] if rows else None


def articles_by_id(db: sqlite_utils.Database, ids: Iterable[int]) -> dict[int, dict]:
    found, ids = {}, sorted(ids)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        for a in db.query(f"SELECT * FROM articles WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            found[a["id"]] = a
    return found
