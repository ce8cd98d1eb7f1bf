"""Alert rules: new matching items mailed after a crawl, each at most once per rule and recipient."""

from __future__ import annotations

import pytest

from servers import SMTPSink, free_port

from crawler import timeutil
from crawler.config import load_config
from crawler.db import open_db
from pipelines.storage import save_article
from digests.alerts import run_alerts
from helpers import bodies, by_recipient, danang_article, national_article, thanhhoa_article, write_digest_config

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`

RULES = """\
digests: []
alerts:
  - name: quyet-dinh
    document_types: [Quyết định]
    recipients: [van.phong@example.vn]
  - name: tin-da-nang
    items: [articles, figures]
    provinces: [Đà Nẵng]
    recipients: [danang@example.vn, lanh.dao@example.vn]
"""


def setup(tmp_path, port):
    config = load_config(write_digest_config(tmp_path / "config", port, RULES))
    return config, open_db(tmp_path / "data" / "dxwatch.db")


def new_decision(n: int):
    article = thanhhoa_article(100 + n, title=f"Thanh Hóa triển khai Quyết định về chuyển đổi số đợt {n}")
    article["directives"] = [{"key": f"{n}/QĐ-UBND", "number": f"{n}/QĐ-UBND", "type": "Quyết định",
                              "issuer": "UBND tỉnh Thanh Hóa", "raw": f"Quyết định số {n}/QĐ-UBND"}]
    return article


def test_each_rule_mails_its_matching_items_once(tmp_path, smtp):
    config, db = setup(tmp_path, smtp.port)
    save_article(db, national_article())
    save_article(db, danang_article())
    results = run_alerts(config, db)
    assert results["quyet-dinh"]["sent"] == 1 and results["tin-da-nang"]["sent"] == 2
    (decision,) = by_recipient(smtp)["van.phong@example.vn"]
    assert decision["Subject"] == "Cảnh báo quyet-dinh: 1 văn bản"
    text, html = bodies(decision)
    assert "1131/QĐ-TTg" in text and "215/KH-UBND" not in text  # a Kế hoạch is not a Quyết định
    assert "kết nối cơ sở dữ liệu" not in text  # instructions are not documents of a type
    assert "Tin nổi bật" not in html and "Số liệu mới" not in html  # only what the rule asks for
    (danang,) = by_recipient(smtp)["danang@example.vn"]
    assert danang["Subject"] == "Cảnh báo tin-da-nang: 1 tin mới, 1 số liệu"
    text, _ = bodies(danang)
    assert "Đà Nẵng đưa nền tảng công dân số" in text and "712.400 tài khoản" in text
    assert "Thủ tướng chủ trì" not in text and "215/KH-UBND" not in text

    assert run_alerts(config, db) == {}  # nothing new: nothing sent, no empty runs
    assert len(smtp.messages) == 3

    save_article(db, new_decision(77))
    results = run_alerts(config, db)
    assert list(results) == ["quyet-dinh"]
    latest = by_recipient(smtp)["van.phong@example.vn"][-1]
    text, _ = bodies(latest)
    assert "77/QĐ-UBND" in text and "1131/QĐ-TTg" not in text
    assert db.execute("SELECT COUNT(*) FROM digest_runs WHERE kind = 'alert'").fetchone()[0] == 3  # 2 + 0 + 1


def test_items_older_than_the_rule_window_are_not_alerted(tmp_path, smtp):
    config, db = setup(tmp_path, smtp.port)
    save_article(db, new_decision(5))
    with db.conn:
        db.execute("UPDATE directives SET first_seen = ?", [timeutil.ago(3 * 86400)])  # max_age is 2d
    assert run_alerts(config, db) == {}
    assert not smtp.messages


def test_an_alert_that_could_not_be_sent_goes_out_once_at_the_next_check(tmp_path):
    port = free_port()
    config, db = setup(tmp_path, port)
    save_article(db, new_decision(9))
    save_article(db, danang_article())
    down = run_alerts(config, db)
    assert down["quyet-dinh"]["pending"] == 1
    assert down["tin-da-nang"]["pending"] == 2 and down["tin-da-nang"]["error"] == down["quyet-dinh"]["error"]
    attempts = dict(db.execute("SELECT digest, MAX(attempts) FROM deliveries GROUP BY digest").fetchall())
    assert attempts == {"alert:quyet-dinh": 1, "alert:tin-da-nang": 0}  # unreachable: one try, one rule
    with SMTPSink(port=port) as sink:
        back = run_alerts(config, db)
        assert back["quyet-dinh"]["sent"] == 1 and back["tin-da-nang"]["sent"] == 2
        assert run_alerts(config, db) == {}
    assert len(sink.messages) == 3
    assert "9/QĐ-UBND" in bodies(by_recipient(sink)["van.phong@example.vn"][0])[0]
