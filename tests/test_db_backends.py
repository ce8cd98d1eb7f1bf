"""SQLite and PostgreSQL behind the same data functions: one schema, migrations on PostgreSQL, and
the check-then-write paths (article dedup, outbox claims) correct with several writing processes.

PostgreSQL here is a real server on loopback (tests/postgres.py); these tests skip with the reason
where it or psycopg is not installed.
"""

from __future__ import annotations

import multiprocessing

import pytest

from crawler.db import close, open_db, schema, write_transaction
from crawler.db import deliveries, dialect
from crawler.db.articles import count_articles
from pipelines.storage import save_article
from helpers import article_body

CONTEXT = multiprocessing.get_context("fork")  # cheap; no connection is open when a test forks


def columns_by_table(db) -> dict[str, set[str]]:
    return {table: set(dialect.table_columns(db.conn, table)) - dialect.PG_ONLY["columns"]
            for table in dialect.table_names(db.conn) if table not in dialect.PG_ONLY["tables"]}


def test_both_backends_have_the_same_tables_and_columns(tmp_path, postgres_url):
    lite, pg = open_db(tmp_path / "dxwatch.db"), open_db(postgres_url)
    try:
        expected = columns_by_table(lite)
        assert "articles_fts" in expected and "url" in expected["crawl_frontier"]
        assert columns_by_table(pg) == expected
        assert dialect.schema_version(pg.conn) == dialect.schema_version(lite.conn) == schema.LATEST
    finally:
        close(lite)
        close(pg)


def test_postgresql_migrates_step_by_step_to_the_current_schema(postgres_url, postgres_server):
    """A database left at any older version (by an older dxwatch) gains the later steps on open."""
    from crawler.db.postgres import PostgresDatabase

    fresh = open_db(postgres_url)
    expected = columns_by_table(fresh)
    close(fresh)
    for start in range(1, schema.LATEST):
        url = postgres_server.new_database()
        old = PostgresDatabase(url)
        with write_transaction(old):
            schema.migrate(old.conn, target=start)
        assert dialect.schema_version(old.conn) == start
        close(old)
        db = open_db(url)
        try:
            assert dialect.schema_version(db.conn) == schema.LATEST, start
            assert columns_by_table(db) == expected, start
            assert db.execute("SELECT COUNT(*) FROM dxwatch_schema").fetchone()[0] == 1
        finally:
            close(db)
            postgres_server.drop_database(url)


def test_postgresql_from_a_newer_dxwatch_is_refused(postgres_url):
    close(open_db(postgres_url))
    from crawler.db.postgres import PostgresDatabase

    db = PostgresDatabase(postgres_url)
    db.execute("UPDATE dxwatch_schema SET version = ?", [schema.LATEST + 1])
    close(db)
    with pytest.raises(RuntimeError, match="newer dxwatch"):
        open_db(postgres_url)


def _open_and_count(url: str) -> int:
    db = open_db(url)
    try:
        return db.execute("SELECT COUNT(*) FROM dxwatch_schema").fetchone()[0]
    finally:
        close(db)


def test_processes_opening_a_new_postgresql_database_at_once_migrate_it_once(postgres_url):
    with CONTEXT.Pool(4) as pool:
        rows = pool.map(_open_and_count, [postgres_url] * 4)
    assert rows == [1, 1, 1, 1]
    assert _open_and_count(postgres_url) == 1


def _item(i: int) -> dict:
    return {"url": f"https://tinh-{i % 3}.gov.vn/tin/{i}", "source": f"tinh-{i % 3}", "level": "provincial",
            "title": f"Bản tin chuyển đổi số số {i}", "text": "\n\n".join(article_body(i)), "relevant": True,
            "keywords": ["chuyển đổi số"], "published": f"2025-11-{1 + i % 28:02d}T08:00:00+07:00"}


def _store_all(target: str, order: list[int], start) -> list[bool]:
    db = open_db(target)
    start.wait()
    try:
        return [save_article(db, _item(i))[1] for i in order]
    finally:
        close(db)


def test_two_processes_storing_the_same_articles_at_once_store_each_once(db_target):
    close(open_db(db_target))  # migrated before the race: the race is about the articles
    numbers = list(range(24))
    with CONTEXT.Manager() as manager:
        start = manager.Barrier(2)
        with CONTEXT.Pool(2) as pool:
            results = pool.starmap(_store_all, [(db_target, numbers, start), (db_target, numbers[::-1], start)])
    assert sum(new for result in results for new in result) == len(numbers)  # each stored by exactly one
    db = open_db(db_target)
    try:
        assert count_articles(db) == len(numbers)
        assert db.execute("SELECT COUNT(*) FROM article_urls").fetchone()[0] == len(numbers)
        assert db.execute("SELECT COUNT(DISTINCT rowid) FROM articles_fts").fetchone()[0] == len(numbers)
        assert db.execute("SELECT COUNT(*) FROM story_signatures").fetchone()[0] == len(numbers)
    finally:
        close(db)


def _claim(target: str, delivery_id: int, start) -> bool:
    db = open_db(target)
    start.wait()
    try:
        return deliveries.claim(db, delivery_id, "2025-11-02T08:00:00+07:00", "2025-11-02T07:00:00+07:00") is not None
    finally:
        close(db)


def test_an_outbox_row_is_claimed_by_one_of_many_senders(db_target):
    """Exactly-once mail: of four processes claiming the same pending message, one gets it."""
    db = open_db(db_target)
    with write_transaction(db):
        run = db.execute("INSERT INTO digest_runs (digest, kind, run_key, started) VALUES (?, ?, ?, ?) RETURNING id",
                         ["tuan", "digest", "manual:1", "2025-11-02T08:00:00+07:00"]).fetchall()[0][0]
        delivery_id = deliveries.insert_delivery(db, {
            "run_id": run, "digest": "tuan", "recipient": "a@example.vn", "status": "pending",
            "message_id": "<1@dxwatch>", "subject": "Bản tin", "message": b"Subject: x\r\n\r\nx",
            "counts": {"stories": 1}, "created": "2025-11-02T08:00:00+07:00"}, [("story", 1)])
    close(db)
    with CONTEXT.Manager() as manager:
        start = manager.Barrier(4)
        with CONTEXT.Pool(4) as pool:
            claimed = pool.starmap(_claim, [(db_target, delivery_id, start)] * 4)
    assert claimed.count(True) == 1
    db = open_db(db_target)
    try:
        assert deliveries.delivered_items(db, "tuan", "a@example.vn", ["sending"]) == {("story", "1")}
    finally:
        close(db)


def test_a_dry_run_reads_the_learned_template_without_writing(db_target):
    from crawler.db.source_templates import read_template, save_template

    assert read_template(db_target, "tinh-a") is None  # no database yet (SQLite) or no table (PostgreSQL)
    db = open_db(db_target)
    save_template(db, "tinh-a", "/tin-tuc/{W-N3}.html", ["https://a.gov.vn/tin-tuc/x-123456.html"])
    close(db)
    assert read_template(db_target, "tinh-a")["template"] == "/tin-tuc/{W-N3}.html"


def test_an_unreachable_server_is_one_line_without_the_password(tmp_path):
    from helpers import dxwatch, free_port

    url = f"postgresql://dxwatch:secret@127.0.0.1:{free_port()}/dxwatch"  # nothing listens there
    result = dxwatch("--db", url, "stories", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("database error (db_unreachable): postgresql://dxwatch:***@127.0.0.1:")
    assert "secret" not in result.stderr + result.stdout


def test_dxwatch_db_in_the_environment_selects_postgresql(tmp_path, postgres_url):
    from helpers import dxwatch

    result = dxwatch("--config", str(tmp_path), "stories", "--json", cwd=tmp_path,
                     env={"DXWATCH_DB": postgres_url, "DXWATCH_DATA": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "data" / "dxwatch.db").exists()
    db = open_db(postgres_url)
    try:
        assert dialect.schema_version(db.conn) == schema.LATEST  # the command opened (and migrated) it
    finally:
        close(db)


def test_every_article_is_read_in_storage_order_a_page_at_a_time(db_target, monkeypatch):
    from crawler.db import articles

    monkeypatch.setattr(articles, "_CHUNK", 2)  # pages of two: five articles take three pages
    db = open_db(db_target)
    try:
        stored = [save_article(db, _item(i))[0] for i in range(5)]
        assert [row["id"] for row in articles.iter_articles(db)] == sorted(stored)
        assert [row["url"] for row in articles.iter_articles(db)] == [_item(i)["url"] for i in range(5)]
    finally:
        close(db)


# ---------------------------------------------------------------- PostgreSQL writers run at once

def _near_copy(i: int, source: str) -> dict:
    """Article i as another portal republished it: its own URL and a line of its own added."""
    item = _item(i)
    return {**item, "url": f"https://{source}.gov.vn/bai/{i}", "source": source,
            "text": item["text"] + f"\n\nNguồn: {source}, đăng lại ngày {1 + i % 28}."}


def test_a_postgresql_write_waits_only_for_writers_of_the_same_url_body_or_band(postgres_url, monkeypatch):
    """No global write lock: while one transaction stores article 1, another article is stored at
    once, while the same URL, the same body under another URL and a near copy (same bands) wait
    for it (here past a one-second busy timeout: db_locked), and are known once it commits."""
    from crawler.db import faults
    from pipelines.storage import article_keys, store_article

    monkeypatch.setenv("DXWATCH_BUSY_TIMEOUT", "1")
    holder, other = open_db(postgres_url), open_db(postgres_url)
    same_body = {**_item(1), "url": "https://tinh-1.gov.vn/in/1"}
    unrelated = {**_item(2), "text": "Sáng nay, hội nghị tổng kết công tác cải cách hành chính năm nay đã diễn ra tại "
                 "trụ sở ủy ban nhân dân xã, với sự tham dự của đại diện các thôn, bản và các hội đoàn thể. "
                 "Các đại biểu thảo luận về việc rút ngắn thời gian giải quyết hồ sơ đất đai cho người dân."}
    try:
        with write_transaction(holder, article_keys(_item(1))):
            first_id, _ = store_article(holder, _item(1))
            assert save_article(other, unrelated)[1] is True  # nothing in common: not held up
            for waiting in (_item(1), same_body, _near_copy(1, "bao-a")):
                with pytest.raises(dialect.errors()) as failure:
                    save_article(other, waiting)
                assert faults.describe(failure.value)[0] == "db_locked"
        assert save_article(other, _item(1)) == (first_id, False)
        assert save_article(other, same_body) == (first_id, False)
        copy_id, new = save_article(other, _near_copy(1, "bao-a"))
        story = "SELECT story_id FROM articles WHERE id = ?"
        assert new and other.execute(story, [copy_id]).fetchone() == other.execute(story, [first_id]).fetchone()
    finally:
        close(holder)
        close(other)


def _store_copies(target: str, source: str, numbers: list[int], start) -> list[int]:
    db = open_db(target)
    start.wait()
    try:
        return [save_article(db, _near_copy(i, source))[0] for i in numbers]
    finally:
        close(db)


def test_near_copies_stored_at_once_by_two_processes_make_one_story(db_target):
    """Two portals' copies of the same 40 articles, stored at the same moment by two processes:
    each pair is one story (the second writer of a pair waits on their shared band keys, then
    finds the first), never two stories for one article."""
    close(open_db(db_target))
    numbers = list(range(40))
    with CONTEXT.Manager() as manager:
        start = manager.Barrier(2)
        with CONTEXT.Pool(2) as pool:
            ids_a, ids_b = pool.starmap(_store_copies, [(db_target, "bao-a", numbers, start),
                                                        (db_target, "bao-b", numbers, start)])
    db = open_db(db_target)
    try:
        story = {row["id"]: row["story_id"] for row in db.query("SELECT id, story_id FROM articles")}
        assert len(story) == 2 * len(numbers)
        assert [story[a] == story[b] for a, b in zip(ids_a, ids_b)] == [True] * len(numbers)
    finally:
        close(db)


def test_a_deadlocked_postgresql_write_is_run_again(postgres_url):
    """Two writers updating the same two rows in opposite orders deadlock; PostgreSQL rolls one
    back, and `write_retrying` runs it again, so both writes land, each once."""
    import threading

    from crawler.db import write_retrying

    db = open_db(postgres_url)
    for name in ("a", "b"):
        db.execute("INSERT INTO source_templates (source, template, verified, learned_at) VALUES (?, 't', 0, 'x')", [name])
    close(db)
    both_hold_one = threading.Barrier(2, timeout=30)
    attempts: list[str] = []
    failures: list[BaseException] = []

    def bump(first: str, second: str) -> None:
        writer = open_db(postgres_url)

        def write() -> None:
            attempts.append(first)
            writer.execute("UPDATE source_templates SET verified = verified + 1 WHERE source = ?", [first])
            if attempts.count(first) == 1:
                both_hold_one.wait()  # each holds its first row: the second update closes the cycle
            writer.execute("UPDATE source_templates SET verified = verified + 1 WHERE source = ?", [second])

        try:
            write_retrying(writer, write, attempts=5)  # both may be picked when both look at once
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)
        finally:
            close(writer)

    threads = [threading.Thread(target=bump, args=pair) for pair in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db = open_db(postgres_url)
    try:
        assert failures == [] and len(attempts) >= 3  # at least one of the two ran again
        assert dict(db.execute("SELECT source, verified FROM source_templates").fetchall()) == {"a": 2, "b": 2}
    finally:
        close(db)


def test_a_batch_is_one_transaction_on_sqlite_and_bounded_keys_on_postgresql(db_target):
    """A crawl's batch: one commit on SQLite; on PostgreSQL transactions of at most
    KEYS_PER_TRANSACTION keys (each a lock held to the commit), an article with more alone."""
    from crawler.db import key_batches
    from pipelines.storage import article_keys

    items = [_item(i) for i in range(6)] + [{**_item(9), "text": "Tin ngắn."}] * 3  # three short bodies: no bands
    db = open_db(db_target)
    try:
        batches = list(key_batches(db, items, article_keys))
    finally:
        close(db)
    assert [item for batch, _ in batches for item in batch] == items
    if not dialect.is_postgres(db):
        assert len(batches) == 1
        return
    sizes = [len(article_keys(item)) for item in items]
    assert sizes[0] + sizes[1] > dialect.KEYS_PER_TRANSACTION >= sizes[5] + sum(sizes[6:])
    # five matchable articles (a URL, a body, 32 bands) alone, the sixth with the three short ones
    assert [len(batch) for batch, _ in batches] == [1, 1, 1, 1, 1, 4]
    assert [len(keys) for _, keys in batches] == sizes[:5] + [sum(sizes[5:])]
