"""The full-text index over article titles and bodies: SQLite FTS5 (contentless), or PostgreSQL's
own (tsvector columns with GIN indexes, diacritics removed by `unaccent`).

`crawler/search.py` decides what a query means (phrases, diacritics); this module holds how the
index stores and matches them, the one part each backend does its own way. Both index the same
words: the matching key of the text (lower-cased, tone placement normalised) cut into runs of
letters and digits, which is how FTS5's unicode61 tokenizer reads it; PostgreSQL's `simple`
configuration then takes the words as they are (no stemming, no stop words), so a phrase is the
same run of words on both. The columns without diacritics are `fold()`ed in Python on SQLite and
`unaccent`ed by the server on PostgreSQL.
"""

from __future__ import annotations

from typing import Any, Iterable

import re

import sqlite_utils

from crawler.db import dialect

from crawler.db.connection import write_transaction
from crawler.textnorm import fold, match_key

TITLE_WEIGHT = 4.0  # bm25 weight of a title hit against a body hit
_WORDS = re.compile(r"[^\W_]+")
# PostgreSQL: the words as a tsvector, and a phrase as a tsquery (`unaccent`ed for the folded columns)
_PG_VECTOR = "to_tsvector('simple', ?)"
_PG_FOLDED_VECTOR = "to_tsvector('simple', unaccent(?))"


def _words(key: str) -> str:
    return " ".join(_WORDS.findall(key))


def index_article(db: sqlite_utils.Database, article_id: int, title: str | None, text: str | None) -> None:
    """Add one article to the index (inside the article's write transaction)."""
    title_key, body_key = match_key(title or ""), match_key(text or "")
    if dialect.is_postgres(db):
        title_words, body_words = _words(title_key), _words(body_key)
        db.execute(f"INSERT INTO articles_fts (rowid, title, body, title_folded, body_folded) VALUES (?, {_PG_VECTOR}, "
                   f"{_PG_VECTOR}, {_PG_FOLDED_VECTOR}, {_PG_FOLDED_VECTOR}) ON CONFLICT (rowid) DO NOTHING",
                   [article_id, title_words, body_words, title_words, body_words])
        return
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
    if dialect.is_postgres(db):
        where, params, score = [], [], []
        for text, folded in phrases:
            query = "phraseto_tsquery('simple', unaccent(?))" if folded else "phraseto_tsquery('simple', ?)"
            title, body = ("articles_fts.title_folded", "articles_fts.body_folded") if folded else \
                ("articles_fts.title", "articles_fts.body")
            where.append(f"({title} @@ {query} OR {body} @@ {query})")
            params += [_words(text)] * 2
            score.append(f"{TITLE_WEIGHT} * ts_rank({title}, {query}) + ts_rank({body}, {query})")
        params += params  # the score (selected before the WHERE) repeats the queries in the same order
        score_sql = f"-({' + '.join(score)})"  # lower is better, as bm25
    else:
        where = ["articles_fts MATCH ?"]
        params = [" AND ".join(_match(text, folded) for text, folded in phrases)]
        score_sql = f"bm25(articles_fts, {TITLE_WEIGHT}, 1.0, {TITLE_WEIGHT}, 1.0)"
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
        f"a.text, {score_sql} AS score "
        f"FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
        f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?", [*params, limit]).fetchall()
    return [{"id": r[0], "source": r[1], "level": r[2], "province": r[3], "url": r[4], "title": r[5],
             "published": r[6], "first_seen": r[7], "story": r[8], "text": r[9]} for r in rows]


def index_missing(db: sqlite_utils.Database) -> int:
    """Index articles stored without the index (written by other tools); returns how many.

    A write, so `dxwatch search` calls it explicitly before querying; `search_articles` only reads.
    """
    with write_transaction(db, ["fulltext backfill"]):  # two searches at once index the rest once
        rows = unindexed_articles(db)
        for article_id, title, text in rows:
            index_article(db, article_id, title, text)
    return len(rows)
