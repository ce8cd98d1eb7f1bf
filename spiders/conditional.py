"""Conditional requests (If-None-Match / If-Modified-Since, 304 Not Modified) for every request of
a crawl, as one downloader middleware.

It has the shape of Scrapy's `HttpCacheMiddleware` (scrapy/downloadermiddlewares/httpcache.py):
the middleware only wires things together, a *policy* (DXWATCH_CONDITIONAL_POLICY) decides, per
kind of request (`meta["kind"]`), when validators are sent and what a 304 means, and a *storage*
(DXWATCH_CONDITIONAL_STORAGE) reads and writes the validators, through crawler/db. Unlike a cache
it keeps no bodies: a page that did not change needs no body, since what dxwatch took from it is
stored already (its articles, or the document's text).

The kinds:

- pages (`listing`, `feed`, `sitemap`): validators from the `http_state` table, unless the URL's
  validators proved unreliable (same ETag, different content: spiders/http_state.py) or the
  last full fetch is older than DXWATCH_FULL_FETCH_HOURS (servers that keep an ETag after a
  change are caught that way). A 304 is counted `not_modified`; the page's row is left as it
  was, so the next full fetch is still due a day after the last 200.
- files (`document`): validators of the stored document (`documents.etag`, `last_modified`),
  always. A 304 is counted `documents_not_modified` and the stored document is marked checked.
- everything else (`article`, `robots`, `document_listing`): never conditional. A stored article
  is not fetched at all (crawler/frontier.py), so an article request has nothing to validate.

The callbacks only see that a response is a 304 (`not_modified(response)`) and take nothing
from it; any other response to a conditional kind carries the validators it gave in
`meta["validators"]`, which the stage that stores the page or file keeps. A dry run (`sources test`) has no database, hence no validators.
"""

from __future__ import annotations

from datetime import timedelta

from scrapy import signals
from scrapy.utils.misc import load_object

from crawler import timeutil
from crawler.db import documents as documents_db
from crawler.db import http_state as http_state_db
from crawler.runstats import source_key
from crawler.urls import canonical_url

PAGE_KINDS = frozenset({"listing", "feed", "sitemap"})
DOCUMENT = "document"


def response_validators(response) -> dict[str, str | None]:
    """The validators a response carries: `{"etag": ..., "last_modified": ...}` (None when absent)."""
    return {"etag": _header(response, "ETag"), "last_modified": _header(response, "Last-Modified")}


def not_modified(response) -> bool:
    """The answer to a conditional request was 304: the page or file is as stored."""
    return response.status == 304


def _header(response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1").strip() or None if value else None


def _as_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    return {name: value for name, value in (("If-None-Match", etag), ("If-Modified-Since", last_modified)) if value}


class DatabaseValidators:
    """Storage: validators kept in the crawl's own database (the spider's connection, `spider.db`),
    pages in `http_state`, files in `documents`. No database (a dry run): nothing is known."""

    def __init__(self, settings):
        self.db = None

    def open_spider(self, spider) -> None:
        self.db = getattr(spider, "db", None)

    def page(self, url: str) -> dict | None:
        return http_state_db.http_state_row(self.db, url) if self.db is not None else None

    def document(self, url: str) -> dict | None:
        return documents_db.stored_documents(self.db, [url]).get(url) if self.db is not None else None

    def document_not_modified(self, url: str) -> None:
        if self.db is not None:
            documents_db.mark_unchanged(self.db, url)


class ConditionalPolicy:
    """When to send validators, and what a 304 means, for each kind of request (module docstring)."""

    def __init__(self, settings):
        self.full_fetch_every = timedelta(hours=settings.getfloat("DXWATCH_FULL_FETCH_HOURS", 24.0))

    def handles(self, request) -> bool:
        """Whether a 304 is an answer this kind of request expects (others make it an HTTP error)."""
        return request.meta.get("kind") in PAGE_KINDS or request.meta.get("kind") == DOCUMENT

    def validators(self, request, storage) -> dict[str, str]:
        """The If-None-Match / If-Modified-Since headers to send with `request`, if any."""
        kind = request.meta.get("kind")
        if kind in PAGE_KINDS:
            row = storage.page(request.meta.get("state_url") or request.url)
            if not row or row["validators_unreliable"] or not row["checked_at"]:
                return {}
            if timeutil.now() - timeutil.parse_iso(row["checked_at"]) > self.full_fetch_every:
                return {}
            return _as_headers(row["etag"], row["last_modified"])
        if kind == DOCUMENT:
            known = storage.document(canonical_url(request.url))
            return _as_headers(known["etag"], known["last_modified"]) if known else {}
        return {}

    def not_modified(self, request, storage) -> str:
        """Record a 304 to `request`; returns the key it is counted under for its source."""
        if request.meta.get("kind") == DOCUMENT:
            storage.document_not_modified(canonical_url(request.url))
            return "documents_not_modified"
        return "not_modified"


class ConditionalRequestMiddleware:
    """Downloader middleware: validators on the way out, 304s recorded on the way back.

    Settings: DXWATCH_CONDITIONAL_ENABLED (default True), DXWATCH_CONDITIONAL_POLICY,
    DXWATCH_CONDITIONAL_STORAGE (class paths, built with the settings), DXWATCH_FULL_FETCH_HOURS.
    """

    def __init__(self, settings, stats):
        self.enabled = settings.getbool("DXWATCH_CONDITIONAL_ENABLED", True)
        self.policy = load_object(settings.get("DXWATCH_CONDITIONAL_POLICY", ConditionalPolicy))(settings)
        self.storage = load_object(settings.get("DXWATCH_CONDITIONAL_STORAGE", DatabaseValidators))(settings)
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        middleware = cls(crawler.settings, crawler.stats)
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        return middleware

    def spider_opened(self, spider) -> None:
        self.storage.open_spider(spider)

    def process_request(self, request):
        if not self.enabled or not self.policy.handles(request):
            return None
        statuses = request.meta.setdefault("handle_httpstatus_list", [])
        if isinstance(statuses, list) and 304 not in statuses:  # a file's request (Scrapy's media pipeline)
            statuses.append(304)                                 # already takes every status but redirects
        for name, value in self.policy.validators(request, self.storage).items():
            request.headers[name] = value
        return None

    def process_response(self, request, response):
        if not self.enabled or not self.policy.handles(request):
            return response
        if not_modified(response):
            key = self.policy.not_modified(request, self.storage)
            self.stats.inc_value(source_key(request.meta.get("source"), key))
        else:  # what the next request will send, for whoever stores it (spiders/http_state.py, the files stage)
            request.meta["validators"] = response_validators(response)
        return response
