"""Each source's learned article URL template (crawler/listing.py `Template`, kept as its text).

A source configured with its listing URL alone has its main list found by page structure; the
links taken from it that extract as articles verify the template they share, and later crawls
take every link of that template (spiders/portal.py).
"""

from __future__ import annotations

import json

from crawler import timeutil
from crawler.db import dialect
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


def read_template(db_path, source: str) -> dict | None:
    """The learned template row of `source` from the database file, read-only (a dry run writes
    nothing, not even an empty database); None when there is no database, table or row."""
    import sqlite3
    from pathlib import Path

    if dialect.is_server(db_path):  # read without migrating: a dry run changes nothing on the server either
        from crawler.db.postgres import PostgresDatabase

        try:
            db = PostgresDatabase(str(db_path))
        except dialect.errors():
            return None
        try:
            rows = list(db.query("SELECT * FROM source_templates WHERE source = ?", [source]))
        except dialect.errors():
            return None
        finally:
            db.conn.close()
        return rows[0] if rows else None
    if not Path(db_path).is_file():
        return None
    conn = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM source_templates WHERE source = ?", [source]).fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return dict(row) if row else None
