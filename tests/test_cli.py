"""The command-line contract of issue 2: commands, global options, env vars, exit codes, export formats."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from crawler.db import open_db
from docs_sections import docs_section
from helpers import REPO, dxwatch
from pipelines.storage import save_article

SOURCES = """
sources:
  - name: so-khcn-thu-nghiem
    title: Sở KH&CN tỉnh Thử nghiệm
    level: provincial
    province: Thử nghiệm
    start_urls: [http://127.0.0.1:9/tin-tuc/]
  - name: bo-thu-nghiem
    title: Bộ Thử nghiệm
    level: national
    feeds: [http://127.0.0.1:9/rss.xml]
    enabled: false
"""


def run(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return dxwatch(*args, env={"COLUMNS": "200", **(env or {})}, cwd=cwd)


@pytest.fixture
def config_dir(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    return config


def test_help_lists_every_command_of_the_contract():
    out = run("--help").stdout
    for command in ("crawl", "export", "digest", "schedule", "sources", "demo"):
        assert command in out
    assert {"preview", "send"} <= set(run("digest", "--help").stdout.split())
    assert {"list", "run"} <= set(run("schedule", "--help").stdout.split())
    assert "--serve" in run("demo", "--help").stdout


def test_sources_list_shows_each_source_from_the_config_named_by_env(config_dir, tmp_path):
    result = run("sources", "list", env={"DXWATCH_CONFIG": str(config_dir), "DXWATCH_DB": str(tmp_path / "x.db")})
    assert result.returncode == 0, result.stderr
    for text in ("so-khcn-thu-nghiem", "Thử nghiệm", "provincial", "bo-thu-nghiem", "national", "every 6h"):
        assert text in result.stdout
    assert result.stdout.count("no") >= 1  # the disabled source


def test_a_config_error_is_one_line_with_file_line_and_key_and_exit_code_2(config_dir):
    (config_dir / "sources.yaml").write_text(SOURCES.replace("level: national", "level: nation"), encoding="utf-8")
    result = run("--config", str(config_dir), "sources", "list")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert "sources.yaml:10" in message and "sources[1].level" in message


def test_a_missing_config_directory_is_explained(tmp_path):
    result = run("--config", str(tmp_path / "nowhere"), "sources", "list")
    assert result.returncode == 2 and "config directory not found" in " ".join(result.stderr.split())


def stored_article(db_path: Path) -> None:
    db = open_db(db_path)
    save_article(db, {
        "url": "https://sokhcn.example.vn/tin-tuc/ke-hoach-chuyen-doi-so-1.html", "source": "so-khcn-thu-nghiem",
        "level": "provincial", "province": "Thử nghiệm", "title": 'Kế hoạch "chuyển đổi số" & dữ liệu, 2027',
        "published": "2026-11-20T09:30:00+07:00", "author": "Lê Thị Bình",
        "text": "UBND tỉnh ban hành Kế hoạch số 88/KH-UBND ngày 05/11/2026.\n\nTỷ lệ hồ sơ trực tuyến đạt 68,5%.",
        "relevant": True, "keywords": ["chuyển đổi số"], "content_hash": "h1",
        "figures": [{"key": "percent|68.5", "kind": "percent", "value": 68.5, "unit": "%", "raw": "68,5%",
                     "context": "Tỷ lệ hồ sơ trực tuyến đạt 68,5%."}],
        "directives": [{"key": "88/KH-UBND", "number": "88/KH-UBND", "type": "Kế hoạch", "issuer": "UBND",
                        "date": "2026-11-05", "raw": "Kế hoạch số 88/KH-UBND ngày 05/11/2026",
                        "context": "UBND tỉnh ban hành Kế hoạch số 88/KH-UBND ngày 05/11/2026."}],
    })


def test_export_jsonl_and_csv_to_stdout_and_to_a_file(config_dir, tmp_path):
    db = tmp_path / "data" / "dxwatch.db"
    stored_article(db)
    jsonl = run("--config", str(config_dir), "--db", str(db), "export")
    assert jsonl.returncode == 0, jsonl.stderr
    row = json.loads(jsonl.stdout.splitlines()[0])
    assert row["title"] == 'Kế hoạch "chuyển đổi số" & dữ liệu, 2027' and row["relevant"] is True
    assert row["figures"][0]["value"] == 68.5 and row["directives"][0]["number"] == "88/KH-UBND"
    assert isinstance(row["story"], int)

    out = tmp_path / "export.csv"
    result = run("--config", str(config_dir), "--db", str(db), "export", "--format", "csv", "--out", str(out))
    assert result.returncode == 0 and result.stdout == ""
    (record,) = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert record["url"] == row["url"] and record["published"] == "2026-11-20T09:30:00+07:00"
    assert json.loads(record["directives"])[0]["type"] == "Kế hoạch"

    bad = run("--config", str(config_dir), "--db", str(db), "export", "--format", "xml")
    assert bad.returncode != 0 and "jsonl or csv" in " ".join(bad.stderr.split())


def test_demo_refuses_a_config_without_demo_portals(config_dir, tmp_path):
    result = run("--config", str(config_dir), "--db", str(tmp_path / "d.db"), "demo", "--serve")
    assert result.returncode == 1
    assert "no source" in result.stderr and "demo site" in " ".join(result.stderr.split())


def test_demo_refuses_to_mail_anything_but_its_own_local_server(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text((REPO / "config" / "sources.yaml").read_text(encoding="utf-8"))
    (config / "digests.yaml").write_text(
        "smtp: {host: smtp.example.vn, port: 587, security: starttls, sender: a@example.vn}\n"
        "digests: [{name: tuan, recipients: [b@example.vn]}]\n", encoding="utf-8")
    result = run("--config", str(config), "--db", str(tmp_path / "d.db"), "demo")
    assert result.returncode == 1
    assert "local SMTP server" in " ".join(result.stderr.split())


def test_the_readme_config_examples_load(tmp_path):
    import re

    from crawler.config import load_config

    sources, digests = re.findall(r"```yaml\n(.*?)```", docs_section("config"), re.S)
    (tmp_path / "sources.yaml").write_text(sources, encoding="utf-8")
    (tmp_path / "digests.yaml").write_text(digests, encoding="utf-8")
    config = load_config(tmp_path, need_digests=True)
    assert [s.name for s in config.sources] == ["laichau", "mst"]
    assert config.digests_file.alerts[0].document_types == ["Quyết định", "Chỉ thị"]


def test_the_readme_documents_every_table_and_column(tmp_path):
    section = docs_section("schema")
    db = open_db(tmp_path / "schema.db")
    tables = [t for t in db.table_names() if not t.startswith("articles_fts_")]
    missing = [f"{t}.{c.name}" for t in tables for c in db[t].columns if f"`{c.name}`" not in section]
    missing += [t for t in tables if f"`{t}`" not in section]
    assert not missing, f"docs section 'schema' (docs/database.md) does not mention: {missing}"
