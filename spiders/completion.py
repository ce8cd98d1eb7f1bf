"""When one source of a shared engine is done, while the others go on.

One engine crawls many sources (spiders/portal.py) and ends only when the last one is done; a
source's run should be finished as soon as its own crawl is, so `sources status` and the
scheduler show a fast portal's result while a slow one is still being read. A source is done
when nothing of it is left anywhere in the engine:

- waiting in the scheduler (`SourceScheduler` counts each source's queued requests);
- in the downloader (`downloader.active`: from the first downloader middleware, robots.txt and
  retry pauses included, to the response);
- in the scraper (`scraper.slot.active`: its callback or errback and the item pipelines of
  everything it yielded: Scrapy releases a response only once its items are processed).

A retry or a redirect is scheduled before the request it replaces leaves the downloader, and a
callback's requests are scheduled before its response leaves the scraper, so a source never
looks done between two of its steps. Reading these sets is cheap (they hold what is in flight,
bounded by CONCURRENT_REQUESTS and CONCURRENT_ITEMS), so the spider checks every second.
"""

from __future__ import annotations

from collections import Counter

from scrapy.core.scheduler import Scheduler


class SourceScheduler(Scheduler):
    """Scrapy's scheduler, also counting the requests each source (`meta["source"]`) has queued."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.queued_by_source: Counter[str] = Counter()

    def enqueue_request(self, request) -> bool:
        added = super().enqueue_request(request)
        if added:
            self.queued_by_source[request.meta.get("source")] += 1
        return added

    def next_request(self):
        request = super().next_request()
        if request is not None:
            name = request.meta.get("source")
            self.queued_by_source[name] -= 1
            if self.queued_by_source[name] <= 0:
                del self.queued_by_source[name]
        return request


def busy_sources(engine) -> set[str]:
    """The sources with a request queued, downloading, or being processed (callback and items)."""
    busy = set(getattr(engine.scheduler, "queued_by_source", ()))
    busy.update(request.meta.get("source") for request in engine.downloader.active)
    scraper_slot = engine.scraper.slot
    if scraper_slot is not None:
        busy.update(request.meta.get("source") for request in scraper_slot.active)
    return busy
