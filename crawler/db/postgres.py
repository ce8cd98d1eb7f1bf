"""A PostgreSQL database with the small part of the sqlite-utils API that `crawler/db` uses.

Every function of `crawler/db` takes a `db` and calls `db.execute(sql, params)`, `db.query(sql,
params)` (dict rows), `db.conn.execute/executemany` and `db.conn.close()`: with `PostgresDatabase`
the same functions, with the same SQL, run on PostgreSQL through psycopg 3. The SQL is written in
the subset both dialects accept (`?` and `:name` placeholders, `INSERT ... ON CONFLICT`,
`RETURNING id`); this module only turns the placeholders into psycopg's (`%s`, `%(name)s`).
What cannot be shared (DDL types, full-text search, introspection, locks) is in
`crawler/db/dialect.py`.

The connection is in autocommit mode: a read is never left holding a transaction open, and
`write_transaction` (crawler/db/connection.py) opens the real transactions.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator, Sequence

import psycopg
from psycopg.rows import dict_row

_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|::|:(\w+)|\?|%")


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """SQLite placeholders to psycopg's: `?` -> `%s`, `:name` -> `%(name)s`, a literal `%` doubled;
    string literals, quoted names and `::` casts are left alone."""
    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        if match.group(1):
            return f"%({match.group(1)})s"
        return token
    return _TOKENS.sub(replace, sql)


class Cursor:
    """A finished statement's rows and counts, shaped like sqlite3's cursor (rows are tuples)."""

    def __init__(self, cursor: psycopg.Cursor):
        self._rows = cursor.fetchall() if cursor.description else []
        self.rowcount = cursor.rowcount
        self.description = cursor.description
        self._next = 0

    def fetchone(self) -> tuple | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple]:
        rows, self._next = self._rows[self._next:], len(self._rows)
        return rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.fetchall())


class Connection:
    """The sqlite3.Connection methods `crawler/db` calls, on one psycopg connection."""

    dialect = "postgresql"

    def __init__(self, raw: psycopg.Connection):
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> Cursor:
        with self.raw.cursor() as cursor:
            if params is None:  # sent as written: psycopg substitutes nothing (DDL, comments with "%" or ":")
                cursor.execute(sql)
            else:
                cursor.execute(translate(sql), _params(params))
            return Cursor(cursor)

    def executemany(self, sql: str, rows) -> None:
        rows = [_params(r) for r in rows]
        if rows:
            with self.raw.cursor() as cursor:
                cursor.executemany(translate(sql), rows)

    def commit(self) -> None:
        self.raw.commit()  # autocommit: each statement outside write_transaction is already committed

    def close(self) -> None:
        self.raw.close()


def _params(params):
    if params is None or isinstance(params, dict):
        return params
    return [bytes(p) if isinstance(p, (bytearray, memoryview)) else p for p in params]


class PostgresDatabase:
    """What `crawler/db` needs of a database: `execute`, `query` (dict rows) and `conn`."""

    dialect = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self.conn = Connection(psycopg.connect(url, autocommit=True))

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> Cursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | dict | None = None) -> Iterator[dict]:
        with self.conn.raw.cursor(row_factory=dict_row) as cursor:
            cursor.execute(translate(sql), _params(params if params is not None else []))
            rows = cursor.fetchall()
        yield from rows

    def __repr__(self) -> str:
        return f"<PostgresDatabase {self.conn.raw.info.host}:{self.conn.raw.info.port}/{self.conn.raw.info.dbname}>"
