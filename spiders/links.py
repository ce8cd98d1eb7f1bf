"""Which links on a listing page are articles, and which one leads to the next listing page.

Typical Vietnamese portals are recognised without configuration; a source may sharpen the guess
with `article_pattern`, `deny_patterns`, `next_page` or a `platform` preset (spiders/presets.yaml).
Every decision carries a short reason so `dxwatch sources test` can explain itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import unquote, urldefrag, urlsplit

from scrapy.http import TextResponse
from scrapy.utils.response import get_base_url

from crawler.config import Source
from crawler.textnorm import normalize_text
from crawler.urls import canonical_url, is_same_site, source_hosts
from crawler import listing
from spiders.presets import load_presets

NOT_ARTICLE_EXTENSIONS = listing.NOT_PAGES  # files and media: one list for the rules and the structure
# Menus, tags, categories, search, feeds and pagers: never articles.
GENERIC_DENY = re.compile(
    r"(/tags?/|/chu-de/|/tim-kiem|/search|/login|/dang-nhap|/rss\b|/feed\b|/sitemap|/lien-he|"
    r"/gioi-thieu/?$|/page-\d+/?$|/trang-\d+/?$|[?&](page|trang|pageindex|_cur)=|_cur=|/timelinelist/|"
    r"/PhanTrang/|/print\.aspx|/in-bai|/video/?$|/photo/?$|/category/|/danh-muc/)",
    re.IGNORECASE,
)
SLUG_WITH_ID = re.compile(r"/[^/?#]*[A-Za-z][^/?#]*-\d{3,}(\.(html?|aspx|php))?/?$")
DATE_PATH = re.compile(r"/(19|20)\d{2}[/-]\d{1,2}[/-]\d{1,2}/[^/?#]{8,}")
NEWS_SECTION = re.compile(r"/(tin-tuc|tintuc|chi-tiet|chitiet|bai-viet|news|tin-bai|thong-tin)/(.+/)?"
                          r"[^/?#]*(-[^/?#-]+){4,}(\.(html?|aspx|php))?/?$", re.IGNORECASE)
ID_PARAMETER = re.compile(r"[?&](nid|newsid|articleid|itemid|docid|id)=\d+", re.IGNORECASE)
LIFERAY_ASSET = re.compile(r"/(-|w)/[^/?#]*(-[^/?#-]+){2,}$")
LONG_SLUG = re.compile(r"/[^/?#]*(-[^/?#-]+){4,}\.(html?|aspx|php)$", re.IGNORECASE)

GENERIC_ARTICLE_SHAPES = (
    (SLUG_WITH_ID, "slug with a numeric id"),
    (DATE_PATH, "date in the path"),
    (NEWS_SECTION, "long slug in a news section"),
    (LIFERAY_ASSET, "Liferay asset slug"),
    (LONG_SLUG, "long slug page"),
)

NEXT_TEXTS = {"sau", "trang sau", "tiếp", "tiếp theo", "trang tiếp", "xem tiếp", "»", "›", ">", ">>",
              "next", "sau »", "tiếp »", "trang sau »", "»»"}


@dataclass
class LinkRules:
    """A source's link rules: its own keys over its platform preset over the generic guess."""

    hosts: set[str]
    article_pattern: re.Pattern | None = None
    deny_patterns: list[re.Pattern] = field(default_factory=list)
    next_page: str | None = None
    page_pattern: re.Pattern | None = None
    page_template: str | None = None
    template_fields: dict[str, str] = field(default_factory=dict)
    selectors: dict[str, str] = field(default_factory=dict)


def rules_for(source: Source) -> LinkRules:
    preset = load_presets()[source.platform] if source.platform else {}  # the name is checked by the config
    pattern = source.article_pattern or preset.get("article_pattern")
    selectors = {**preset.get("selectors", {}),
                 **{k: v for k, v in source.selectors.model_dump().items() if v}}
    return LinkRules(
        hosts=source_hosts(source.urls, source.allowed_domains),
        article_pattern=re.compile(pattern) if pattern else None,
        deny_patterns=[re.compile(p) for p in [*preset.get("deny_patterns", []), *source.deny_patterns]],
        next_page=source.next_page or preset.get("next_page"),
        page_pattern=re.compile(preset["page_pattern"]) if preset.get("page_pattern") else None,
        page_template=preset.get("page_template"),
        template_fields=dict(preset.get("template_fields", {})),
        selectors=selectors,
    )


def classify_link(url: str, rules: LinkRules) -> tuple[bool, str]:
    """`(is_article, reason)` for one absolute URL."""
    if not is_same_site(url, rules.hosts):
        return False, "off the source's sites"
    path = unquote(urlsplit(url).path)
    if NOT_ARTICLE_EXTENSIONS.search(path):
        return False, "attachment or media file"
    for deny in rules.deny_patterns:
        if deny.search(url):
            return False, f"deny pattern {deny.pattern!r}"
    if rules.article_pattern is not None:
        if rules.article_pattern.search(url):
            return True, f"matches article_pattern {rules.article_pattern.pattern!r}"
        return False, "does not match article_pattern"
    if GENERIC_DENY.search(url):
        return False, "menu, tag, category, search or pager link"
    if ID_PARAMETER.search(url):
        return True, "article id parameter"
    for shape, reason in GENERIC_ARTICLE_SHAPES:
        if shape.search(path):
            return True, reason
    return False, "not shaped like an article URL"


def classify_feed_link(url: str, rules: LinkRules) -> tuple[bool, str]:
    """Feed entries are articles by definition: only off-site links, files and deny patterns are refused."""
    ok, reason = classify_link(url, rules)
    if ok or reason.startswith(("off the source", "attachment", "deny pattern")):
        return ok, reason
    return True, "feed entry"


def _hrefs(response, selector: str) -> list[str]:
    if selector.startswith(("/", "(")):
        nodes = response.xpath(selector)
    else:
        nodes = response.css(selector)
    out = []
    for node in nodes:
        href = node.attrib.get("href") if hasattr(node, "attrib") and node.attrib.get("href") else node.get()
        if href and not href.lstrip().startswith("<"):
            out.append(href)
    return out


def _absolute(response, href: str) -> str | None:
    """The absolute URL of a link, without its fragment (never sent to the server)."""
    href = (href or "").strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    return urldefrag(response.urljoin(href))[0]


def link_decisions(response, rules: LinkRules, template=None) -> list[tuple[str, str, bool, str]]:
    """Every distinct link of a page as `(raw absolute URL, canonical URL, is_article, reason)`."""
    return page_links(response, rules, template)[0]


def page_links(response, rules: LinkRules, template=None):
    """`(link decisions, structural analysis or None)` for a listing page.

    Without an `article_pattern`, the page's structure decides (crawler/listing.py): the links of
    its main list, of lists sharing its URL template, and of the source's learned `template`. The
    URL-shape rules only vote, and decide alone when the page has no list (one or no headline).
    Off-site links, files, deny patterns and the generic menu/tag/search/pager paths are never taken.
    The page is the tree Scrapy already parsed; each distinct href is resolved and classified once.
    """
    if not isinstance(response, TextResponse):
        return [], None
    verdicts: dict[str, tuple[bool, str]] = {}

    def classify(url: str) -> tuple[bool, str]:
        got = verdicts.get(url)
        if got is None:
            got = verdicts[url] = classify_link(url, rules)
        return got

    root = response.selector.root
    analysis = None
    if rules.article_pattern is None:
        analysis = listing.analyse(root, response.url, same_site=lambda u: is_same_site(u, rules.hosts),
                                   is_article_url=lambda u: classify(u)[0], template=template, normalize=_canonical)
        if analysis.main is None and not analysis.taken:
            analysis = None
    seen: dict[str, tuple[str, str, bool, str]] = {}
    hrefs: set[str] = set()
    base = get_base_url(response)
    for anchor in root.iter("a"):
        href = anchor.get("href")
        if href is None or href in hrefs:
            continue
        hrefs.add(href)
        href = href.strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        url = urldefrag(listing.join(base, href))[0]
        canonical = _canonical(url)
        if canonical in seen:
            continue
        ok, reason = classify(canonical)
        if analysis is not None and not reason.startswith(HARD_REFUSALS):
            if canonical in analysis.taken:
                ok, reason = True, analysis.taken[canonical]
            else:
                ok, reason = False, analysis.not_taken.get(canonical, "not in the page's main list")
        seen[canonical] = (url, canonical, ok, reason)
    return list(seen.values()), analysis


_canonical = lru_cache(maxsize=8192)(canonical_url)  # the structure and the decisions canonicalise the same links

# reasons of the URL rules that the page structure cannot overrule
HARD_REFUSALS = ("off the source", "attachment", "deny pattern", "menu, tag, category")


def article_links(decisions: list[tuple[str, str, bool, str]]) -> list[tuple[str, str, str]]:
    """The article links among `link_decisions`, as `(raw absolute URL, canonical URL, reason)`."""
    return [(raw, canonical, reason) for raw, canonical, ok, reason in decisions if ok]


def not_taken(decisions: list[tuple[str, str, bool, str]]) -> dict[str, int]:
    """How many links were not taken as articles, by reason (for `dxwatch sources test`)."""
    counts: dict[str, int] = {}
    for _raw, _canonical, ok, reason in decisions:
        if not ok:
            counts[reason] = counts.get(reason, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def template_values(response, rules: LinkRules) -> dict[str, str]:
    """Fields of the preset's page template (e.g. a zone id), read from the first listing page."""
    values = {name: (response.css(sel).get() or "").strip() for name, sel in rules.template_fields.items()}
    return values if all(values.values()) else {}


def next_page(response, rules: LinkRules, page_no: int, values: dict[str, str] | None = None,
              articles: set[str] | frozenset = frozenset()) -> tuple[str, str] | None:
    """The next listing page as `(URL, how it was found)`, or None at the last page.

    `articles` are the page's article links: a "Xem tiếp" (read more) that leads to one of them, or
    that is printed beside every teaser, is not a pager.
    """
    here = canonical_url(response.url)
    candidates: list[tuple[str, str]] = []
    if rules.next_page:
        candidates += [(h, f"next_page selector {rules.next_page!r}") for h in _hrefs(response, rules.next_page)]
    if rules.page_template and (values or not rules.template_fields):
        candidates.append((rules.page_template.format(page=page_no + 1, **(values or {})), "platform page template"))
    candidates += [(h, "rel=next") for h in response.css("a[rel~=next]::attr(href), link[rel~=next]::attr(href)").getall()]
    number = str(page_no + 1)
    anchors = [(a.attrib["href"], normalize_text(" ".join(a.css("::text").getall())).lower(),
                normalize_text(a.attrib.get("title") or a.attrib.get("aria-label") or "").lower())
               for a in response.css("a[href]")]
    repeated = {t for t in {text for _h, text, _l in anchors} if sum(1 for _h, x, _l in anchors if x == t) >= 3}
    for href, text, label in anchors:
        if text in NEXT_TEXTS or label in NEXT_TEXTS or label.startswith(("trang sau", "trang tiếp", "next")):
            if text in repeated:
                continue  # printed beside every item: a "read more", not a pager
            candidates.append((href, f"next-page link {text or label!r}"))
        elif text == number or re.fullmatch(rf"(?:trang|page|tr\.?)\s*{number}", text) or label in (
                f"trang {number}", f"page {number}"):
            candidates.append((href, f"page number {number}"))
    if rules.page_pattern is not None:
        for href, _text, _label in anchors:
            url = _absolute(response, href)
            if url and rules.page_pattern.search(url) and re.search(rf"(?<!\d){number}(?!\d)", url):
                candidates.append((href, f"page_pattern {rules.page_pattern.pattern!r}"))
    for href, _text, _label in anchors:
        url = _absolute(response, href)
        if url and listing.is_next_listing_url(response.url, url, page_no):
            candidates.append((href, "the listing's own URL with the next page number"))
    for href, how in candidates:
        url = _absolute(response, href)
        if (url and canonical_url(url) != here and canonical_url(url) not in articles
                and is_same_site(url, rules.hosts)):
            return url, how
    return None
