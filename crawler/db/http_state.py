"""The `http_state` table: validators and content hashes of pages, and the marker a crawl leaves on
article URLs extraction rejected (URLs still owed are in crawl_frontier: crawler/db/frontier.py).
`spiders/http_state.py` decides what the rows mean; these functions only read and write them."""

from __future__ import annotations

import sqlite_utils

from crawler.db.connection import write_transaction
from crawler.db.rows import upsert_rows

_CHUNK = 500  # bound on the parameters of one IN (...) query


def http_state_row(db: sqlite_utils.Database, url: str) -> dict | None:
    rows = list(db.query("SELECT * FROM http_state WHERE url = ?", [url]))
    return rows[0] if rows else None


def save_http_states(db: sqlite_utils.Database, rows: list[dict]) -> None:
    """Insert or replace whole rows (keyed by url), in one transaction, in URL order (the order
    two PostgreSQL writers of overlapping rows then both lock them in)."""
    with write_transaction(db):
        upsert_rows(db, "http_state", sorted(rows, key=lambda r: r["url"]), key="url")


def urls_marked_since(db: sqlite_utils.Database, marker: str, since: str, urls: list[str]) -> set[str]:
    """Which of `urls` carry `marker` as their content hash, checked at or after `since`."""
    found: set[str] = set()
    for i in range(0, len(urls), _CHUNK):
        chunk = urls[i: i + _CHUNK]
        found.update(r["url"] for r in db.query(
            f"SELECT url FROM http_state WHERE content_hash = ? AND checked_at >= ? "
            f"AND url IN ({','.join('?' * len(chunk))})", [marker, since, *chunk]))
    return found
