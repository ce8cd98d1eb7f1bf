"""PortalSpider: one Scrapy spider for all the sources of a crawl; SourceCrawl: one source's part.

Each source is read through its listing pages, feeds and sitemaps by its own `SourceCrawl`,
which holds everything that belongs to that source: its rules, its `crawl_runs` row, its HTTP
state (frontier), its errors and its counts. The spider only starts them, routes what comes back
to the right one (every request carries its source in `meta["source"]`) and shares one database
connection between them and the pipelines. Scrapy's per-host download slots keep each portal
polite; `CONCURRENT_REQUESTS` bounds the whole crawl, so memory and sockets grow with
concurrency, not with the number of sources. A source that fails (a bad preset, an exception in
a callback) is recorded on its own run and never stops the others.

Stored article URLs are checked before any request, listing pages and feeds are asked with
conditional requests, and pagination stops at the first page that holds only stored articles,
so a re-crawl costs what is new, not what is stored. What a crawl found but did not finish
(killed, timed out, over `max_articles`, a failed download or write) is owed in the persistent
frontier (crawler/frontier.py) and asked for first by the next crawl.
"""

from __future__ import annotations

import logging
from typing import Callable
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import TextResponse
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from crawler import timeutil
from crawler.config import Source
from crawler.db import close, database_errors, open_db
from crawler.db import source_templates as templates_db
from crawler.db.articles import known_urls
from crawler.db.faults import describe as describe_db_error
from crawler.filelinks import document_links
from crawler.items import ArticleItem, FileLinksItem
from crawler.runstats import source_key
from crawler.urls import canonical_url, is_same_site
from spiders import feeds as feedparse
from spiders.completion import busy_sources
from crawler.frontier import ARTICLE, LISTING, Frontier
from spiders.conditional import not_modified
from spiders.http_state import HttpState, links_hash
from spiders.links import (article_links, classify_feed_link, classify_link, next_page, not_taken, page_links,
                           rules_for, template_values)
from crawler.listing import Template, describe, learn_template
from spiders.probe import ListingProbe

MAX_SITEMAP_DEPTH = 4   # sitemap index -> index -> ...: real sites use one or two levels
MAX_SITEMAPS = 1000     # sitemaps read per crawl and source
# an article template is learned from at least this many verified articles (one could be luck)
MIN_VERIFIED = 2
DONE_CHECK_EVERY = 1.0  # seconds between two looks for sources whose crawl is done
logger = logging.getLogger("dxwatch.spider")


GONE = {"http_404", "http_410"}
# Answers that will not change by asking again: the URL leaves the frontier as not an article.
SETTLED = GONE | {"robots_disallowed", "internal_address", "offsite_redirect", "offsite_request", "offsite_port"}


def error_kind(failure) -> str:
    """A short name for what went wrong, used as the key of crawl_runs.errors."""
    from scrapy import exceptions as scrapy_errors
    from scrapy.spidermiddlewares.httperror import HttpError
    from twisted.internet import error as tx

    exc = failure.value
    if getattr(exc, "kind", None):  # spiders.guard.RefusedRequest names its own kind
        return exc.kind
    kinds = (
        ((scrapy_errors.CannotResolveHostError, tx.DNSLookupError), "dns"),
        ((scrapy_errors.DownloadTimeoutError, tx.TimeoutError, tx.TCPTimedOutError), "timeout"),
        ((scrapy_errors.DownloadConnectionRefusedError, tx.ConnectionRefusedError), "connection_refused"),
        ((scrapy_errors.ResponseDataLossError,), "data_loss"),
    )
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    for types, kind in kinds:
        if isinstance(exc, types):
            return kind
    text = str(exc).lower()
    if "maxsize" in text or "max size" in text or "larger than" in text:
        return "too_large"  # a huge page, or a decompression bomb cut at DOWNLOAD_MAXSIZE
    if isinstance(exc, scrapy_errors.IgnoreRequest):
        if "robots" in text:
            return "robots_disallowed"
        if "redirect" in text:
            return "too_many_redirects"
        return "ignored"
    if "ssl" in text or "tls" in text or "certificate" in text or "SSL" in type(exc).__name__:
        return "tls"
    if "timeout" in text or "timed out" in text:
        return "timeout"
    return type(exc).__name__.lower()


class SourceCrawl:
    """One source's crawl inside the shared spider: its callbacks, rules, state, errors and counts."""

    def __init__(self, spider: "PortalSpider", source: Source, crawl_run_id: int | None = None, db=None,
                 dry_run: bool = False, article_limit: int | None = None, template: str | None = None):
        self.spider = spider
        self.source = source
        self.rules = rules_for(source)
        self.crawl_run_id = crawl_run_id
        self.dry_run = dry_run
        # a dry run shows a few; a crawl fetches at most max_articles, newest first where dates are
        # known, and leaves the rest (say, a 60,000-URL sitemap) to the next crawls
        self.article_limit = article_limit if article_limit is not None else source.max_articles
        self.db = None if dry_run else db
        self.state = HttpState(self.db, source.name)
        self.frontier = Frontier(self.db, source.name)
        self.write_failure: str | None = None  # the first failed database write: the run failed
        self.articles_requested = 0
        self.queued: set[str] = set()
        self.owed_requested: set[str] = set()  # owed from earlier crawls, asked for in this one
        self.listings_queued: set[str] = set()
        self.sitemaps_seen: set[str] = set()
        self.sitemaps_cut = 0
        self.last_error: str | None = None
        self.report: list[dict] = []  # what `sources test` shows
        self.follow_attachments = source.follow_attachments and not dry_run  # fetched by pipelines/attachments.py
        # discovery by structure: the learned article template, and what this run verifies of it
        learned = template or templates_db.load_template(self.db, source.name)  # a dry run is given it
        self.template = Template.parse(learned) if learned else None
        self.learned = bool(learned)
        self.probe = ListingProbe(self)  # until a template is learned, a list is checked before it is followed
        self.listing_links: set[str] = set()
        self.verified: list[str] = []
        self.refused_from_listing = 0

    # ------------------------------------------------------------ helpers

    @property
    def crawler(self):
        return self.spider.crawler

    @property
    def settings(self):
        return self.spider.settings

    @property
    def logger(self):
        return self.spider.logger

    def _stat(self, key: str, count: int = 1) -> None:
        self.crawler.stats.inc_value(source_key(self.source.name, key), count)

    def _note(self, kind: str, url: str, detail: str = "") -> None:
        if self.dry_run:
            self.report.append({"kind": kind, "url": url, "detail": detail})

    def _entry_request(self, url: str, callback, **meta) -> scrapy.Request:
        """A listing, feed or sitemap request; spiders/conditional.py makes it conditional by its
        `kind` and `state_url` (the URL its http_state row is kept under)."""
        # dont_filter: a redirect loop then ends at REDIRECT_MAX_TIMES with an error we record,
        # instead of vanishing in the duplicate filter; max_pages bounds pagination cycles
        return scrapy.Request(url, callback=callback, errback=self.on_error, dont_filter=True,
                              meta={"state_url": url, **meta})

    def _sitemap_requests(self, urls: list[str], depth: int = 0):
        """Requests for the sitemaps not asked for yet in this run (an index may list itself, or loop).

        Chains are bounded: an index nested deeper than MAX_SITEMAP_DEPTH, or more than MAX_SITEMAPS
        sitemaps in one crawl (an index that mints endless new URLs), is cut and recorded as an error.
        """
        for url in urls:
            if url in self.sitemaps_seen:
                continue
            if depth > MAX_SITEMAP_DEPTH or len(self.sitemaps_seen) >= MAX_SITEMAPS:
                self.sitemaps_cut += 1
                if self.sitemaps_cut == 1:
                    self._record_error("sitemap_chain_cut", f"{url}: sitemap index chain cut (more than "
                                                            f"{MAX_SITEMAP_DEPTH} levels or {MAX_SITEMAPS} sitemaps)")
                continue
            self.sitemaps_seen.add(url)
            yield self._entry_request(url, self.parse_sitemap, kind="sitemap", sitemap_depth=depth,
                                      download_maxsize=self.settings.getint("DXWATCH_SITEMAP_MAX_BYTES"))

    def _known(self, urls: list[str]) -> set[str]:
        return known_urls(self.db, urls) if self.db is not None else set()

    def _article_requests(self, candidates: list[dict], via: str, found_on: str | None = None):
        """Requests for candidate articles not stored yet; returns (requests, how many need no fetch).

        No fetch is needed for a stored URL, one already asked for in this run (a listing and a
        feed overlap), or one that extraction rejected in a recent run (a video or photo page).
        Every URL still to fetch (now or, past `max_articles`, in a later crawl) is first written
        to the frontier as owed; when that write fails nothing is requested and the crawl stops.
        A URL owed since an earlier crawl never counts as "no fetch needed" for pagination.
        """
        lookup = [u for c in candidates for u in (c["raw"], c["url"])]
        known = self._known(lookup)
        rejected = self.state.recently_rejected(lookup)
        requests, owed, known_count, handled = [], [], 0, 0
        for c in candidates:
            if c["url"] in self.queued:
                handled += c["url"] not in self.owed_requested
                continue
            self.queued.add(c["url"])
            if c["url"] in known or c["raw"] in known:
                known_count += 1
                handled += 1
                continue
            if c["url"] in rejected:
                self._stat("rejected_skipped")
                self._note("skipped", c["url"], "rejected by extraction in a recent crawl")
                handled += 1
                continue
            owed.append(c)
            if self.articles_requested >= self.article_limit:
                self._note("article-skipped", c["url"], f"beyond {self.article_limit} articles for this run")
                continue
            self.articles_requested += 1
            self._note("article", c["url"], f"{c['reason']} (via {via})")
            aliases = [c["raw"]] if c["raw"] != c["url"] else []
            requests.append(scrapy.Request(
                c["url"], callback=self.parse_article, errback=self.on_error, priority=10,
                meta={"kind": "article", "aliases": aliases, "feed_published": c.get("published"),
                      "feed_title": c.get("title")}))
        if known_count:
            self._stat("articles_known", known_count)
        if found_on is not None and not self._write(self.frontier.owe, owed, found_on):
            return [], handled
        return requests, handled

    def _write(self, write, *args) -> bool:
        """Run one database write; a failure (disk full, lock timeout, corruption) fails the crawl."""
        try:
            write(*args)
        except database_errors() as exc:
            self.write_failed(exc)
            return False
        return True

    def write_failed(self, exc: BaseException) -> None:
        """A database write failed (here or in a storing pipeline): one line, counted, and the crawl
        stops, since every further page would fail the same way; what is owed stays owed."""
        kind, line = describe_db_error(exc)
        if self.write_failure is None:
            self.write_failure = f"{kind}: {line}"
            self._record_error(kind, line)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="database_write_failed"))
        else:
            self._stat(f"errors/{kind}")

    def item_dropped(self, item, reason: str | None = None):
        """Extraction found no article here (`reason`, e.g. `listing`): remember it, so later crawls
        do not fetch it again soon.

        Only drops before extraction filled the item count (a later stage may drop for other reasons).
        """
        if isinstance(item, ArticleItem) and not item.get("content_hash"):
            urls = {item.get("url"), *item.get("aliases", [])} - {None}
            for url in urls:
                self.state.remember_rejected(url)
            self._write(self.frontier.settle, urls)
            if self._from_listing(item):
                self.refused_from_listing += 1
            self._schedule(self.probe.resolved(urls, "listing" if reason == "listing" else "other"))

    def item_scraped(self, item):
        """An article taken from a listing that extracted with a headline, a date and text verifies its template."""
        if (isinstance(item, ArticleItem) and self._from_listing(item)
                and item.get("title") and item.get("published") and item.get("text")):
            self.verified.append(item["url"] if item["url"] in self.listing_links else
                                 next(u for u in item.get("aliases", []) if u in self.listing_links))
        if isinstance(item, ArticleItem):
            self._schedule(self.probe.resolved({item.get("url"), *item.get("aliases", [])}, "article"))

    def probe_requests(self, candidates: list[dict], via: str, found_on: str) -> list[scrapy.Request]:
        """Requests for the links a probe checks first (spiders/probe.py)."""
        return self._article_requests(candidates, via, found_on)[0]

    def _schedule(self, requests: list) -> None:
        """Requests released outside a callback (a probe settled by an item): straight to the engine."""
        for request in requests:
            if isinstance(request, scrapy.Request):
                request.meta.setdefault("source", self.source.name)
                self.crawler.engine.crawl(request)

    def _from_listing(self, item) -> bool:
        return bool({item.get("url"), *item.get("aliases", [])} & self.listing_links)

    def _same_as_last_time(self, response, content_hash: str, why: str = "same entries as last time") -> bool:
        """A 200 whose links hash equals the stored one: nothing to do (recorded as not modified)."""
        if self.dry_run or not self.state.unchanged(response.meta["state_url"], response, content_hash):
            return False
        self._stat("not_modified")
        self._note("unchanged", response.url, why)
        return True

    def _not_modified(self, response) -> bool:
        """A 304 (counted by the conditional-request middleware): nothing to read on this page."""
        if not_modified(response):
            self._note("unchanged", response.meta["state_url"], "304 Not Modified")
            return True
        return False

    # ------------------------------------------------------------ entry points

    async def start(self):
        for url in self.source.start_urls:
            yield self._entry_request(url, self.parse_listing, kind="listing", page_no=1)
        for url in self.source.feeds:
            yield self._entry_request(url, self.parse_feed, kind="feed")
        for url in self.source.sitemaps:
            if urlsplit(url).path.rstrip("/").endswith("robots.txt"):
                yield scrapy.Request(url, callback=self.parse_robots, errback=self.on_error,
                                     meta={"kind": "robots"})
            else:
                for request in self._sitemap_requests([url]):  # no `yield from` in an async generator
                    yield request
        if not self.dry_run:  # what earlier crawls owe: articles, then pagination where it stopped
            for request in self._owed_requests():
                yield request
        if not self.dry_run:  # a portal's "Văn bản" listing: the files it links
            for url in self.source.documents:
                yield scrapy.Request(url, callback=self.parse_document_listing, errback=self.on_error,
                                     meta={"kind": "document_listing"})

    def _owed_requests(self) -> list[scrapy.Request]:
        """Requests for the pagination pages earlier crawls did not get to, and for half of
        max_articles of the articles they left owed (the rest of the budget goes to the backlog once
        the entry points are read: `backlog_requests`, so fresh news never waits behind a long
        backfill); entries given up after GIVE_UP_AFTER are counted as errors."""
        try:
            given_up = self.frontier.tidy()
            listings = self.frontier.owed(LISTING)
        except database_errors() as exc:
            self.write_failed(exc)
            return []
        for entry in given_up:
            self._record_error("gave_up", f"{entry['url']}: failing since {entry['first_failed']} "
                                          f"({entry['attempts']} attempts, last: {entry['last_error']})")
        requests = self._owed_article_requests(max(1, self.article_limit // 2))
        for e in listings:
            self.listings_queued.add(e["url"])
            requests.append(self._entry_request(e["url"], self.parse_listing, kind="listing",
                                                page_no=e["page_no"] or 2))
        return requests

    def _owed_article_requests(self, budget: int) -> list[scrapy.Request]:
        """Requests for up to `budget` owed articles not asked for in this run yet."""
        try:
            rows = self.frontier.owed(ARTICLE, limit=budget + len(self.queued))
        except database_errors() as exc:
            self.write_failed(exc)
            return []
        owed = [{"url": e["url"], "raw": e["url"], "reason": "owed from an earlier crawl",
                 "published": e["published"], "title": e["title"]} for e in rows if e["url"] not in self.queued]
        owed = owed[:budget]
        self.owed_requested.update(e["url"] for e in owed)
        return self._article_requests(owed, via="frontier")[0]

    def backlog_requests(self) -> list[scrapy.Request]:
        """Called when the crawl is idle (entry points read, their articles fetched): what is left of
        max_articles goes to the owed backlog."""
        released = self.probe.flush()
        if self.dry_run or self.write_failure is not None or self.articles_requested >= self.article_limit:
            return released
        return released + self._owed_article_requests(self.article_limit - self.articles_requested)

    def parse_listing(self, response):
        """Article requests and the next page's; then this page leaves the frontier (when it was owed)."""
        out = list(self._listing_output(response))
        if not self.dry_run and self.write_failure is None:
            self._write(self.frontier.settle, [response.meta["state_url"]])
        return out

    def _listing_output(self, response):
        self._stat("pages")
        if self._not_modified(response):
            return
        if not isinstance(response, TextResponse):
            self._note("listing", response.url, "not an HTML page")
            return
        page_no = response.meta.get("page_no", 1)
        decisions, analysis = page_links(response, self.rules, self.template)
        if analysis is not None:
            self._note("main list", response.url, describe(analysis))
            if self.template is None:
                self.template = analysis.template  # the next pages of this listing share it
        candidates = [{"raw": raw, "url": url, "reason": why} for raw, url, why in article_links(decisions)]
        self.listing_links.update(c["url"] for c in candidates)
        values = response.meta.get("template_values") or template_values(response, self.rules)
        following = next_page(response, self.rules, page_no, values, {c["url"] for c in candidates})
        content_hash = links_hash([c["url"] for c in candidates] + [following[0] if following else ""])
        if self._same_as_last_time(response, content_hash, "same article links as last time"):
            return
        self._stat("listing_pages")
        if not candidates:
            self._record_error("no_article_links", f"{response.url}: listing page {page_no} held no article links")
        if self.dry_run:
            others = ", ".join(f"{n} {why}" for why, n in not_taken(decisions).items())
            self._note("not taken", response.url, f"page {page_no}: {others or 'none'}")
            for _raw, url, ok, why in decisions:
                if not ok and not why.startswith(("off the source", "attachment")):
                    self._note("link not taken", url, why)

        def follow(chosen: list[dict], instead: str | None = None, probed: int = 0):
            if instead is not None:  # the probe chose another list: its template is the listing's
                self._note("main list", response.url, f"{instead} instead: the best list did not verify")
                self.template = learn_template([c["url"] for c in chosen]) or self.template
            return self._follow(response, page_no, chosen, values, following, probed)

        if self.probe.wanted(analysis, page_no, self.learned):
            yield from self.probe.start(response, analysis, decisions, candidates, follow)
            return
        yield from follow(candidates)

    def _follow(self, response, page_no: int, candidates: list[dict], values, following, probed: int = 0):
        """The article requests of a listing page's chosen links (`probed` of them asked for
        already, spiders/probe.py), then its next page."""
        requests, handled = self._article_requests(candidates, f"listing page {page_no}", response.url)
        self._note("listing", response.url, f"page {page_no}: {len(candidates) + probed} article links, "
                                            f"{handled} already stored or seen")
        yield from requests
        if candidates and handled == len(candidates) and not probed:
            self._note("stop", response.url, "every article on this page is already stored or seen")
            return
        if following is None:
            return
        if page_no >= self.source.max_pages:
            self._note("stop", response.url, f"max_pages ({self.source.max_pages}) reached")
            return
        url, how = following
        if url in self.listings_queued:  # resumed from the frontier in this run already
            return
        self.listings_queued.add(url)
        self._note("next-page", url, how)
        if not self.dry_run and not self._write(self.frontier.owe, [{"url": url, "page_no": page_no + 1}],
                                                response.url, LISTING):
            return
        yield self._entry_request(url, self.parse_listing, kind="listing", page_no=page_no + 1,
                                  template_values=values)

    def parse_feed(self, response):
        self._stat("pages")
        if self._not_modified(response):
            return
        try:
            entries = feedparse.parse_feed(feedparse.maybe_gunzip(response.body, self.settings.getint("DOWNLOAD_MAXSIZE")))
        except feedparse.FeedError as exc:
            self._record_error("bad_feed", f"{response.url}: {exc}")
            return
        candidates = []
        for e in entries:
            url = canonical_url(response.urljoin(e.url))
            ok, why = classify_feed_link(url, self.rules)
            if ok:
                candidates.append({"raw": response.urljoin(e.url), "url": url, "reason": "feed entry",
                                   "published": e.published, "title": e.title})
        if self._same_as_last_time(response, links_hash(c["url"] for c in candidates)):
            return
        self._stat("listing_pages")
        requests, handled = self._article_requests(candidates, "feed", response.url)
        self._note("feed", response.url, f"{len(entries)} entries, {len(candidates)} on the source's sites, "
                                         f"{handled} already stored or seen")
        yield from requests

    def parse_robots(self, response):
        self._stat("pages")
        sitemaps = feedparse.robots_sitemaps(response.text if isinstance(response, TextResponse)
                                             else response.body.decode("utf-8", "replace"))
        self._note("robots", response.url, f"{len(sitemaps)} Sitemap lines")
        yield from self._sitemap_requests([url for url in sitemaps if is_same_site(url, self.rules.hosts)])

    def parse_sitemap(self, response):
        self._stat("pages")
        if self._not_modified(response):
            return
        try:
            body = feedparse.maybe_gunzip(response.body, self.settings.getint("DXWATCH_SITEMAP_MAX_BYTES"))
            pages, children = feedparse.parse_sitemap(body)
        except feedparse.FeedError as exc:
            self._record_error("bad_sitemap", f"{response.url}: {exc}")
            return
        candidates = []
        for e in pages:
            raw = response.urljoin(e.url)
            url = canonical_url(raw)
            ok, why = classify_link(url, self.rules)
            if ok:
                candidates.append({"raw": raw, "url": url, "reason": f"sitemap entry, {why}",
                                   "published": e.published, "title": e.title, "lastmod": e.lastmod})
        candidates.sort(key=lambda c: c["published"] or c["lastmod"] or "", reverse=True)  # newest first
        state_key = links_hash([c["url"] for c in candidates] + [f"{c.url} {c.lastmod}" for c in children])
        if self._same_as_last_time(response, state_key):
            return
        self._stat("listing_pages")
        requests, handled = self._article_requests(candidates, "sitemap", response.url)
        self._note("sitemap", response.url, f"{len(pages)} pages, {len(candidates)} taken as articles, "
                                            f"{handled} already stored or seen, {len(children)} child sitemaps")
        yield from requests
        for child in children:
            url = response.urljoin(child.url)
            if not is_same_site(url, self.rules.hosts):
                continue
            if child.lastmod and not self.dry_run:
                if self.state.stored_lastmod(url) == child.lastmod:
                    self._note("unchanged", url, f"lastmod {child.lastmod} as last time")
                    continue
                self.state.remember_lastmod(url, child.lastmod)
            yield from self._sitemap_requests([url], response.meta.get("sitemap_depth", 0) + 1)

    def parse_article(self, response):
        self._stat("pages")
        if not isinstance(response, TextResponse):
            self._stat("not_html")
            self._note("rejected", response.url, "not an HTML page")
            if not self.dry_run:
                self.state.remember_rejected(canonical_url(response.request.url))
                self._write(self.frontier.settle, [canonical_url(response.request.url), canonical_url(response.url)])
            return
        requested = canonical_url(response.request.url)
        url = canonical_url(response.url)
        aliases = {*response.meta.get("aliases", []), requested,
                   *(canonical_url(u) for u in response.meta.get("redirect_urls", []))}
        declared = response.css("link[rel=canonical]::attr(href)").get()
        if declared:
            declared = canonical_url(response.urljoin(declared))
            if (is_same_site(declared, self.rules.hosts) and urlsplit(declared).path not in ("", "/")
                    and declared not in {canonical_url(u) for u in self.source.start_urls}):
                aliases.add(url)
                url = declared
        aliases.discard(url)
        item = ArticleItem(
            source=self.source.name,
            level=self.source.level,
            province=self.source.province,
            url=url,
            aliases=sorted(aliases),
            html=response.text,
            feed_published=response.meta.get("feed_published"),
            feed_title=response.meta.get("feed_title"),
            crawl_run_id=self.crawl_run_id,
            fetched_at=timeutil.iso(),
        )
        if self.rules.selectors:
            item["selectors"] = dict(self.rules.selectors)
        if self.follow_attachments:
            self._link_files(item, response)
        yield item

    def parse_document_listing(self, response):
        """A `documents:` page: an item for the files it links (fetched by the files stage)."""
        self._stat("documents_listing_pages")
        item = FileLinksItem(source=self.source.name, level=self.source.level, province=self.source.province,
                             url=canonical_url(response.url), crawl_run_id=self.crawl_run_id, fetched_at=timeutil.iso())
        if self._link_files(item, response):
            yield item

    def _link_files(self, item, response) -> bool:
        """The document links of a page into its item (`file_urls`, `file_labels`); False when it has none."""
        links = document_links(response, self.rules.hosts) if isinstance(response, TextResponse) else []
        if links:
            item.update(file_urls=[url for url, _ in links], file_labels=dict(links))
        return bool(links)

    # ------------------------------------------------------------ errors and the end

    def _record_error(self, kind: str, message: str) -> None:
        self._stat(f"errors/{kind}")
        self.last_error = f"{kind}: {message}"[:500]
        self._note("error", "", self.last_error)
        self.logger.warning("%s: %s", self.source.name, self.last_error)

    def on_error(self, failure):
        request = failure.request
        kind = error_kind(failure)
        url = canonical_url(request.url) if request.meta.get("kind") == "article" else request.meta.get("state_url")
        if request.meta.get("kind") in ("article", "listing") and not self.dry_run:
            if kind in SETTLED:  # removed for good or not ours: like a page with no article, not asked again soon
                if request.meta["kind"] == "article":
                    self._write(self.state.remember_rejected, url, True)
                self._write(self.frontier.settle, [url])
            else:  # stays owed: the next crawl asks again
                self._write(self.frontier.failed, url, f"{kind}: {failure.getErrorMessage()}")
        self._record_error(kind, f"{request.url}: {failure.getErrorMessage()}")
        if request.meta.get("kind") == "article":
            self._schedule(self.probe.resolved({url}, "other"))

    def _learn(self) -> None:
        """Keep the template the verified links share; say what to configure when none verified."""
        if len(self.verified) >= MIN_VERIFIED:
            learned = learn_template(self.verified)
            if not self.dry_run:
                templates_db.save_template(self.db, self.source.name, str(learned), self.verified)
            self._note("template", str(learned), f"verified: {len(self.verified)} links of the main list "
                                                  "extracted with a headline, a date and text")
        elif self.listing_links and self.refused_from_listing and not self.verified:
            self._record_error("unverified_listing", (
                f"none of the {len(self.listing_links)} links taken from the listing pages extracted as an "
                f"article ({self.refused_from_listing} rejected by extraction): set `article_pattern` (a regex for the "
                "source's article URLs) or `selectors` in sources.yaml, or check the start_urls"))

    def closed(self, reason: str) -> None:
        """Listing pages count as caught up only after a run that finished: what they listed is then
        stored, rejected or owed in the frontier. An interrupted run leaves them to be read again."""
        if reason == "finished":
            self._write(self._learn)
        if self.db is None:
            return
        if reason == "finished" and self.write_failure is None:
            self._write(self.state.save)
        elif self.state.pending:
            self.logger.info("%s: listing state not saved (%s): the next crawl reads every page again",
                             self.source.name, self.write_failure or reason)


class PortalSpider(scrapy.Spider):
    """The crawl's one spider: a `SourceCrawl` per source, each reached through `meta["source"]`."""

    name = "portal"

    def __init__(self, sources: list[Source], runs: dict[str, int] | None = None, db_path: str | None = None,
                 dry_run: bool = False, article_limit: int | None = None, template: str | None = None,
                 on_source_done: Callable[["PortalSpider", Source], None] | None = None, **kwargs):
        super().__init__(**kwargs)
        # one connection for the spider and the pipelines that write (see DatabasePipeline)
        self.db = open_db(db_path) if db_path and not dry_run else None
        self.crawls: dict[str, SourceCrawl] = {}
        self.failures: dict[str, Exception] = {}  # sources that could not even start, and why
        self.on_source_done = on_source_done  # told of each source done while the engine runs on
        self.started: set[str] = set()   # sources whose entry points are all scheduled
        self.done: set[str] = set()      # sources whose crawl is over (their state saved)
        self._watch: task.LoopingCall | None = None
        for source in sources:
            try:
                self.crawls[source.name] = SourceCrawl(self, source, (runs or {}).get(source.name), self.db,
                                                       dry_run, article_limit, template)
            except Exception as exc:  # noqa: BLE001 - a bad rule or preset fails its own source only
                self.failures[source.name] = exc
                logger.warning("%s: cannot crawl: %s: %s", source.name, type(exc).__name__, exc)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(spider._item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(spider._callback_failed, signal=signals.spider_error)
        crawler.signals.connect(spider._request_sent, signal=signals.request_reached_downloader)
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._opened, signal=signals.spider_opened)
        return spider

    def crawl_for(self, request_or_item) -> SourceCrawl | None:
        """The source a request (by its meta) or an item (by its `source`) belongs to."""
        meta = getattr(request_or_item, "meta", None)
        name = meta.get("source") if meta is not None else request_or_item.get("source")
        return self.crawls.get(name) if name else None

    async def start(self):
        for name, crawl in list(self.crawls.items()):
            try:
                async for request in crawl.start():
                    if isinstance(request, scrapy.Request):
                        request.meta.setdefault("source", name)
                    yield request
            except Exception as exc:  # noqa: BLE001 - this source's entry points are lost, not the others'
                logger.exception("%s: starting the crawl failed", name)
                crawl._record_error("start_failed", f"{type(exc).__name__}: {exc}")
            finally:
                self.started.add(name)  # the engine scheduled its last request before asking for more

    def _opened(self, spider=None):
        if self.db is not None:
            self._watch = task.LoopingCall(self._finish_done_sources)
            self._watch.start(DONE_CHECK_EVERY, now=False)

    def _finish_done_sources(self) -> None:
        """Every second: a source with nothing left in the engine (spiders/completion.py) spends
        what is left of its max_articles on its owed backlog, or, with none, is done: its state is
        saved and its run finished now, however long the other sources take."""
        engine = self.crawler.engine
        if engine is None or not engine.running or engine.scheduler is None:
            return
        busy = busy_sources(engine)
        for name in [n for n in self.started if n not in self.done and n not in busy]:
            crawl = self.crawls[name]
            if crawl.write_failure is not None:
                continue  # the engine is stopping: the end of the crawl records it
            more = crawl.backlog_requests()
            if more:
                for request in more:
                    request.meta.setdefault("source", name)
                    engine.crawl(request)
                continue
            self._close_source(name, "finished")
            if self.on_source_done is not None:
                self.on_source_done(self, crawl.source)

    def _close_source(self, name: str, reason: str) -> None:
        self.done.add(name)
        try:
            self.crawls[name].closed(reason)
        except Exception:  # noqa: BLE001 - the other sources' state must still be saved
            logger.exception("%s: saving the crawl state failed", name)

    def _idle(self, spider=None):
        """Every source's entry points are read: each spends what is left of its max_articles on its
        owed backlog (crawler/frontier.py); the crawl ends when none has anything left to ask."""
        more = []
        for name, crawl in self.crawls.items():
            if name in self.done:
                continue
            for request in crawl.backlog_requests():
                request.meta.setdefault("source", name)
                more.append(request)
        if more:
            for request in more:
                self.crawler.engine.crawl(request)
            raise DontCloseSpider

    def _item_dropped(self, item, response=None, exception=None, spider=None):
        crawl = self.crawl_for(item)
        if crawl is not None:
            crawl.item_dropped(item, getattr(exception, "reason", None))

    def _item_scraped(self, item, response=None, spider=None):
        crawl = self.crawl_for(item)
        if crawl is not None:
            crawl.item_scraped(item)

    def _callback_failed(self, failure, response=None, spider=None):
        """An exception in a callback: recorded on its source's run (Scrapy logs the traceback)."""
        crawl = self.crawl_for(response) if response is not None else None
        if crawl is not None:
            exc = failure.value
            crawl._record_error("callback_error", f"{response.url}: {type(exc).__name__}: {exc}")

    def _request_sent(self, request, spider=None):
        crawl = self.crawl_for(request)
        if crawl is not None:
            crawl._stat("requests")

    def closed(self, reason: str) -> None:
        if self._watch is not None and self._watch.running:
            self._watch.stop()
        for name in self.crawls:
            if name not in self.done:
                self._close_source(name, reason)
        if self.db is not None:
            close(self.db)


class SourceTagMiddleware:
    """Spider middleware: a request made in a callback belongs to the source of the response it
    came from (`meta["source"]`), so every stage can find that source's `SourceCrawl`."""

    def process_spider_output(self, response, result):
        name = response.meta.get("source")
        for entry in result:
            if name and isinstance(entry, scrapy.Request):
                entry.meta.setdefault("source", name)
            yield entry

    async def process_spider_output_async(self, response, result):
        name = response.meta.get("source")
        async for entry in result:
            if name and isinstance(entry, scrapy.Request):
                entry.meta.setdefault("source", name)
            yield entry
