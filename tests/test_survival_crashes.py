"""kill -9 at the worst moments: during a crawl, during a digest send, during a database write.

After each kill the database passes `PRAGMA integrity_check`, nothing stored is lost, nothing is
stored twice, and no recipient gets a digest twice under two different Message-IDs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import sqlite_utils

from servers import Page, SMTPSink
from helpers import (article_html, article_path, count, crawl, dxwatch, listing_html, national_article,
                     start_dxwatch, wait_for, write_config)

ROOT = Path(__file__).resolve().parents[1]


def integrity(db_path: Path) -> str:
    return sqlite_utils.Database(db_path).execute("PRAGMA integrity_check").fetchone()[0]


def test_kill_9_during_a_crawl_then_again_stores_everything_once(portal, tmp_path, db_path):
    total = 12
    portal.routes["/cham/danh-sach"] = Page(listing_html([article_path(i) for i in range(total)]))
    for i in range(total):
        portal.routes[article_path(i)] = Page(article_html(i), delay=0.25)
    cfg = write_config(tmp_path / "cfg", [{"name": "cham", "start_urls": [portal.url("/cham/danh-sach")]}])

    proc = start_dxwatch(cfg, db_path, "crawl")
    wait_for(lambda: count(db_path, "SELECT count(*) FROM articles") >= 3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    kept = count(db_path, "SELECT count(*) FROM articles")
    assert 3 <= kept < total
    assert integrity(db_path) == "ok"

    crawl(cfg, db_path)

    db = sqlite_utils.Database(db_path)
    urls = [r["url"] for r in db.query("SELECT url FROM articles")]
    assert len(urls) == len(set(urls)) == total
    assert all(r["story_id"] for r in db.query("SELECT story_id FROM articles"))  # no half-written article
    fetched = defaultdict(int)
    for request in portal.log:
        fetched[request.path] += 1
    assert sum(fetched[article_path(i)] for i in range(total)) < total + 3  # stored ones were not fetched again
    statuses = [r["status"] for r in db.query("SELECT status FROM crawl_runs ORDER BY id")]
    assert statuses[-1] == "ok" and statuses[:-1] == ["interrupted"]  # the killed run is known as such


DIGESTS = """\
smtp: {{host: 127.0.0.1, port: {port}, sender: dxwatch@example.vn, timeout: 5}}
digests:
  - name: weekly
    max_age: 3650d
    only_relevant: false
    recipients: [{recipients}]
"""


def test_kill_9_during_a_digest_send_never_sends_twice(tmp_path):
    cfg = tmp_path / "cfg"
    db_path = tmp_path / "data" / "dxwatch.db"
    write_config(cfg, [{"name": "chinhphu", "level": "national", "start_urls": ["http://127.0.0.1:9/x"]}])
    recipients = [f"nguoi{i}@example.vn" for i in range(5)]
    from crawler.db import open_db
    from pipelines.storage import save_article

    db = open_db(db_path)
    save_article(db, national_article())
    db.conn.close()
    with SMTPSink() as sink:
        (cfg / "digests.yaml").write_text(DIGESTS.format(port=sink.port, recipients=", ".join(recipients)),
                                          encoding="utf-8")
        sink.accept_delays = [1.5] * 10  # each message is kept, then answered slowly: a window to kill in
        proc = start_dxwatch(cfg, db_path, "digest", "send", "weekly")
        wait_for(lambda: len(sink.messages) >= 2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert integrity(db_path) == "ok"
        sink.accept_delays = []

        again = start_dxwatch(cfg, db_path, "digest", "send", "weekly")
        out, err = again.communicate(timeout=120)
        assert "Traceback" not in err, err
        third = start_dxwatch(cfg, db_path, "digest", "send", "weekly")
        third.communicate(timeout=120)

    ids_by_recipient = defaultdict(set)
    for envelope, message in zip(sink.envelopes, sink.messages):
        for rcpt in envelope.rcpt_tos:
            ids_by_recipient[rcpt].add(message["Message-ID"])
    # every recipient got the digest, and never under two Message-IDs (a resend after an ambiguous
    # kill reuses the same Message-ID, which mail clients fold into one)
    assert set(ids_by_recipient) == set(recipients)
    assert all(len(ids) == 1 for ids in ids_by_recipient.values()), ids_by_recipient
    assert len(sink.messages) <= len(recipients) + 1
    assert integrity(db_path) == "ok"


WRITER = textwrap.dedent("""
    import sys
    from crawler.db import open_db
    from pipelines.storage import save_article
    db = open_db(sys.argv[1])
    for i in range(100000):
        save_article(db, {
            "url": f"http://127.0.0.1:9/tin-tuc/bai-{i}.html", "source": "s", "title": f"Bài {i}",
            "text": f"Nội dung bài {i} về chuyển đổi số. " * 50,
            "figures": [{"key": f"count:{i}", "kind": "count", "value": i, "raw": str(i)}] * 3,
            "directives": [{"key": "2971/QĐ-UBND", "number": "2971/QĐ-UBND", "raw": "2971/QĐ-UBND"}],
        })
""")


def test_kill_9_during_database_writes_leaves_whole_articles_only(tmp_path):
    db_path = tmp_path / "dxwatch.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db_path)], cwd=ROOT)
    try:
        wait_for(lambda: count(db_path, "SELECT count(*) FROM articles") >= 200)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert integrity(db_path) == "ok"
    db = sqlite_utils.Database(db_path)
    articles = count(db_path, "SELECT count(*) FROM articles")
    assert articles >= 200
    # each article is whole: its three figures, its directive mention, its story and its URL
    assert count(db_path, "SELECT count(*) FROM figures") == 3 * articles
    assert count(db_path, "SELECT count(*) FROM directives") == articles
    assert count(db_path, "SELECT count(*) FROM articles WHERE story_id IS NULL") == 0
    assert count(db_path, "SELECT count(*) FROM article_urls") == articles
    # and the database takes writes again
    from crawler.db import open_db
    from pipelines.storage import save_article

    _, new = save_article(open_db(db_path), {"url": "http://127.0.0.1:9/moi.html", "source": "s", "text": "mới"})
    assert new and db.execute("SELECT count(*) FROM articles").fetchone()[0] == articles + 1


def test_cli_reads_while_a_writer_holds_the_database(tmp_path):
    """Concurrent commands during writes: WAL lets readers in, the busy timeout makes writers wait."""
    db_path = tmp_path / "dxwatch.db"
    cfg = write_config(tmp_path / "cfg", [{"name": "s", "start_urls": ["http://127.0.0.1:9/x"]}])
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db_path)], cwd=ROOT)
    try:
        wait_for(lambda: count(db_path, "SELECT count(*) FROM articles") >= 50)
        for args in (["export", "--format", "jsonl", "--out", str(tmp_path / "out.jsonl")], ["sources", "status"],
                     ["stories"], ["search", "chuyển đổi số"]):
            result = dxwatch("--config", cfg, "--db", db_path, *args)  # this process: another one than the writer
            assert result.returncode == 0, (args, result.stderr[-2000:])
            assert "locked" not in result.stderr
    finally:
        writer.kill()
        writer.wait(timeout=10)
    assert integrity(db_path) == "ok"


def test_a_failure_inside_save_article_leaves_nothing_behind(tmp_path, monkeypatch):
    """One transaction per article: a fault after the article row is written rolls all of it back."""
    from crawler.db import open_db
    from pipelines.storage import save_article
    from pipelines import stories

    db = open_db(tmp_path / "dxwatch.db")
    item = {**national_article(), "url": "http://127.0.0.1:9/tin-tuc/bai-loi.html"}

    def broken(*args, **kwargs):
        raise RuntimeError("disk full, say")

    monkeypatch.setattr(stories, "assign_story", broken)
    try:
        save_article(db, item)
    except RuntimeError:
        pass
    for table in ("articles", "article_urls", "figures", "directives", "stories"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    monkeypatch.undo()
    assert save_article(db, item)[1] is True
    assert db.execute("SELECT count(*) FROM article_urls").fetchone()[0] >= 1


SAME_URLS = textwrap.dedent("""
    import sys
    from crawler.db import open_db
    from pipelines.storage import save_article
    db = open_db(sys.argv[1])
    for i in range(150):
        save_article(db, {"url": f"http://127.0.0.1:9/tin-tuc/chung-{i}.html", "source": sys.argv[2],
                          "title": f"Bài chung {i}", "text": f"Nội dung chung số {i} về chuyển đổi số."})
""")


def test_two_processes_storing_the_same_urls_store_each_once(tmp_path):
    db_path = tmp_path / "dxwatch.db"
    from crawler.db import open_db

    open_db(db_path).conn.close()
    procs = [subprocess.Popen([sys.executable, "-c", SAME_URLS, str(db_path), name], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for name in ("mot", "hai")]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert count(db_path, "SELECT count(*) FROM articles") == 150
    assert count(db_path, "SELECT count(DISTINCT url) FROM articles") == 150


def test_an_older_database_gains_the_columns_added_since(tmp_path):
    import sqlite3

    from crawler.db import open_db
    from crawler.db.schema import V1_ADDED_COLUMNS as ADDED_COLUMNS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE crawl_runs (id INTEGER PRIMARY KEY, source TEXT NOT NULL, started TEXT NOT NULL, "
                 "finished TEXT, status TEXT NOT NULL DEFAULT 'running')")
    conn.commit()
    conn.close()
    db = open_db(path)
    columns = {row[1] for row in db.execute("PRAGMA table_info(crawl_runs)")}
    assert set(ADDED_COLUMNS["crawl_runs"]) <= columns
