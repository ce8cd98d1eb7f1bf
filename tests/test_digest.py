"""Digests end to end: articles written with `save_article` into a real SQLite file, mail to aiosmtpd."""

from __future__ import annotations

import json
import re

import pytest

from crawler import timeutil
from crawler.config import load_config
from crawler.db import open_db
from pipelines.storage import save_article
from digests.runner import history, preview_digest, send_digest
from helpers import (
    WEEKLY, bodies, by_recipient, danang_article, national_article, thanhhoa_article, thanhhoa_irrelevant,
    write_digest_config,
)

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`

@pytest.fixture
def world(tmp_path, smtp):
    """A config dir, a database with three relevant stories (one republished) and one irrelevant article."""
    config = load_config(write_digest_config(tmp_path / "config", smtp.port, WEEKLY))
    db = open_db(tmp_path / "data" / "dxwatch.db")
    save_article(db, national_article())
    save_article(db, national_article(2, source="thanhhoa", level="provincial", province="Thanh Hóa"))
    save_article(db, danang_article())
    save_article(db, thanhhoa_irrelevant())
    return config, db


def test_digest_is_multipart_with_headers_subject_and_every_section(world, smtp):
    config, db = world
    summary = send_digest(config, db, "weekly")
    assert summary["sent"] == 2 and summary["failed"] == 0 and summary["status"] == "done"
    boss = by_recipient(smtp)["lanh.dao@example.vn"]
    assert len(boss) == 1
    message = boss[0]
    assert message.get_content_type() == "multipart/alternative"
    assert re.fullmatch(r"Bản tin chuyển đổi số tuần [\d–]+/\d{4}: 2 tin mới, 2 số liệu, 2 văn bản, 1 chỉ đạo",
                        message["Subject"])
    assert re.fullmatch(r"<dxwatch\.[0-9a-f]{32}@dxwatch\.example\.vn>", message["Message-ID"])
    assert message["Date"] and message["Content-Language"] == "vi"
    assert message["List-Unsubscribe"] == "<mailto:huy-dang-ky@dxwatch.example.vn?subject=unsubscribe>"
    assert "Anh Lãnh Đạo" in message["To"]
    text, html = bodies(message)
    for body in (text, html):
        assert "Thủ tướng chủ trì phiên họp Ủy ban Quốc gia về chuyển đổi số" in body
        stories = re.split(r"(?i)số liệu mới", re.split(r"(?i)tin nổi bật", body)[1])[0]
        assert stories.count("Thủ tướng chủ trì phiên họp Ủy ban Quốc gia về chuyển đổi số") == 1  # one per story
        assert "đăng trên 2 cổng" in body and "Cổng TTĐT tỉnh Thanh Hóa" in body
        assert "Đà Nẵng đưa nền tảng công dân số vào vận hành" in body
        assert "18,3%" in body and "712.400 tài khoản" in body
        assert "1131/QĐ-TTg" in body and "215/KH-UBND" in body and "Thủ tướng Chính phủ" in body
        assert "kết nối cơ sở dữ liệu dân cư" in body and "31/12/2026" in body
        assert "lễ hội du lịch biển" not in body  # not relevant
        assert "Vì sao" not in body  # the only reason is the bulletin's own topic: no line for it
        assert body.index("1131/QĐ-TTg") < body.index("18,3%")  # documents before figures
    assert "Theo địa phương" in html and "THEO ĐỊA PHƯƠNG" in text
    assert re.search(r"Trung ương: 1 tin", text) and re.search(r"Thanh Hóa: 1 tin", text)
    assert "https://chinhphu.example.vn/tin/phien-hop-uy-ban-quoc-gia-1.html" in html
    assert 'class="stt"' in html and re.search(r"\.stt\{[^}]*font-size:16px", html)  # class-based CSS
    assert html.count('style="') <= 1 + 2 * 3  # not inlined: the page padding, and per province its bar
    assert re.search(r"max-width:\s*640px", html)
    assert not re.search(r"<(img|link|script|iframe)\b|\ssrc=|url\(", html)  # nothing external to load
    assert re.search(r"@media \(prefers-color-scheme:\s*dark\)", html)


def test_recipient_filters_say_why_and_keep_the_rest_out(world, smtp):
    config, db = world
    send_digest(config, db, "weekly")
    message = by_recipient(smtp)["danang@example.vn"][0]
    text, html = bodies(message)
    assert "Đà Nẵng đưa nền tảng công dân số" in text
    assert "Thủ tướng chủ trì phiên họp" in text  # national news is in
    assert "địa phương: Đà Nẵng" in text and "tin cấp trung ương" in text
    assert "Nguồn cần kiểm tra" not in text  # not an admin


def test_nothing_twice_and_only_new_items_next_time(world, smtp):
    config, db = world
    send_digest(config, db, "weekly")
    assert len(smtp.messages) == 2
    again = send_digest(config, db, "weekly", run_key="2026-11-23T08:00:00+07:00")
    assert again["sent"] == 0 and again["empty"] == 2
    assert len(smtp.messages) == 2  # nothing new: skipped by default
    save_article(db, thanhhoa_article(1))
    third = send_digest(config, db, "weekly", run_key="2026-11-30T08:00:00+07:00")
    assert third["sent"] == 1  # only the recipient whose filters let Thanh Hóa through
    text, _ = bodies(by_recipient(smtp)["lanh.dao@example.vn"][-1])
    assert "Thanh Hóa số hóa hồ sơ" in text and "Thủ tướng chủ trì" not in text and "18,3%" not in text
    assert "1 tin mới, 0 số liệu, 0 văn bản" in by_recipient(smtp)["lanh.dao@example.vn"][-1]["Subject"]


def test_one_run_key_is_delivered_once(world, smtp):
    config, db = world
    key = "2026-11-23T08:00:00+07:00"
    first = send_digest(config, db, "weekly", run_key=key)
    save_article(db, thanhhoa_article(2))  # even with something new, the same run does not send again
    second = send_digest(config, db, "weekly", run_key=key)
    assert first["run_id"] == second["run_id"] and second["sent"] == 0
    assert len(smtp.messages) == 2


def test_recipient_added_later_gets_recent_items(world, smtp, tmp_path):
    config, db = world
    send_digest(config, db, "weekly")
    later = WEEKLY + "      - email: moi@example.vn\n"
    config = load_config(write_digest_config(tmp_path / "config", smtp.port, later))
    summary = send_digest(config, db, "weekly", run_key="later")
    assert summary["sent"] == 1
    (newcomer,) = by_recipient(smtp)["moi@example.vn"]
    assert "2 tin mới" in newcomer["Subject"]


def test_max_age_keeps_old_items_out(world, smtp):
    config, db = world
    old = timeutil.ago(30 * 86400)
    with db.conn:
        db.execute("UPDATE articles SET first_seen = ? WHERE source = 'danang'", [old])
        for table in ("figures", "directives", "instructions"):
            db.execute(f"UPDATE {table} SET first_seen = ? WHERE article_id IN "
                       "(SELECT id FROM articles WHERE source = 'danang')", [old])
    send_digest(config, db, "weekly")
    text, _ = bodies(by_recipient(smtp)["lanh.dao@example.vn"][0])
    assert "Đà Nẵng đưa nền tảng" not in text and "712.400" not in text and "215/KH-UBND" not in text


def test_filters_by_keyword_and_document_type(tmp_path, smtp):
    digests = """\
    digests:
      - name: chon-loc
        keywords: [công dân số]
        document_types: [Kế hoạch]
        recipients: [chuyen.vien@example.vn]
    """
    config = load_config(write_digest_config(tmp_path / "config", smtp.port, digests))
    db = open_db(tmp_path / "dxwatch.db")
    save_article(db, national_article())
    save_article(db, danang_article())
    send_digest(config, db, "chon-loc")
    (message,) = smtp.messages
    text, _ = bodies(message)
    assert "Đà Nẵng đưa nền tảng" in text and "Thủ tướng chủ trì" not in text
    assert "215/KH-UBND" in text and "1131/QĐ-TTg" not in text
    assert "từ khóa “công dân số”" in text and "loại văn bản: Kế hoạch" in text


def test_when_empty_send_still_mails(tmp_path, smtp):
    digests = """\
    digests:
      - name: luon-gui
        when_empty: send
        recipients: [a@example.vn]
    """
    config = load_config(write_digest_config(tmp_path / "config", smtp.port, digests))
    db = open_db(tmp_path / "dxwatch.db")
    assert send_digest(config, db, "luon-gui")["sent"] == 1
    text, _ = bodies(smtp.messages[0])
    assert "Không có tin mới." in text and "0 tin mới, 0 số liệu, 0 văn bản" in smtp.messages[0]["Subject"]


def test_preview_writes_html_and_records_nothing(world, smtp, tmp_path):
    config, db = world
    out = preview_digest(config, db, "weekly", tmp_path / "preview.html")
    html = out.read_text(encoding="utf-8")
    assert "Thủ tướng chủ trì phiên họp" in html and "đăng trên 2 cổng" in html
    assert db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0
    assert not smtp.messages
    personal = preview_digest(config, db, "weekly", tmp_path / "p2.html", recipient="danang@example.vn")
    assert "địa phương: Đà Nẵng" in personal.read_text(encoding="utf-8")


def test_sent_digests_are_archived_and_listed_in_history(world, smtp, tmp_path):
    config, db = world
    send_digest(config, db, "weekly")
    archived = sorted((tmp_path / "data" / "digests").glob("weekly-*.html"))
    assert len(archived) == 2
    assert "Thủ tướng chủ trì phiên họp" in archived[0].read_text(encoding="utf-8")
    (run,) = history(db)
    assert run["digest"] == "weekly" and run["status"] == "done"
    assert {d["status"] for d in run["deliveries"]} == {"sent"}
    assert sorted(tmp_path / "data" / d["archive"] for d in run["deliveries"]) == archived
    assert json.loads(run["deliveries"][0]["counts"])["stories"] == 2


def test_hostile_portal_text_is_escaped(tmp_path, smtp):
    digests = """\
    digests:
      - name: weekly
        recipients: [a@example.vn]
    """
    config = load_config(write_digest_config(tmp_path / "config", smtp.port, digests))
    db = open_db(tmp_path / "dxwatch.db")
    hostile = thanhhoa_article(9, title='<script>alert("x")</script><img src=x onerror=alert(1)> "CĐS" & dữ liệu')
    hostile["text"] = "<b>đậm</b> <a href='javascript:alert(2)'>bấm</a> chuyển đổi số"
    save_article(db, hostile)
    sneaky = thanhhoa_article(10, title="Bài có liên kết lạ")
    sneaky["url"] = "javascript:alert(3)"
    save_article(db, sneaky)
    send_digest(config, db, "weekly")
    _, html = bodies(smtp.messages[0])
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;a href=&#39;javascript:alert(2)&#39;&gt;bấm&lt;/a&gt;" in html  # shown as text, not a link
    assert "Bài có liên kết lạ" in html and "javascript:alert(3)" not in html  # unsafe link dropped
    assert not re.search(r"<a[^>]+href=[\"']?\s*javascript", html, re.I)


def test_admins_get_a_footer_on_broken_sources(world, smtp):
    config, db = world
    with db.conn:
        db.execute("INSERT INTO crawl_runs (source, started, finished, status, last_error) VALUES (?, ?, ?, ?, ?)",
                   ["danang", timeutil.ago(3600), timeutil.ago(3500), "failed", "TimeoutError: không phản hồi"])
    send_digest(config, db, "weekly")
    admin_text, admin_html = bodies(by_recipient(smtp)["lanh.dao@example.vn"][0])
    assert "Nguồn cần kiểm tra" in admin_text and "Nguồn cần kiểm tra" in admin_html
    assert re.search(r"Cổng TTĐT TP Đà Nẵng: lỗi \(.*không phản hồi", admin_text)
    officer_text, _ = bodies(by_recipient(smtp)["danang@example.vn"][0])
    assert "Nguồn cần kiểm tra" not in officer_text


def test_a_long_week_lists_the_rest_by_title_and_drops_nothing(tmp_path, smtp):
    from digests.render import Limits

    config = load_config(write_digest_config(tmp_path / "config", smtp.port, "digests:\n  - name: weekly\n"
                                                                     "    recipients: [a@example.vn]\n"))
    db = open_db(tmp_path / "dxwatch.db")
    full = Limits().stories
    for n in range(full + 3):
        save_article(db, thanhhoa_article(n, title=f"Thanh Hóa số hóa hồ sơ, đợt số {n:02d}"))
    send_digest(config, db, "weekly")
    text, html = bodies(smtp.messages[0])
    for body in (text, html):
        assert all(f"đợt số {n:02d}" in body for n in range(full + 3))
        assert "Tin khác" in body
    assert text.count("thanhhoa.example.vn/tin/so-hoa-ho-so-") == full + 3  # each one linked
    assert "Vì sao có tin này" not in text  # no filter: nothing to explain


def test_text_part_carries_the_same_entries_as_html(world, smtp):
    config, db = world
    send_digest(config, db, "weekly")
    text, html = bodies(by_recipient(smtp)["lanh.dao@example.vn"][0])
    shown = re.sub(r"<[^>]+>", "", html)  # document numbers are wrapped in nowrap spans
    for needle in ("Quyết định 1131/QĐ-TTg", "Kế hoạch 215/KH-UBND", "Kế hoạch số 215/KH-UBND đặt mục tiêu",
                   "UBND thành phố Đà Nẵng", "tháng 11/2026", "năm 2026", "hạn: 31/12/2026"):
        assert needle in text and needle in shown, needle


def test_a_figure_without_its_raw_text_is_written_the_vietnamese_way(tmp_path, smtp):
    config = load_config(write_digest_config(tmp_path / "config", smtp.port, WEEKLY))
    db = open_db(tmp_path / "dxwatch.db")
    article = danang_article()
    article["figures"] = [{"key": "danang-vneid", "value": 2939433, "unit": "tài khoản", "subject": "tài khoản VNeID"},
                          {"key": "danang-ty-le", "value": 16.5, "unit": "%", "subject": "tỷ lệ hồ sơ trực tuyến"}]
    save_article(db, article)
    html = preview_digest(config, db, "weekly", tmp_path / "p.html").read_text(encoding="utf-8")
    assert "2.939.433 tài khoản" in html and "16,5 %" in html
