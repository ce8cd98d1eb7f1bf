"""The crawl frontier table (`crawl_frontier`): URLs a source owes, as plain functions over a `db`.

The rules (what is owed when, what settles it) live in crawler/frontier.py; here is only the SQL.
Every write commits at once: a crawl may be killed the next moment. Writes of many rows go in URL
order: two PostgreSQL writers touching overlapping rows then lock them in the same order.
"""

from __future__ import annotations

from typing import Iterable

import sqlite_utils

from crawler.db.connection import write_transaction
from crawler.db.rows import insert_ignoring_known

_COLUMNS = ("url", "source", "kind", "found_on", "page_no", "published", "title", "first_seen")
_COUNTS = ("attempts", "first_failed", "last_error")


def add_owed(db: sqlite_utils.Database, rows: list[dict]) -> None:
    """Insert rows (keys: _COLUMNS) not owed yet; an entry already owed keeps its attempts."""
    if rows:
        with write_transaction(db):
            insert_ignoring_known(db, "crawl_frontier", _COLUMNS, [[r.get(c) for c in _COLUMNS]
                                                                   for r in sorted(rows, key=lambda r: r["url"])])


def owed(db: sqlite_utils.Database, source: str, kind: str, limit: int | None = None) -> list[dict]:
    """A source's owed entries of one kind, those never tried first, then in the order they were found."""
    sql = (f"SELECT {', '.join(_COLUMNS + _COUNTS)} FROM crawl_frontier WHERE source = ? AND kind = ? "
           "ORDER BY attempts > 0, rowid")
    return list(db.query(sql + (" LIMIT ?" if limit is not None else ""),
                         [source, kind, *([limit] if limit is not None else [])]))


def settle(db: sqlite_utils.Database, urls: Iterable[str]) -> None:
    with write_transaction(db):
        db.conn.executemany("DELETE FROM crawl_frontier WHERE url = ?", [(u,) for u in sorted(urls)])


def count_failure(db: sqlite_utils.Database, url: str, error: str, now: str) -> None:
    with write_transaction(db):
        db.conn.execute("UPDATE crawl_frontier SET attempts = attempts + 1, last_error = ?, "
                        "first_failed = COALESCE(first_failed, ?) WHERE url = ?", [error, now, url])


def drop_stored_and_given_up(db: sqlite_utils.Database, source: str, failing_since: str) -> list[dict]:
    """Delete a source's entries whose article is stored by now (under another source or an alias)
    and those failing since before `failing_since`; returns the latter."""
    given_up = list(db.query(f"SELECT {', '.join(_COLUMNS + _COUNTS)} FROM crawl_frontier "
                             "WHERE source = ? AND first_failed < ?",
                             [source, failing_since]))
    with write_transaction(db):
        db.conn.execute("DELETE FROM crawl_frontier WHERE source = ? AND (first_failed < ? OR url IN "
                        "(SELECT url FROM article_urls))", [source, failing_since])
    return given_up


def owed_counts(db: sqlite_utils.Database, kind: str = "article") -> dict[str, int]:
    """Owed entries of one kind per source."""
    return {r["source"]: r["n"] for r in db.query(
        "SELECT source, COUNT(*) AS n FROM crawl_frontier WHERE kind = ? GROUP BY source", [kind])}
