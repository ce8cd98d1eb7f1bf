"""Each source's learned article URL template (spiders/listing.py `Template`, kept as its text).

A source configured with its listing URL alone has its main list found by page structure; the
links taken from it that extract as articles verify the template they share, and later crawls
take every link of that template (spiders/portal.py).
"""

from __future__ import annotations

import json

from crawler import timeutil
from crawler.db.connection import write_transaction


def load_template(db, source: str) -> str | None:
    if db is None:
        return None
    rows = list(db.query("SELECT template FROM source_templates WHERE source = ?", [source]))
    return rows[0]["template"] if rows else None


def save_template(db, source: str, template: str, verified: list[str]) -> None:
    with write_transaction(db):
        db.conn.execute(
            "INSERT INTO source_templates (source, template, verified, sample, learned_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(source) DO UPDATE SET template = excluded.template, verified = excluded.verified, "
            "sample = excluded.sample, learned_at = excluded.learned_at",
            [source, template, len(verified), json.dumps(verified[:5], ensure_ascii=False), timeutil.iso()])
