"""What a page says about itself in machine-readable form: JSON-LD, OpenGraph and `<meta>` tags.

Extraction trusts the printed page first (the byline and date line near the headline, the byline
closing the text); these sources come after it, in this order (see `structured_author`):

1. JSON-LD `NewsArticle` / `Article` (and their kin) `author`: people only, in the page's order;
2. `article:author`, `dable:author`, `og:article:author` meta tags that hold names, not URLs;
3. `<meta name="author">` / `dc.creator`, only when it is not the site's own name (many portals and
   newspapers put their own name there).

The site's own names (`site_names`) come from `og:site_name`, `application-name`, the JSON-LD
publisher and `WebSite`/`Organization` nodes, and the host name ("dantri" for dantri.com.vn).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from crawler.textnorm import normalize_text, strip_diacritics

ARTICLE_TYPES = frozenset({"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "blogposting",
                           "opinionnewsarticle", "backgroundnewsarticle", "report", "scholarlyarticle",
                           "techarticle", "liveblogposting"})
_ORGANISATION_TYPES = frozenset({"organization", "newsmediaorganization", "website", "governmentorganization",
                                 "corporation"})
MAX_JSON_LD_CHARS = 500_000


def json_ld(root) -> list[dict]:
    """Every JSON object in the page's `application/ld+json` scripts (nested `@graph`s and lists
    flattened); scripts that are not valid JSON are skipped."""
    found: list[dict] = []
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        text = (script.text or "").strip()
        if not text or len(text) > MAX_JSON_LD_CHARS:
            continue
        try:
            data = json.loads(text, strict=False)  # raw line breaks inside strings are common
        except ValueError:
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                found.append(node)
                if isinstance(node.get("@graph"), list):
                    stack.extend(reversed(node["@graph"]))
    return found


def _types(node: dict) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.strip().lower() for k in kinds if isinstance(k, str)}


def _names(value) -> list[str]:
    """Names of people in a schema.org `author` value (a string, a Person, or a list of them)."""
    values = value if isinstance(value, list) else [value]
    names = []
    for item in values:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and not (_types(item) & _ORGANISATION_TYPES) and isinstance(item.get("name"), str):
            names.append(item["name"])
    return [n for n in (normalize_text(n) for n in names) if n and "://" not in n]


def site_key(text: str) -> str:
    """Compact comparison key: "Báo Dân trí", "Dân Trí", "dantri.com.vn" -> "dantri"."""
    key = strip_diacritics(normalize_text(text)).casefold()
    key = re.sub(r"^(?:www\.)|\.(?:com|net|org|gov|edu)?\.?vn$|\.(?:com|net|org)$", "", key)
    key = re.sub(r"^(?:bao dien tu|bao|tap chi|cong thong tin dien tu|cong ttdt|trang tin)\s+", "", key)
    return re.sub(r"[\W_]+", "", key)


def site_names(root, url: str | None, objects: list[dict]) -> set[str]:
    """Keys (`site_key`) of every name the site gives itself."""
    names = []
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key in {"og:site_name", "application-name", "apple-mobile-web-app-title", "twitter:site", "copyright"}:
            names.append((meta.get("content") or "").lstrip("@"))
    for node in objects:
        if _types(node) & _ORGANISATION_TYPES and isinstance(node.get("name"), str):
            names.append(node["name"])
        publisher = node.get("publisher")
        if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
            names.append(publisher["name"])
    host = urlsplit(url).hostname if url else None
    if host:
        names.append(host)
        names.append(host.split(".")[-3] if host.count(".") >= 2 and host.endswith(".vn") else host.split(".")[0])
    return {key for key in (site_key(n) for n in names if n) if key}


def structured_author(root, url: str | None, objects: list[dict] | None = None) -> str | None:
    """The author named by the page's metadata (module docstring for the order), several people
    joined as printed bylines join them ("A - B"); None when the metadata names only the site."""
    objects = json_ld(root) if objects is None else objects
    own = site_names(root, url, objects)

    def people(names: list[str]) -> str | None:
        kept = []
        for name in names:
            if site_key(name) not in own and name not in kept:
                kept.append(name)
        return " - ".join(kept) or None

    for node in objects:
        if _types(node) & ARTICLE_TYPES and node.get("author"):
            found = people(_names(node["author"]))
            if found:
                return found
    metas = {}
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key and meta.get("content") and key not in metas:
            metas[key] = meta.get("content")
    for key in ("article:author", "og:article:author", "dable:author", "author", "dc.creator"):
        value = normalize_text(metas.get(key))
        if value and "://" not in value:
            found = people([n.strip() for n in re.split(r"\s*;\s*", value) if n.strip()])
            if found:
                return found
    return None
