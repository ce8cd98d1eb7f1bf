"""Scrapy settings built from `settings:` in sources.yaml (crawler.config.CrawlSettings).

Politeness first: robots.txt, an identifying User-Agent, AutoThrottle with at most two requests
in flight per domain, retries with backoff; then limits that keep one bad portal from hurting
the rest (page size, download time, redirect loops).
"""

from __future__ import annotations

import os

from crawler import timeutil
from crawler.config import CrawlSettings

# tldextract (used by Scrapy's cookie handling) would download the public suffix list on first
# use; an empty URL list makes it use its bundled snapshot, so a crawl never leaves the machine
# for anything but the portals.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

PIPELINE_ORDER = {
    "pipelines.attachments.AttachmentsPipeline": 50,  # before extraction: the files of every page read as an article
    "pipelines.extraction.ExtractionPipeline": 100,
    "pipelines.relevance.RelevancePipeline": 200,
    "pipelines.facts.FactsPipeline": 300,
    "pipelines.stories.StoryPipeline": 400,
    "pipelines.storage.StoragePipeline": 500,
}


# The stages that write to the database: left out of a dry run (`sources test`).
WRITING_PIPELINES = {"pipelines.storage.StoragePipeline", "pipelines.attachments.AttachmentsPipeline"}


class BrokenModule(Exception):
    """A stage of the crawl cannot be imported: the crawl must not run without it (its articles
    would be stored without their facts and never processed again)."""


def item_pipelines(include_storage: bool = True) -> dict[str, int]:
    """The item pipelines in order (the writing ones left out of a dry run), each imported now, so a
    broken module stops the crawl before it starts, with one line (BrokenModule)."""
    from scrapy.utils.misc import load_object

    found = {path: order for path, order in PIPELINE_ORDER.items()
             if include_storage or path not in WRITING_PIPELINES}
    for path in found:
        try:
            load_object(path)
        except Exception as exc:  # ImportError, SyntaxError, a NameError at import time...
            raise BrokenModule(f"the crawl stage {path} cannot be loaded: {type(exc).__name__}: {exc}") from None
    return found


def scrapy_settings(crawl: CrawlSettings, dry_run: bool = False) -> dict:
    """A Scrapy settings dict for one crawl process."""
    return {
        "BOT_NAME": "dxwatch",
        "USER_AGENT": crawl.effective_user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots,
        "ROBOTSTXT_USER_AGENT": "dxwatch",
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        # one spider crawls many sources (spiders/portal.py): their requests carry their source,
        # their numbers are kept per source, the next request goes to the least busy portal
        # (Scrapy's advice for broad crawls), idle keep-alive sockets are bounded over all hosts
        "SPIDER_MIDDLEWARES": {"spiders.portal.SourceTagMiddleware": 50},
        "STATS_CLASS": "spiders.stats.SourceStatsCollector",
        "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue",
        # counts each source's queued requests: a source's run is finished once it has none left
        "SCHEDULER": "spiders.completion.SourceScheduler",
        # Scrapy starts this many asyncio tasks for every response's output (100 by default); a page
        # gives one article or a few dozen requests, and the stages are CPU work on this thread anyway
        "CONCURRENT_ITEMS": 4,
        "DOWNLOAD_HANDLERS": {"http": "spiders.download.BoundedHTTP11DownloadHandler",
                              "https": "spiders.download.BoundedHTTP11DownloadHandler"},
        # concurrency and politeness
        "CONCURRENT_REQUESTS": crawl.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.per_domain_concurrency,
        "DOWNLOAD_DELAY": crawl.download_delay,
        "DOWNLOAD_DELAY_JITTER": 0.5,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": max(crawl.download_delay, 0.0),
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(crawl.per_domain_concurrency),
        # limits
        "DOWNLOAD_TIMEOUT": crawl.download_timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "DXWATCH_DOCUMENT_MAX_BYTES": crawl.max_document_bytes,
        "MEDIA_ALLOW_REDIRECTS": True,  # the files stage: a download handler often redirects to the file
        "DXWATCH_SITEMAP_MAX_BYTES": crawl.max_sitemap_bytes,
        "DOWNLOAD_WARNSIZE": max(crawl.max_page_bytes // 2, 1),
        "REDIRECT_MAX_TIMES": 10,
        "CLOSESPIDER_TIMEOUT": crawl.crawl_time_limit,
        "DNS_TIMEOUT": min(crawl.download_timeout, 20),
        # retries: 5xx, 429 (Retry-After honoured) and network faults, with backoff
        "RETRY_ENABLED": crawl.retry_times > 0,
        "RETRY_TIMES": crawl.retry_times,
        "RETRY_GIVE_UP_LOG_LEVEL": "WARNING",
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
        "DXWATCH_RETRY_BACKOFF": crawl.retry_backoff,
        "DXWATCH_RETRY_AFTER_MAX": 120.0,
        "DOWNLOADER_MIDDLEWARES": {
            "spiders.guard.SiteGuardMiddleware": 50,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "spiders.middlewares.BackoffRetryMiddleware": 550,
            "spiders.middlewares.RetryDelayMiddleware": 560,
            # responses pass middlewares from high to low: this runs after decompression (590)
            "spiders.middlewares.CharsetRepairMiddleware": 580,
            # where Scrapy's HttpCacheMiddleware sits: after robots.txt and the guard have let a
            # request through, first to see its response
            "spiders.conditional.ConditionalRequestMiddleware": 900,
        },
        # conditional requests (spiders/conditional.py) keep validators in the database, not a disk cache
        "DXWATCH_CONDITIONAL_ENABLED": True,
        "DXWATCH_CONDITIONAL_POLICY": "spiders.conditional.ConditionalPolicy",
        "DXWATCH_CONDITIONAL_STORAGE": "spiders.conditional.DatabaseValidators",
        "DXWATCH_FULL_FETCH_HOURS": 24.0,  # ask without validators at least this often
        "HTTPCACHE_ENABLED": False,
        "COOKIES_ENABLED": True,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        # no listening sockets, no per-crawl files: extensions a crawl never uses are not even imported
        # (RemoteControl alone is an HTTP server and pulls in aiohttp)
        "EXTENSIONS": {"scrapy.extensions.remote_control.RemoteControl": None,
                       "scrapy.extensions.telnet.TelnetConsole": None,
                       "scrapy.extensions.memdebug.MemoryDebugger": None,
                       "scrapy.extensions.feedexport.FeedExporter": None,
                       "scrapy.extensions.spiderstate.SpiderState": None},
        "LOG_LEVEL": os.environ.get("DXWATCH_LOG_LEVEL", "WARNING"),
        "LOG_DATEFORMAT": timeutil.LOG_DATEFORMAT,  # with logging.Formatter.converter = timeutil.log_time (crawler/logs.py)
        "ITEM_PIPELINES": item_pipelines(include_storage=not dry_run),
    }
