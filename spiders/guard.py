"""Keep every request on the source's own sites, and out of the network dxwatch runs in.

A portal's link or redirect may point anywhere: another host, another port of the same host (an
admin console, a database's web UI), or a name that resolves to a private, loopback, link-local or
cloud-metadata address (the classic server-side request forgery). Such requests are refused
before they are sent and counted under their own error kind:

- `internal_address`: the host is an internal address in any textual form (`127.0.0.1`, `127.1`,
  `2130706433`, `0x7f000001`, `0177.0.0.1`, `[::ffff:127.0.0.1]`), an internal name (`localhost`,
  `*.internal`...), or a name that resolves to one; allowed only when the source itself is on an
  internal address (an intranet portal, the demo, the tests);
- `offsite_redirect` / `offsite_request`: a host that is not one of the source's sites;
- `offsite_port`: one of the source's hosts on a port none of its configured URLs uses (the
  default ports of http and https are always allowed: portals move between the two).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from typing import Callable, Iterable
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")
DEFAULT_PORTS = {"http": 80, "https": 443}
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]*[0-9][0-9a-fx.]*")

Resolver = Callable[[str], list[str]]


class RefusedRequest(IgnoreRequest):
    """A request dxwatch will not make; `kind` is the crawl_runs error key."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def ip_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names literally, in any form a resolver accepts (inet_aton's: `127.1`,
    `2130706433`, `0x7f000001`, `0177.0.0.1`), or None for a name."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_internal_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global


def is_internal_host(host: str) -> bool:
    """Loopback, private, link-local or reserved addresses, and names that only exist inside a network."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(INTERNAL_SUFFIXES):
        return True
    address = ip_of(host)
    return address is not None and is_internal_address(address)


def resolve(host: str) -> list[str]:
    """The addresses a name resolves to (empty when it does not: the download reports that)."""
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except (OSError, UnicodeError):
        return []


def refusal(url: str, hosts: set[str], redirected: bool, ports: dict[str, set[int]] | None = None,
            internal_ok: bool | None = None, resolver: Resolver | None = None) -> RefusedRequest | None:
    """Why `url` must not be fetched for a source whose sites are `hosts`, or None.

    `ports`: the ports each host may be asked on (None: any); `internal_ok`: the source itself is
    on an internal address (default: one of `hosts` is); `resolver`: checks where a name leads.
    """
    parts = urlsplit(url)
    target = (parts.hostname or "").rstrip(".")
    if internal_ok is None:
        internal_ok = any(is_internal_host(h) for h in hosts)
    address = ip_of(target)
    if not internal_ok:
        if is_internal_host(target):
            return RefusedRequest("internal_address", f"{url} is an internal address; a public source may not lead there")
        if address is None and resolver is not None:
            inside = [a for a in resolver(target) if is_internal_address(ipaddress.ip_address(a.split("%")[0]))]
            if inside:
                return RefusedRequest("internal_address", f"{url}: {target} resolves to the internal address "
                                                          f"{inside[0]}; a public source may not lead there")
    name = (str(address) if address is not None else target.lower()).removeprefix("www.")
    if parts.scheme not in DEFAULT_PORTS or not any(name == h or name.endswith("." + h) for h in hosts):
        if redirected:
            return RefusedRequest("offsite_redirect", f"a redirect left the source's sites for {url}; not followed")
        return RefusedRequest("offsite_request", f"{url} is not on the source's sites; not fetched")
    if ports is not None:
        try:
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            port = None
        allowed = ports.get(name, set()) | set(DEFAULT_PORTS.values())
        if port not in allowed:
            return RefusedRequest("offsite_port", f"{url}: port {port} is not one of the source's "
                                                  f"({', '.join(map(str, sorted(allowed)))}); not fetched")
    return None


def source_ports(urls: Iterable[str]) -> dict[str, set[int]]:
    """The ports each host of a source's configured URLs is reached on."""
    found: dict[str, set[int]] = {}
    for url in urls:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        address = ip_of(host)
        found.setdefault(str(address) if address else host.removeprefix("www."), set()).add(parts.port or DEFAULT_PORTS.get(parts.scheme, 0))
    return found


class SiteGuardMiddleware:
    """Downloader middleware: refuses what the module docstring lists, before the request is sent.

    A name is resolved once per crawl (a source on a public address only), in a thread of the
    event loop's executor: `getaddrinfo` blocks, and on the reactor thread one slow name server
    would stall every other source's downloads and pipelines. Concurrent requests for one name
    share its lookup. Scrapy resolves the name again to connect, so a name that changes its answer
    between the two (DNS rebinding) is not caught here. The crawl runs on the asyncio reactor
    (crawler/settings.py), whose loop is asyncio's.
    """

    resolver: Resolver = staticmethod(resolve)  # blocking; always called off the event loop

    def __init__(self, crawler):
        self.crawler = crawler
        self.addresses: dict[str, list[str]] = {}
        self.lookups: dict[str, asyncio.Future] = {}  # names being resolved now
        self.policies: dict[int, tuple] = {}  # per source's crawl (spiders.portal.SourceCrawl)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def _resolve(self, host: str) -> list[str]:
        if host in self.addresses:
            return self.addresses[host]
        lookup = self.lookups.get(host)
        if lookup is None:
            lookup = self.lookups[host] = asyncio.get_running_loop().run_in_executor(None, self.resolver, host)
        try:
            addresses = await asyncio.shield(lookup)  # a cancelled request does not cancel the others' lookup
        finally:
            if lookup.done():
                self.lookups.pop(host, None)
        self.addresses[host] = addresses
        return addresses

    async def _policy(self, spider) -> tuple:
        """(hosts, ports, internal_ok) for a source (`spider`: its SourceCrawl), worked out once."""
        if id(spider) not in self.policies:
            hosts = spider.rules.hosts
            source = getattr(spider, "source", None)
            urls = list(getattr(source, "urls", []) or [])
            ports = source_ports(urls) if urls else None
            internal_ok = any(is_internal_host(h) for h in hosts)
            for host in sorted(h for h in hosts if ip_of(h) is None and not internal_ok):
                internal_ok = any(is_internal_address(ipaddress.ip_address(a.split("%")[0]))
                                  for a in await self._resolve(host))
                if internal_ok:
                    break
            self.policies[id(spider)] = (hosts, ports, internal_ok)
        return self.policies[id(spider)]

    async def process_request(self, request, spider=None):
        spider = spider or self.crawler.spider
        spider = spider.crawl_for(request) if hasattr(spider, "crawl_for") else spider  # the request's source
        if not getattr(getattr(spider, "rules", None), "hosts", None):
            return None
        hosts, ports, internal_ok = self.policies.get(id(spider)) or await self._policy(spider)
        if not internal_ok:  # where a name leads is looked up before `refusal` reads it
            target = (urlsplit(request.url).hostname or "").rstrip(".")
            if target and target not in self.addresses and ip_of(target) is None and not is_internal_host(target):
                await self._resolve(target)
        refused = refusal(request.url, hosts, bool(request.meta.get("redirect_urls")), ports, internal_ok,
                          None if internal_ok else lambda host: self.addresses.get(host, []))
        if refused:
            raise refused
        return None
