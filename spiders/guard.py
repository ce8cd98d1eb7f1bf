"""Keep every request on the source's own sites.

A portal's redirect may point anywhere: another host, or a private, loopback or link-local
address inside the network dxwatch runs in (the classic server-side request forgery). Such
requests are refused before they are sent and counted under their own error kind.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

from crawler.urls import is_same_site

INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


class RefusedRequest(IgnoreRequest):
    """A request dxwatch will not make; `kind` is the crawl_runs error key."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def is_internal_host(host: str) -> bool:
    """Loopback, private, link-local or reserved addresses, and names that only exist inside a network."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(INTERNAL_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def refusal(url: str, hosts: set[str], redirected: bool) -> RefusedRequest | None:
    """Why `url` must not be fetched for a source whose sites are `hosts`, or None."""
    target = urlsplit(url).hostname or ""
    if is_internal_host(target) and not any(is_internal_host(h) for h in hosts):
        return RefusedRequest("internal_address", f"{url} is an internal address; a public source may not lead there")
    if redirected and not is_same_site(url, hosts):
        return RefusedRequest("offsite_redirect", f"a redirect left the source's sites for {url}; not followed")
    return None


class SiteGuardMiddleware:
    """Downloader middleware: refuses off-site redirects and internal addresses (see module docstring)."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request, spider=None):
        spider = spider or self.crawler.spider
        rules = getattr(spider, "rules", None)
        hosts = getattr(rules, "hosts", None)
        if not hosts:
            return None
        refused = refusal(request.url, hosts, bool(request.meta.get("redirect_urls")))
        if refused:
            raise refused
        return None
