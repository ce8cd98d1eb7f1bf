"""Facts found in articles and attached documents: `figures`, `directives`, `instructions`.

The store writes one row per mention with the fact's `key`; a fact is new the first time its key
is seen, so "the same document cited by forty articles" is one directive with forty mentions.
`new_facts` is that query, used by the digests, alerts and `dxwatch facts`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from crawler import timeutil
from crawler.db import dialect
from crawler.db.rows import insert_rows

# Which fact tables exist and their columns is declared by the fact kinds (pipelines/kinds/):
# callers pass `tables`, {table: columns with `key` first}.
Tables = dict[str, tuple[str, ...]]


def insert_facts(db: sqlite_utils.Database, table: str, columns: tuple[str, ...], rows: list[dict],
                 owner: dict[str, Any], seen: str) -> None:
    """Store fact rows of one kind (`table`) found in an article or document (`owner`: its id column)."""
    if not rows:
        return
    insert_rows(db, table, [{**{c: r.get(c) for c in columns}, **owner, "first_seen": seen}
                            | ({"ambiguous": int(bool(r.get("ambiguous")))} if "ambiguous" in columns else {})
                            for r in rows])


def facts_of_article(db: sqlite_utils.Database, article_id: int, tables: Tables) -> dict[str, list[dict]]:
    """The stored facts of one article, by table, in the columns the extractors produce."""
    return {
        table: [{c: r[c] for c in columns}
                for r in db.query(f"SELECT * FROM {table} WHERE article_id = ? ORDER BY id", [article_id])]
        for table, columns in tables.items()
    }


# Figures and directives may come from an attached document (document_id set, article_id NULL):
# such a mention reaches readers through every stored article that links the document.
_MENTIONS = """
    SELECT t.id AS tid, t.key, t.first_seen, t.article_id, NULL AS document_id FROM {table} t
     WHERE t.article_id IS NOT NULL
    UNION ALL
    SELECT t.id, t.key, t.first_seen, u.article_id, t.document_id FROM {table} t
      JOIN document_urls du ON du.document_id = t.document_id
      JOIN document_links l ON l.document_url = du.url
      JOIN article_urls u ON u.url = l.article_url
     WHERE t.document_id IS NOT NULL
"""
_ARTICLE_MENTIONS = "SELECT t.id AS tid, t.key, t.first_seen, t.article_id, NULL AS document_id FROM {table} t"


def new_facts(db: sqlite_utils.Database, tables: Tables, since: str | datetime, until: str | datetime | None = None,
              only_relevant: bool = False) -> dict[str, list[dict]]:
    """Facts whose key was first seen in [since, until), oldest first, each with every article citing it.

    Each fact is its first mention's fields plus `key`, `first_seen`, `mentions` (article count),
    `articles` ([{id, url, title, source, province, published, first_seen}] in the order they were
    seen) and, when a mention came from an attached file, `document` ({url, number, subject}).
    """
    since_iso = timeutil.iso(since) if isinstance(since, datetime) else since
    until_iso = (timeutil.iso(until) if isinstance(until, datetime) else until) or "9999"
    relevant = "AND a.relevant = 1" if only_relevant else ""
    out: dict[str, list[dict]] = {}
    for table, all_columns in tables.items():
        columns = tuple(c for c in all_columns if c != "key")
        has_documents = "document_id" in dialect.table_columns(db.conn, table)
        mentions = (_MENTIONS if has_documents else _ARTICLE_MENTIONS).format(table=table)
        firsts = db.execute(
            f"""SELECT m.key, MIN(m.first_seen) AS first FROM ({mentions}) m JOIN articles a ON a.id = m.article_id
                WHERE 1 = 1 {relevant} GROUP BY m.key HAVING MIN(m.first_seen) >= ? AND MIN(m.first_seen) < ?
                ORDER BY first, m.key""",
            [since_iso, until_iso],
        ).fetchall()
        facts = []
        for key, first in firsts:
            rows = db.execute(
                f"""SELECT {', '.join('t.' + c for c in columns)}, m.first_seen, a.id, a.url, a.title, a.source,
                           a.province, a.published, m.document_id
                    FROM ({mentions}) m JOIN {table} t ON t.id = m.tid JOIN articles a ON a.id = m.article_id
                    WHERE m.key = ? {relevant} ORDER BY m.first_seen, m.tid""",
                [key],
            ).fetchall()
            head = dict(zip(columns, rows[0][: len(columns)]))
            articles, seen_ids, document_id = [], set(), None
            for row in rows:
                article_id, url, title, source, province, published, from_document = row[len(columns) + 1:]
                document_id = document_id or from_document
                if article_id not in seen_ids:
                    seen_ids.add(article_id)
                    articles.append({"id": article_id, "url": url, "title": title, "source": source,
                                     "province": province, "published": published, "first_seen": row[len(columns)]})
            if "ambiguous" in head:
                head["ambiguous"] = bool(head["ambiguous"])
            fact = {"key": key, **head, "first_seen": first, "mentions": len(articles), "articles": articles}
            if document_id:
                doc = db.execute("SELECT url, number, subject FROM documents WHERE id = ?", [document_id]).fetchone()
                fact["document"] = dict(zip(("url", "number", "subject"), doc)) if doc else None
            facts.append(fact)
        out[table] = facts
    return out


def cited_reference(db: sqlite_utils.Database, number: str) -> dict[str, Any] | None:
    """A document known only because articles cite it (no file downloaded): its best-described
    mention of `number`, as written or as a key ("2971/QĐ-UBND" finds "2971/QĐ-UBND (Điện Biên)"),
    with the articles that cite it (`how` = number), oldest first."""
    columns = ("key", "number", "type", "issuer", "date", "title")
    row = db.execute(
        f"""SELECT {', '.join(columns)} FROM directives WHERE number = :n OR key = :n OR key LIKE :prefix
            ORDER BY title IS NULL, date IS NULL, id LIMIT 1""",
        {"n": number, "prefix": f"{number} (%"},
    ).fetchone()
    if row is None:
        return None
    found = dict(zip(columns, row))
    found["articles"] = [dict(zip(("id", "url", "title", "source", "published", "how"), r)) for r in db.execute(
        """SELECT a.id, a.url, a.title, a.source, a.published, 'number' FROM articles a
           WHERE a.id IN (SELECT article_id FROM directives WHERE key = :key) ORDER BY a.id""",
        {"key": found["key"]})]
    return found
