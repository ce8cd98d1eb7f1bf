"""RSS/Atom feeds, sitemaps and robots.txt Sitemap lines, parsed with defusedxml.

Portal XML is untrusted: defusedxml refuses entity bombs and external entities, and gzip bodies
are inflated with a size cap. Parsers return plain data; the spider decides what to fetch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from defusedxml import ElementTree as SafeET
from scrapy.utils.gz import gunzip

from crawler import timeutil
from crawler.textnorm import normalize_text


class FeedError(ValueError):
    """The body is not a feed or sitemap we can read; the message says why."""


@dataclass
class Entry:
    url: str
    title: str | None = None
    published: str | None = None  # ISO 8601 +07:00
    lastmod: str | None = None    # sitemap <lastmod> as written


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _children(node, name: str):
    return [c for c in node if _local(c.tag) == name]


def _text(node, name: str) -> str | None:
    for child in node.iter():
        if child is not node and _local(child.tag) == name and (child.text or "").strip():
            return child.text.strip()
    return None


def to_iso(value: str | None) -> str | None:
    """RFC 822 (RSS) or ISO 8601 (Atom, sitemaps) to ISO 8601 +07:00; None when unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return timeutil.iso(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return timeutil.iso(timeutil.parse_iso(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def maybe_gunzip(body: bytes, max_size: int) -> bytes:
    if body[:2] == b"\x1f\x8b":
        try:
            return gunzip(body, max_size=max_size)
        except Exception as exc:  # scrapy raises _DecompressionMaxSizeExceeded or OSError
            raise FeedError(f"gzip body could not be inflated within {max_size} bytes ({exc})") from None
    return body


def _parse(body: bytes):
    try:
        return SafeET.fromstring(body.lstrip())
    except SafeET.ParseError as exc:
        raise FeedError(f"not well-formed XML ({exc})") from None
    except Exception as exc:  # defusedxml's DTDForbidden, EntitiesForbidden, ...
        raise FeedError(f"refused XML ({type(exc).__name__})") from None


def parse_feed(body: bytes) -> list[Entry]:
    """Entries of an RSS 2.0, RSS 1.0 (RDF) or Atom feed."""
    root = _parse(body)
    kind = _local(root.tag)
    entries = []
    if kind == "feed":  # Atom
        for e in _children(root, "entry"):
            link = None
            for lk in _children(e, "link"):
                if lk.get("rel", "alternate") == "alternate" and lk.get("href"):
                    link = lk.get("href")
                    break
            if link:
                entries.append(Entry(link.strip(), _clean(_text(e, "title")),
                                     to_iso(_text(e, "published") or _text(e, "updated"))))
    elif kind in ("rss", "rdf"):
        for item in root.iter():
            if _local(item.tag) != "item":
                continue
            link = _text(item, "link") or (item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"))
            guid = _text(item, "guid")
            if not link and guid and guid.startswith("http"):
                link = guid
            if link:
                entries.append(Entry(link.strip(), _clean(_text(item, "title")),
                                     to_iso(_text(item, "pubdate") or _text(item, "date"))))
    else:
        raise FeedError(f"not an RSS or Atom feed (root element <{kind}>)")
    return entries


def _clean(title: str | None) -> str | None:
    return normalize_text(title) or None if title else None


def parse_sitemap(body: bytes) -> tuple[list[Entry], list[Entry]]:
    """`(pages, child_sitemaps)` of a sitemap or sitemap index.

    A `<urlset>` that lists `.xml` files among its pages (seen on gov.vn) yields them as children.
    """
    root = _parse(body)
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise FeedError(f"not a sitemap (root element <{kind}>)")
    pages, children = [], []
    for node in root:
        if _local(node.tag) not in ("url", "sitemap"):
            continue
        loc = _text(node, "loc")
        if not loc:
            continue
        entry = Entry(loc, _clean(_text(node, "title")), to_iso(_text(node, "publication_date")),
                      _text(node, "lastmod"))
        is_child = kind == "sitemapindex" or re.search(r"\.xml(\.gz)?($|\?)", loc, re.IGNORECASE)
        (children if is_child else pages).append(entry)
    return pages, children


def robots_sitemaps(text: str) -> list[str]:
    """The `Sitemap:` lines of a robots.txt."""
    return [m.group(1).strip() for m in re.finditer(r"(?im)^\s*sitemap\s*:\s*(\S+)", text)]
