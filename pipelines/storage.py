"""StoragePipeline: the last stage; saves each extracted article once and counts new vs known.

`save_article` is the one write path of an article: its row, its URLs, its facts, its story and
its place in the search index go in one transaction, or none of them do.

A write that fails (disk full, the write lock held past the busy timeout, a damaged file) is a
failed crawl, never a silently dropped article: it is counted under its kind, the spider stops
the crawl with one line, and the article stays owed in the frontier for the next crawl.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlite_utils
from scrapy.exceptions import DropItem

from crawler import timeutil
from crawler.db import articles, close, facts, fulltext, open_db, write_transaction
from crawler.items import ArticleItem
from pipelines import stories
from pipelines.kinds import kinds
from spiders.frontier import Frontier

STAT = "dxwatch/"


def save_article(db: sqlite_utils.Database, item: dict[str, Any]) -> tuple[int, bool]:
    """Store one extracted article with its facts and story, in one transaction.

    Returns `(article_id, is_new)`. An article whose canonical URL or any alias is already
    stored is not stored again; its new aliases are recorded so they are never fetched.
    """
    urls = [u for u in [item["url"], *item.get("aliases", [])] if u]
    with write_transaction(db):
        existing = articles.article_for_urls(db, urls) or stories.stored_copy(db, item)  # same body, other URL
        if existing:
            articles.add_article_urls(db, existing, urls)
            return existing, False
        seen = timeutil.iso()
        article_id = articles.insert_article(db, {**item, "first_seen": seen})
        articles.add_article_urls(db, article_id, urls)
        owner = {"article_id": article_id}
        for kind in kinds():
            facts.insert_facts(db, kind.table, kind.columns, item.get(kind.table) or [], owner, seen)
        articles.set_article_story(db, article_id, stories.assign_story(db, article_id, item, seen))
        fulltext.index_article(db, article_id, item.get("title"), item.get("text"))
    return article_id, True


class StorageFailed(DropItem):
    """The item could not be written; logged by the spider in one line, so Scrapy's drop log stays quiet."""

    def __init__(self, message: str):
        super().__init__(message, log_level="DEBUG")


class DatabasePipeline:
    """A pipeline stage that writes to the crawl's database (setting DXWATCH_DB_PATH; none in a dry run)."""

    def __init__(self, db_path: str | None, stats):
        self.db_path, self.stats = db_path, stats
        self.db = None
        self.crawler = None

    @classmethod
    def from_crawler(cls, crawler):
        pipeline = cls(crawler.settings.get("DXWATCH_DB_PATH"), crawler.stats)
        pipeline.crawler = crawler
        return pipeline

    def open_spider(self, spider=None):
        if self.db_path:
            self.db = open_db(self.db_path)

    def close_spider(self, spider=None):
        if self.db is not None:
            close(self.db)

    def write(self, item: dict, write, *args):
        """`write(*args)`; a sqlite3 error fails the crawl through the spider and drops the item here."""
        try:
            return write(*args)
        except sqlite3.Error as exc:
            spider = getattr(self.crawler, "spider", None)
            if spider is not None and hasattr(spider, "write_failed"):
                spider.write_failed(exc)
            raise StorageFailed(f"not stored: {item.get('url')}: {exc}") from None


class StoragePipeline(DatabasePipeline):
    """Writes articles with `save_article` (one transaction each), then settles their URLs in the
    frontier; other items pass on."""

    def process_item(self, item, spider=None):
        if not isinstance(item, ArticleItem) or self.db is None:
            return item
        article_id, is_new = self.write(item, save_article, self.db, item)
        self.write(item, Frontier(self.db, item["source"]).settle, [item["url"], *item.get("aliases", [])])
        item["article_id"] = article_id
        self.stats.inc_value(STAT + ("articles_new" if is_new else "articles_known"))
        return item
