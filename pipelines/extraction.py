"""Article extraction: title, publication date-time, author, source credit and clean body text.

trafilatura finds the main text; around it we do what it cannot know about Vietnamese portals:
remove page furniture (visitor counters, share bars, comment prompts, related / same-category /
by-date lists, stray media file names), drop repeated sections deterministically (print copies, a
title repeated as a lead) instead of trafilatura's process-wide `deduplicate` cache, take the
headline from h1/og:title, the date from the article's own header (pipelines/dates.py), and the
byline and "Nguồn: ..." credit from the end of the text.
"""

from __future__ import annotations

import functools
import gzip
import logging
import http.client
import re
import zlib
from collections import Counter

import trafilatura
from trafilatura.settings import use_config
from trafilatura.utils import load_html
from lxml import etree
from lxml import html as lxml_html
from scrapy.exceptions import DropItem

from crawler.charset import repaired_encoding
from crawler.items import ArticleItem
from crawler.runstats import source_key
from crawler.textnorm import content_hash, match_key, nfc, normalize_text
from pipelines import dates, metadata
from crawler import listing

MAX_PAGE_CHARS = 8_000_000
MAX_DEPTH = 200
MAX_ELEMENTS = 40_000
MIN_TEXT_CHARS = 150
logger = logging.getLogger(__name__)
_TOO_DEEP = "boolean(/" + "/*" * MAX_DEPTH + ")"


class NoArticle(Exception):
    """The page holds no article; `reason` is a short slug for stats, the message says why."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


# ---------------------------------------------------------------- input checks


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ufffd]")


def _page_text(html) -> str:
    if html is None:
        raise NoArticle("empty", "empty page")
    if isinstance(html, (bytes, bytearray)):
        data = bytes(html)
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as exc:
                raise NoArticle("unreadable", f"damaged gzip data ({exc})") from None
        html = decode_html(data)
    if not html.strip():
        raise NoArticle("empty", "empty page")
    if len(html) > MAX_PAGE_CHARS:
        raise NoArticle("too_large", f"page of {len(html):,} characters is larger than {MAX_PAGE_CHARS:,}")
    sample = html[:65536]
    controls = len(_CONTROL_CHARS.findall(sample))
    if "\x00" in sample or controls > len(sample) * 0.05:
        raise NoArticle("binary", "binary content, not an HTML page")
    return html


def decode_html(data: bytes, declared: str | None = None) -> str:
    """Page bytes as text: the declared charset unless the bytes say otherwise (legacy cp1258 pages)."""
    from w3lib.encoding import html_body_declared_encoding

    declared = declared or html_body_declared_encoding(data)
    encoding = repaired_encoding(data, declared) or declared or "utf-8"
    try:
        return data.decode(encoding, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _parse(html: str):
    try:
        root = load_html(html)  # trafilatura's own parser settings: the same tree plain trafilatura sees
    except (ValueError, TypeError, etree.LxmlError) as exc:
        raise NoArticle("unparseable", f"not parseable as HTML ({exc})") from None
    if root is None:
        raise NoArticle("unparseable", "not parseable as HTML")
    if root.xpath(_TOO_DEEP):
        raise NoArticle("too_deep", f"HTML nested deeper than {MAX_DEPTH} levels")
    elements = int(root.xpath("count(//*)"))
    if elements > MAX_ELEMENTS:  # no article page has this many; extraction time grows with it
        raise NoArticle("too_large", f"page of {elements:,} elements is larger than {MAX_ELEMENTS:,}")
    return root


def _selector_dict(selectors) -> dict:
    if selectors is None:
        return {}
    if hasattr(selectors, "model_dump"):
        selectors = selectors.model_dump()
    return {k: v for k, v in dict(selectors).items() if v}


def _text_of(el) -> str:
    return normalize_text(" ".join(el.itertext()))


# ---------------------------------------------------------------- title

_TITLE_SEPARATORS = re.compile(r"\s+[-|–—:»«]\s+|\s*\|\s*")
_SITE_NAME = re.compile(r"cổng\s+thông\s+tin|trang\s+thông\s+tin|cổng\s+tt|cổng\s+ttđt|portal|\.gov\.vn|\.vn\b|báo\s+điện\s+tử"
                        r"|^(?:sở|ubnd|ủy\s+ban|uỷ\s+ban|bộ)\s", re.IGNORECASE)
_SITE_MARKS = re.compile(r"logo|brand|site-?name|site-?title|banner|masthead|top-?bar", re.IGNORECASE)


def _meta(root, *keys: str) -> str | None:
    for key in keys:
        for meta in root.xpath(f'//meta[@property="{key}" or @name="{key}"]'):
            content = normalize_text(meta.get("content"))
            if content:
                return content
    return None


def _strip_site(title: str, site: str | None) -> str:
    """"Title - Site" -> "Title": drop a leading or trailing part that names the site."""
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    site_key = match_key(site) if site else None
    seps = _TITLE_SEPARATORS.findall(title)
    for index in (-1, 0):
        part = parts[index]
        if (site_key and match_key(part) == site_key) or _SITE_NAME.search(part):
            kept_parts = parts[:-1] if index == -1 else parts[1:]
            kept_seps = seps[:-1] if index == -1 else seps[1:]
            out = kept_parts[0]
            for sep, part_ in zip(kept_seps, kept_parts[1:]):
                out += sep + part_
            return out.strip()
    return title


def _is_site_heading(el) -> bool:
    for node in [el, *el.iterancestors()]:
        if node.tag in {"nav", "footer"} or (node.tag == "a" and node is not el):
            return True
        if _SITE_MARKS.search(f"{node.get('class', '')} {node.get('id', '')}"):
            return True
    return False


def _is_site_name(text: str, site: str | None) -> bool:
    return bool(_SITE_NAME.search(text)) or (site is not None and match_key(text) == match_key(site))


def find_title(root, selector: str | None = None):
    """(headline, its element): the h1 (or titled heading) that og:title / <title> confirm, else the
    first content h1, else og:title or <title> without the site name."""
    for el in dates.select(root, selector):
        text = _text_of(el)
        if text:
            return text, el
    site = _meta(root, "og:site_name")
    refs = [r for r in (_meta(root, "og:title", "twitter:title"),
                        normalize_text(root.findtext(".//title") or "")) if r]
    ref_keys = set()
    for ref in refs:
        ref_keys.add(match_key(ref))
        ref_keys.add(match_key(_strip_site(ref, site)))
        ref_keys.update(match_key(part) for part in _TITLE_SEPARATORS.split(ref)
                        if len(part.split()) >= 3 and not _is_site_name(part, site))
    headings = [*root.iter("h1"), *root.xpath("//h2|//h3|//*[contains(@class,'title') and not(self::a) and "
                                              "not(self::body) and not(self::h1)]")]
    for el in headings:
        text = _text_of(el)
        if text and match_key(text) in ref_keys and not _is_site_heading(el):
            return _readable_case(text, refs), el
    longest = max((len(r) for r in refs), default=0)
    for el in root.iter(*_TITLE_HOLDERS):  # a headline styled with a class of its own: td.contentheading
        text = _short_text(el, longest)
        if text and match_key(text) in ref_keys and not _is_site_heading(el):
            return _readable_case(normalize_text(text), refs), el
    for el in root.iter("h1"):
        text = _text_of(el)
        if len(text.split()) >= 4 and not _is_site_heading(el):
            return text, el
    for ref in refs:
        title = _strip_site(ref, site)
        if title:
            return title, None
    return None, None


_TITLE_HOLDERS = ("div", "td", "p", "span", "strong", "b", "font", "h4", "h5")


def _readable_case(text: str, refs: list[str]) -> str:
    """An all-capitals headline keeps its capitals unless the metadata gives the same words in sentence case."""
    if text.isupper():
        for ref in refs:
            for part in [ref, *_TITLE_SEPARATORS.split(ref)]:
                if match_key(part) == match_key(text) and not part.isupper():
                    return part
    return text


# ---------------------------------------------------------------- page furniture

_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "video", "audio", "svg",
              "button", "input", "select", "textarea", "nav", "aside", "footer")
_FURNITURE_MARKS = re.compile(
    r"(?:^|[\s_-])(?:counter|visitor|thong-?ke|truy-?cap|luot-?truy-?cap|share|sharing|social|mxh|chia-?se|"
    r"comments?|binh-?luan|y-?kien|related|lien-?quan|cung-?chuyen-?muc|tin-?khac|other-?news|othernews|"
    r"same-?cat\w*|xem-?tin-?theo-?ngay|by-?date|breadcrumbs?|tools?|toolbar|print-?bar|rating|tags?|"
    r"sidebar|widget|menu|lich-?phat-?song|schedule|banner|advert\w*|ads|quang-?cao|pagination|paging|footer|"
    r"app-?download|download-?app)(?:$|[\s_-])",
    re.IGNORECASE,
)
# Page builders wrap article text in "widget" blocks and some sites call their main column
# "sidebar-1": a block marked only by these is furniture only when it is mostly links.
_WEAK_MARKS = re.compile(r"(?:^|[\s_-])(?:sidebar|widget|menu)(?:$|[\s_-])", re.IGNORECASE)
LIST_HEADINGS = frozenset(match_key(h) for h in (
    "Tin cùng chuyên mục", "Xem tin theo ngày", "Tin liên quan", "Tin bài liên quan", "Bài viết liên quan",
    "Các tin khác", "Tin khác", "Các tin đã đưa", "Tin đã đưa", "Tin mới", "Tin mới nhất", "Tin mới hơn",
    "Tin cũ hơn", "Tin đọc nhiều", "Đọc nhiều nhất", "Tin nổi bật", "Tin tức liên quan", "Xem thêm", "Đọc thêm",
    "Lịch phát sóng", "Bình luận", "Ý kiến bạn đọc", "Gửi bình luận", "Gửi ý kiến", "Viết bình luận",
    "Thống kê truy cập", "Truy cập", "Lượt truy cập", "Liên kết website", "Chia sẻ", "Chia sẻ bài viết",
    "Tags", "Từ khóa", "Các bài đã đăng", "Tin tức khác", "Thông tin cần biết", "Thư viện ảnh",
    "Những tin mới hơn", "Những tin cũ hơn", "Đang online", "Đang truy cập", "Thống kê", "Tin cùng loại",
    "Tin xem nhiều", "Bài đọc nhiều", "Tin nóng", "Tải ứng dụng", "Tải app",
))


def _heading_key(text: str) -> str:
    return match_key(text).rstrip(" :.-»>").strip()


PROSE_CHARS = 150
LIST_HEADING_CHARS = 40
_HEADING_TAGS = ("h2", "h3", "h4", "h5", "h6", "p", "div", "span", "strong", "b", "header", "li", "a")


def _short_text(el, limit: int) -> str | None:
    """The element's text (NFC, spaces collapsed) when it is at most `limit` characters, None
    otherwise; cheap on big elements (look-alike characters are not repaired: compare through `match_key`)."""
    total, parts = 0, []
    for chunk in el.itertext():
        total += len(chunk)
        if total > limit * 3:
            return None
        parts.append(chunk)
    text = nfc(" ".join(" ".join(parts).split()))
    return text if len(text) <= limit else None


FURNITURE_MAX_CHARS = 2000
LINK_SHARE = 0.5


def _text_sizes(el) -> tuple[int, int] | None:
    """(visible characters, characters inside links) of a block; None when it holds a paragraph of
    prose (a chunk of text longer than PROSE_CHARS: furniture is made of short strings, links,
    counts, labels). Scripts and styles are gone by then."""
    total = 0
    for chunk in el.itertext():
        size = len(chunk.strip())
        if size > PROSE_CHARS:
            return None
        total += size
    linked = sum(len(chunk.strip()) for a in el.iter("a") for chunk in a.itertext())
    return total, min(total, linked)


def _removable(el, short_ok: bool = True) -> bool:
    """A block that may be removed whole: no paragraph of prose, and mostly links (a menu, a share
    bar, a list of other articles) or, when `short_ok`, short (a counter, a footer line); never a
    column of article text."""
    sizes = _text_sizes(el)
    return sizes is not None and ((short_ok and sizes[0] <= FURNITURE_MAX_CHARS) or sizes[1] >= LINK_SHARE * sizes[0])


def _list_entry(el) -> bool:
    """One block of a list of other articles under a list heading: a list, or a block made mostly of links."""
    if not isinstance(el.tag, str):
        return False
    sizes = _text_sizes(el)
    if sizes is None:
        return False
    return el.tag in {"ul", "ol"} or sizes[0] == 0 or sizes[1] >= LINK_SHARE * sizes[0]


# Marks around furniture text: printable (trafilatura strips control and private-use characters)
# and practically never in a page; a page that holds them gets no furniture removal.
_OPEN, _CLOSE = "\u2e28", "\u2e29"
_MARKED = re.compile(f"{_OPEN}[^{_CLOSE}]*{_CLOSE}")
_WORD = re.compile(r"\w")


class Furniture:
    """The blocks the furniture steps found. They are marked, not removed: trafilatura reads the
    page as it is and picks its node; the marked text is then taken out of its result, unless that
    would take more than MAX_CLEANING_LOSS of it (`unmark`)."""

    def __init__(self):
        self.marked: set = set()
        self.steps: Counter = Counter()

    def inside(self, el) -> bool:
        """Whether the block or one of its ancestors is marked already."""
        return el in self.marked or any(a in self.marked for a in el.iterancestors())

    def mark(self, el, step: str) -> None:
        if self.inside(el):
            return
        self.marked.add(el)
        chars = 0
        for node in el.iter():
            if not isinstance(node.tag, str):
                continue
            if node.text and node.text.strip():
                chars += len(node.text.strip())
                node.text = _OPEN + node.text + _CLOSE
            if node is not el and node.tail and node.tail.strip():
                chars += len(node.tail.strip())
                node.tail = _OPEN + node.tail + _CLOSE
        self.steps[step] += chars

    def unmark(self, lines: list[str]) -> tuple[list[str], str | None]:
        """trafilatura's lines without the marked text; all of them, marks dropped, when the marked
        text is more than MAX_CLEANING_LOSS of what trafilatura found (then the reason is returned)."""
        plain = [line.replace(_OPEN, "").replace(_CLOSE, "") for line in lines]
        cleaned = []
        for line in lines:
            rest = _MARKED.sub("", line)
            if rest != line and not _WORD.search(rest):
                continue  # only separators were left around the furniture
            cleaned.append(rest.replace(_OPEN, "").replace(_CLOSE, ""))
        found = sum(len(line.strip()) for line in plain)
        kept = sum(len(line.strip()) for line in cleaned)
        if found and kept < (1 - MAX_CLEANING_LOSS) * found:
            steps = ", ".join(f"{step} {chars}" for step, chars in self.steps.most_common() if chars)
            return plain, (f"furniture removal would keep {kept} of the {found} characters trafilatura finds "
                           f"(blocks marked as furniture: {steps}): its text is kept")
        return cleaned, None


def _mark_furniture(root, title_el, classed: list) -> Furniture:
    """Find what is never article text, and only what can be justified: a block marked as
    furniture or a nav/aside/footer only when it is `_removable`, a list heading with its list (the
    widget box holding both, or the list entries following it up to the first block that is not
    one); the headline and its ancestors are never marked. Scripts, forms controls and media go."""
    found = Furniture()
    keep = set(title_el.iterancestors()) | {title_el} if title_el is not None else set()
    for el in list(root.iter(*_DROP_TAGS)):
        if el.tag not in _STRUCTURAL_TAGS and el not in keep and el.getparent() is not None:
            el.drop_tree()
    for el in root.iter(*_STRUCTURAL_TAGS):
        if el not in keep and not found.inside(el) and _removable(el):
            found.mark(el, el.tag)
    for el in classed:
        marks = f"{el.get('class', '')} {el.get('id', '')}"
        if el in keep or not _FURNITURE_MARKS.search(marks) or found.inside(el):
            continue
        strong = bool(_FURNITURE_MARKS.search(_WEAK_MARKS.sub(" ", marks)))
        if _removable(el, short_ok=strong):
            found.mark(el, "marked")
    for el in _list_headings(root):
        if el in keep or found.inside(el):
            continue
        box = el.getparent()
        if box.tag not in {"body", "html"} and box not in keep and _list_entry_box(box, el):
            found.mark(box, "list")
            continue
        found.mark(el, "list")
        for sibling in el.itersiblings():
            if sibling in keep or not _list_entry(sibling):
                break
            found.mark(sibling, "list")
    return found


_SHORT_TEXTS = f"//body//text()[string-length(normalize-space(.)) > 1 and string-length(normalize-space(.)) <= {LIST_HEADING_CHARS}]"
_LIST_HEADING_START = re.compile(
    r"^\W*(?:" + "|".join(sorted({w for h in LIST_HEADINGS for w in (h.split()[0],)} | {
        nfc(w).lower() for w in ("tin", "xem", "bài", "các", "lịch", "bình", "ý", "gửi", "viết", "thống", "truy",
                                 "lượt", "liên", "chia", "tags", "từ", "những", "đang", "thư", "đọc", "thông")})) + r")\b")


def _list_headings(root) -> list:
    """The elements whose whole text is a related-list heading ("Tin liên quan"), outermost first;
    found from the page's short text nodes, which is far cheaper than reading every element."""
    found = []
    for chunk in root.xpath(_SHORT_TEXTS):
        if not _LIST_HEADING_START.match(nfc(chunk.strip()).lower()):
            continue
        holder = chunk.getparent()
        if chunk.is_tail:
            holder = holder.getparent()
        best = None
        for el in [holder, *holder.iterancestors()][:4]:
            if el is None or el.tag not in _HEADING_TAGS or len(el) > 2:
                break
            text = _short_text(el, LIST_HEADING_CHARS)
            if text is None:
                break
            if _heading_key(text) in LIST_HEADINGS:
                best = el
        if best is not None and best not in found:
            found.append(best)
    return found


def _list_entry_box(box, heading) -> bool:
    """The heading's parent is a widget: the heading and list entries only."""
    return all(child is heading or _list_entry(child) for child in box)


_STRUCTURAL_TAGS = frozenset({"nav", "aside", "footer"})


_LEAD_MARKS = re.compile(r"sapo|lead|hometext|summary|chapeau|tom-?tat|excerpt|intro|description", re.IGNORECASE)
_CONTENT_BLOCKS = frozenset("p div table ul ol h1 h2 h3 h4 h5 h6 section article blockquote figure".split())
LEAD_SCAN = 300  # elements after the headline searched for a block marked as the sapo
LEAD_MAX_CHARS = 1000
LEAD_MIN_CHARS = 40
_LEAD_ATTRS = ("class", "id", "data-role", "data-slot", "itemprop")


def _after(el):
    """The elements after `el` in document order, its own descendants excepted."""
    for node in [el, *el.iterancestors()]:
        for sibling in node.itersiblings():
            yield from sibling.iter()


def _lead(root, title_el) -> str | None:
    """The sapo as printed, which trafilatura often leaves out: the block after the headline
    marked as one (`detail-sapo`, `data-role="sapo"`, `description`, ...), before the body starts,
    wherever it sits in the markup; else the block whose text is the page's description."""
    if title_el is None:
        return None
    shared = set(title_el.iterancestors())
    for seen, el in enumerate(_after(title_el)):
        if seen >= LEAD_SCAN or (el.tag == "p" and len((el.text or "").strip()) > PROSE_CHARS):
            break  # the body has started
        if not isinstance(el.tag, str) or not _LEAD_MARKS.search(" ".join(el.get(a, "") for a in _LEAD_ATTRS)):
            continue
        text = _short_text(el, LEAD_MAX_CHARS)
        if text and len(text) >= LEAD_MIN_CHARS and not dates.in_lists_or_sidebar(el, shared):
            return normalize_text(text)
    return _described_block(root, shared)


def _described_block(root, shared) -> str | None:
    """The text of the body block that `og:description` / `description` repeats (possibly cut with "...")."""
    description = _meta(root, "og:description", "description", "twitter:description")
    if not description or len(description) < LEAD_MIN_CHARS:
        return None
    wanted = match_key(description).rstrip(".… ")
    for chunk in root.xpath("//body//text()[contains(., $start)]", start=nfc(description[:30])):
        holder = chunk.getparent().getparent() if chunk.is_tail else chunk.getparent()
        for el in [holder, *holder.iterancestors()][:3]:
            text = _short_text(el, LEAD_MAX_CHARS)
            if text is None:
                break
            if match_key(text) == wanted or (len(wanted) >= 80 and match_key(text).startswith(wanted)):
                return normalize_text(text) if not dates.in_lists_or_sidebar(el, shared) else None
    return None


_VIETNAMESE_LETTERS = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.IGNORECASE)


def is_vietnamese(root, title: str | None) -> bool:
    lang = (root.get("lang") or "").lower()
    return lang.startswith("vi") or bool(title and _VIETNAMESE_LETTERS.search(title))


LAYOUT_CELL_CHARS = 1000
LAYOUT_BLOCKS_CHARS = 300  # a cell of three blocks or more and this much text is a page region
_LAYOUT_BLOCKS = frozenset("table h1 h2 h3 section article form".split())


def _layout_cell(cell) -> bool:
    """A table cell that lays out a page region (a column of text, the headline, a nested table),
    not a data value: a data cell may hold a paragraph or two, never that."""
    blocks = 0
    for el in cell.iterdescendants():
        if not isinstance(el.tag, str):
            continue
        if el.tag in _LAYOUT_BLOCKS:
            return True
        blocks += el.tag in _CONTENT_BLOCKS and bool(el.text_content().strip())
    text = _short_text(cell, LAYOUT_CELL_CHARS)
    return text is None or (blocks >= 3 and len(text) > LAYOUT_BLOCKS_CHARS)


def _unwrap_layout(root, title_el, keep_captions: bool) -> None:
    """Layout tables as plain blocks, so a page laid out with tables is not read as one data table
    (a data table keeps its rows); on Vietnamese pages, the captions of pictures inside the text
    kept as paragraphs (they belong to the news story there, while the English benchmark's gold
    leaves captions out), but not the headline picture's, printed before the first paragraph."""
    for table in list(root.iter("table")):
        if table.getparent() is None or table.tag != "table":
            continue
        columns = max((len(row.xpath("./td|./th")) for row in table.xpath(".//tr")), default=0)
        if columns <= 1 or any(_layout_cell(c) for c in table.xpath(".//td|.//th")):
            for el in [table, *table.iterdescendants()]:
                if el.tag in {"table", "tbody", "thead", "tfoot", "tr", "td", "th"}:
                    el.tag = "div"
    if not keep_captions:
        return
    captions = _captions_in_text(root, title_el)
    for figure in list(root.iter("figure")):
        if not any(caption in captions for caption in figure.iter("figcaption")) and figure.find(".//figcaption") is not None:
            continue  # the headline picture: trafilatura leaves its caption out
        figure.tag = "div"
    for caption in captions:
        if caption.tag == "figcaption":
            caption.tag = "p"
        caption.attrib.pop("class", None)  # trafilatura discards "caption" classes


def _is_caption(el) -> bool:
    return el.tag == "figcaption" or any(mark in (el.get("class") or "") for mark in ("caption", "image_desc"))


def _captions_in_text(root, title_el) -> list:
    """The picture captions that come after the article's first paragraph (a `p` of some length
    after the headline that is neither a caption nor the sapo)."""
    captions, started, text_seen = [], title_el is None, False
    for el in root.iter():
        if el is title_el:
            started = True
        if not started or not isinstance(el.tag, str):
            continue
        if _is_caption(el):
            if text_seen:
                captions.append(el)
        elif (not text_seen and el.tag == "p" and len(el.text_content().strip()) >= LEAD_MIN_CHARS
              and not _LEAD_MARKS.search(" ".join(el.get(a, "") for a in _LEAD_ATTRS))
              and not any(_is_caption(a) or a.tag == "figure" for a in el.iterancestors())):
            text_seen = True
    return captions


# ---------------------------------------------------------------- text cleaning

_MEDIA_EXT = r"(?:jpe?g|png|gif|webp|bmp|tiff?|svg|mp4|mp3|m4a|avi|mov|wmv|flv|webm|mkv|3gp)"
_MEDIA_LINE = re.compile(rf"^(?:(?:video|ảnh|hình|clip|file|tệp)\s*:\s*)?[^\s/\\][^/\\]{{0,90}}?\.{_MEDIA_EXT}"
                         r"(?:\?\S*)?$", re.IGNORECASE)
_MEDIA_TAIL = re.compile(rf"(?<=[.!?…”\"’)])\s*[\w\-]+(?: \d+)?\.{_MEDIA_EXT}(?:\?\S*)?$", re.IGNORECASE)
_FURNITURE_LINE = re.compile(
    r"^(?:"
    r"(?:truy cập|hôm nay|hôm qua|tuần này|tuần trước|tháng này|tháng trước|năm nay|tất cả|tổng cộng|đang online|"
    r"đang truy cập|trực tuyến|lượt truy cập|tổng lượt truy cập|lượt xem|số lượt xem|lượt đọc)\s*:?\s*[\d.,]*"
    r"|[\d.,]+"
    r"|\d+\s*(?:bình luận|ý kiến|lượt xem|lượt thích)"
    r"|\(?\s*bấm vào đây[^)]*\)?"
    r"|(?:(?:chia sẻ|in bài|in trang|bản in|gửi email|gửi bài|email|e-mail|facebook|zalo|twitter|tweet|linkedin|"
    r"lưu bài|lưu tin|quay lại|về đầu trang|đầu trang|trở về|trở lại|phóng to|thu nhỏ|cỡ chữ|a\+|a-|in|"
    r"nghe đọc bài|đọc bài|tải về|bình luận|thích|like|share)\s*[:|/,·•]?\s*)+"
    r"|(?:mã xác nhận|nhập mã|họ và tên|họ tên|địa chỉ email|nội dung bình luận)\s*:?.*"
    r"|(?:bạn còn|còn)\s*\d+\s*/\s*\d+\s*ký tự.*"
    r"|(?:click|bấm|nhấn) (?:vào )?để đánh giá.*|tổng số điểm của bài viết.*|đánh giá bài viết.*"
    r"|(?:có|hiện có)?\s*[\d.,]+\s*khách(?:\s*(?:và|,)\s*[\d.,]+\s*thành viên)?\s*(?:đang\s*)?(?:trực tuyến|online)"
    r")$",
    re.IGNORECASE,
)


def _is_furniture_line(line: str) -> bool:
    return bool(_FURNITURE_LINE.match(line) or _MEDIA_LINE.match(line))


REPEATED_PARAGRAPH_CHARS = 100


def _table_row(line: str, title_key: str | None) -> str:
    """A table row as trafilatura prints it ("| a | b |"): empty when it holds only the headline
    and buttons (a layout table), unchanged when it holds data."""
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    kept = [c for c in cells if c and c.casefold() != title_key and not _is_furniture_line(c)]
    return line if kept else ""


def _data_row(line: str) -> bool:
    """A table row with a value beside its date ("| 1/1/2013 | +13.1% |"), not a date line."""
    return line.startswith("|") and sum(1 for cell in line.strip("| ").split("|") if cell.strip()) >= 2


_DATELINE = re.compile(r"^\((?:[A-ZĐ][\w.&-]{1,30}(?: [\w.&-]{1,20}){0,2}|[a-zđ][\w-]*\.(?:vn|com|net)[\w.]*)\)\s*[-–—]\s*")


MAX_CLEANING_LOSS = 0.5  # a cleaning step may take at most this share of the text it was given
_SENTENCE_END = ("." , "!", "?", "…", ":", ";", '"', "”", ")")


def _list_title(line: str) -> bool:
    """A line of a list of other articles: a headline, short and without a closing stop."""
    return len(line) < PROSE_CHARS and not line.endswith(_SENTENCE_END)


def clean_paragraphs(lines, title: str | None, portal: bool = True) -> list[str]:
    """The article's paragraphs in order, without furniture lines. A related-news heading after the
    text ends the article, unless what follows it is more than `MAX_CLEANING_LOSS` of the text
    (then it was a box inside the article: only the heading and the headlines right under it go).

    Repeated sections such as a print copy go (`drop_repeats`). On a Vietnamese portal (`portal`)
    its conventions are undone too: the headline repeated in the text, date lines anywhere in it;
    on other pages a date line goes only before the text starts (later ones are a log's entries)."""
    title_key = title.casefold() if title else None
    dropped_title = title_key if portal else None
    out: list[str] = []
    cut = None
    listing = False
    for raw in lines:
        line = _MEDIA_TAIL.sub("", normalize_text(raw)).strip()
        if not line:
            continue
        if len(line) <= LIST_HEADING_CHARS and _heading_key(line) in LIST_HEADINGS:
            if out and cut is None:
                cut = len(out)  # a related-news list starts: the article is over
            listing = True
            continue
        if listing and _list_title(line):
            continue
        listing = False
        if line.startswith("|"):
            line = _table_row(line, title_key)
        if not line or line.casefold() == dropped_title or _is_furniture_line(line) or (
                (portal or not out) and dates.date_line(line) and not _data_row(line)):
            continue
        out.append(_DATELINE.sub("", line) if not out else line)  # "(Chinhphu.vn) - " before the lead
    if cut is not None and _chars(out[cut:]) <= MAX_CLEANING_LOSS * _chars(out):
        out = out[:cut]
    return drop_repeats(out)


def _chars(paragraphs: list[str]) -> int:
    return sum(len(p) for p in paragraphs)


def drop_repeats(paragraphs: list[str]) -> list[str]:
    """Drop a paragraph seen before when it is long or starts a run of repeated paragraphs (a print
    copy, a repeated block); short lines and runs of list items or table rows may repeat on purpose
    (a schedule, a training plan, a recipe)."""
    keys = [p.casefold() for p in paragraphs]
    first_at: dict[str, int] = {}
    out, i = [], 0
    while i < len(paragraphs):
        key = keys[i]
        j = first_at.get(key)
        if j is None:
            first_at[key] = i
            out.append(paragraphs[i])
            i += 1
            continue
        run = 1
        while i + run < len(keys) and j + run < i and keys[i + run] == keys[j + run]:
            run += 1
        items = all(p.startswith(("- ", "|")) for p in paragraphs[i:i + run])
        if not items and sum(len(p) for p in paragraphs[i:i + run]) >= REPEATED_PARAGRAPH_CHARS:
            i += run
        else:
            out.append(paragraphs[i])
            i += 1
    return out


# ---------------------------------------------------------------- author and credit

_CREDIT = re.compile(r"^[(\[]?\s*(?P<label>nguồn(?:\s+tin)?|theo)\s*[:\-]?\s*(?P<credit>[^()\[\]]{2,80}?)\s*[)\]]?\.?$",
                     re.IGNORECASE)
_DOMAIN = re.compile(r"\w\.(?:vn|com|net|org|gov)\b", re.IGNORECASE)
_BYLINE_PREFIX = re.compile(
    r"^(?:(?:tin|bài|ảnh|video|clip)(?:\s*(?:,|và|-|/)\s*(?:ảnh|bài|video|clip))*|tác giả|phóng viên|nhóm pv|"
    r"tác giả bài viết|người viết|thực hiện|bài viết|biên tập)\s*:\s*", re.IGNORECASE)
_BYLINE_SUFFIX = re.compile(r"\s*[-–]?\s*\(\s*(?:t/h|th|tổng hợp|lược dịch|theo [^)]{2,60})\s*\)\s*$",
                            re.IGNORECASE)
_BYLINE_OUTLET = re.compile(r"\s*\(\s*(?P<outlet>(?:báo|tạp chí|đài|cổng|ttxvn|vov|vtv|vna)\b[^()]{0,60}|[\w.-]+\.vn)\s*\)\s*$",
                            re.IGNORECASE)
_COLLECTIVE_BYLINE = re.compile(r"^(?:ban biên tập|bbt|nhóm phóng viên|nhóm pv|phóng viên|pv|p\.v)$", re.IGNORECASE)
_NAME_JOINERS = re.compile(r"\s*(?:,|;|\s-\s|\s–\s|\svà\s|&)\s*")
_NAME_WORD = re.compile(r"^(?:[^\W\d_]\.)*[^\W\d_]+\.?$")  # Minh, Ng., P.V, T.Hà
MAX_BYLINE_CHARS = 60


def _names(text: str) -> list[str] | None:
    names = [n.strip() for n in _NAME_JOINERS.split(text) if n.strip()]
    if not names:
        return None
    for name in names:
        words = name.split()
        if not 1 <= len(words) <= 5 or not all(_NAME_WORD.match(w) and w[0].isupper() for w in words):
            return None
    return names


_THEO = re.compile(r"^theo\s+", re.IGNORECASE)
_OUTLET_NAME = re.compile(r"^(?:báo|tạp chí|đài|cổng|trang|ttxvn|vov|vtv|vna|cục|sở|bộ|ubnd)\b", re.IGNORECASE)
_BYLINE_SEPARATORS = frozenset({"-", "–", ",", ";", "|", "/", "và", "&"})


def parse_byline(line: str) -> str | None:
    """The author named by a byline: "Bích Phương", "NGUYỄN HÀ (t/h)", "Tin, ảnh: Minh Hà",
    "Minh Khôi (Báo Điện tử Chính phủ)" (the outlet goes to `byline_outlet`), "Ban Biên tập",
    "Theo Hồ Hương" (without "Theo"; "Theo Báo ..." is a credit, not an author). Names printed on
    separate lines (one element each) are joined as a printed byline joins them: "A - B"."""
    lines = [part for part in (p.strip(" .") for p in normalize_text(line).split("\n"))
             if part and part.casefold() not in _BYLINE_SEPARATORS]
    if len(lines) > 1:
        names = [_parse_byline_line(part) for part in lines]
        if not all(names):
            return None
        return " - ".join(dict.fromkeys(names))
    return _parse_byline_line(lines[0]) if lines else None


def _parse_byline_line(line: str) -> str | None:
    if not line or len(line) > MAX_BYLINE_CHARS:
        return None
    stripped = _BYLINE_PREFIX.sub("", line)
    if _COLLECTIVE_BYLINE.match(stripped):
        return stripped
    unsuffixed = _BYLINE_OUTLET.sub("", _BYLINE_SUFFIX.sub("", stripped))
    theo = _THEO.match(unsuffixed)
    if theo:
        unsuffixed = unsuffixed[theo.end():]
        if _OUTLET_NAME.match(unsuffixed) or _DOMAIN.search(unsuffixed):
            return None
    marked = unsuffixed != line
    names = _names(unsuffixed)
    if not names:
        return None
    if len(names) == 1 and len(names[0].split()) == 1 and not (marked or names[0].isupper()):
        return None
    return unsuffixed.strip()


def byline_outlet(line: str) -> str | None:
    """The outlet a byline names in brackets: "Minh Khôi (Báo Điện tử Chính phủ)" -> "Báo Điện tử Chính phủ"."""
    m = _BYLINE_OUTLET.search(normalize_text(line))
    return m.group("outlet").strip() if m else None


def parse_credit(line: str) -> str | None:
    """The source named by "Nguồn: baoninhbinh.org.vn" or "(Theo Báo Ninh Bình)"; a closing sentence
    such as "Theo kế hoạch, ..." is not a credit: after "Theo" comes a name or a domain, no clause."""
    m = _CREDIT.match(normalize_text(line))
    if not m:
        return None
    credit = m.group("credit").strip(" .:")
    if m.group("label").lower() == "theo" and not _DOMAIN.search(credit) and (
            "," in credit or not credit[:1].isupper() or len(credit.split()) > 8):
        return None
    return credit


def split_byline(paragraphs: list[str]) -> tuple[list[str], str | None, str | None]:
    """Take the byline and the source credit off the end of the text (in either order)."""
    author = credit = None
    body = list(paragraphs)
    for _ in range(3):
        if len(body) < 2:
            break
        last = body[-1]
        if credit is None and (found := parse_credit(last)):
            credit = found
        elif author is None and (found := parse_byline(last)):
            author, credit = found, credit or byline_outlet(last)
        else:
            break
        body.pop()
    return body, author, credit


_AUTHOR_MARKS = re.compile(r"author|tac-?gia|byline|writer|nguoi-?viet", re.IGNORECASE)
AUTHOR_BLOCK_CHARS = 500  # author markup around more text than this is a box of other things
_CLASSED = "//body//*[@class or @id]"  # read once per page (`classed`): element proxies are the cost


def _marked(classed: list, marks: re.Pattern) -> list:
    """The elements whose class or id matches `marks`, in document order."""
    return [el for el in classed if marks.search(f"{el.get('class', '')} {el.get('id', '')}")]


def _author_from_page(root, classed: list, selector: str | None, header_lines: list[str]) -> str | None:
    """A byline printed outside the text: the source's selector, author markup, "Viết bởi ..."
    next to the headline. (The byline closing the text comes next, then the page's metadata:
    `extract_article_or_raise`.)"""
    for el in dates.select(root, selector):
        text = _text_of(el)
        if text:
            return parse_byline(text) or _BYLINE_PREFIX.sub("", text)
    for el in root.xpath('//*[@itemprop="author"] | //*[@rel="author"]'):
        found = parse_byline(_text_of(el) or el.get("content") or "")
        if found:
            return found
    for el in _marked(classed, _AUTHOR_MARKS):
        if _short_text(el, AUTHOR_BLOCK_CHARS) and (found := parse_byline(_text_of(el))):
            return found
    for line in header_lines:
        name = dates.split_byline_label(line)[0]
        if name and (found := parse_byline(name)):
            return found
    return None


def _structured_author(root, url: str | None) -> str | None:
    """The author in the page's metadata (`pipelines.metadata`), each name checked like a byline."""
    found = metadata.structured_author(root, url)
    if not found:
        return None
    names = [parse_byline(name) or (name if _names(name) else None) for name in found.split(" - ")]
    names = [n for n in names if n and not _SITE_NAME.search(n)]
    return " - ".join(names) or None


_CREDIT_MARKS = re.compile(r"source|nguon", re.IGNORECASE)


def _credit_from_page(classed: list) -> str | None:
    """A "Nguồn tin: ..." line printed outside the text (a source panel under the article)."""
    for el in _marked(classed, _CREDIT_MARKS):
        text = _short_text(el, 120)
        if text and (found := parse_credit(text)):
            return found
    return None


# ---------------------------------------------------------------- the article


@functools.cache
def _trafilatura_config():
    """trafilatura's settings with its minimum text size at ours: by default a short news item
    (under 250 characters) sends it to a fallback that flattens the whole page into one line."""
    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(MIN_TEXT_CHARS))
    return config


def _body_text(root, url: str | None, body_selector: str | None) -> str:
    target = root
    chosen = dates.select(root, body_selector)
    if chosen:
        target = lxml_html.document_fromstring("<html><body></body></html>")
        body = target.find("body")
        for el in chosen:
            body.append(el)
    try:
        text = trafilatura.extract(target, url=url, include_comments=False, include_tables=True,
                                   include_images=False, deduplicate=False, with_metadata=False,
                                   config=_trafilatura_config())
    except (RecursionError, ValueError, TypeError, etree.LxmlError) as exc:
        raise NoArticle("unparseable", f"text extraction failed ({type(exc).__name__})") from None
    return text or ""


def _paragraphs(root, title_el, furniture, url, body_selector, title, lead, vietnamese) -> tuple[list[str], str | None]:
    """The cleaned paragraphs of the article and why the furniture was kept if it was. On Vietnamese
    pages the sapo leads the text and the portal conventions are undone (`clean_paragraphs`);
    elsewhere a subtitle is not text and trafilatura's text is trusted beyond furniture lines."""
    _unwrap_layout(root, title_el, keep_captions=vietnamese)
    lines, cleaning = furniture.unmark(_body_text(root, url, body_selector).split("\n"))
    if vietnamese and lead and match_key(lead) not in {match_key(line) for line in lines}:
        lines.insert(0, lead)
    return clean_paragraphs(lines, title, portal=vietnamese), cleaning


def extract_article_or_raise(html, url: str | None, selectors=None, feed_published=None) -> dict:
    """Like `extract_article`, but a page without an article raises `NoArticle` saying why."""
    page = _page_text(html)
    root = _parse(page)
    chosen = _selector_dict(selectors)
    title, title_el = find_title(root, chosen.get("title"))
    neighbours = dates.header_lines(root, title_el)
    published = dates.find_published(root, url, selector=chosen.get("date"), feed_published=feed_published,
                                     lines=neighbours)
    classed = root.xpath(_CLASSED)
    page_author = _author_from_page(root, classed, chosen.get("author"), neighbours)
    structured_author = _structured_author(root, url)  # before the furniture step drops the scripts
    page_credit = _credit_from_page(classed)
    lead = _lead(root, title_el)
    list_evidence = listing.listing_evidence(root, url or "http://localhost/")  # before anything is marked
    vietnamese = is_vietnamese(root, title)
    furniture = _mark_furniture(root, title_el, classed) if _OPEN not in page and _CLOSE not in page else Furniture()
    paragraphs, cleaning = _paragraphs(root, title_el, furniture, url, chosen.get("body"), title, lead, vietnamese)
    if cleaning:
        logger.info("%s: %s", url, cleaning)
    paragraphs, byline, credit = split_byline(paragraphs)
    author = page_author or byline or structured_author
    credit = credit or page_credit
    if author and paragraphs and match_key(paragraphs[-1]) == match_key(author):
        paragraphs.pop()
    text = "\n\n".join(paragraphs)
    if len(text) < MIN_TEXT_CHARS:
        raise NoArticle("no_text", f"no article text ({len(text)} characters of body found)")
    if listing.is_listing(list_evidence, paragraphs):
        raise NoArticle("listing", f"{list_evidence['why']}: a listing page, not an article")
    return {
        "title": title,
        "published": published,
        "author": author,
        "credit": credit,
        "lead": lead,
        "text": text,
        "content_hash": content_hash(text),
        "cleaning": cleaning,
    }


def extract_article(html, url: str | None, selectors=None, feed_published=None) -> dict | None:
    """Title, published (ISO 8601, +07:00), author, credit, text (NFC, paragraphs separated by blank
    lines) and content_hash of the article on this page; None when the page holds no article."""
    try:
        return extract_article_or_raise(html, url, selectors, feed_published)
    except NoArticle:
        return None


# ---------------------------------------------------------------- Scrapy pipeline


class ExtractionPipeline:
    """Fills the article fields of article items; drops pages without an article, counting why."""

    def __init__(self, stats=None):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_item(self, item, spider=None):
        if not isinstance(item, ArticleItem):
            return item
        try:
            fields = extract_article_or_raise(item.get("html"), item.get("url"), item.get("selectors"),
                                              item.get("feed_published"))
        except NoArticle as exc:
            if self.stats is not None:
                self.stats.inc_value(source_key(item, "articles_rejected"))
                self.stats.inc_value(source_key(item, f"articles_rejected/{exc.reason}"))
            dropped = DropItem(f"no article at {item.get('url')}: {exc}")
            dropped.reason = exc.reason  # why, for the spider (a probe tells a listing from a broken page)
            raise dropped from None
        if fields["cleaning"] and self.stats is not None:
            self.stats.inc_value(source_key(item, "extraction_fallback"))
        if not fields["title"] and item.get("feed_title"):
            fields["title"] = normalize_text(item["feed_title"])
        item.update(fields)
        return item


# ---------------------------------------------------------------- `dxwatch extract`

FETCH_TIMEOUT = 30
MAX_FETCH_BYTES = 5_000_000


def _fetch(url: str) -> tuple[bytes, str | None, str]:
    """(body, declared charset, final URL) of one page, for an admin checking it by hand."""
    import urllib.request

    from crawler.config import CrawlSettings

    request = urllib.request.Request(url, headers={"User-Agent": CrawlSettings().effective_user_agent,
                                                   "Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310 - http(s) only
        data = response.read(MAX_FETCH_BYTES + 1)
        if response.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return data, response.headers.get_content_charset(), response.geturl()


def _facts(text: str) -> dict:
    """The figures and directives of an extracted text."""
    from pipelines.references import extract_references
    from pipelines.figures import extract_figures

    return {"figures": extract_figures(text), "directives": extract_references(text)}


def extract_inputs(inputs, selectors=None, page_url: str | None = None):
    """One result dict per input (an HTML file, plain or .gz, or an http(s) URL), in order.

    A page without an article, an unreadable file or a failed fetch yields `{"input", "error"}`
    instead of stopping the run.
    """
    for given in inputs:
        given = str(given)
        try:
            if re.match(r"^https?://", given, re.IGNORECASE):
                data, declared, url = _fetch(given)
                if len(data) > MAX_FETCH_BYTES:
                    raise NoArticle("too_large", f"page larger than {MAX_FETCH_BYTES:,} bytes")
                html = decode_html(data, declared)
            else:
                with open(given, "rb") as handle:
                    html, url = handle.read(), page_url
            fields = extract_article_or_raise(html, url, selectors)
        except NoArticle as exc:
            yield {"input": given, "error": f"no article: {exc}", "reason": exc.reason}
            continue
        except (OSError, ValueError, EOFError, zlib.error, http.client.HTTPException) as exc:  # missing file,
            # HTTP error, bad URL, damaged compressed response
            yield {"input": given, "error": f"cannot read: {exc}", "reason": "unreadable"}
            continue
        fields.pop("content_hash")
        yield {"input": given, "url": url, **fields, **_facts(fields["text"])}
