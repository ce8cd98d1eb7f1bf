"""One crawl: every enabled source (or the named ones) in one Scrapy CrawlerProcess.

Each source gets its own PortalSpider and its own `crawl_runs` row with the run's numbers; a
source that fails (DNS, TLS, 403, a bad preset name) is recorded and never stops the others.
Twisted's reactor cannot restart, so this runs once per process (the CLI and the scheduler's
child processes each call it once).
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
from typing import Callable, Iterable

from crawler import timeutil
from crawler.config import Config, Source
from crawler.db import open_db
from crawler.db import runs as runs_db
from crawler.db.faults import check_integrity
from crawler.db.faults import describe as describe_db_error
from crawler.items import ArticleItem
from crawler.settings import BrokenModule, scrapy_settings

logger = logging.getLogger("dxwatch.crawl")

STAT = "dxwatch/"
FINISHED_OK = {"finished"}
INTERRUPTED = {"shutdown", "closespider_timeout", "cancelled"}

ProgressCallback = Callable[[str, dict], None]


def select_sources(config: Config, names: Iterable[str] | None = None) -> list[Source]:
    """The named sources (even if disabled: naming one is asking for it), or every enabled one."""
    names = list(names or [])
    if names:
        return [config.source(n) for n in dict.fromkeys(names)]
    return [s for s in config.sources if s.enabled]


def summary_from_stats(stats: dict) -> dict:
    """The numbers of one run, from a crawler's stats."""
    errors = {k.removeprefix(STAT + "errors/"): v for k, v in stats.items() if k.startswith(STAT + "errors/")}
    return {
        "pages": stats.get(STAT + "pages", 0),
        "listing_pages": stats.get(STAT + "listing_pages", 0),
        "not_modified": stats.get(STAT + "not_modified", 0),
        "articles_new": stats.get(STAT + "articles_new", 0),
        "articles_known": stats.get(STAT + "articles_known", 0),
        "articles_rejected": stats.get(STAT + "articles_rejected", 0),
        "requests": stats.get("downloader/request_count", 0),
        "errors": errors,
    }


def run_status(summary: dict, finish_reason: str | None) -> str:
    if finish_reason in INTERRUPTED:
        return "interrupted"
    if finish_reason not in FINISHED_OK:
        return "failed"
    if summary["listing_pages"] == 0 and summary["not_modified"] == 0 and summary["articles_new"] == 0 \
            and (summary["errors"] or summary["pages"] == 0):
        return "failed"  # not one entry point answered
    return "ok"


def _close_abandoned_runs(db, config: Config) -> None:
    """Runs left 'running' by a killed process are marked interrupted: at once when that process is
    known to be gone from this machine, otherwise once they are long past any time limit."""
    limit = timeutil.ago(config.settings.crawl_time_limit * 2 + 600)
    here = socket.gethostname()
    gone = [run_id for run_id, pid, host in runs_db.running_crawl_runs(db) if host == here and not _alive(pid)]
    runs_db.interrupt_crawl_runs(db, limit, gone)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def spider_class(source: Source):
    """PortalSpider, or for a `tls_insecure` source a subclass that accepts legacy TLS.

    Scrapy never verifies certificate chains (the incomplete chains common on gov.vn do not stop
    a crawl); `tls_insecure` also lowers OpenSSL's security level, for servers that still offer
    only old ciphers or small DH keys. Each source has its own Crawler, so this stays per source.
    """
    try:
        from spiders.portal import PortalSpider
    except Exception as exc:  # a broken spider module: the crawl cannot run
        raise BrokenModule(f"the spider (spiders/portal.py) cannot be loaded: {type(exc).__name__}: {exc}") from None

    if not source.tls_insecure:
        return PortalSpider
    logger.warning("%s: tls_insecure: accepting legacy TLS ciphers and keys for this source", source.name)
    return type("InsecureTLSPortalSpider", (PortalSpider,),
                {"custom_settings": {"DOWNLOADER_CLIENT_TLS_CIPHERS": "DEFAULT:@SECLEVEL=0"}})


def _quiet_scrapy_logs() -> None:
    """A robots.txt that cannot be fetched is logged by Scrapy with a traceback; the same fault
    reaches the spider's errback and is recorded in crawl_runs, so one line is enough."""
    logging.getLogger("scrapy.downloadermiddlewares.robotstxt").setLevel(logging.CRITICAL)


def run_crawl(config: Config, db_path, source_names: Iterable[str] | None = None,
              on_progress: ProgressCallback | None = None,
              on_alerts: Callable[[str], None] | None = None) -> list[dict]:
    """Crawl the sources and return one summary dict per source (also stored in `crawl_runs`);
    `on_alerts` gets the line saying what became of the instant alerts sent after it."""
    sources = select_sources(config, source_names)
    if not sources:  # nothing to crawl: no Scrapy, no pipelines (a scheduler's idle tick stays cheap)
        return []
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    db = open_db(db_path)
    check_integrity(db)  # a damaged file stops here, before any page is fetched for nothing
    _close_abandoned_runs(db, config)
    settings = {**scrapy_settings(config.settings), "DXWATCH_DB_PATH": str(db_path)}
    process = CrawlerProcess(settings)
    _quiet_scrapy_logs()
    runs: list[dict] = []
    for source in sources:
        run_id = runs_db.start_crawl_run(db, source.name, timeutil.iso(), os.getpid(), socket.gethostname())
        run = {"source": source.name, "run_id": run_id, "crawler": None, "failure": None}
        runs.append(run)
        crawler = process.create_crawler(spider_class(source))
        run["crawler"] = crawler
        if on_progress is not None:
            def report(*_args, _name=source.name, _crawler=crawler, **_kw):
                on_progress(_name, summary_from_stats(_crawler.stats.get_stats()))

            for signal in (signals.response_received, signals.item_scraped, signals.item_dropped):
                crawler.signals.connect(report, signal=signal, weak=False)
        deferred = process.crawl(crawler, source=source, crawl_run_id=run_id, db_path=str(db_path))
        deferred.addErrback(lambda failure, _run=run: _run.update(failure=failure.value))
    if sources:
        process.start()

    results = []
    for run in runs:
        crawler = run["crawler"]
        stats = crawler.stats.get_stats() if crawler is not None and crawler.stats else {}
        summary = summary_from_stats(stats)
        spider = getattr(crawler, "spider", None)
        last_error = getattr(spider, "write_failure", None) or getattr(spider, "last_error", None)
        if run["failure"] is not None:
            failure = run["failure"]
            last_error = f"{type(failure).__name__}: {failure}"
            summary["errors"] = {**summary["errors"], "crawler": 1}
            status = "failed"
        else:
            status = run_status(summary, stats.get("finish_reason"))
        try:
            runs_db.finish_crawl_run(db, run["run_id"], timeutil.iso(), status, summary, last_error)
        except sqlite3.Error as exc:  # the same full disk or held lock: say so, the next crawl marks it interrupted
            status, last_error = "failed", last_error or describe_db_error(exc)[1]
            logger.error("%s: the run's outcome could not be recorded: %s", run["source"], describe_db_error(exc)[1])
        results.append({"source": run["source"], "run_id": run["run_id"], "status": status,
                        "last_error": last_error, **summary})
        logger.info("%s: %s, %d pages, %d new, %d known, %d rejected", run["source"], status,
                    summary["pages"], summary["articles_new"], summary["articles_known"],
                    summary["articles_rejected"])
    line = run_alerts_after_crawl(config, db)
    if line and on_alerts is not None:
        on_alerts(line)
    return results


def run_alerts_after_crawl(config: Config, db) -> str | None:
    """Instant alerts for what this crawl stored (when digests.yaml has alert rules); returns the line
    the crawl summary shows, e.g. "alerts: 1 pending, SMTP unreachable (...)", also logged."""
    from digests.alerts import run_alerts

    if config.digests_file is None or not config.digests_file.alerts:
        return None
    if config.smtp is None:
        line = "alerts: digests.yaml has alert rules but no smtp: block; no alerts sent"
        logger.warning(line)
        return line
    try:
        results = run_alerts(config, db)
    except sqlite3.Error as exc:
        line = f"alerts: not checked: {describe_db_error(exc)[1]}"
        logger.error(line)
        return line
    totals = {k: sum(r.get(k, 0) for r in results.values()) for k in ("sent", "failed", "pending", "unconfirmed")}
    error = next((r["error"] for r in results.values() if r.get("error")), None)
    counts = ", ".join(f"{n} {k}" for k, n in totals.items() if n) or "nothing new"
    line = f"alerts: {counts}" + (f", SMTP unreachable ({error})" if error else "")
    (logger.warning if totals["failed"] or totals["pending"] or totals["unconfirmed"] else logger.info)(line)
    return line


def dry_run(config: Config, source_name: str, article_limit: int = 5, template: str | None = None) -> dict:
    """Crawl one source without touching the database: what was read, what was taken and why.

    Returns `{"report": [...], "articles": [...], "rejected": [...], "summary": {...}}`; the first
    `article_limit` article pages are fetched and extracted, the rest only listed. `template` is the
    source's learned article template (read from the database by the caller), used as a crawl would.
    """
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    source = config.source(source_name)
    process = CrawlerProcess(scrapy_settings(config.settings, dry_run=True))
    _quiet_scrapy_logs()
    crawler = process.create_crawler(spider_class(source))
    articles: list[dict] = []
    rejected: list[dict] = []

    def scraped(item, **_kw):
        if isinstance(item, ArticleItem):
            articles.append({k: item.get(k) for k in ("url", "title", "published", "author", "relevant",
                                                      "keywords") if k in item or k == "url"})

    def dropped(item, exception, **_kw):
        rejected.append({"url": item.get("url"), "reason": str(exception)})

    crawler.signals.connect(scraped, signal=signals.item_scraped, weak=False)
    crawler.signals.connect(dropped, signal=signals.item_dropped, weak=False)
    failures: list = []
    process.crawl(crawler, source=source, dry_run=True, article_limit=article_limit, template=template).addErrback(
        lambda failure: failures.append(failure.value))
    process.start()
    if failures:
        raise failures[0]
    stats = crawler.stats.get_stats()
    return {"report": crawler.spider.report, "articles": articles, "rejected": rejected,
            "summary": summary_from_stats(stats)}
