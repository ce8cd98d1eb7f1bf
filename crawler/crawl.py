"""One crawl: every enabled source (or the named ones) in one Scrapy engine.

One PortalSpider crawls all the sources (spiders/portal.py); each source keeps its own
`crawl_runs` row with its own numbers, and a source that fails (DNS, TLS, 403, a bad preset
name) is recorded and never stops the others. Twisted's reactor cannot restart, so an engine
runs once per process (the CLI and the scheduler's child processes each call it once).
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Callable, Iterable

from crawler import timeutil
from crawler.config import Config, Source
from crawler.db import close, database_errors, open_db
from crawler.db import runs as runs_db
from crawler.db.faults import check_integrity
from crawler.db.faults import describe as describe_db_error
from crawler.items import ArticleItem
from crawler.runstats import run_status, summary_from_stats
from crawler.settings import BrokenModule, scrapy_settings

logger = logging.getLogger("dxwatch.crawl")

ProgressCallback = Callable[[str, dict], None]


def select_sources(config: Config, names: Iterable[str] | None = None) -> list[Source]:
    """The named sources (even if disabled: naming one is asking for it), or every enabled one."""
    names = list(names or [])
    if names:
        return [config.source(n) for n in dict.fromkeys(names)]
    return [s for s in config.sources if s.enabled]


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


def spider_class(tls_insecure: bool = False):
    """PortalSpider, or for `tls_insecure` sources a subclass that accepts legacy TLS.

    Scrapy never verifies certificate chains (the incomplete chains common on gov.vn do not stop
    a crawl); `tls_insecure` also lowers OpenSSL's security level, for servers that still offer
    only old ciphers or small DH keys. The cipher setting is the crawler's, so those sources get
    a crawler of their own in the same process.
    """
    try:
        from spiders.portal import PortalSpider
    except Exception as exc:  # a broken spider module: the crawl cannot run
        raise BrokenModule(f"the spider (spiders/portal.py) cannot be loaded: {type(exc).__name__}: {exc}") from None

    if not tls_insecure:
        return PortalSpider
    return type("InsecureTLSPortalSpider", (PortalSpider,),
                {"custom_settings": {"DOWNLOADER_CLIENT_TLS_CIPHERS": "DEFAULT:@SECLEVEL=0"}})


def _quiet_scrapy_logs() -> None:
    """A robots.txt that cannot be fetched is logged by Scrapy with a traceback; the same fault
    reaches the spider's errback and is recorded in crawl_runs, so one line is enough."""
    logging.getLogger("scrapy.downloadermiddlewares.robotstxt").setLevel(logging.CRITICAL)


def run_crawl(config: Config, db_path, source_names: Iterable[str] | None = None,
              on_progress: ProgressCallback | None = None, on_alerts: Callable[[str], None] | None = None,
              processes: int | None = None, alerts: bool = True) -> list[dict]:
    """Crawl the sources and return one summary dict per source (also stored in `crawl_runs`);
    `on_alerts` gets the line saying what became of the instant alerts sent after it (unless
    `alerts` is off: the task queue checks them in a job of their own); `processes` (default:
    `settings.crawl_processes`) is how many engines share the sources."""
    sources = select_sources(config, source_names)
    if not sources:  # nothing to crawl: no Scrapy, no pipelines (a scheduler's idle tick stays cheap)
        return []
    from crawler import workers

    db = open_db(db_path)
    check_integrity(db)  # a damaged file stops here, before any page is fetched for nothing
    _close_abandoned_runs(db, config)
    run_ids = runs_db.start_crawl_runs(db, [s.name for s in sources], timeutil.iso(), os.getpid(),
                                       socket.gethostname())
    close(db)  # not carried into forked workers
    count = workers.process_count(processes or config.settings.crawl_processes, sources)
    shards = workers.shard_sources(sources, count)
    if len(shards) == 1:
        results = crawl_sources(config, db_path, sources, run_ids, on_progress)
    else:
        workers.preload()
        results, lost = workers.crawl_in_workers(config, db_path, shards, run_ids, on_progress, crawl_sources)
        results += _finish_lost_runs(db_path, lost, run_ids)
        order = {source.name: i for i, source in enumerate(sources)}
        results.sort(key=lambda r: order[r["source"]])
    if not alerts:
        return results
    db = open_db(db_path)
    try:
        line = run_alerts_after_crawl(config, db)
    finally:
        close(db)
    if line and on_alerts is not None:
        on_alerts(line)
    return results


def _finish_lost_runs(db_path, lost: dict[str, str], run_ids: dict[str, int]) -> list[dict]:
    """Runs of a worker that died (killed, out of memory) without reporting: failed, with the reason."""
    results = []
    db = open_db(db_path)
    try:
        for name, why in lost.items():
            summary = {**summary_from_stats({}), "errors": {"crawler": 1}}
            results.append({"source": name, "run_id": run_ids[name], "status": "failed", "last_error": why,
                            **summary})
        runs_db.finish_crawl_runs(db, timeutil.iso(), results)
    finally:
        close(db)
    return results


def crawl_sources(config: Config, db_path, sources: list[Source], run_ids: dict[str, int],
                  on_progress: ProgressCallback | None = None) -> list[dict]:
    """One Scrapy engine for all these sources (plus one for `tls_insecure` ones, if any); each
    source's run row is finished with its own numbers and status as soon as that source's crawl is
    done (spiders/completion.py), the others when the engine ends. Once per process (the reactor)."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    settings = {**scrapy_settings(config.settings), "DXWATCH_DB_PATH": str(db_path)}
    process = CrawlerProcess(settings)
    _quiet_scrapy_logs()
    engines = []
    finished: dict[str, dict] = {}  # the sources whose runs were finished while the engine ran
    for insecure in (False, True):
        group = [s for s in sources if s.tls_insecure == insecure]
        if not group:
            continue
        if insecure:
            logger.warning("tls_insecure: accepting legacy TLS ciphers and keys for %s",
                           ", ".join(s.name for s in group))
        crawler = process.create_crawler(spider_class(insecure))
        engine = {"crawler": crawler, "sources": group, "failure": None}
        engines.append(engine)
        if on_progress is not None:
            _report_progress(crawler, on_progress, signals)
        deferred = process.crawl(crawler, sources=group, runs=run_ids, db_path=str(db_path),
                                 on_source_done=lambda spider, source, _c=crawler: _finish_early(
                                     _c, spider, source, run_ids, finished))
        deferred.addErrback(lambda failure, _engine=engine: _engine.update(failure=failure.value))
    process.start()

    results, left = [], []
    for engine in engines:
        crawler = engine["crawler"]
        spider = getattr(crawler, "spider", None)
        finish_reason = crawler.stats.get_value("finish_reason") if crawler.stats else None
        write_failure = next((c.write_failure for c in getattr(spider, "crawls", {}).values() if c.write_failure),
                             None)
        for source in engine["sources"]:
            if source.name in finished:
                results.append(finished[source.name])
                continue
            result = _source_result(crawler, spider, source, run_ids[source.name], finish_reason,
                                    engine["failure"], write_failure)
            results.append(result)
            left.append(result)
    try:
        db = open_db(db_path)
        try:
            runs_db.finish_crawl_runs(db, timeutil.iso(), left)
        finally:
            close(db)
    except database_errors() as exc:  # a full disk or a held lock: say so; the next crawl marks the runs interrupted
        line = describe_db_error(exc)[1]
        logger.error("the runs' outcomes could not be recorded: %s", line)
        for r in left:
            r["status"], r["last_error"] = "failed", r["last_error"] or line
    for r in left:
        _log_result(r)
    return results


def _source_result(crawler, spider, source: Source, run_id: int, finish_reason: str | None,
                   engine_failure: BaseException | None = None, write_failure: str | None = None) -> dict:
    """One source's run: its numbers from the stats, its status and last error."""
    stats = crawler.stats.source_stats(source.name) if crawler.stats else {}
    summary = summary_from_stats(stats)
    crawl = spider.crawls.get(source.name) if spider is not None else None
    failure = engine_failure or (spider.failures.get(source.name) if spider is not None else None)
    if failure is not None:
        last_error = f"{type(failure).__name__}: {failure}"
        summary["errors"] = {**summary["errors"], "crawler": 1}
        status = "failed"
    else:
        # a failed database write stops the whole engine: every source of it says why
        last_error = getattr(crawl, "write_failure", None) or getattr(crawl, "last_error", None) \
            or (write_failure if finish_reason == "database_write_failed" else None)
        status = run_status(summary, finish_reason)
    return {"source": source.name, "run_id": run_id, "status": status, "last_error": last_error, **summary}


def _finish_early(crawler, spider, source: Source, run_ids: dict[str, int], finished: dict[str, dict]) -> None:
    """A source whose crawl is done while the engine runs on: its run row is finished now (so
    `sources status` and the scheduler see it), on the spider's connection. When that write fails
    the row is left to the end of the engine, which tries again."""
    result = _source_result(crawler, spider, source, run_ids[source.name], "finished")
    try:
        runs_db.finish_crawl_runs(spider.db, timeutil.iso(), [result])
    except database_errors() as exc:
        logger.warning("%s: the run's outcome could not be recorded yet: %s", source.name, describe_db_error(exc)[1])
        return
    finished[source.name] = result
    _log_result(result)


def _log_result(r: dict) -> None:
    logger.info("%s: %s, %d pages, %d new, %d known, %d rejected", r["source"], r["status"],
                r["pages"], r["articles_new"], r["articles_known"], r["articles_rejected"])


def _report_progress(crawler, on_progress: ProgressCallback, signals) -> None:
    """Call `on_progress(source, summary)` as that source's responses and items come in."""
    def report(*_args, response=None, item=None, **_kw):
        name = item.get("source") if item is not None else (response.meta.get("source") if response is not None
                                                             else None)
        if name:
            on_progress(name, summary_from_stats(crawler.stats.source_stats(name)))

    for signal in (signals.response_received, signals.item_scraped, signals.item_dropped):
        crawler.signals.connect(report, signal=signal, weak=False)


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
    except database_errors() as exc:
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
    crawler = process.create_crawler(spider_class(source.tls_insecure))
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
    process.crawl(crawler, sources=[source], dry_run=True, article_limit=article_limit, template=template).addErrback(
        lambda failure: failures.append(failure.value))
    process.start()
    if failures:
        raise failures[0]
    spider = crawler.spider
    if source.name in spider.failures:
        raise spider.failures[source.name]
    return {"report": spider.crawls[source.name].report, "articles": articles, "rejected": rejected,
            "summary": summary_from_stats(crawler.stats.source_stats(source.name))}
