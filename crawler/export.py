"""`dxwatch export`: every stored article with its facts, in the shape documented in the README.

Each fact kind (pipelines/kinds/) adds a field named after its table (`figures`, `directives`,
`instructions`): a public interface that scripts read, so the names stay as they are even where
the code names a kind differently ("references" are exported as `directives`).
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import sqlite_utils

from crawler.db import articles
from crawler.db.facts import facts_of_article
from pipelines.kinds import tables


def iter_export(db: sqlite_utils.Database) -> Iterator[dict[str, Any]]:
    """Every stored article in the export shape documented in the README."""
    for row in articles.iter_articles(db):
        facts = facts_of_article(db, row["id"], tables())
        yield {
            "id": row["id"],
            "url": row["url"],
            "source": row["source"],
            "level": row["level"],
            "province": row["province"],
            "title": row["title"],
            "published": row["published"],
            "author": row["author"],
            "credit": row["credit"],
            "text": row["text"],
            "relevant": bool(row["relevant"]),
            "keywords": json.loads(row["keywords"] or "[]"),
            "story": row["story_id"],
            "first_seen": row["first_seen"],
            **facts,
        }
