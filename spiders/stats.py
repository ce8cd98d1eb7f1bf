"""SourceStatsCollector: Scrapy's stats with each source's keys also kept apart (STATS_CLASS).

One source's summary (`crawler.crawl.run_summary`) then costs the few keys of that source, not a
scan of a 4,000-source crawl's stats at every progress report.
"""

from __future__ import annotations

from collections import defaultdict

from scrapy.statscollectors import MemoryStatsCollector

from crawler.runstats import PREFIX


class SourceStatsCollector(MemoryStatsCollector):
    """Scrapy's stats, with the `dxwatch/<source>/...` keys also kept per source (as `dxwatch/...`)."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self._by_source: dict[str, dict] = defaultdict(dict)

    def _index(self, key: str) -> None:
        if key.startswith(PREFIX):
            name, sep, rest = key[len(PREFIX):].partition("/")
            if sep:
                self._by_source[name][PREFIX + rest] = self._stats[key]

    def set_value(self, key, value, spider=None):
        super().set_value(key, value)
        self._index(key)

    def inc_value(self, key, count=1, start=0, spider=None):
        super().inc_value(key, count, start)
        self._index(key)

    def max_value(self, key, value, spider=None):
        super().max_value(key, value)
        self._index(key)

    def min_value(self, key, value, spider=None):
        super().min_value(key, value)
        self._index(key)

    def source_stats(self, name: str) -> dict:
        """This source's numbers, keyed `dxwatch/<what>` (empty when it counted nothing)."""
        return dict(self._by_source.get(name, {}))
