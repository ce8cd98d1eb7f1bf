"""Slow and dropping mail servers over several runs: nobody gets a digest more than twice, each digest
keeps one Message-ID, and every recipient is tried in every run (real aiosmtpd on loopback).

`mot@` sits behind a server that keeps the message but answers after the client's timeout, `hai@`
behind one that drops the connection after DATA, `ba@` is served normally.
"""

from __future__ import annotations

import re
import time
from collections import Counter

from servers import Page, SMTPSink, free_port

from crawler.config import load_config
from crawler.db import open_db
from digests.runner import history, send_digest
from helpers import (article_html, article_path, crawl, listing_html, national_article, write_config,
                     write_digest_config)
from pipelines.storage import save_article

def news(n: int) -> dict:
    """A story of its own for run n (another title, text and figure)."""
    item = national_article(n)
    place = ["Lào Cai", "Huế", "Cần Thơ"][n % 3]
    item.update(title=f"{place} mở rộng dịch vụ công trực tuyến, đợt {n}", content_hash=f"hash-{n}",
                text=f"{place} đã đưa {100 + n} thủ tục hành chính lên Cổng dịch vụ công trong tháng {n}. "
                     f"Tỷ lệ hồ sơ trực tuyến toàn trình của {place} đạt {50 + n}%.",
                figures=[], directives=[], instructions=[])
    return item


RECIPIENTS = """\
digests:
  - name: weekly
    max_age: 3650d
    only_relevant: false
    recipients: [mot@example.vn, hai@example.vn, ba@example.vn]
"""


def test_stalling_and_dropping_servers_never_flood_a_recipient_and_starve_nobody(tmp_path, smtp):
    config = load_config(write_digest_config(tmp_path / "config", smtp.port, RECIPIENTS,
                                             "timeout: 0.5\nretries: 1\nretry_backoff: 0.1\n"))
    db = open_db(tmp_path / "data" / "dxwatch.db")
    smtp.stall = {"mot@example.vn": 1.5}
    smtp.drop_after_data = {"hai@example.vn"}
    tried_per_run = []
    for run in range(3):
        save_article(db, news(run + 1))  # something new each run: one digest per run and recipient
        before = len(smtp.rcpts)
        summary = send_digest(config, db, "weekly", run_key=f"run-{run}")
        tried_per_run.append(Counter(smtp.rcpts[before:]))
        assert summary["sent"] == 1 and summary["unconfirmed"] == 2, summary
    time.sleep(1.6)  # the stalled server's last answer
    assert all(set(tried) == {"mot@example.vn", "hai@example.vn", "ba@example.vn"} for tried in tried_per_run)

    copies = Counter((m["To"].addresses[0].addr_spec, m["Message-ID"]) for m in smtp.messages)
    assert max(copies.values()) <= 2
    ids = {(d["recipient"], d["message_id"]) for d in db.query("SELECT recipient, message_id FROM deliveries")}
    assert len(ids) == 9 and {key for key in copies} <= ids  # one Message-ID per digest, nothing else sent
    per_recipient = Counter(to for to, _ in copies.elements())
    assert per_recipient["ba@example.vn"] == 3
    rows = {r["status"] for r in db.query("SELECT status FROM deliveries WHERE recipient != 'ba@example.vn'")}
    assert rows == {"unconfirmed"}
    assert any("not sent again" in (d["last_error"] or "") for run in history(db) for d in run["deliveries"])


def test_an_unreachable_server_costs_each_recipient_one_bounded_try_and_loses_nothing(tmp_path):
    port = free_port()
    config = load_config(write_digest_config(tmp_path / "config", port, RECIPIENTS, "retries: 3\n"))
    db = open_db(tmp_path / "data" / "dxwatch.db")
    save_article(db, national_article(1))
    for run in range(3):
        summary = send_digest(config, db, "weekly", run_key=f"down-{run}")
        assert summary["pending"] == 3 and summary["failed"] == 0 and "127.0.0.1" in summary["error"]
    assert {r[0] for r in db.execute("SELECT status FROM deliveries")} == {"pending", "empty"}  # later runs: nothing new
    stored = dict(db.execute("SELECT recipient, message_id FROM deliveries WHERE status = 'pending'").fetchall())
    with SMTPSink(port=port) as sink:
        back = send_digest(config, db, "weekly", run_key="up")
    assert back["sent"] == 3 and len(sink.messages) == 3
    assert {m["To"].addresses[0].addr_spec: m["Message-ID"] for m in sink.messages} == stored


ALERT_ALL = """\
digests: []
alerts:
  - name: moi
    items: [articles]
    only_relevant: false
    recipients: [van.phong@example.vn]
"""


def test_a_crawl_says_when_its_alerts_could_not_be_sent(portal, tmp_path, db_path):
    portal.routes["/tin-tuc"] = Page(listing_html([article_path(1)]))
    portal.routes[article_path(1)] = Page(article_html(1))
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url("/tin-tuc")]}])
    port = free_port()
    write_digest_config(tmp_path / "digests", port, ALERT_ALL)
    (cfg / "digests.yaml").write_text((tmp_path / "digests" / "digests.yaml").read_text(encoding="utf-8"),
                                      encoding="utf-8")
    down = crawl(cfg, db_path)
    assert down.returncode == 1
    assert "alerts: 1 pending, SMTP unreachable" in down.stdout, down.stdout
    assert re.search(r"T\d\d:\d\d:\d\d\+07:00 WARNING dxwatch.digests: alert:moi to van.phong@example.vn: left pending",
                     down.stderr), down.stderr
    with SMTPSink(port=port) as sink:
        back = crawl(cfg, db_path)
    assert back.returncode == 0 and "alerts: 1 sent" in back.stdout, back.stdout
    assert len(sink.messages) == 1
