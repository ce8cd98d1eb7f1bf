"""An admin's first hour (issue 18): config written the natural way loads, crawls and sends; what
cannot work is refused with a suggestion; every problem of both files comes in one run."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from helpers import dxwatch
from servers import Page

from crawler import timeutil
from crawler.config import ConfigError, load_config, parse_duration_seconds, parse_schedule, schedule_interval

SOURCES = """\
defaults:
  schedule: every 6 hours
sources:
  - name: laichau
    title: "[minh họa] Lai Châu"
    level: Provincial
    province: tỉnh Lai Chau
    start_urls: {base}/tin-tuc/
  - name: chinhphu
    title: Cổng TTĐT Chính phủ
    level: NATIONAL
    feeds: {base}/rss.xml
    schedule: mỗi 12 giờ
"""

DIGESTS = """\
smtp:
  host: 127.0.0.1
  port: {port}
  security: NONE
  sender: "Bản tin CĐS <bantin@example.vn>"
digests:
  - name: tuan
    schedule: weekly
    when_empty: Send
    recipients:
      - "Lãnh đạo Sở <lanhdao@example.vn>"
      - email: "Phòng CĐS <phong@example.vn>"
        provinces: Lai Chau
      - {{email: vanthu@example.vn, name: Văn thư, levels: Provincial}}
"""


def cli(config: Path, *args: str, db: Path | None = None) -> subprocess.CompletedProcess:
    return dxwatch("--config", config, "--db", db or config / "dxwatch.db", *args, env={"COLUMNS": "200"})


def write(directory: Path, sources: str | None = SOURCES, digests: str | None = DIGESTS, base="http://127.0.0.1:9",
          port=2525) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if sources is not None:
        (directory / "sources.yaml").write_text(sources.format(base=base), encoding="utf-8")
    if digests is not None:
        (directory / "digests.yaml").write_text(digests.format(port=port), encoding="utf-8")
    return directory


def error_lines(directory: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(directory)
    return str(info.value).splitlines()


# ---------------------------------------------------------------- forms people write


def test_the_forms_people_write_are_accepted_and_normalised(tmp_path):
    config = load_config(write(tmp_path) / "sources.yaml")  # the file, not its folder
    laichau, chinhphu = config.sources
    assert (laichau.level, chinhphu.level) == ("provincial", "national")
    assert laichau.province == "Lai Châu"  # spelt as the list of units spells it, so filters match
    assert laichau.start_urls == ["http://127.0.0.1:9/tin-tuc/"] and chinhphu.feeds == ["http://127.0.0.1:9/rss.xml"]
    assert schedule_interval(laichau.effective_schedule) == 6 * 3600
    assert schedule_interval(chinhphu.effective_schedule) == 12 * 3600
    assert (config.smtp.sender, config.smtp.sender_name, config.smtp.security) == (
        "bantin@example.vn", "Bản tin CĐS", "none")
    digest = config.digest("tuan")
    assert digest.when_empty == "send"
    people = [(r.email, r.name, r.provinces, r.levels) for r in digest.recipients]
    assert people == [("lanhdao@example.vn", "Lãnh đạo Sở", [], []),
                      ("phong@example.vn", "Phòng CĐS", ["Lai Châu"], []),
                      ("vanthu@example.vn", "Văn thư", [], ["provincial"])]


@pytest.mark.parametrize("written,normalised", [
    ("Lai Chau", "Lai Châu"), ("lai châu", "Lai Châu"), ("tỉnh Lai Châu", "Lai Châu"),
    ("Đà Nẵng", "TP Đà Nẵng"), ("Thành phố Hồ Chí Minh", "TP Hồ Chí Minh"), ("Thanh Hoá", "Thanh Hóa"),
    ("Lai Châu, Điện Biên", "Lai Châu|Điện Biên"),
])
def test_province_filters_written_without_diacritics_or_with_a_prefix_are_normalised(tmp_path, written, normalised):
    digests = DIGESTS.replace("provinces: Lai Chau", f"provinces: [{written!r}]".replace("'", '"'))
    config = load_config(write(tmp_path, digests=digests))
    assert config.digest("tuan").recipients[1].provinces == normalised.split("|")


def test_document_types_and_alert_items_accept_abbreviations_and_any_case(tmp_path):
    digests = DIGESTS + """\
alerts:
  - name: van-ban
    items: Directives, FIGURES
    document_types: [QĐ, quyet dinh, Kế Hoạch]
    recipients: "Văn thư <vanthu@example.vn>"
"""
    rule = load_config(write(tmp_path, digests=digests)).digests_file.alerts[0]
    assert rule.items == ["directives", "figures"]
    assert rule.document_types == ["Quyết định", "Quyết định", "Kế hoạch"]
    assert [(r.email, r.name) for r in rule.recipients] == [("vanthu@example.vn", "Văn thư")]


@pytest.mark.parametrize("text,seconds", [
    ("every 6 hours", 21600), ("mỗi 6 giờ", 21600), ("every 30 minutes", 1800), ("30m", 1800), ("6h", 21600),
    ("hourly", 3600), ("daily", 86400), ("weekly", 604800), ("every hour", 3600), ("mỗi ngày", 86400),
    ("2 tuần", 1209600), ("7d", 604800), ("Every 2 Days", 172800), ("hằng ngày", 86400),
])
def test_one_duration_grammar_for_schedules_and_ages(text, seconds):
    assert parse_schedule(text) == ("interval", seconds)
    assert parse_duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["every six hours", "soon", "0h", "every 0 minutes", "6 fortnights"])
def test_what_is_not_a_duration_says_how_to_write_one(text):
    with pytest.raises(ValueError) as info:
        parse_schedule(text)
    assert "every 6 hours" in str(info.value) or "longer than zero" in str(info.value)


def test_a_crontab_line_is_still_a_schedule():
    assert parse_schedule("0 8 * * mon") == ("cron", "0 8 * * mon")
    assert schedule_interval("0 */2 * * *") == 7200


# ---------------------------------------------------------------- refused, with a suggestion


@pytest.mark.parametrize("filters,key,says", [
    ("provinces: [Lai Chao]", "provinces[0]", "did you mean 'Lai Châu'?"),
    ("provinces: [Dien Bienn]", "provinces[0]", "did you mean 'Điện Biên'?"),
    ("provinces: [Quảng Nam]", "provinces[0]", "part of 'TP Đà Nẵng'"),
    ("provinces: [Atlantis]", "provinces[0]", "34 provincial-level units"),
    ("sources: [lai-chau]", "sources[0]", "did you mean 'laichau'?"),
    ("sources: [chinh-phu]", "sources[0]", "did you mean 'chinhphu'?"),
    ("levels: [provincal]", "levels[0]", "did you mean 'provincial'?"),
    ("document_types: [Quyet dinhh]", "document_types[0]", "did you mean 'Quyết định'?"),
    ("document_types: [Ke hoach, Cong vann]", "document_types[1]", "did you mean 'Công văn'?"),
    ("province: [Lai Châu]", "province", "unknown key; did you mean 'provinces'?"),
    ("levle: [national]", "levle", "unknown key; did you mean 'levels'?"),
])
def test_mistyped_filters_are_refused_with_a_suggestion(tmp_path, filters, key, says):
    digests = DIGESTS.replace("provinces: Lai Chau", filters)
    (line,) = error_lines(write(tmp_path, digests=digests))
    assert line.startswith(f"{tmp_path / 'digests.yaml'}:13: digests[0].recipients[1].{key}: ")
    assert says in line


@pytest.mark.parametrize("old,new,key,says", [
    ("security: NONE", "security: startls", "smtp.security", "did you mean 'starttls'?"),
    ("when_empty: Send", "when_empty: skipp", "digests[0].when_empty", "did you mean 'skip'?"),
    ("sender: \"Bản tin", "sendr: \"Bản tin", "smtp.sendr", "did you mean 'sender'?"),
    ("    schedule: weekly\n", "    schedule: weekly\n    recipent: x@example.vn\n", "digests[0].recipent",
     "did you mean 'recipients'?"),
])
def test_mistyped_keys_and_fixed_values_are_refused_with_a_suggestion(tmp_path, old, new, key, says):
    lines = error_lines(write(tmp_path, digests=DIGESTS.replace(old, new)))
    assert any(f"digests.yaml:" in line and f": {key}: " in line and says in line for line in lines), lines


def test_a_filter_may_name_the_province_of_a_configured_source(tmp_path):
    sources = SOURCES.replace("province: tỉnh Lai Chau", "province: Thử nghiệm")
    digests = DIGESTS.replace("provinces: Lai Chau", "provinces: [Thu nghiem]")
    config = load_config(write(tmp_path, sources, digests))
    assert config.digest("tuan").recipients[1].provinces == ["Thử nghiệm"]


def test_crawling_a_portal_more_often_than_every_15_minutes_needs_allow_fast_schedule(tmp_path):
    fast = SOURCES.replace("schedule: mỗi 12 giờ", 'schedule: "*/5 * * * *"')
    (line,) = error_lines(write(tmp_path, fast))
    assert line.startswith(f"{tmp_path / 'sources.yaml'}:13: sources[1].schedule: ") and "allow_fast_schedule" in line
    allowed = fast.replace('    schedule: "*/5', '    allow_fast_schedule: true\n    schedule: "*/5')
    assert load_config(write(tmp_path, allowed)).sources[1].allow_fast_schedule
    (line,) = error_lines(write(tmp_path, SOURCES.replace("every 6 hours", "every 1m")))
    assert line.startswith(f"{tmp_path / 'sources.yaml'}:2: defaults.schedule: "), line  # once, not per source


# ---------------------------------------------------------------- every error in one run, never a traceback


def test_every_problem_of_both_files_in_one_run_with_file_line_and_key(tmp_path):
    sources = SOURCES.replace("level: Provincial", "level: provincal").replace(
        "    feeds: {base}/rss.xml\n", "    feeds: {base}/rss.xml\n    article_pattern: '[a-z'\n    max_pagez: 3\n")
    sources += "  - name: Bad Name\n    level: national\n"
    digests = DIGESTS.replace("provinces: Lai Chau", "provinces: [Lai Chao]").replace(
        "sender: \"Bản tin CĐS <bantin@example.vn>\"", "sender: \"Bản tin <bantin@>\"")
    config = write(tmp_path, sources, digests)
    result = cli(config, "sources", "list")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    expected = [
        f"{config / 'sources.yaml'}:6: sources[0].level: no level named 'provincal'; did you mean 'provincial'?",
        f"{config / 'sources.yaml'}:13: sources[1].article_pattern: not a valid regular expression",
        f"{config / 'sources.yaml'}:14: sources[1].max_pagez: unknown key",
        f"{config / 'sources.yaml'}:16: sources[2].name: not a valid name: 'Bad Name'",
        f"{config / 'sources.yaml'}:16: sources[2].title: required key is missing",
        f"{config / 'digests.yaml'}:5: smtp.sender: not an email address: 'Bản tin <bantin@>'",
        f"{config / 'digests.yaml'}:13: digests[0].recipients[1].provinces[0]: no province named 'Lai Chao'",
    ]
    assert len(lines) == len(expected), result.stderr
    for line, start in zip(lines, expected):
        assert line.startswith(f"config error: {start}"), (line, start)
    assert "'[a-z'" in lines[1]  # the terminal library does not eat the character class


# ---------------------------------------------------------------- smtp only for the commands that send


@pytest.mark.parametrize("digests", [None, "", "# mail settings come later\n", "digests:\n  - name: tuan\n"
                                     "    recipients: [a@example.vn]\n"])
def test_a_crawl_only_config_lists_tests_and_previews_and_only_send_asks_for_smtp(tmp_path, digests):
    config = write(tmp_path / "config", digests=digests)
    with (config / "sources.yaml").open("a", encoding="utf-8") as sources:  # the absent portal: give up at once
        sources.write("settings:\n  retry_backoff: 0.1\n")
    listed = cli(config, "sources", "list")
    assert listed.returncode == 0, listed.stderr
    assert "[minh họa] Lai Châu" in listed.stdout  # square brackets in a title are text, not markup
    db = tmp_path / "data" / "dxwatch.db"
    assert cli(config, "crawl", "--source", "laichau", db=db).returncode in (0, 1)  # 1: the portal is absent
    if digests and "tuan" in digests:
        preview = cli(config, "digest", "preview", "tuan", "--out", str(tmp_path / "p.html"), db=db)
        assert preview.returncode == 0, preview.stderr
    sent = cli(config, "digest", "send", "tuan", db=db)
    assert sent.returncode == 2 and "Traceback" not in sent.stderr
    assert len(sent.stderr.strip().splitlines()) == 1, sent.stderr
    assert ("smtp" in sent.stderr) == bool(digests and "tuan" in digests), sent.stderr


# ---------------------------------------------------------------- crawl and send, the natural way


@pytest.fixture
def laichau_portal(portal):
    """A provincial portal with two recent articles on its listing page, and an empty national feed."""
    day = timeutil.now().replace(microsecond=0) - timedelta(hours=5)
    article = ("<html><head><meta charset='utf-8'><title>Lai Châu đẩy mạnh chuyển đổi số</title></head><body>"
               "<article><h1>Lai Châu đẩy mạnh chuyển đổi số</h1>"
               f"<p class='date'>{day:%d/%m/%Y %H:%M}</p>"
               "<p>UBND tỉnh Lai Châu ban hành kế hoạch chuyển đổi số, đặt mục tiêu 80% hồ sơ thủ tục hành chính "
               "được xử lý trực tuyến toàn trình trong năm nay, cùng với việc số hóa dữ liệu dân cư.</p>"
               "<p>Các sở, ngành triển khai chữ ký số, dữ liệu số và nền tảng số dùng chung của tỉnh, "
               "bảo đảm kết nối với Cổng Dịch vụ công quốc gia.</p></article></body></html>")
    listing = "".join(f"<h3><a href='/tin-tuc/{slug}.html'>{title}</a></h3><span>{day:%d/%m/%Y}</span>"
                      for slug, title in (("cds-lai-chau-101", "Lai Châu đẩy mạnh chuyển đổi số"),
                                          ("du-lieu-so-102", "Dữ liệu số của tỉnh")))
    portal.routes.update({
        "/tin-tuc/": Page(f"<html><body><div class='list'>{listing}</div></body></html>"),
        "/tin-tuc/cds-lai-chau-101.html": Page(article),
        "/tin-tuc/du-lieu-so-102.html": Page(article.replace("Lai Châu đẩy mạnh chuyển đổi số", "Dữ liệu số của tỉnh")
                                             .replace("kế hoạch chuyển đổi số", "quy chế dữ liệu số")),
        "/rss.xml": Page("<?xml version='1.0'?><rss version='2.0'><channel><title>x</title></channel></rss>",
                         content_type="application/rss+xml"),
    })
    return portal


def test_a_config_written_the_natural_way_crawls_and_sends_with_the_names_in_the_headers(tmp_path, laichau_portal,
                                                                                       smtp):
    portal = laichau_portal
    config = write(tmp_path / "config", base=portal.base, port=smtp.port)
    (config / "sources.yaml").write_text((config / "sources.yaml").read_text(encoding="utf-8")
                                         + "settings:\n  download_delay: 0\n  retry_times: 0\n", encoding="utf-8")
    db = tmp_path / "data" / "dxwatch.db"
    crawled = cli(config, "crawl", db=db)
    assert crawled.returncode == 0, crawled.stdout + crawled.stderr
    sent = cli(config, "digest", "send", "tuan", db=db)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    by_to = {m["To"].addresses[0].addr_spec: m for m in smtp.messages}
    assert set(by_to) == {"lanhdao@example.vn", "phong@example.vn", "vanthu@example.vn"}
    for message in by_to.values():
        (sender,) = message["From"].addresses
        assert (sender.display_name, sender.addr_spec) == ("Bản tin CĐS", "bantin@example.vn")
    assert by_to["lanhdao@example.vn"]["To"].addresses[0].display_name == "Lãnh đạo Sở"
    text = by_to["phong@example.vn"].get_body(("plain",)).get_content()
    assert f"{portal.base}/tin-tuc/" in text, text  # the province filter written "Lai Chau" matched its news


# ---------------------------------------------------------------- the documentation says what happens


def test_the_documented_forms_load_and_the_documented_refusals_are_printed(tmp_path):
    import re

    from docs_sections import docs_section

    section = docs_section("config-forms")
    good, bad = re.findall(r"```yaml\n(.*?)```", section, re.S)
    config = load_config(write(tmp_path / "good", digests=good.replace("{", "{{").replace("}", "}}")))
    assert (config.smtp.security, config.smtp.sender_name) == ("tls", "Bản tin CĐS")
    (_, phong) = config.digest("tuan").recipients
    assert phong.provinces == ["Lai Châu", "TP Đà Nẵng"] and phong.levels == ["provincial"]
    assert config.digests_file.alerts[0].document_types == ["Quyết định", "Chỉ thị"]

    write(tmp_path / "myconfig", digests=bad.replace("{", "{{").replace("}", "}}"))
    shown = re.search(r"```text\n\$ dxwatch --config myconfig sources list\n(.*?)```", section, re.S).group(1)
    result = dxwatch("--config", "myconfig", "sources", "list", cwd=tmp_path, env={"COLUMNS": "1000"})
    assert result.returncode == 2
    assert result.stderr == shown


def test_a_crawl_with_alert_rules_but_no_smtp_crawls_and_says_so_once(tmp_path, laichau_portal):
    config = write(tmp_path / "config", base=laichau_portal.base,
                   digests="alerts:\n  - name: van-ban\n    recipients: a@example.vn\n")
    (config / "sources.yaml").write_text((config / "sources.yaml").read_text(encoding="utf-8")
                                         + "settings:\n  download_delay: 0\n  retry_times: 0\n", encoding="utf-8")
    crawled = cli(config, "crawl", db=tmp_path / "data" / "dxwatch.db")
    assert crawled.returncode == 0, crawled.stdout + crawled.stderr
    assert crawled.stdout.count("no smtp: block; no alerts sent") == 1, crawled.stdout


def test_schedule_run_with_digests_but_no_smtp_is_one_line_and_exit_2(tmp_path):
    config = write(tmp_path / "config", digests="digests:\n  - name: tuan\n    recipients: a@example.vn\n")
    result = cli(config, "schedule", "run", "--once", db=tmp_path / "data" / "dxwatch.db")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("config error:")]
    assert len(errors) == 1 and "schedule run" in errors[0] and "smtp:" in errors[0], result.stderr
