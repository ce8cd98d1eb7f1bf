"""Exactly-once delivery against a real aiosmtpd: retries, permanent failures, outages, auth, headers."""

from __future__ import annotations

import json

from email import policy
from email.parser import BytesParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from servers import SMTPSink, free_port, self_signed

from crawler.config import load_config
from crawler.db import open_db
from pipelines.storage import save_article
from digests.runner import history, send_digest
from helpers import by_recipient, danang_article, national_article, write_digest_config

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`

THREE = """\
digests:
  - name: weekly
    recipients: [mot@example.vn, hai@example.vn, ba@example.vn]
"""


def setup(tmp_path, port, digests=THREE, smtp_extra="retries: 1\n", target=None):
    config = load_config(write_digest_config(tmp_path / "config", port, digests, smtp_extra))
    db = open_db(target or tmp_path / "data" / "dxwatch.db")
    save_article(db, national_article())
    save_article(db, danang_article())
    return config, db


def statuses(db) -> dict[str, str]:
    return {r[0]: r[1] for r in db.execute("SELECT recipient, status FROM deliveries ORDER BY id")}


def test_one_connection_is_reused_for_every_recipient(tmp_path, smtp):
    config, db = setup(tmp_path, smtp.port)
    assert send_digest(config, db, "weekly")["sent"] == 3
    assert len(smtp.messages) == 3 and len(set(smtp.peers)) == 1
    assert len({m["Message-ID"] for m in smtp.messages}) == 3


def test_transient_error_is_retried_with_the_same_message(tmp_path, smtp):
    config, db = setup(tmp_path, smtp.port)
    smtp.data_replies = ["451 4.3.0 Thử lại sau"]
    summary = send_digest(config, db, "weekly")
    assert summary["sent"] == 3 and summary["pending"] == 0
    assert sorted(by_recipient(smtp)) == ["ba@example.vn", "hai@example.vn", "mot@example.vn"]
    attempts = dict(db.execute("SELECT recipient, attempts FROM deliveries").fetchall())
    assert attempts["mot@example.vn"] == 2 and attempts["hai@example.vn"] == 1


def test_permanent_failure_is_recorded_not_retried_and_never_resent_under_another_message_id(tmp_path, smtp):
    config, db = setup(tmp_path, smtp.port)
    smtp.rcpt_replies = {"hai@example.vn": "550 5.1.1 Hộp thư không tồn tại"}
    summary = send_digest(config, db, "weekly")
    assert summary["sent"] == 2 and summary["failed"] == 1
    row = db.execute("SELECT status, attempts, last_error FROM deliveries "
                     "WHERE recipient = 'hai@example.vn'").fetchone()
    assert row[0] == "failed" and row[1] == 1 and "550" in row[2]
    smtp.rcpt_replies.clear()  # the address works again: the failed digest's items stay with the failed row
    again = send_digest(config, db, "weekly", run_key="next")
    assert again["sent"] == 0 and again["empty"] == 3
    assert "hai@example.vn" not in by_recipient(smtp)
    assert db.execute("SELECT attempts FROM deliveries WHERE status = 'failed'").fetchone()[0] == 1  # not retried


def test_server_failing_mid_run_then_back_delivers_each_message_once(tmp_path, smtp):
    config, db = setup(tmp_path, smtp.port)
    smtp.data_replies = [None] + ["421 4.3.2 Máy chủ đang bảo trì"] * 20
    first = send_digest(config, db, "weekly", run_key="2026-11-23T08:00:00+07:00")
    assert first["sent"] == 1 and first["pending"] == 2 and first["status"] == "incomplete"
    assert len(smtp.messages) == 1
    smtp.data_replies.clear()  # the server is back
    resumed = send_digest(config, db, "weekly", run_key="2026-11-23T08:00:00+07:00")
    assert resumed["sent"] == 2 and resumed["status"] == "done"
    later = send_digest(config, db, "weekly", run_key="2026-11-30T08:00:00+07:00")
    assert later["sent"] == 0 and later["empty"] == 3
    received = by_recipient(smtp)
    assert {k: len(v) for k, v in received.items()} == {"mot@example.vn": 1, "hai@example.vn": 1, "ba@example.vn": 1}
    assert all("2 tin mới" in m["Subject"] for m in smtp.messages)


def test_server_down_leaves_the_outbox_pending_and_the_next_run_sends_it(tmp_path):
    port = free_port()
    config, db = setup(tmp_path, port)
    down = send_digest(config, db, "weekly", run_key="monday")
    assert down["sent"] == 0 and down["pending"] == 3 and "127.0.0.1" in down["error"]
    stored = {r[0]: r[1] for r in db.execute("SELECT recipient, message_id FROM deliveries")}
    with SMTPSink(port=port) as sink:
        back = send_digest(config, db, "weekly", run_key="tuesday")
    assert back["sent"] == 3 and back["empty"] == 3  # monday's rows went out; tuesday had nothing new
    assert {r: m["Message-ID"] for r, ms in by_recipient(sink).items() for m in ms} == stored
    assert len(sink.messages) == 3
    # the summary and the history say what was sent: monday's rows, sent by tuesday's run; monday is done
    assert sorted(d["status"] for d in back["deliveries"]) == ["empty"] * 3 + ["sent"] * 3
    assert all(json.loads(d["counts"])["stories"] for d in back["deliveries"] if d["status"] == "sent")
    runs = {r["run_key"]: r["status"] for r in history(db)}
    assert runs == {"monday": "done", "tuesday": "done"}


def test_transient_errors_are_never_given_up_and_an_old_pending_row_is_reported(tmp_path, smtp):
    from crawler import timeutil

    config, db = setup(tmp_path, smtp.port, digests="digests:\n  - name: weekly\n    recipients: [mot@example.vn]\n",
                       smtp_extra="retries: 0\n")
    smtp.data_replies = ["452 4.2.2 Hộp thư đầy"] * 50
    for run in range(12):
        summary = send_digest(config, db, "weekly", run_key=f"run-{run}")
        assert summary["pending"] == 1 and not summary["overdue"]
    row = db.execute("SELECT status, attempts, message_id FROM deliveries").fetchone()
    assert row[0] == "pending" and row[1] == 12
    assert not smtp.messages
    with db.conn:  # the outage has lasted eight days
        db.execute("UPDATE deliveries SET created = ?", [timeutil.ago(8 * 86400)])
    late = send_digest(config, db, "weekly", run_key="run-late")
    assert late["pending"] == 1 and late["overdue"] == 1
    (entry,) = [d for run in history(db) for d in run["deliveries"] if d["status"] == "pending"]
    assert "pending since" in entry["last_error"] and "8 days" in entry["last_error"]
    smtp.data_replies.clear()
    assert send_digest(config, db, "weekly", run_key="run-back")["sent"] == 1
    (message,) = smtp.messages
    assert message["Message-ID"] == row[2]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_uses_the_password_from_the_environment(tmp_path, monkeypatch):
    with SMTPSink(login=("bantin", "mật-khẩu-đúng")) as sink:
        config, db = setup(tmp_path, sink.port,
                           smtp_extra="username: bantin\npassword_env: DXWATCH_TEST_SMTP_PASSWORD\n")
        monkeypatch.setenv("DXWATCH_TEST_SMTP_PASSWORD", "sai")
        refused = send_digest(config, db, "weekly", run_key="a")
        assert refused["sent"] == 0 and refused["pending"] == 3 and "login refused" in refused["error"]
        assert not sink.messages
        monkeypatch.setenv("DXWATCH_TEST_SMTP_PASSWORD", "mật-khẩu-đúng")
        assert send_digest(config, db, "weekly", run_key="b")["sent"] == 3


def test_config_and_content_cannot_inject_headers(tmp_path, smtp):
    digests = """\
    digests:
      - name: weekly
        title: "Bản tin\\r\\nBcc: spy@evil.example"
        recipients:
          - email: mot@example.vn
            name: "Chị Hoa\\nBcc: spy@evil.example"
    """
    config, db = setup(tmp_path, smtp.port, digests=digests)
    assert send_digest(config, db, "weekly")["sent"] == 1
    (envelope,) = smtp.envelopes
    assert envelope.rcpt_tos == ["mot@example.vn"]
    message = BytesParser(policy=policy.default).parsebytes(envelope.content)
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"] and message["Subject"].startswith("Bản tin Bcc: spy@evil.example tuần")
    assert message["To"].addresses[0].addr_spec == "mot@example.vn"


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_starttls(tmp_path, monkeypatch, security):
    cert_file, context = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
    with SMTPSink(tls=security, ssl_context=context) as sink:
        config, db = setup(tmp_path, sink.port, smtp_extra=f"security: {security}\n")
        assert send_digest(config, db, "weekly")["sent"] == 3
    assert len(sink.messages) == 3


def test_starttls_refuses_an_untrusted_certificate(tmp_path, monkeypatch):
    _, context = self_signed(tmp_path)
    with SMTPSink(tls="starttls", ssl_context=context) as sink:
        config, db = setup(tmp_path, sink.port, smtp_extra="security: starttls\nretries: 0\n")
        summary = send_digest(config, db, "weekly")
    assert summary["sent"] == 0 and summary["pending"] == 3 and "CERTIFICATE_VERIFY_FAILED" in summary["error"]
    assert not sink.messages


def test_a_timeout_after_data_resends_the_same_message_id(tmp_path, smtp):
    config, db = setup(tmp_path, smtp.port, digests="digests:\n  - name: weekly\n    recipients: [mot@example.vn]\n",
                       smtp_extra="timeout: 0.5\n")
    smtp.accept_delays = [2.0]  # the server keeps the first copy but answers too late
    summary = send_digest(config, db, "weekly")
    assert summary["sent"] == 1
    first, second = smtp.messages
    assert first["Message-ID"] == second["Message-ID"]  # a mail client shows one message
    assert db.execute("SELECT attempts FROM deliveries").fetchone()[0] == 2


def test_a_message_left_sending_by_a_dead_sender_is_sent_by_the_next_run(tmp_path, smtp):
    from crawler import timeutil

    config, db = setup(tmp_path, smtp.port, digests="digests:\n  - name: weekly\n    recipients: [mot@example.vn]\n")
    smtp.rcpt_replies = {"mot@example.vn": "451 4.3.0 later"}
    send_digest(config, db, "weekly", run_key="a")
    with db.conn:  # as if a sender had claimed it and died
        db.execute("UPDATE deliveries SET status = 'sending', attempted_at = ?", [timeutil.ago(3600)])
    smtp.rcpt_replies.clear()
    assert send_digest(config, db, "weekly", run_key="b")["sent"] == 1
    assert len(smtp.messages) == 1


def test_two_runs_at_once_never_carry_the_same_item(tmp_path, smtp, db_target):
    """On SQLite and on PostgreSQL: the outbox, not the process, decides what was sent."""
    import threading

    config, db = setup(tmp_path, smtp.port, target=db_target)
    results = []

    def run(key):
        results.append(send_digest(config, open_db(db_target), "weekly", run_key=key))

    threads = [threading.Thread(target=run, args=(f"at-once-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 2
    assert {k: len(v) for k, v in by_recipient(smtp).items()} == {"mot@example.vn": 1, "hai@example.vn": 1,
                                                                  "ba@example.vn": 1}
    carried = db.execute("SELECT recipient, item_type, item_key, COUNT(*) FROM delivered_items "
                         "GROUP BY recipient, item_type, item_key HAVING COUNT(*) > 1").fetchall()
    assert carried == []


@settings(max_examples=150, deadline=None)
@given(title=st.text(max_size=80), name=st.text(max_size=40))
def test_no_text_can_add_or_break_a_header(title, name):
    from crawler import timeutil
    from crawler.config import Recipient, SMTPSettings
    from digests.delivery import build_message
    from digests.render import Rendered

    smtp = SMTPSettings(host="127.0.0.1", sender="bantin@example.vn", sender_name=name or "dxwatch",
                        unsubscribe="huy@example.vn")
    rendered = Rendered(subject=title, html="<p>x</p>", text="x")
    message = build_message(smtp, Recipient(email="mot@example.vn", name=name), rendered, "<a.b@example.vn>",
                            timeutil.now())
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    assert sorted(parsed.keys()) == sorted(["Subject", "From", "To", "Date", "Message-ID", "Auto-Submitted",
                                            "List-Unsubscribe", "MIME-Version", "Content-Type", "Content-Language"])
    assert [a.addr_spec for a in parsed["To"].addresses] == ["mot@example.vn"]
    assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]


def test_a_long_vietnamese_subject_keeps_every_space_when_read_back():
    """The stdlib folds long encoded subjects so that a space between two encoded words is lost."""
    from datetime import datetime, timezone
    from email import message_from_bytes, policy as email_policy
    from crawler.config import SMTPSettings
    from digests.delivery import build_message
    from digests.render import Rendered
    subject = "Bản tin chuyển đổi số tuần 48–49/2026: 17 tin mới, 79 số liệu, 4 văn bản, 8 chỉ đạo"
    smtp = SMTPSettings(host="127.0.0.1", sender="bantin@example.vn", sender_name="Bản tin chuyển đổi số")
    recipient = type("Recipient", (), {"name": "Phòng Chuyển đổi số", "email": "phong-cds@example.vn"})()
    message = build_message(smtp, recipient, Rendered(subject, "<p>x</p>", "x"), "<a@example.vn>",
                            datetime(2026, 12, 4, 8, 0, tzinfo=timezone.utc))
    read_back = message_from_bytes(message.as_bytes(), policy=email_policy.default)
    assert read_back["Subject"] == subject
    assert read_back["To"].addresses[0].display_name == "Phòng Chuyển đổi số"
