"""Per-source numbers of a crawl in which one Scrapy engine serves many sources.

Every stage counts under `dxwatch/<source>/<what>` in the crawler's stats (the source is on
each request's meta and each item), and `spiders.stats.SourceStatsCollector` keeps those keys
indexed by source. Free of Scrapy, so the pipelines' modules import it at no cost.
"""

from __future__ import annotations

PREFIX = "dxwatch/"
FINISHED_OK = {"finished"}
INTERRUPTED = {"shutdown", "closespider_timeout", "cancelled"}


def source_key(source: str | dict | None, key: str) -> str:
    """The stats key of `key` for a source, given by name or by an item carrying `source`."""
    name = source if source is None or isinstance(source, str) else source.get("source")  # an item
    return f"{PREFIX}{name or '-'}/{key}"


def summary_from_stats(stats: dict) -> dict:
    """The numbers of one source's run, from its stats (`SourceStatsCollector.source_stats`)."""
    errors = {k.removeprefix(PREFIX + "errors/"): v for k, v in stats.items() if k.startswith(PREFIX + "errors/")}
    return {
        "pages": stats.get(PREFIX + "pages", 0),
        "listing_pages": stats.get(PREFIX + "listing_pages", 0),
        "not_modified": stats.get(PREFIX + "not_modified", 0),
        "articles_new": stats.get(PREFIX + "articles_new", 0),
        "articles_known": stats.get(PREFIX + "articles_known", 0),
        "articles_rejected": stats.get(PREFIX + "articles_rejected", 0),
        "requests": stats.get(PREFIX + "requests", 0),
        "errors": errors,
    }


def run_status(summary: dict, finish_reason: str | None) -> str:
    """ok, failed or interrupted: how the engine (or the source's own crawl) ended, and whether
    a single entry point of the source answered."""
    if finish_reason in INTERRUPTED:
        return "interrupted"
    if finish_reason not in FINISHED_OK:
        return "failed"
    if summary["listing_pages"] == 0 and summary["not_modified"] == 0 and summary["articles_new"] == 0 \
            and (summary["errors"] or summary["pages"] == 0):
        return "failed"  # not one entry point answered
    return "ok"
