"""The full-text index over article titles and bodies (SQLite FTS5, contentless).

`crawler/search.py` decides what a query means (phrases, diacritics); this module holds how the
index stores and matches them, which is the part a different backend would do differently.
"""

from __future__ import annotations

from typing import Any, Iterable

import sqlite_utils

from crawler.db.connection import write_transaction
from crawler.textnorm import fold, match_key

TITLE_WEIGHT = 4.0  # bm25 weight of a title hit against a body hit


def index_article(db: sqlite_utils.Database, article_id: int, title: str | None, text: str | None) -> None:
    """Add one article to the index (inside the article's write transaction)."""
    title_key, body_key = match_key(title or ""), match_key(text or "")
    db.execute("INSERT INTO articles_fts (rowid, title, body, title_folded, body_folded) VALUES (?, ?, ?, ?, ?)",
               [article_id, title_key, body_key, fold(title_key), fold(body_key)])


def unindexed_articles(db: sqlite_utils.Database) -> list[tuple[int, str | None, str | None]]:
    """`(id, title, text)` of articles stored after the last indexed one (written by other tools)."""
    last = db.execute("SELECT rowid FROM articles_fts ORDER BY rowid DESC LIMIT 1").fetchone()
    return db.execute("SELECT id, title, text FROM articles WHERE id > ? ORDER BY id",
                      [last[0] if last else 0]).fetchall()


def _match(phrase_text: str, folded: bool) -> str:
    columns = "{title_folded body_folded}" if folded else "{title body}"
    return f'{columns} : "{phrase_text.replace(chr(34), chr(34) * 2)}"'


def search_articles(db: sqlite_utils.Database, phrases: Iterable[tuple[str, bool]], sources: list[str],
                    since: str | None, until: str | None, limit: int, newest: bool) -> list[dict[str, Any]]:
    """Articles matching every `(text, folded)` phrase, best (or newest) first, with their text.

    `since`/`until` (YYYY-MM-DD, inclusive) apply to the publication day, or the storage day.
    """
    day = "substr(COALESCE(a.published, a.first_seen), 1, 10)"
    where = ["articles_fts MATCH ?"]
    params: list[Any] = [" AND ".join(_match(text, folded) for text, folded in phrases)]
    if sources:
        where.append(f"a.source IN ({','.join('?' * len(sources))})")
        params += sources
    if since:
        where.append(f"{day} >= ?")
        params.append(since)
    if until:
        where.append(f"{day} <= ?")
        params.append(until)
    order = "COALESCE(a.published, a.first_seen) DESC, a.id DESC" if newest else "score, a.id DESC"  # time, not day
    rows = db.execute(
        f"SELECT a.id, a.source, a.level, a.province, a.url, a.title, a.published, a.first_seen, a.story_id, "
        f"a.text, bm25(articles_fts, {TITLE_WEIGHT}, 1.0, {TITLE_WEIGHT}, 1.0) AS score "
        f"FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?", [*params, limit]).fetchall()
    return [{"id": r[0], "source": r[1], "level": r[2], "province": r[3], "url": r[4], "title": r[5],
             "published": r[6], "first_seen": r[7], "story": r[8], "text": r[9]} for r in rows]


def index_missing(db: sqlite_utils.Database) -> int:
    """Index articles stored without the index (written by other tools); returns how many.

    A write, so `dxwatch search` calls it explicitly before querying; `search_articles` only reads.
    """
    with write_transaction(db):
        rows = unindexed_articles(db)
        for article_id, title, text in rows:
            index_article(db, article_id, title, text)
    return len(rows)
