"""StoragePipeline: the last stage; saves each extracted article once and counts new vs known."""

from __future__ import annotations

from crawler.store import open_db, save_article

STAT = "dxwatch/"


class DatabasePipeline:
    """A pipeline stage that writes to the crawl's database (setting DXWATCH_DB_PATH; none in a dry run)."""

    def __init__(self, db_path: str | None, stats):
        self.db_path, self.stats = db_path, stats
        self.db = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("DXWATCH_DB_PATH"), crawler.stats)

    def open_spider(self, spider=None):
        if self.db_path:
            self.db = open_db(self.db_path)

    def close_spider(self, spider=None):
        if self.db is not None:
            self.db.conn.close()


class StoragePipeline(DatabasePipeline):
    """Writes articles with `crawler.store.save_article` (one transaction each); other items pass on."""

    def process_item(self, item, spider=None):
        if item.get("item_type", "article") != "article" or self.db is None:
            return item
        article_id, is_new = save_article(self.db, item)
        item["article_id"] = article_id
        self.stats.inc_value(STAT + ("articles_new" if is_new else "articles_known"))
        return item
