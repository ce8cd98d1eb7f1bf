"""Canonical URLs and same-site checks.

One article reached through a tracking link, a share button or a fragment must map to one stored
URL. Paths keep their case (SharePoint and Liferay paths are case-sensitive) and identifying query
parameters (nid, id, p, docid) stay; only decoration goes.
"""

from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, url_query_cleaner

# Parameters that only say where a click came from; never part of an article's identity.
TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|gclsrc|dclid|msclkid|yclid|zarsrc|_hsenc|_hsmi|mc_cid|mc_eid|"
    r"igshid|ref_src|cmpid|_ga|_gl)$",
    re.IGNORECASE,
)
# A slug decoration next to a real identifier (SharePoint "Trang": ?nid=123&title=slug.html).
DECORATION_PARAMS = {"title"}
IDENTIFYING_PARAMS = {"nid", "id", "p", "docid", "itemid", "newsid", "articleid"}
# Liferay asset links carry the listing they were clicked from (?inheritRedirect=true&redirect=/...).
LIFERAY_BACKLINK_PARAMS = {"inheritredirect", "redirect"}
DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """The URL an article is stored under: tracking parameters and fragment dropped, query sorted."""
    url = url.strip()
    parts = urlsplit(url)
    names = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True)]
    drop = {k for k in names if TRACKING_PARAMS.match(k)}
    if any(k.lower() in IDENTIFYING_PARAMS for k in names):
        drop |= {k for k in names if k.lower() in DECORATION_PARAMS}
    if "/-/" in parts.path or "/w/" in parts.path:
        drop |= {k for k in names if k.lower() in LIFERAY_BACKLINK_PARAMS}
    if drop:
        url = url_query_cleaner(url, sorted(drop), remove=True, keep_fragments=False)
    url = canonicalize_url(url, keep_fragments=False)
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.port and DEFAULT_PORTS.get(parts.scheme) == parts.port:
        netloc = netloc.rsplit(":", 1)[0]
    path = parts.path or "/"
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


def host_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.")


def source_hosts(urls: Iterable[str], allowed_domains: Iterable[str] = ()) -> set[str]:
    """A source's own sites: the hosts of its configured URLs plus `allowed_domains`."""
    hosts = {host_of(u) for u in urls}
    hosts |= {d.lower().strip().removeprefix("www.").rstrip(".") for d in allowed_domains}
    return {h for h in hosts if h}


def is_same_site(url: str, hosts: set[str]) -> bool:
    """True for http(s) URLs on one of `hosts` or a subdomain of one."""
    if urlsplit(url).scheme not in ("http", "https"):
        return False
    host = host_of(url)
    return any(host == h or host.endswith("." + h) for h in hosts)
