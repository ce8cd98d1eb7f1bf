"""`dxwatch export`: every stored article with its facts, in the shape documented in the README.

Each fact kind (pipelines/kinds/) adds a field named after its table (`figures`, `directives`,
`instructions`): a public interface that scripts read, so the names stay as they are even where
the code names a kind differently ("references" are exported as `directives`).
"""

from __future__ import annotations

import csv
import json
from typing import IO, Any, Iterator


from crawler.db import articles
from crawler.db.facts import facts_of_article
from pipelines.kinds import tables


def iter_export(db) -> Iterator[dict[str, Any]]:
    """Every stored article in the export shape documented in the README."""
    for row in articles.iter_articles(db):
        facts = facts_of_article(db, row["id"], tables())
        yield {
            "id": row["id"],
            "url": row["url"],
            "source": row["source"],
            "level": row["level"],
            "province": row["province"],
            "title": row["title"],
            "published": row["published"],
            "author": row["author"],
            "credit": row["credit"],
            "text": row["text"],
            "relevant": bool(row["relevant"]),
            "keywords": json.loads(row["keywords"] or "[]"),
            "story": row["story_id"],
            "first_seen": row["first_seen"],
            **facts,
        }


FORMATS = ("jsonl", "csv")


def write_export(db, handle: IO[str], format: str = "jsonl") -> None:
    """Write every stored article to `handle`: one JSON object per line, or CSV with list and dict
    fields (figures, directives, keywords...) as JSON text in their cell and formulas neutralised."""
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}")
    rows = iter_export(db)
    if format == "jsonl":
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = None
    for row in rows:
        flat = {k: csv_cell(v) for k, v in row.items()}
        if writer is None:
            writer = csv.DictWriter(handle, fieldnames=list(flat))
            writer.writeheader()
        writer.writerow(flat)


# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: portal text that would start a formula (`=HYPERLINK(...)`) is
    prefixed with an apostrophe, so a spreadsheet shows it as text instead of running it."""
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
