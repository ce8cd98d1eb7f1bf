"""The site guard looks names up off the event loop, and still refuses a name that leads inside.

`getaddrinfo` blocks; on the reactor's thread one slow name server would stall every source of
the crawl. The guard runs here on a real asyncio loop (the crawl's reactor is asyncio's), with a
name table standing in for the name server only where a public name is needed (no traffic may
leave loopback); loopback names and literals go through the real resolver."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import pytest
from scrapy import Request

from crawler.config import Source
from spiders.guard import RefusedRequest, SiteGuardMiddleware
from spiders.links import LinkRules, rules_for


@dataclass
class Crawl:
    """What the guard reads of a source's crawl (spiders.portal.SourceCrawl): its source and rules."""

    source: Source
    rules: LinkRules


def crawl_of(url: str) -> Crawl:
    source = Source(name="t", title="T", level="national", start_urls=[url])
    return Crawl(source, rules_for(source))


class SlowNameServer(SiteGuardMiddleware):
    """Answers from a table, but only once the event loop has run on while the lookup waits."""

    TABLE = {"thanhhoa.gov.vn": ["8.8.4.4"], "cds.thanhhoa.gov.vn": ["10.0.0.5"], "tin.thanhhoa.gov.vn": ["8.8.8.8"]}

    def __init__(self):
        super().__init__(crawler=None)
        self.loop_ran = threading.Event()
        self.asked: list[str] = []
        self.threads: set[str] = set()

    def resolver(self, host: str) -> list[str]:
        self.asked.append(host)
        self.threads.add(threading.current_thread().name)
        if not self.loop_ran.wait(timeout=10):
            raise AssertionError("the event loop was blocked while a name was looked up")
        return self.TABLE.get(host, [])


def test_names_are_resolved_off_the_loop_and_a_name_leading_inside_is_refused():
    guard = SlowNameServer()
    crawl = crawl_of("https://thanhhoa.gov.vn/tin-tuc")

    async def main():
        async def tick():  # runs only if the loop is free while the guard waits for its lookup
            await asyncio.sleep(0.05)
            guard.loop_ran.set()

        ticker = asyncio.create_task(tick())
        assert await guard.process_request(Request("https://thanhhoa.gov.vn/tin-tuc/a.html"), crawl) is None
        with pytest.raises(RefusedRequest) as refused:
            await guard.process_request(Request("https://cds.thanhhoa.gov.vn/quan-tri"), crawl)
        assert refused.value.kind == "internal_address"
        # five requests for one new name at once: one lookup between them
        answers = await asyncio.gather(*(guard.process_request(Request(f"https://tin.thanhhoa.gov.vn/{i}"), crawl)
                                         for i in range(5)))
        assert answers == [None] * 5
        for inside in ("http://localhost/", "http://127.1/", "http://2130706433/", "http://[::1]/"):  # by their text
            with pytest.raises(RefusedRequest) as refused:
                await guard.process_request(Request(inside), crawl)
            assert refused.value.kind == "internal_address", inside
        await ticker

    asyncio.run(main())
    assert guard.asked == ["thanhhoa.gov.vn", "cds.thanhhoa.gov.vn", "tin.thanhhoa.gov.vn"]
    assert threading.main_thread().name not in guard.threads


def test_loopback_names_and_literals_need_no_lookup_and_keep_their_ports():
    guard = SiteGuardMiddleware(crawler=None)  # the real resolver

    async def check(crawl: Crawl, url: str) -> str | None:
        try:
            await guard.process_request(Request(url), crawl)
        except RefusedRequest as refused:
            return refused.kind
        return None

    async def main():
        at_localhost = crawl_of("http://localhost:8701/tin-tuc/")
        assert await check(at_localhost, "http://localhost:8701/tin-tuc/bai-1.html") is None
        assert await check(at_localhost, "http://localhost:8702/quan-tri") == "offsite_port"
        assert await check(at_localhost, "http://127.0.0.9:8701/a") == "offsite_request"
        at_literal = crawl_of("http://127.0.0.31:8701/tin-tuc/")
        assert await check(at_literal, "http://127.0.0.31:8701/tin-tuc/bai-2.html") is None
        assert await check(at_literal, "http://127.0.0.31:9000/") == "offsite_port"

    asyncio.run(main())
    assert guard.addresses == {}  # loopback names and address literals are judged by their text
