"""Per-source numbers of a crawl in which one Scrapy engine serves many sources.

Every stage counts under `dxwatch/<source>/<what>` in the crawler's stats (the source is on
each request's meta and each item), and `spiders.stats.SourceStatsCollector` keeps those keys
indexed by source. Free of Scrapy, so the pipelines' modules import it at no cost.
"""

from __future__ import annotations

PREFIX = "dxwatch/"


def source_key(source: str | dict | None, key: str) -> str:
    """The stats key of `key` for a source, given by name or by an item carrying `source`."""
    name = source if source is None or isinstance(source, str) else source.get("source")  # an item
    return f"{PREFIX}{name or '-'}/{key}"
