"""The `http_state` table: validators and content hashes of pages, and the markers a crawl leaves
on URLs it must look at again (rejected pages, failed downloads). `spiders/http_state.py` decides
what the rows mean; these functions only read and write them."""

from __future__ import annotations

import sqlite_utils

from crawler.db.connection import write_transaction

_CHUNK = 500  # bound on the parameters of one IN (...) query


def http_state_row(db: sqlite_utils.Database, url: str) -> dict | None:
    rows = list(db.query("SELECT * FROM http_state WHERE url = ?", [url]))
    return rows[0] if rows else None


def save_http_states(db: sqlite_utils.Database, rows: list[dict]) -> None:
    """Insert or replace whole rows (keyed by url), in one transaction."""
    with write_transaction(db):
        db["http_state"].upsert_all(rows, pk="url", alter=False)


def urls_marked_since(db: sqlite_utils.Database, marker: str, since: str, urls: list[str]) -> set[str]:
    """Which of `urls` carry `marker` as their content hash, checked at or after `since`."""
    found: set[str] = set()
    for i in range(0, len(urls), _CHUNK):
        chunk = urls[i: i + _CHUNK]
        found.update(r["url"] for r in db.query(
            f"SELECT url FROM http_state WHERE content_hash = ? AND checked_at >= ? "
            f"AND url IN ({','.join('?' * len(chunk))})", [marker, since, *chunk]))
    return found


def mark_url(db: sqlite_utils.Database, url: str, source: str, marker: str, now: str) -> None:
    """Set `marker` on `url`; a URL already carrying it keeps its first time."""
    with write_transaction(db):
        db.execute(
            "INSERT INTO http_state (url, source, content_hash, checked_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET content_hash = excluded.content_hash, checked_at = excluded.checked_at "
            "WHERE http_state.content_hash IS NOT excluded.content_hash",
            [url, source, marker, now])


def unmark_url(db: sqlite_utils.Database, url: str, markers: tuple[str, ...]) -> None:
    """Drop the row of `url` when it carries one of `markers`."""
    with write_transaction(db):
        db.execute(f"DELETE FROM http_state WHERE url = ? AND content_hash IN ({','.join('?' * len(markers))})",
                   [url, *markers])


def unmark_stored_articles(db: sqlite_utils.Database, marker: str, source: str) -> None:
    """Drop `marker` rows of `source` whose URL now leads to a stored article."""
    with write_transaction(db):
        db.execute("DELETE FROM http_state WHERE content_hash = ? AND source = ? AND "
                   "url IN (SELECT url FROM article_urls)", [marker, source])


def marked_urls(db: sqlite_utils.Database, marker: str, source: str, since: str) -> list[str]:
    """URLs of `source` carrying `marker` since `since`, oldest first."""
    return [r["url"] for r in db.query(
        "SELECT url FROM http_state WHERE content_hash = ? AND source = ? AND checked_at >= ? ORDER BY checked_at",
        [marker, source, since])]
