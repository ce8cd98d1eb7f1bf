"""Migrations: a database made by any earlier dxwatch opens as the current schema, data kept."""

from __future__ import annotations

import sqlite3

import pytest

from crawler.db import open_db, schema


def describe(conn: sqlite3.Connection) -> dict[str, object]:
    """Tables with their columns (as a set: ALTER TABLE appends) and the indexes, by name."""
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    tables = {n: {tuple(c[1:]) for c in conn.execute(f"PRAGMA table_info({n})")} for n in names}
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return {"tables": tables, "indexes": indexes}


@pytest.fixture
def fresh(tmp_path):
    db = open_db(tmp_path / "fresh.db")
    yield describe(db.conn)
    db.conn.close()


def test_a_database_made_before_numbered_migrations_opens_as_the_current_schema(tmp_path, fresh):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(schema.V1_SCHEMA)  # exactly what dxwatch created before migrations existed
    conn.execute("INSERT INTO articles (url, source, title, first_seen) VALUES ('https://a.gov.vn/1', 'a', 'Tin', '2025-01-01')")
    conn.commit()
    assert schema.version(conn) == 0
    conn.close()
    db = open_db(path)
    assert schema.version(db.conn) == schema.LATEST
    assert describe(db.conn) == fresh
    assert [r["title"] for r in db.query("SELECT title FROM articles")] == ["Tin"]


@pytest.mark.parametrize("start", range(schema.LATEST + 1))
def test_every_older_version_migrates_to_the_current_schema(tmp_path, fresh, start):
    path = tmp_path / f"v{start}.db"
    conn = sqlite3.connect(path)
    schema.migrate(conn, start)
    conn.commit()
    assert schema.version(conn) == start
    conn.close()
    db = open_db(path)
    assert schema.version(db.conn) == schema.LATEST
    assert describe(db.conn) == fresh


def test_opening_a_current_database_writes_nothing(tmp_path):
    path = tmp_path / "dxwatch.db"
    open_db(path).conn.close()
    before = path.read_bytes()
    db = open_db(path)
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
    assert not (tmp_path / "dxwatch.db-wal").stat().st_size  # nothing written while open
    db.conn.close()
    assert path.read_bytes() == before


def test_a_database_from_a_newer_dxwatch_is_refused_with_its_version(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer dxwatch"):
        open_db(path)
