"""The digest's words come from what it covers: "ngày/tuần/tháng" from its window, no doubled words,
no minutes in the period, alert rules with their own title, figures read as statements."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from helpers import bodies, national_article, write_digest_config

from crawler import timeutil
from crawler.config import load_config
from crawler.db import open_db
from digests.alerts import run_alerts
from digests.render import figure_line, heading, period_note, render
from digests.selection import Selection
from pipelines.storage import save_article

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=timeutil.VN)  # a Friday of ISO week 49


def window(days: float) -> tuple[str, str]:
    return timeutil.iso(NOW - timedelta(days=days)), timeutil.iso(NOW)


@pytest.mark.parametrize("days, note", [(1, "ngày 04/12/2026"), (7, "tuần 49/2026"), (14, "tuần 48–49/2026"),
                                        (30, "tháng 11/2026"), (90, "05/09/2026–04/12/2026")])
def test_the_period_word_comes_from_the_window(days, note):
    assert period_note(*window(days)) == note


def test_a_monday_digest_is_the_bulletin_of_the_week_before():
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=timeutil.VN)  # ISO week 50
    assert period_note(timeutil.iso(monday - timedelta(days=7)), timeutil.iso(monday)) == "tuần 49/2026"


@pytest.mark.parametrize("title, note, expected", [
    ("Bản tin CĐS tuần", "tuần 49/2026", "Bản tin CĐS tuần 49/2026"),          # not "tuần tuần 49/2026"
    ("Bản tin CĐS tuần", "ngày 04/12/2026", "Bản tin CĐS ngày 04/12/2026"),    # a daily digest says ngày
    ("Bản tin CĐS hằng tháng", "tháng 12/2026", "Bản tin CĐS tháng 12/2026"),
    ("Bản tin chuyển đổi số", "tuần 49/2026", "Bản tin chuyển đổi số tuần 49/2026"),
])
def test_no_doubled_words_in_the_heading(title, note, expected):
    assert heading(title, note) == expected


def test_subject_and_period_of_a_daily_digest():
    since, until = window(1)
    rendered = render(Selection(since=since, until=until), title="Bản tin CĐS tuần", moment=NOW)
    assert rendered.subject == "Bản tin CĐS ngày 04/12/2026: 0 tin mới, 0 số liệu, 0 văn bản"
    assert "03/12/2026 – 04/12/2026" in rendered.text and "09:30" not in rendered.text.split("\n")[1]


@pytest.mark.parametrize("fact, line", [
    ({"label": "Thành phố đặt mục tiêu 85% hộ gia đình dùng cáp quang", "role": "target", "raw": "85%"},
     "Thành phố đặt mục tiêu 85% hộ gia đình dùng cáp quang"),
    ({"label": "100% cơ quan nhà nước kết nối mạng chuyên dùng (đến năm 2030)", "role": "target", "raw": "100%"},
     "Mục tiêu: 100% cơ quan nhà nước kết nối mạng chuyên dùng (đến năm 2030)"),
    ({"raw": "712.400 tài khoản", "subject": "tài khoản định danh", "period": "tháng 11/2026"},
     "712.400 tài khoản — tài khoản định danh (tháng 11/2026)"),  # a row stored before labels
])
def test_a_figure_line_is_its_statement(fact, line):
    assert figure_line(fact) == line


def test_alert_rules_have_their_own_title(tmp_path, smtp):
    alerts = """\
    alerts:
      - name: van-ban-moi
        title: Văn bản chỉ đạo mới về chuyển đổi số
        recipients: [vanthu@example.vn]
        items: [directives]
        max_age: 30d
    """
    config = load_config(write_digest_config(tmp_path / "config", smtp.port, alerts))
    db = open_db(tmp_path / "data" / "dxwatch.db")
    article = national_article()
    recent = (timeutil.now() - timedelta(days=2)).date().isoformat()
    article["published"] = timeutil.iso()
    article["directives"] = [
        {**article["directives"][0], "date": recent},  # issued this week: new
        {"key": "06/QĐ-TTg", "number": "06/QĐ-TTg", "type": "Quyết định", "issuer": "Thủ tướng Chính phủ",
         "year": 2022, "date": "2022-01-06", "title": "Đề án 06", "raw": "Quyết định số 06/QĐ-TTg",
         "context": "Quyết định số 06/QĐ-TTg ngày 06/01/2022"},  # cited again, not new
    ]
    save_article(db, article)
    run_alerts(config, db)
    (message,) = smtp.messages
    assert message["Subject"] == "Văn bản chỉ đạo mới về chuyển đổi số: 1 văn bản, 1 chỉ đạo"
    text, html = bodies(message)
    assert "1131/QĐ-TTg" in text and "06/QĐ-TTg" not in text  # an alert of new documents names only new ones
    assert "Cảnh báo van-ban-moi" not in text


def test_a_digest_lists_old_documents_newly_cited_apart(tmp_path, smtp):
    config = load_config(write_digest_config(tmp_path / "config", smtp.port,
                                      "digests:\n  - name: weekly\n    recipients: [a@example.vn]\n"))
    db = open_db(tmp_path / "data" / "dxwatch.db")
    article = national_article()
    article["directives"].append({"key": "06/QĐ-TTg", "number": "06/QĐ-TTg", "type": "Quyết định",
                                  "issuer": "Thủ tướng Chính phủ", "year": 2022, "date": "2022-01-06",
                                  "title": "Đề án 06", "raw": "Quyết định số 06/QĐ-TTg", "context": "..."})
    save_article(db, article)
    from digests.runner import send_digest

    send_digest(config, db, "weekly")
    text, _ = bodies(smtp.messages[0])
    assert text.index("1131/QĐ-TTg") < text.index("Văn bản cũ được nhắc lại") < text.index("06/QĐ-TTg")
    assert "1 văn bản" in smtp.messages[0]["Subject"]


def test_one_fact_once_across_the_copies_of_a_story(tmp_path, smtp):
    """The national article and its provincial republication carry the same figure and instruction,
    read with slightly different subjects (so different keys): the digest shows each once."""
    from digests.runner import send_digest

    config = load_config(write_digest_config(tmp_path / "config", smtp.port,
                                             "digests:\n  - name: weekly\n    recipients: [a@example.vn]\n"))
    db = open_db(tmp_path / "data" / "dxwatch.db")
    national = national_article()
    provincial = national_article(2, source="thanhhoa", level="provincial", province="Thanh Hóa")
    provincial["figures"] = [{**national["figures"][0], "key": "kinh-te-so-gdp-ban-sao",
                              "subject": "tỷ trọng kinh tế số trong GDP cả nước",
                              "label": "Theo báo cáo, tỷ trọng kinh tế số ước đạt 18,3% GDP"}]
    provincial["instructions"] = [{**national["instructions"][0], "key": "ttg-ket-noi-ban-sao"}]
    save_article(db, national)
    save_article(db, provincial)
    summary = send_digest(config, db, "weekly")
    text, _ = bodies(smtp.messages[0])
    assert text.count("18,3%") == 1 and text.count("kết nối cơ sở dữ liệu dân cư") == 1
    assert "1 số liệu" in smtp.messages[0]["Subject"] and "1 chỉ đạo" in smtp.messages[0]["Subject"]
    # both keys of each went to the ledger: the copy does not come back next time
    items = {k for (k,) in db.execute("SELECT item_key FROM delivered_items")}
    assert {"kinh-te-so-gdp-2026", "kinh-te-so-gdp-ban-sao", "ttg-ket-noi-csdl-dan-cu", "ttg-ket-noi-ban-sao"} <= items
    assert summary["sent"] == 1
