"""The crawl frontier: what a source owes, kept in the database so no interruption loses it.

Every article link a listing page, feed or sitemap yields is written here as *owed* before it is
requested, and every pagination page the crawl decides to read next is written before it is
asked for. An entry leaves only when the article is stored (StoragePipeline), when its page
definitely holds no article (extraction rejected it, 404/410, robots.txt), or when its downloads
have failed for GIVE_UP_AFTER. A crawl stopped by kill -9, SIGTERM, `crawl_time_limit`, a failed
database write or `max_articles` therefore leaves behind exactly what is still to do, and the
next crawl asks for those URLs first (`PortalSpider.start`): nothing is lost, nothing already
stored is downloaded again.

Writes commit at once (crawler/db/frontier.py). A write that fails raises a database error to the
caller, which treats it as a failed crawl (see spiders/portal.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Iterable

from crawler import timeutil
from crawler.db import frontier as table

ARTICLE, LISTING = "article", "listing"
# An owed URL whose downloads have failed for this long is given up (and counted as an error).
GIVE_UP_AFTER = timedelta(days=7)


class Frontier:
    """One source's owed URLs; every method is a no-op without a database (a dry run)."""

    def __init__(self, db, source: str):
        self.db, self.source = db, source

    def owe(self, entries: Iterable[dict], found_on: str, kind: str = ARTICLE) -> None:
        """Record `entries` ({url, published?, title?, page_no?}) as owed, unless they already are."""
        if self.db is not None:
            now = timeutil.iso()
            table.add_owed(self.db, [{**e, "source": self.source, "kind": kind, "found_on": found_on,
                                      "first_seen": now} for e in entries])

    def owed(self, kind: str = ARTICLE, limit: int | None = None) -> list[dict]:
        """What this source still owes, those never tried first, then in the order they were found."""
        return table.owed(self.db, self.source, kind, limit) if self.db is not None else []

    def settle(self, urls: Iterable[str]) -> None:
        """These URLs are done: stored, or definitely not an article."""
        urls = [u for u in dict.fromkeys(urls) if u]
        if self.db is not None and urls:
            table.settle(self.db, urls)

    def failed(self, url: str, error: str) -> None:
        """A download of an owed URL failed: it stays owed, with the attempt counted."""
        if self.db is not None:
            table.count_failure(self.db, url, error[:300], timeutil.iso())

    def tidy(self) -> list[dict]:
        """Drop entries stored since (by another source or an alias), and give up on those that have
        failed for GIVE_UP_AFTER; returns the given-up entries, for the run's errors."""
        if self.db is None:
            return []
        return table.drop_stored_and_given_up(self.db, self.source, timeutil.iso(timeutil.now() - GIVE_UP_AFTER))


def owed_counts(db) -> dict[str, int]:
    """Owed article URLs per source (for `sources status`)."""
    return table.owed_counts(db, ARTICLE)
