"""The data layer: every table, every SQL statement and every migration of dxwatch live here.

Above this package, code calls plain functions that take a `db` (sqlite-utils style:
`known_urls(db, urls)`, `insert_article(db, row)`) and never writes SQL itself; a test
(`tests/test_architecture.py`) holds that line. Two backends sit behind the same functions:
SQLite (a file path) and PostgreSQL (a `postgresql://` URL); code above this package passes the
target string to `open_db` and never learns which one it got.

- `connection`: `open_db(target)` (migrations applied), `write_transaction(db, keys)` (the keys a
  write checks: what concurrent PostgreSQL writers take turns on) and `write_retrying`;
- `dialect`: the few places SQLite and PostgreSQL differ (DDL types, introspection, schema
  version, locks, driver exceptions), and the target strings (`is_server`, `shown`, `exists`);
- `postgres`: the PostgreSQL database object (psycopg 3) with the sqlite-utils methods used here;
- `rows`: row inserts/updates/upserts from dicts in SQL both run;
- `schema`: the DDL, as numbered migrations (`PRAGMA user_version`, or `dxwatch_schema`);
- one module per table group: `articles` (articles, their URLs and facts), `fulltext` (the FTS
  index), and the others as they move in.
"""

from crawler.db.connection import (BUSY_TIMEOUT_MS, close, connect, key_batches, open_db, write_retrying,
                                      write_transaction)
from crawler.db.dialect import errors as database_errors

__all__ = ["BUSY_TIMEOUT_MS", "close", "connect", "database_errors", "key_batches", "open_db", "write_retrying",
           "write_transaction"]
