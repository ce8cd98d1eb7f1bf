"""The command line for a new admin (issue 18): a mistyped --db is an error, output folders are
created, CSV opens in Excel, numbers read the Vietnamese way, one --since grammar, plain help,
--version, log times in +07:00, and a demo that cannot start leaves nothing behind."""

from __future__ import annotations

import re
import socket
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from helpers import REPO, demo_config, dxwatch, national_article

from crawler import timeutil
from crawler.db import open_db
from pipelines.kinds import by_table
from pipelines.storage import save_article

SOURCES = """\
settings:
  retry_backoff: 0.1  # the crawl of the absent portal below gives up in a second, not fifteen
sources:
  - name: chinhphu
    title: "[minh họa] Cổng TTĐT Chính phủ"
    level: national
    feeds: http://127.0.0.1:9/rss.xml
"""


def run(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    return dxwatch(*args, env={"COLUMNS": "200", **(env or {})}, cwd=cwd)


@pytest.fixture
def config_dir(tmp_path) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    (config / "digests.yaml").write_text("digests:\n  - name: tuan\n    recipients: a@example.vn\n", encoding="utf-8")
    return config


@pytest.fixture
def stored(tmp_path) -> Path:
    """A database with two articles of one day, published at 08:00 and 15:30."""
    path = tmp_path / "data" / "dxwatch.db"
    path.parent.mkdir()
    db = open_db(path)
    early = national_article(1)
    early.update(url="https://chinhphu.example.vn/tin/sang.html", published="2026-11-20T08:00:00+07:00",
                 title="Buổi sáng: phiên họp về chuyển đổi số", content_hash="hash-sang",
                 text=early["text"].replace("Chiều 20/11", "Sáng 20/11"))
    late = national_article(2)
    late.update(content_hash="hash-chieu")
    save_article(db, late)  # stored first: the id order is the reverse of the time order
    save_article(db, early)
    return path


@pytest.mark.parametrize("command", [
    ["sources", "status"], ["export"], ["stories"], ["search", "chuyển đổi số"], ["facts"], ["documents"],
    ["digest", "history"], ["schedule", "list"], ["digest", "preview", "tuan", "--out", "p.html"],
])
def test_a_mistyped_db_is_an_error_for_every_command_that_only_reads(config_dir, tmp_path, command):
    missing = tmp_path / "dat" / "dxwatch.db"
    result = run("--config", str(config_dir), "--db", str(missing), *command, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line == (f"error: no database at {missing}: run `dxwatch crawl` first, or point --db "
                    "(or DXWATCH_DB) at the database file")
    assert not missing.exists() and not missing.parent.exists()


def test_export_creates_the_output_folder_and_writes_csv_with_a_bom(config_dir, stored, tmp_path):
    out = tmp_path / "missing" / "dir" / "bai-viet.csv"
    result = run("--config", str(config_dir), "--db", str(stored), "export", "--format", "csv", "--out", str(out))
    assert result.returncode == 0, result.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "Thủ tướng chủ trì".encode() in raw  # Excel reads UTF-8
    jsonl = tmp_path / "other" / "bai-viet.jsonl"
    assert run("--config", str(config_dir), "--db", str(stored), "export", "--out", str(jsonl)).returncode == 0
    assert jsonl.read_bytes().startswith(b'{"')


def test_export_to_a_place_that_cannot_be_written_is_one_line(config_dir, stored, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run("--config", str(config_dir), "--db", str(stored), "export", "--out", str(blocker / "x.jsonl"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: cannot write --out {blocker / 'x.jsonl'}")


def test_figures_are_written_the_vietnamese_way():
    figure = {"kind": "count", "value": 53_800_000.0, "unit": "người", "subject": "tài khoản định danh"}
    describe = by_table("figures").describe
    assert describe(figure).startswith("count 53.800.000 người")
    assert describe({"kind": "percent", "value": 46.2, "unit": "%"}) == "percent 46,2 %"
    assert "e+" not in describe({"kind": "money", "value": 1.92e15, "unit": "đồng"})


def test_facts_table_shows_no_scientific_notation(config_dir, stored):
    db = open_db(stored)
    db.conn.execute("UPDATE figures SET value = 53800000, raw = '53,8 triệu', unit = 'người'")
    db.conn.commit()
    result = run("--config", str(config_dir), "--db", str(stored), "facts", "--since", "3650d", "--kind", "figures")
    assert result.returncode == 0, result.stderr
    assert "53.800.000" in result.stdout and "e+07" not in result.stdout


@pytest.mark.parametrize("command", [["stories"], ["search", "chuyển đổi số"], ["documents"], ["facts"]])
def test_one_since_grammar_for_every_command(config_dir, stored, command):
    for since in ("7d", "36h", "2 weeks", "2025-10-31"):
        result = run("--config", str(config_dir), "--db", str(stored), *command, "--since", since)
        assert result.returncode == 0, (since, result.stderr)
    bad = run("--config", str(config_dir), "--db", str(stored), *command, "--since", "hôm qua")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "7d" in bad.stderr


def test_search_newest_orders_by_time_within_a_day(config_dir, stored):
    result = run("--config", str(config_dir), "--db", str(stored), "search", "phiên họp", "--newest", "--json")
    assert result.returncode == 0, result.stderr
    published = [line.split('"published": "')[1][:25] for line in result.stdout.splitlines()]
    assert published == ["2026-11-20T15:30:00+07:00", "2026-11-20T08:00:00+07:00"]


def test_version_and_help_in_plain_words():
    version = run("--version")
    assert version.returncode == 0 and re.fullmatch(r"dxwatch \d+\.\d+\.\d+\S*\n", version.stdout)
    top = run("--help").stdout
    assert "DXWATCH_CONFIG" in top and "DXWATCH_DB" in top
    for command in (["--help"], ["crawl", "--help"], ["facts", "--help"], ["export", "--help"],
                    ["schedule", "run", "--help"], ["extract", "--help"], ["documents", "--help"]):
        text = run(*command).stdout
        assert not re.search(r"<(list\[|bool|str|int|float|path)", text), (command, text)


def test_sources_list_keeps_square_brackets_in_titles(config_dir, tmp_path):
    result = run("--config", str(config_dir / "sources.yaml"), "sources", "list")
    assert result.returncode == 0, result.stderr
    assert "[minh họa] Cổng TTĐT Chính phủ" in result.stdout


def test_log_lines_are_in_vietnam_time(config_dir, tmp_path):
    result = run("--config", str(config_dir), "--db", str(tmp_path / "x.db"), "crawl",
                 env={"DXWATCH_LOG_LEVEL": "INFO", "TZ": "UTC"})
    stamps = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\+07:00) ", result.stderr, re.M)
    assert stamps, result.stderr
    first = datetime.fromisoformat(stamps[0][0]).replace(tzinfo=timeutil.VN)
    assert abs((timeutil.now() - first).total_seconds()) < 120


def test_a_demo_that_cannot_start_leaves_no_database_anchor_or_outbox(tmp_path):
    config = demo_config(tmp_path)
    port = int(re.search(r"\n\s*port:\s*(\d+)", (config / "digests.yaml").read_text(encoding="utf-8")).group(1))
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = run("--config", str(config), "--db", str(data / "dxwatch.db"), "demo", cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot start the demo SMTP server" in " ".join(result.stderr.split())
    assert not data.exists(), sorted(p.name for p in data.rglob("*"))
