"""The data layer: every table, every SQL statement and every migration of dxwatch live here.

Above this package, code calls plain functions that take a `db` (sqlite-utils style:
`known_urls(db, urls)`, `insert_article(db, row)`) and never writes SQL itself; a test
(`tests/test_architecture.py`) holds that line. Keeping the SQL dialect (SQLite's `INSERT OR
IGNORE`, FTS5, `PRAGMA`) inside this package is what lets a second storage backend plug in later
behind the same function names.

- `connection`: `open_db` (WAL, busy timeout, migrations applied) and `write_transaction`;
- `schema`: the DDL, as numbered migrations (`PRAGMA user_version`);
- one module per table group: `articles` (articles, their URLs and facts), `fulltext` (the FTS
  index), and the others as they move in.
"""

from crawler.db.connection import BUSY_TIMEOUT_MS, close, connect, open_db, write_transaction

__all__ = ["BUSY_TIMEOUT_MS", "close", "connect", "open_db", "write_transaction"]
