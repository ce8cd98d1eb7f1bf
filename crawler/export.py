"""`dxwatch export`: every stored article with its facts, in the shape documented in the README.

The field names (`figures`, `directives`, `instructions`) are a public interface: scripts read
them, so they stay as they are even where the code names the concepts differently.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import sqlite_utils

from crawler.db import articles
from crawler.db.facts import facts_of_article


def iter_export(db: sqlite_utils.Database) -> Iterator[dict[str, Any]]:
    """Every stored article in the export shape documented in the README."""
    for row in articles.iter_articles(db):
        facts = facts_of_article(db, row["id"])
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
            "figures": facts["figures"],
            "directives": facts["directives"],
            "instructions": facts["instructions"],
        }
