"""The facts stage: every registered fact kind (pipelines/kinds/) extracted from an article.

What is stored and what is new among the stored facts is `crawler/db/facts.py`.
"""

from __future__ import annotations

from crawler.items import ArticleItem
from pipelines.kinds import kinds


def _merge_by_key(rows: list[dict]) -> list[dict]:
    """One row per key in an article; a later mention fills fields the first one lacked (date, title)."""
    merged: dict[str, dict] = {}
    for row in rows:
        first = merged.get(row["key"])
        if first is None:
            merged[row["key"]] = dict(row)
        else:
            for field, value in row.items():
                if first.get(field) in (None, "") and value not in (None, ""):
                    first[field] = value
    return list(merged.values())


def article_facts(title: str | None, text: str | None, province: str | None = None) -> dict[str, list[dict]]:
    """The facts of one article by table (every registered kind), one row per key."""
    return {kind.table: _merge_by_key(kind.extract(title, text, province)) for kind in kinds()}


class FactsPipeline:
    """Scrapy item pipeline: fills one field per fact kind (its table name) on article items."""

    @classmethod
    def from_crawler(cls, crawler):
        return cls()

    def process_item(self, item, spider=None):
        if not isinstance(item, ArticleItem):
            return item
        item.update(article_facts(item.get("title"), item.get("text"), item.get("province")))
        return item
