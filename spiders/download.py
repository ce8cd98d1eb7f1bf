"""Scrapy's HTTP/1.1 download handler with a bounded pool of idle keep-alive connections.

Twisted's pool keeps up to two idle connections per host for 240 s. A crawl of 4,000 portals in
one process would hold thousands of idle sockets that way, far past the usual `ulimit -n 1024`.
Here the idle connections of all hosts together are capped (the oldest is closed first) and
closed sooner, so file descriptors follow the crawl's concurrency, not its number of hosts;
a portal's listing and article pages, fetched in a row, still share a connection.
"""

from __future__ import annotations

from collections import OrderedDict

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from twisted.web.client import HTTPConnectionPool

IDLE_TIMEOUT = 30.0  # seconds an unused keep-alive connection stays open


class BoundedConnectionPool(HTTPConnectionPool):
    """An HTTPConnectionPool holding at most `max_idle` idle connections over all hosts."""

    cachedConnectionTimeout = IDLE_TIMEOUT

    def __init__(self, reactor, max_idle: int):
        super().__init__(reactor, persistent=True)
        self.max_idle = max_idle
        self._idle: OrderedDict = OrderedDict()  # (key, connection) in the order they went idle

    def _putConnection(self, key, connection):
        super()._putConnection(key, connection)
        if connection not in self._timeouts:  # refused by the base class: it was not quiescent
            return
        self._idle.pop((key, connection), None)
        self._idle[(key, connection)] = None
        while len(self._idle) > self.max_idle:
            (old_key, old), _ = self._idle.popitem(last=False)
            if old in self._timeouts and old in self._connections.get(old_key, ()):  # still idle here
                self._timeouts[old].cancel()
                self._removeConnection(old_key, old)


class BoundedHTTP11DownloadHandler(HTTP11DownloadHandler):
    """HTTP11DownloadHandler whose pool is a BoundedConnectionPool (DXWATCH_MAX_IDLE_CONNECTIONS)."""

    def __init__(self, crawler):
        super().__init__(crawler)
        from twisted.internet import reactor

        pool = BoundedConnectionPool(reactor, crawler.settings.getint(
            "DXWATCH_MAX_IDLE_CONNECTIONS", crawler.settings.getint("CONCURRENT_REQUESTS")))
        pool.maxPersistentPerHost = self._pool.maxPersistentPerHost
        pool._factory = self._pool._factory
        self._pool = pool
