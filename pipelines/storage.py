"""StoragePipeline: the last stage; saves each extracted article once and counts new vs known.

`save_article` is the one write path of an article: its row, its URLs, its facts, its story and
its place in the search index go in one transaction, or none of them do.

A write that fails (disk full, the write lock held past the busy timeout, a damaged file) is a
failed crawl, never a silently dropped article: it is counted under its kind, the spider stops
the crawl with one line, and the article stays owed in the frontier for the next crawl.
"""

from __future__ import annotations

import asyncio
from typing import Any

from scrapy.exceptions import DropItem

from crawler import timeutil
from crawler.db import articles, close, database_errors, facts, fulltext, key_batches, open_db, write_retrying
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
    return write_retrying(db, lambda: store_article(db, item), article_keys(item))


def article_urls(item: dict[str, Any]) -> list[str]:
    """The URLs an article is known by: its canonical URL and its aliases."""
    return [u for u in [item["url"], *item.get("aliases", [])] if u]


def article_keys(item: dict[str, Any]) -> list[str | int]:
    """What `store_article` checks before it writes: whether one of its URLs is stored, and what
    story matching reads (stories.story_keys). Writers of articles that share none of these cannot
    change each other's outcome, so on PostgreSQL they store at once (crawler/db/connection.py)."""
    return [*(f"url {u}" for u in article_urls(item)), *stories.story_keys(item)]


def store_article(db, item: dict[str, Any]) -> tuple[int, bool]:
    """The writes of `save_article`, inside the caller's transaction (the crawl stores a batch of
    articles in one)."""
    urls = article_urls(item)
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
            self._failed_write(item, exc)
            raise StorageFailed(f"not stored: {item.get('url')}: {exc}") from None

    def _failed_write(self, item: dict, exc: BaseException) -> None:
        """Tell the item's source that a write failed (its crawl stops; what it owes stays owed)."""
        spider = getattr(self.crawler, "spider", None)
        owner = spider.crawl_for(item) if hasattr(spider, "crawl_for") else spider  # the item's source
        if owner is not None and hasattr(owner, "write_failed"):
            owner.write_failed(exc)


class StoragePipeline(DatabasePipeline):
    """Writes articles in batches: those that reach this stage within BATCH_WAIT of each other (at
    most BATCH_MAX) are stored in one transaction, each whole (`store_article`), then their URLs
    leave the frontier; other items pass on.

    A commit costs more than the writes of an article (the WAL is written at each), so a crawl
    storing dozens of articles a second commits a few times a second instead of twice per
    article. On PostgreSQL a transaction holds a lock per key it checks (`article_keys`), so a
    batch is cut into transactions of a bounded number of keys (`key_batches`). What a batch costs
    when it goes wrong is unchanged: a failed write fails the crawl and every article of the batch
    stays owed (a kill -9 loses at most the uncommitted batch, which the next crawl fetches again);
    an article that raises anything else is stored on its own, so it fails alone, as it would
    without batches.
    """

    BATCH_MAX = 50
    BATCH_WAIT = 0.25  # seconds

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pending: list[tuple[ArticleItem, asyncio.Future]] = []
        self.timer: asyncio.TimerHandle | None = None

    async def process_item(self, item, spider=None):
        if not isinstance(item, ArticleItem) or self.db is None:
            return item
        loop = asyncio.get_running_loop()
        stored = loop.create_future()
        self.pending.append((item, stored))
        if len(self.pending) >= self.BATCH_MAX:
            self.flush()
        elif self.timer is None:
            self.timer = loop.call_later(self.BATCH_WAIT, self.flush)
        article_id, is_new = await stored
        item["article_id"] = article_id
        self.stats.inc_value(source_key(item, "articles_new" if is_new else "articles_known"))
        return item

    def flush(self) -> None:
        """Store the pending articles and answer each waiting item (its result or its failure)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            results = self.write_batch([item for item, _ in batch])
        except database_errors() as exc:
            results = [StorageFailed(f"not stored: {item.get('url')}: {exc}") for item, _ in batch]
        for (_item, stored), result in zip(batch, results):
            if stored.done():  # its crawl was cancelled meanwhile
                continue
            if isinstance(result, BaseException):
                stored.set_exception(result)
            else:
                stored.set_result(result)

    def write_batch(self, items: list[ArticleItem]) -> list:
        """Each item's `(article_id, is_new)`, or the exception that kept it out of the database; a
        database error fails them all (and the crawl, through each item's source). The items go in
        as few transactions as the database allows (`key_batches`: one on SQLite)."""
        results: list = []
        try:
            for batch, keys in key_batches(self.db, items, article_keys):
                try:
                    results += write_retrying(self.db, lambda: [store_article(self.db, item) for item in batch], keys)
                except database_errors():
                    raise
                except Exception:  # noqa: BLE001 - not the database: one by one, so only the article at fault fails
                    results += [self._store_alone(item) for item in batch]
            stored = [item for item, result in zip(items, results) if not isinstance(result, BaseException)]
            for source in dict.fromkeys(item["source"] for item in stored):
                Frontier(self.db, source).settle([u for item in stored if item["source"] == source
                                                  for u in article_urls(item)])
        except database_errors() as exc:
            for item in items:  # the crawl stops with the first; each source counts it
                self._failed_write(item, exc)
            raise
        return results

    def _store_alone(self, item: ArticleItem):
        try:
            return save_article(self.db, item)
        except database_errors():
            raise
        except Exception as exc:  # noqa: BLE001 - handed to Scrapy as this item's error
            return exc

    def close_spider(self, spider=None):
        self.flush()
        super().close_spider(spider)
