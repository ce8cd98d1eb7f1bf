"""Row writes from dicts, in SQL both dialects run: what sqlite-utils' `db[table].insert/update/
upsert` did, without depending on which database object `db` is (crawler/db/dialect.py)."""

from __future__ import annotations

from typing import Any, Iterable


def _columns(row: dict[str, Any]) -> tuple[str, str]:
    return ", ".join(row), ", ".join("?" * len(row))


def insert_row(db, table: str, row: dict[str, Any]) -> int:
    """Insert one row; returns its `id`."""
    names, marks = _columns(row)
    # fetchall: a RETURNING statement left half-read would keep SQLite from committing
    return db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id", list(row.values())).fetchall()[0][0]


def insert_rows(db, table: str, rows: Iterable[dict[str, Any]]) -> None:
    """Insert rows that share their keys (one statement, many parameter sets)."""
    rows = list(rows)
    if rows:
        names, marks = _columns(rows[0])
        db.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", [list(r.values()) for r in rows])


def insert_ignoring_known(db, table: str, columns: tuple[str, ...], rows: Iterable[Iterable[Any]]) -> None:
    """Insert value tuples; a row whose key is already stored is left as it is (ON CONFLICT DO NOTHING)."""
    db.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                        "ON CONFLICT DO NOTHING", [list(r) for r in rows])


def update_row(db, table: str, row_id: int, values: dict[str, Any]) -> None:
    """Set `values` on the row with this `id`."""
    if values:
        db.execute(f"UPDATE {table} SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                   [*values.values(), row_id])


def upsert_rows(db, table: str, rows: Iterable[dict[str, Any]], key: str) -> None:
    """Insert rows, or set the given columns of the row already stored under `key`."""
    for row in rows:
        names, marks = _columns(row)
        sets = ", ".join(f"{c} = excluded.{c}" for c in row if c != key)
        db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT ({key}) DO "
                   + (f"UPDATE SET {sets}" if sets else "NOTHING"), list(row.values()))
