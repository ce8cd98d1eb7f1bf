"""The main list of a listing page, found by page structure rather than by URL shape.

A portal nobody configured still lays its news out as a run of repeated item blocks: the same
tag-and-class path for every headline link, headline-length anchor texts, often a date or a summary
beside each, and links that share one URL template. Menus, tag clouds, pagers and category strips
repeat too, but with short texts, nothing beside them, inside header/nav/footer, or with a URL
template of their own. So the links of a page are grouped by their element path, each group is
scored on that evidence, and the best group is the main list; other groups whose links share the
main list's URL template (a featured box, related links under an item) are taken with it.

Pure functions on an lxml tree (no Scrapy, no database), so the spider, extraction (`is_listing`:
a listing is never an article), `dxwatch sources test` and the benchmark share one implementation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable
from urllib.parse import parse_qsl, unquote, urldefrag, urljoin, urlsplit

# ---------------------------------------------------------------- URL templates

_EXT = re.compile(r"\.([a-z]{2,5})$")
_ALNUM = re.compile(r"^([a-z]*)(\d+)$")
_NUMBER = re.compile(r"\d+")


def _digits(n: int) -> str:
    """Digit runs by length class: small ids (categories, pages), medium, long (articles, timestamps)."""
    return "N1" if n <= 3 else "N2" if n <= 5 else "N3"


def segment_shape(segment: str) -> str:
    """A path segment with its slug words and digit runs abstracted: `tin-moi-2495349.html` -> `W-N3.html`.

    The last token keeps its letter prefix (`e1999`, `d538952`, `tag123`), which is how many CMSs
    tell a topic or category id from an article id; the slug body is short (`w`, 1-3 words) or
    long (`W`, a headline).
    """
    seg = segment.lower()
    ext = ""
    m = _EXT.search(seg)
    if m:
        ext, seg = m.group(0), seg[: m.start()]
    if not seg:
        return ext
    if seg.isdigit():
        return _digits(len(seg)) + ext
    tokens = [t for t in re.split(r"[-_+.,~ ]+", seg) if t]
    if not tokens:
        return "?" + ext
    head = tail = ""
    last = _ALNUM.match(tokens[-1])
    if last:
        tail = last.group(1) + _digits(len(last.group(2)))
        tokens = tokens[:-1]
    if not tail and tokens and tokens[0].isdigit() and len(tokens) > 1:  # an id before the slug
        head = _digits(len(tokens[0]))
        tokens = tokens[1:]
    body = "" if not tokens else ("W" if len(tokens) >= 4 else "w")
    return "-".join(p for p in (head, body, tail) if p) + ext


@lru_cache(maxsize=4096)
def url_parts(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    query = sorted((k.lower(), v) for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return segments, query


@lru_cache(maxsize=4096)
def url_shape(url: str) -> str:
    """The URL template of a link: its path shape and query keys (values abstracted)."""
    segments, query = url_parts(url)
    path = "/" + "/".join(segment_shape(s) for s in segments)
    if query:
        path += "?" + "&".join(f"{k}={'N' if v.isdigit() else 'S' if v else ''}" for k, v in query)
    return path


@lru_cache(maxsize=1024)
def loose_shape(shape: str) -> str:
    """A shape with digit-length classes dropped (an id that grew from 999 to 1000 keeps its template)."""
    return re.sub(r"N\d", "N", shape)


def _braced(shape: str) -> str:
    """A segment shape as written in a template: `{W-N3}.html` (a literal segment stays bare)."""
    m = _EXT.search(shape)
    return f"{{{shape[: m.start()]}}}{m.group(0)}" if m and m.start() else f"{{{shape}}}" if shape else shape


@dataclass
class Template:
    """The URL template of a list: its shape, plus the path segments and query values every link
    shares literally (`/tin-tuc/{W-N3}.html`, `/index.php?act=view&code=N&module=news`)."""

    shape: str
    literals: dict[int, str] = field(default_factory=dict)
    query_literals: dict[str, str] = field(default_factory=dict)

    def matches(self, url: str) -> bool:
        if url_shape(url) != self.shape:
            return False
        segments, query = url_parts(url)
        values = dict(query)
        return (all(i < len(segments) and segments[i].lower() == v for i, v in self.literals.items())
                and all(values.get(k, "").lower() == v for k, v in self.query_literals.items()))

    def __str__(self) -> str:
        path, _, query = self.shape.partition("?")
        shown = [self.literals.get(i, _braced(s)) for i, s in enumerate(path.strip("/").split("/"))]
        text = "/" + "/".join(shown)
        if query:
            pairs = [pair.partition("=") for pair in query.split("&")]
            text += "?" + "&".join(f"{k}={self.query_literals.get(k, v)}" for k, _eq, v in pairs)
        return text

    @classmethod
    def parse(cls, text: str) -> "Template":
        """The inverse of `str()`, for a template kept in the database."""
        path, _, query = text.partition("?")
        literals, shapes = {}, []
        for i, part in enumerate(p for p in path.strip("/").split("/") if p):
            if part.startswith("{"):  # a shape: {W-N3}.html
                shapes.append(part[1:].replace("}", "", 1))
            else:  # a literal segment (a section name)
                literals[i] = part
                shapes.append(segment_shape(part))
        query_literals, pairs = {}, []
        for k, _eq, v in (pair.partition("=") for pair in query.split("&") if pair):
            if v not in ("N", "S", ""):
                query_literals[k] = v
                v = "N" if v.isdigit() else "S"
            pairs.append(f"{k}={v}")
        return cls("/" + "/".join(shapes) + (f"?{'&'.join(pairs)}" if pairs else ""), literals, query_literals)


def learn_template(urls: list[str]) -> Template | None:
    """The template most of `urls` share; path segments and query values (other than numbers)
    identical in all of them stay literal."""
    if not urls:
        return None
    counts: dict[str, list[str]] = {}
    for u in urls:
        counts.setdefault(url_shape(u), []).append(u)
    shape, members = max(counts.items(), key=lambda kv: (len(kv[1]), -len(kv[0])))  # a tie: the plainer shape
    literals, query_literals = {}, {}
    if len(members) >= 2:
        split = [url_parts(u) for u in members]
        for i, value in enumerate(split[0][0]):
            if all(len(s) > i and s[i].lower() == value.lower() for s, _q in split) and not value.isdigit():
                literals[i] = value.lower()
        for k, value in split[0][1]:
            if value and not value.isdigit() and all(dict(q).get(k, "").lower() == value.lower() for _s, q in split):
                query_literals[k] = value.lower()
    return Template(shape, literals, query_literals)


# ---------------------------------------------------------------- page zones

FURNITURE_TAGS = {"nav", "menu"}
LANDMARK_TAGS = {"header", "footer"}
FURNITURE_ROLES = {"navigation", "banner", "contentinfo", "menu", "menubar"}
FURNITURE_CLASS = re.compile(
    r"^(?:(?:site|page|main|top|mega|sub|primary|global|bottom)[-_]?)?(?:header|footer|topbar|menubar)$|"
    r"(?:^|[-_])(?:menu|menus|nav|navbar|navigation|breadcrumbs?|mainmenu|megamenu|submenu)(?:$|[-_])")
ASIDE_CLASS = re.compile(r"^(?:side[-_]?bar|aside|widget|widget[-_]area|col[-_]right|right[-_]?col|box[-_]right|"
                         r"(?:left|right)[-_]sidebar|sidebar[-_](?:left|right))$")
ITEM_TAGS = {"article", "li", "section", "main"}
MAIN, ASIDE, FURNITURE = "main", "aside", "furniture"
STATE_CLASSES = re.compile(r"^(first|last|odd|even|active|current|selected|clearfix|cf|hidden|show|"
                           r"lazy|loaded|visible|row|col|fl|fr|left|right)$")


def _classes(el) -> list[str]:
    value = el.get("class") or ""
    return [c.lower() for c in value.split()] if value else []


@lru_cache(maxsize=8192)
def _own(tag: str, class_attr: str, id_attr: str, role: str) -> tuple[str, str | None]:
    """`(tag-and-class signature, zone it opens or None)` of one element, by its attributes."""
    classes = class_attr.lower().split()
    names = [*classes, id_attr.lower()] if id_attr else classes
    zone = None
    if tag in FURNITURE_TAGS or role.lower() in FURNITURE_ROLES or any(FURNITURE_CLASS.search(c) for c in names):
        zone = FURNITURE
    elif tag in LANDMARK_TAGS:
        zone = LANDMARK_TAGS_ZONE
    elif tag == "aside" or any(ASIDE_CLASS.search(c) for c in names):
        zone = ASIDE
    kept = sorted({_NUMBER.sub("", c) for c in classes if not STATE_CLASSES.match(c)})
    return tag + ("." + ".".join(kept) if kept else ""), zone


LANDMARK_TAGS_ZONE = "landmark"  # <header>/<footer>: furniture unless inside an item (an article's own header)


class _Walker:
    """Per-page memo of each element's zone and tag-and-class path (each element is seen once).

    Paths are kept as small integers (one per distinct path); `path_text` spells one out."""

    def __init__(self):
        self.info: dict = {}           # element -> (zone, path id, inside an item tag)
        self.ids: dict = {}            # (parent path id, signature) -> path id
        self.parents: list = [(-1, "")]  # path id -> (parent path id, signature)

    def _info(self, el) -> tuple[str, int, bool]:
        got = self.info.get(el)
        if got is not None:
            return got
        chain = []  # el and its ancestors not seen yet, walked up without recursion
        node = el
        while node is not None and got is None:
            chain.append(node)
            node = node.getparent()
            got = self.info.get(node) if node is not None else None
        state = got or (MAIN, 0, False)
        for node in reversed(chain):
            state = self.info[node] = self._step(node, state)
        return state

    def _step(self, el, parent: tuple[str, int, bool]) -> tuple[str, int, bool]:
        """An element's (zone, path id, inside an item) from its parent's."""
        zone, parent_id, in_item = parent
        tag = el.tag.lower() if isinstance(el.tag, str) else "?"
        own, opens = _own(tag, el.get("class") or "", el.get("id") or "", el.get("role") or "")
        if zone != FURNITURE and opens is not None:
            if opens == LANDMARK_TAGS_ZONE:
                zone = zone if in_item else FURNITURE
            elif zone != ASIDE or opens == FURNITURE:
                zone = opens
        key = (parent_id, own)
        path_id = self.ids.get(key)
        if path_id is None:
            path_id = self.ids[key] = len(self.parents)
            self.parents.append(key)
        return zone, path_id, in_item or tag in ITEM_TAGS

    def zone(self, el) -> str:
        return self._info(el)[0]

    def path(self, el) -> int:
        return self._info(el)[1]

    def path_text(self, path_id: int) -> str:
        parts = []
        while path_id > 0:
            path_id, own = self.parents[path_id]
            parts.append(own)
        return ">".join(reversed(parts))


# ---------------------------------------------------------------- links and groups

HEADLINE_MIN_WORDS = 4
HEADLINE_MIN_CHARS = 16
HEADLINE_MAX_WORDS = 60
TEASER_CHARS = 60
ITEM_MAX_CHARS = 1200
DATE_NEAR = re.compile(
    r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}:\d{2}\b|"
    r"\b\d+\s*(giây|phút|giờ|ngày|tuần|tháng|năm)\s*trước\b|"
    r"\b\d+\s*(seconds?|minutes?|hours?|days?|weeks?|months?|years?)\s+ago\b|"
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}\b|"
    r"\b\d{1,2}\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{4}\b|"
    r"\bngày\s+\d{1,2}\s+tháng\s+\d{1,2}\b",
    re.IGNORECASE)
_DIGIT = re.compile(r"\d")  # every date form has one: the cheap test before DATE_NEAR
SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "#", "sms:", "callto:")
NOT_PAGES = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|odt|ods|rtf|zip|rar|7z|gz|jpe?g|png|gif|webp|svg|bmp|ico|"
                       r"mp3|mp4|avi|mov|wmv|flv|css|js|xml|rss|json|txt|exe|apk)$", re.IGNORECASE)


def _text(el) -> str:
    return " ".join("".join(el.itertext()).split())


def _words(text: str) -> int:
    return len(text.split())


def is_headline(text: str) -> bool:
    return HEADLINE_MIN_WORDS <= _words(text) <= HEADLINE_MAX_WORDS and len(text) >= HEADLINE_MIN_CHARS


@dataclass
class Link:
    url: str
    text: str
    zone: str
    path: int  # the walker's id of its tag-and-class path
    anchor: object = field(repr=False)
    ancestors: list = field(default_factory=list, repr=False)
    item: object = field(default=None, repr=False)
    dated: bool = False
    teaser: bool = False
    small_item: bool = False  # its item block is one teaser's size, not a whole region

    headline: bool = False  # its text reads like a headline (set once its text is final)


@dataclass
class Group:
    """Links at one tag-and-class path: one candidate list."""

    path: str
    links: list[Link]
    zone: str = MAIN
    path_id: int = 0
    score: float = 0.0
    evidence: dict = field(default_factory=dict)
    template: Template | None = None

    @property
    def urls(self) -> list[str]:
        seen: dict[str, None] = {}
        for link in self.links:
            seen.setdefault(link.url)
        return list(seen)


@dataclass
class Analysis:
    """What the structure of one page says: its ranked candidate lists and the links taken."""

    url: str
    groups: list[Group]
    main: Group | None
    template: Template | None
    taken: dict[str, str]        # url -> why it is an article link
    not_taken: dict[str, str]    # url -> why not
    links: dict[str, list[Link]] = field(repr=False, default_factory=dict)

    @property
    def items(self) -> int:
        return len(self.main.urls) if self.main else 0


def _anchor_text(a) -> str:
    text = _text(a)
    if not text:
        text = " ".join((a.get("title") or "").split())
    if not text:
        img = next(a.iter("img"), None)
        if img is not None:
            text = " ".join((img.get("alt") or "").split())
    return text


_UNSEEN = object()


def join(base: str, href: str) -> str:
    """`urljoin(base, href)`, with the two forms most links take (absolute, and site-rooted without
    dot segments) joined by hand: a listing page has hundreds of links and urljoin is slow."""
    if href.startswith(("http://", "https://")) and "/." not in href:
        return href
    if href.startswith("/") and not href.startswith("//") and "/." not in href:
        cut = base.find("/", base.find("//") + 2)
        return (base if cut < 0 else base[:cut]) + href
    return urljoin(base, href)


def _resolve(href: str, base: str, here: str, same_site, sites: dict) -> str | None:
    """The URL a link leads to, or None when it is no other page of the site (a script, a file,
    this page, another site). `sites` caches `same_site` by scheme and host."""
    href = href.strip()
    if not href or href.lower().startswith(SKIP_SCHEMES):
        return None
    url = urldefrag(join(base, href))[0]
    if not url.startswith(("http://", "https://")) or url == here or NOT_PAGES.search(url.split("?", 1)[0]):
        return None
    if same_site is not None:
        cut = url.find("/", url.find("//") + 2)
        origin = url if cut < 0 else url[:cut]
        ok = sites.get(origin)
        if ok is None:
            ok = sites[origin] = same_site(url)
        if not ok:
            return None
    return url


def collect_links(root, base_url: str, walker: _Walker | None = None,
                  normalize: Callable[[str], str] | None = None,
                  same_site: Callable[[str], bool] | None = None) -> list[Link]:
    """Every link of the page to another http(s) page of the site, with its zone and element path.

    `normalize` maps a URL to the one it is stored under (tracking parameters dropped); each
    distinct href is resolved once per page, and normalised only outside menus, headers and
    footers (their links are never taken: canonicalising hundreds of menu links was a third of
    the analysis)."""
    walker = walker or _Walker()
    here = urldefrag(base_url)[0]
    head = root.find("head")
    base_el = head.find("base") if head is not None else None
    base = urljoin(here, base_el.get("href") or "") if base_el is not None else here
    links = []
    resolved: dict[str, str | None] = {}
    normalized: dict[str, str] = {}
    sites: dict[str, bool] = {}
    info = walker._info
    for a in root.iter("a"):
        href = a.get("href")
        if not href:
            continue
        url = resolved.get(href, _UNSEEN)
        if url is _UNSEEN:
            url = resolved[href] = _resolve(href, base, here, same_site, sites)
        if url is None:
            continue
        zone, path, _in_item = info(a)
        if zone == FURNITURE:  # a menu link's text is never read either: menus are no list
            links.append(Link(url, "", zone, path, a))
            continue
        if normalize is not None:
            url = normalized.get(href) or normalized.setdefault(href, normalize(url))
        links.append(Link(url, _anchor_text(a), zone, path, a))
    return links


def _ancestors(el) -> list:
    out = [el]
    out.extend(el.iterancestors())
    out.reverse()
    return out


def _common_depth(a: list, b: list) -> int:
    n = 0
    for x, y in zip(a, b):
        if x is not y:
            break
        n += 1
    return n


def _mark_items(links: list[Link]) -> None:
    """Each link's item block: its largest ancestor holding no other link of the same group."""
    merged: list[Link] = []
    for link in links:  # an item's image link and title link share a URL: one item
        if merged and merged[-1].url == link.url:
            link.ancestors = merged[-1].ancestors
            continue
        link.ancestors = _ancestors(link.anchor)
        merged.append(link)
    for i, link in enumerate(merged):
        depth = 0
        if i > 0:
            depth = max(depth, _common_depth(merged[i - 1].ancestors, link.ancestors))
        if i + 1 < len(merged):
            depth = max(depth, _common_depth(merged[i + 1].ancestors, link.ancestors))
        if len(merged) == 1:
            depth = max(len(link.ancestors) - 3, 0)
        link.item = link.ancestors[min(depth, len(link.ancestors) - 1)]
    for link in links:
        if link.item is None:
            link.item = next(m.item for m in merged if m.url == link.url)


def _bounded_text(el, limit: int) -> str | None:
    """`el`'s text, whitespace collapsed, or None when it is longer than `limit` (read no further)."""
    pieces, size = [], 0
    for piece in el.itertext():
        pieces.append(piece)
        size += len(piece)
        if size > 4 * limit:  # even with generous whitespace, past the limit
            return None
    text = " ".join("".join(pieces).split())
    return text if len(text) <= limit else None


def _item_evidence(link: Link, title_text: str) -> None:
    item = link.item
    if item is None:
        return
    text = _bounded_text(item, ITEM_MAX_CHARS)
    if text is None:  # not one item but a whole region
        return
    link.small_item = True
    rest = text.replace(title_text, " ", 1) if title_text else text
    link.teaser = len(rest) - rest.count(" ") >= TEASER_CHARS * 0.8
    head = rest[:400]
    link.dated = next(item.iter("time"), None) is not None or (_DIGIT.search(head) is not None
                                                                  and DATE_NEAR.search(head) is not None)


EVIDENCE_SAMPLE = 12  # items of a group whose surroundings are read: a long list is judged on a sample


def _sample(items: list, n: int = EVIDENCE_SAMPLE) -> list:
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def _score(group: Group) -> None:
    """A group's score on structure: size, headline texts, one URL template, dates and teasers beside its links."""
    urls = group.urls
    n = len(urls)
    firsts: dict[str, Link] = {}
    for link in group.links:
        firsts.setdefault(link.url, link)
    items = list(firsts.values())
    headline = sum(1 for link in items if link.headline) / n
    sampled = _sample(items)
    for link in sampled:
        _item_evidence(link, link.text)
    dated = sum(1 for link in sampled if link.dated) / len(sampled)
    teaser = sum(1 for link in sampled if link.teaser) / len(sampled)
    shapes: dict[str, int] = {}
    for u in urls:
        shape = loose_shape(url_shape(u))
        shapes[shape] = shapes.get(shape, 0) + 1
    coherence = max(shapes.values()) / n
    zone_weight = {MAIN: 1.0, ASIDE: 0.4}.get(group.zone, 0.0)
    size = min(n, 40) ** 0.5 if n >= 2 else 0.5
    group.score = round(size * headline * (0.4 + 0.6 * coherence) * zone_weight
                        * (1 + 0.6 * dated + 0.6 * teaser), 3)
    group.template = learn_template(urls)
    group.evidence = {"items": n, "headline": round(headline, 2), "dated": round(dated, 2),
                      "teaser": round(teaser, 2), "same_template": round(coherence, 2),
                      "url_rules": None, "zone": group.zone}


URL_VOTE = 0.5  # how much the URL rules' agreement adds to a group's score (at most)


def _vote(groups: list[Group], is_article_url: Callable[[str], bool]) -> None:
    """Add the URL rules' vote to the groups it can still lift to the top: asking the rules costs
    eight regexes a URL, so groups too far behind the best are not asked (nor are long lists whole)."""
    best = max(g.score for g in groups)
    for group in groups:
        if group.score * (1 + URL_VOTE) < best:
            continue
        urls = _sample(group.urls, 20)
        vote = sum(1 for u in urls if is_article_url(u)) / len(urls)
        base = 1 + 0.6 * group.evidence["dated"] + 0.6 * group.evidence["teaser"]
        group.score = round(group.score * (base + URL_VOTE * vote) / base, 3)
        group.evidence["url_rules"] = round(vote, 2)


MIN_MAIN_SCORE = 0.8


def analyse(root, base_url: str, is_article_url: Callable[[str], bool] | None = None,
            same_site: Callable[[str], bool] | None = None, template: Template | None = None,
            normalize: Callable[[str], str] | None = None) -> Analysis:
    """Find the page's main list and the article links it (and lists of the same template) hold.

    `is_article_url` is the URL-shape rules' vote (evidence, not a gate); `same_site` limits links
    to the source's sites; `template`, a learned article template, takes every link it matches;
    `normalize` maps URLs to their stored form (the keys of `taken` and `not_taken`).
    """
    walker = _Walker()
    links = collect_links(root, base_url, walker, normalize, same_site)
    by_url: dict[str, list[Link]] = {}
    for link in links:
        by_url.setdefault(link.url, []).append(link)
    for url, same in by_url.items():  # an image link takes the headline text of its item's title link
        for lnk in same:
            lnk.headline = lnk.zone != FURNITURE and is_headline(lnk.text)
        if not all(lnk.headline for lnk in same):
            best = max((lnk.text for lnk in same if lnk.headline), key=_words, default=None)
            if best is not None:
                for lnk in same:
                    if not lnk.headline and lnk.zone != FURNITURE:
                        lnk.text, lnk.headline = best, True
    grouped: dict[str, list[Link]] = {}
    for link in links:
        if link.zone != FURNITURE:
            grouped.setdefault(link.path, []).append(link)
    groups = []
    for path, members in grouped.items():
        if not any(m.headline for m in members):
            continue  # a menu, a pager, a tag cloud: nothing here reads like a headline
        zone = ASIDE if any(m.zone == ASIDE for m in members) else MAIN
        group = Group(walker.path_text(path), members, zone, path)
        _mark_items(members)
        _score(group)
        groups.append(group)
    if groups and is_article_url is not None:
        _vote(groups, is_article_url)
    groups.sort(key=lambda g: -g.score)
    main = groups[0] if groups and groups[0].score >= MIN_MAIN_SCORE and len(groups[0].urls) >= 2 else None
    if template is not None and not any(template.matches(u) for u in by_url):
        template = None  # the listing stopped yielding the learned template: its structure decides again
    chosen = template or (main.template if main else None)
    taken: dict[str, str] = {}
    # a learned template this page still yields beats a main list with none of its links (a decoy)
    follow_main = main is not None and (
        template is None or any(template.matches(u) for u in main.urls)
        or loose_shape(template.shape).split("?")[0] == loose_shape(main.template.shape).split("?")[0])
    if follow_main:
        # a list long and uniform enough to have a template: a link of another template in it is an
        # intruder (a promoted event or topic) unless the URL rules call it an article; a short list
        # is taken whole
        loose = loose_shape(main.template.shape)
        uniform = len(main.urls) >= 4 and main.evidence["same_template"] >= 0.75
        for u in main.urls:
            if not uniform or loose_shape(url_shape(u)) == loose:
                taken[u] = "in the page's main list"
            elif is_article_url is not None and is_article_url(u):
                taken[u] = "in the page's main list, another URL template but shaped like an article"
    if chosen is not None:
        matching: dict[int, list[bool]] = {}  # per element path: which of its links have the template
        for link in links:
            if link.zone != FURNITURE:
                matching.setdefault(link.path, []).append(chosen.matches(link.url))
        for link in links:
            if link.url in taken or link.zone == FURNITURE or not chosen.matches(link.url):
                continue
            if template is not None and not follow_main:  # no list of its own: a thin page, or a decoy's
                taken[link.url] = "matches the learned article template"
            elif sum(matching[link.path]) * 2 > len(matching[link.path]):
                # beside the main list, another list of the same template (a featured box), not
                # one such link in a box of topics, events and static pages
                taken[link.url] = ("matches the learned article template" if template is not None
                                   else "another list with the main list's URL template")
    not_taken = {}
    for url, same in by_url.items():
        if url in taken:
            continue
        link = same[0]
        if all(lnk.zone == FURNITURE for lnk in same):
            not_taken[url] = "menu, header or footer"
        elif main is not None and any(lnk.path == main.path_id for lnk in same):
            not_taken[url] = "in the main list, but another URL template"
        elif not any(lnk.headline for lnk in same):
            not_taken[url] = "short link text (menu, tag, category or pager)"
        elif template is not None:
            not_taken[url] = "not the source's learned article template"
        elif chosen is not None:
            not_taken[url] = "not the main list's URL template"
        else:
            not_taken[url] = "no main list found"
        del link
    return Analysis(base_url, groups, main, chosen, taken, not_taken, by_url)


def describe(analysis: Analysis) -> str:
    """One line for `dxwatch sources test`: the chosen list, its evidence and the template used."""
    if analysis.main is None:
        found = f"no main list; {len(analysis.taken)} links of the learned template" if analysis.taken else "no main list"
        return found
    ev = analysis.main.evidence
    runner = next((g for g in analysis.groups[1:] if g.template and g.template.shape != analysis.main.template.shape),
                  None)
    text = (f"main list of {ev['items']} items at {'>'.join(analysis.main.path.split('>')[-3:])}: "
            f"headlines {ev['headline']:.0%}, dated {ev['dated']:.0%}, with summary {ev['teaser']:.0%}, "
            f"one URL template {ev['same_template']:.0%}, URL rules agree {ev['url_rules'] or 0:.0%}; "
            f"template {analysis.template}; {len(analysis.taken)} links taken")
    if runner is not None:
        text += f"; next best list: {len(runner.urls)} items of {runner.template} (score {runner.score} vs {analysis.main.score})"
    return text


# ---------------------------------------------------------------- pagination

PAGE_PARAMS = re.compile(r"^(page|p|pg|trang|paged|pageindex|page_no|pagenumber|currentpage|start|offset|from|"
                         r"[a-z0-9_]*_cur|cur|pi)$", re.IGNORECASE)
OFFSET_PARAMS = {"start", "offset", "from"}
PAGE_PATH = re.compile(r"(?:[/_-](?:page|trang|p|pg)[/_-]?|/)(\d{1,4})(\.[a-z]{2,5})?/?$", re.IGNORECASE)


def _listing_key(path: str, query: list) -> str:
    path = re.sub(r"(/index)?\.[a-z]{2,5}$", "", path).rstrip("/")
    return f"{path}?{sorted(query)}"


def _page_number(url: str) -> tuple[str, int | None, str]:
    """`(the listing without its page number, the number, how it is written)`."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    for i, (k, v) in enumerate(query):
        if PAGE_PARAMS.match(k) and v.isdigit():
            return _listing_key(parts.path, query[:i] + query[i + 1:]), int(v), k.lower()
    m = PAGE_PATH.search(parts.path)
    if m:
        return _listing_key(parts.path[: m.start()], query), int(m.group(1)), "path"
    return _listing_key(parts.path, query), None, ""


def is_next_listing_url(here: str, url: str, page_no: int) -> bool:
    """Whether `url` is the same listing as `here` with the next page's number (`?page=`,
    `?start=`, `paged=`, `_cur=`, `/page/2/`, `/trang-2`, `-p2`, ...): a pager with no words."""
    if urlsplit(here).netloc != urlsplit(url).netloc:
        return False
    key_here, n_here, _ = _page_number(here)
    key_there, n_there, how = _page_number(url)
    if n_there is None or key_here != key_there:
        return False
    if how in OFFSET_PARAMS:
        return n_there > (n_here or 0)
    if n_here is None:  # page one has no number: the next is 2 (or 1 where pages count from 0)
        return n_there in (page_no + 1, page_no)
    return n_there == n_here + 1


# ---------------------------------------------------------------- listing pages are not articles

LISTING_MIN_ITEMS = 5
ITEM_ANCHOR_SHARE = 0.12  # a list item's link text is at least this share of it (a paragraph with a link is prose)
LIST_OVER_PROSE = 4       # a listing's lists hold at least four times its longest run of prose outside them
ARTICLE_PROSE = 4000      # a run of prose this long is an article's body, whatever lists surround it
SIBLING_TEASER_CHARS = 400  # a longer sibling of a list item is prose (a listicle's paragraph), not its teaser
OWN_OVER_LISTED = 2       # extracted text beyond twice the lists' text, outside them: the page has its own text
PROSE_TAGS = {"p", "span", "strong", "em", "b", "i", "u", "br", "font", "blockquote", "sup", "sub", "small",
              "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "tbody", "tr", "td", "figure", "figcaption"}
SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "select", "option", "button", "a",
             "textarea", "iframe", "nav", "header", "footer", "aside", "menu"}
POPUP_CLASS = re.compile(r"^(?:popup|modal|dialog|lightbox)$")  # a login box is not the page's text


def _prose(el, blocked: set) -> tuple[int, int]:
    """`(text of el's flow, largest prose block below el)`: running text outside anchors, lists,
    furniture and pop-ups, computed bottom-up in one walk."""
    flow = len((el.text or "").strip())
    best = 0
    for child in el:
        tail = len((child.tail or "").strip())
        flow += tail
        tag = child.tag.lower() if isinstance(child.tag, str) else ""
        if not tag or tag in SKIP_TAGS or child in blocked:
            continue
        classes = _classes(child)
        if any(FURNITURE_CLASS.search(c) or ASIDE_CLASS.search(c) or POPUP_CLASS.search(c) for c in classes):
            continue
        inner, inner_best = _prose(child, blocked)
        best = max(best, inner_best)
        if tag in PROSE_TAGS:
            flow += inner
    return flow, max(best, flow)


def listing_evidence(root, base_url: str, analysis: Analysis | None = None) -> dict | None:
    """Why this page may be a listing, or None: decided on structure, before extraction marks anything.

    The page's lists are the repeated link blocks of its main content (groups of at least three
    links, half of them headlines); an item counts when its link is a fair share of its text (a
    paragraph holding a link is prose, not an item). A listing has at least five such items, and
    the longest run of prose outside them (and outside links, menus, sidebars and pop-ups) is short
    beside them: under a quarter of the lists' text and under an article body's length. The caller
    then checks with `is_listing` that the extracted text outside the lists is not the page's own
    article.
    """
    analysis = analysis or analyse(root, base_url)
    items: set = set()
    titles: list = []  # items that are mostly their link: a headline element
    texts: list[str] = []
    urls: set[str] = set()
    for group in analysis.groups:
        if group.zone != MAIN or len(group.urls) < 3 or group.evidence["headline"] < 0.5:
            continue
        for link in group.links:
            if link.item is None or link.item in items:
                continue
            text = _bounded_text(link.item, ITEM_MAX_CHARS)
            if text is None or len(link.text) < ITEM_ANCHOR_SHARE * len(text):
                continue
            items.add(link.item)
            texts.append(text)
            urls.add(link.url)
            if 2 * len(link.text) >= len(text):
                titles.append(link.item)
    if len(urls) < LISTING_MIN_ITEMS:
        return None
    for item in titles:  # a flat list (<dt>/<dd>, <h3>/<p>): a short linkless sibling of a title is its teaser
        for n, sibling in enumerate(item.itersiblings()):
            if n >= 2 or sibling in items or not isinstance(sibling.tag, str) or next(sibling.iter("a"), None) is not None:
                break
            text = _bounded_text(sibling, SIBLING_TEASER_CHARS)
            if text is None:
                break
            items.add(sibling)
            texts.append(text)
    listed = sum(len(t) for t in texts)
    body = root.find("body")
    _flow, prose = _prose(body if body is not None else root, items)
    if prose >= ARTICLE_PROSE or listed < LIST_OVER_PROSE * prose:
        return None
    return {"items": len(urls), "listed": listed, "prose": prose, "item_texts": texts,
            "why": f"{len(urls)} list items ({listed} characters) and little text beside them "
                   f"({prose} characters of running text outside the lists)"}


def _bigrams(text: str) -> set[tuple[str, str]]:
    words = _WORD.findall(text.casefold())
    return set(zip(words, words[1:]))


_WORD = re.compile(r"\w+")


def own_text(evidence: dict, paragraphs: list[str]) -> int:
    """Characters of an extracted body that are not the lists' items (however the extractor joined them)."""
    listed = set().union(*(_bigrams(t) for t in evidence["item_texts"]))
    own = 0
    for p in paragraphs:
        grams = _bigrams(p)
        if grams and len(grams & listed) < 0.6 * len(grams):
            own += len(p)
    return own


def is_listing(evidence: dict | None, paragraphs: list[str]) -> bool:
    """The second check before `dxwatch extract` or a crawl refuses a page as a listing: the text
    the extractor found outside the lists is not more than twice the lists' text, so an article
    whose body the structure missed (its paragraphs in odd markup) keeps its own text and is kept."""
    return evidence is not None and own_text(evidence, paragraphs) < OWN_OVER_LISTED * evidence["listed"]
