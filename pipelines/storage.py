"""StoragePipeline: the last stage; saves each extracted article once and counts new vs known.

`save_article` is the one write path of an article: its row, its URLs, its facts, its story and
its place in the search index go in one transaction, or none of them do.

A write that fails (disk full, the write lock held past the busy timeout, a damaged file) is a
failed crawl, never a silently dropped article: it is counted under its kind, the spider stops
the crawl with one line, and the article stays owed in the frontier for the next crawl.
"""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DropItem

from crawler import timeutil
from crawler.db import articles, close, database_errors, facts, fulltext, open_db, write_transaction
from crawler.items import ArticleItem
from crawler.runstats import source_key
from pipelines import stories
from pipelines.kinds import kinds
from crawler.frontier import Frontier


def save_article(db, item: dict[str, Any]) -> tuple[int, bool]:
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
    """A pipeline stage that writes to the crawl's database (setting DXWATCH_DB_PATH; none in a dry run).

    It uses the spider's connection when the spider has one (`PortalSpider.db`): one connection,
    one writer per crawl process, however many sources it crawls.
    """

    def __init__(self, db_path: str | None, stats, crawler=None):
        self.db_path, self.stats, self.crawler = db_path, stats, crawler
        self.db = None
        self._own_db = False

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("DXWATCH_DB_PATH"), crawler.stats, crawler)

    def open_spider(self, spider=None):
        if not self.db_path:
            return
        spider = spider or getattr(self.crawler, "spider", None)
        self.db = getattr(spider, "db", None)
        if self.db is None:
            self.db, self._own_db = open_db(self.db_path), True

    def close_spider(self, spider=None):
        if self.db is not None and self._own_db:
            close(self.db)

    def write(self, item: dict, write, *args):
        """`write(*args)`; a database error fails the crawl through the spider and drops the item here."""
        try:
            return write(*args)
        except database_errors() as exc:
            spider = getattr(self.crawler, "spider", None)
            owner = spider.crawl_for(item) if hasattr(spider, "crawl_for") else spider  # the item's source
            if owner is not None and hasattr(owner, "write_failed"):
                owner.write_failed(exc)
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
        self.stats.inc_value(source_key(item, "articles_new" if is_new else "articles_known"))
        return item
