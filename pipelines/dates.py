"""Publication dates of Vietnamese portal articles, in Asia/Ho_Chi_Minh (+07:00).

Generic date heuristics (htmldate, trafilatura) pick dates of documents cited in the body and of
sidebar lists on gov.vn pages, so the date comes from the first of these that answers
(docs: ../shared/domain/vietnam.md section 4):

1. the source's date selector, or the article's own header line next to its title, read with our
   own patterns (dd/mm/yyyy with HH:MM[:SS], SA/CH, AM/PM including "18:32 PM", GMT+7;
   "ngày d tháng m năm y"; dd.mm.yyyy; time before date);
2. metadata (`article:published_time`, `itemprop=datePublished`, JSON-LD, `<time datetime>`);
3. a date encoded in the URL (SharePoint `Pages/YYYY-M-D/`, timestamp ids `-<p>YYMMDDhhmmss<nnn>.htm`,
   a Unix epoch suffix, `/YYYY/MM/DD/`);
4. the feed's date;
5. otherwise unknown (None): never a date read from the body text.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Iterable

from crawler import timeutil
from crawler.textnorm import normalize_text

EARLIEST_YEAR = 1995


@dataclass(frozen=True)
class FoundDate:
    """A publication moment (aware, +07:00) and whether the page gave its time of day."""

    moment: datetime
    has_time: bool

    def iso(self) -> str:
        return timeutil.iso(self.moment) if self.has_time else self.moment.date().isoformat()


# ---------------------------------------------------------------- reading a date string

_DMY = re.compile(r"(?<![\d/.\-])(\d{1,2})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{4}|\d{2})(?![\d/.\-]\d)")
_WORDY = re.compile(r"(?:ngày\s+)?(\d{1,2})\s+tháng\s+(\d{1,2})\s*(?:,\s*|\s+năm\s+|\s+)(\d{4})", re.IGNORECASE)
_YMD = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
                  r"\s*(Z|[+-]\d{2}:?\d{2})?)?(?!\d)")
_TIME = re.compile(r"(?<![\d/.])(\d{1,2})\s*(?::|h|giờ)\s*(\d{2})(?:\s*(?::|phút)\s*(\d{2}))?"
                   r"(?:\s*(SA|CH|AM|PM|A\.M\.|P\.M\.)(?![\w]))?(?![\d/.])", re.IGNORECASE)
_AFTER_DATE = re.compile(r"^[\s,|\-–—]*(?:lúc\s*|vào\s*lúc\s*)?", re.IGNORECASE)
_GAP_BEFORE_DATE = re.compile(r"^[^\d]{0,30}$")
_TZ_OTHER = re.compile(r"\b(?:GMT|UTC)(?:\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?)?", re.IGNORECASE)


def _year(text: str) -> int:
    value = int(text)
    if len(text) == 2:
        value += 2000 if value <= (timeutil.now().year % 100) + 1 else 1900
    return value


def _read_time(match: re.Match) -> tuple[int, int, int] | None:
    hour, minute, second = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    marker = (match.group(4) or "").upper().replace(".", "")
    if marker in {"CH", "PM"} and hour < 12:
        hour += 12  # a 24-hour clock with "PM" ("18:32 PM") is a known portal glitch: leave it
    elif marker in {"SA", "AM"} and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second


def _plausible(day: int, month: int, year: int) -> date | None:
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    if year < EARLIEST_YEAR or found > (timeutil.now() + timedelta(days=1)).date():
        return None
    return found


def _time_near(text: str, start: int, end: int) -> re.Match | None:
    """A time of day right after the date ("09/01/2024 10:06") or just before it ("10:06 09/01/2024")."""
    rest = text[end:]
    lead = _AFTER_DATE.match(rest)
    after = _TIME.match(rest, lead.end()) if lead else None
    if after:
        return after
    before = list(_TIME.finditer(text[max(0, start - 40):start]))
    if before and _GAP_BEFORE_DATE.match(text[max(0, start - 40):start][before[-1].end():]):
        return before[-1]
    return None


def _shift_zone(moment: datetime, text: str) -> datetime:
    """Naive wall-clock time is Vietnam time unless the string names another offset."""
    zone = _TZ_OTHER.search(text)
    if zone:
        sign = -1 if zone.group(1) == "-" else 1
        offset = timedelta(hours=int(zone.group(2) or 0), minutes=int(zone.group(3) or 0)) * sign
        return moment.replace(tzinfo=timezone(offset)).astimezone(timeutil.VN)
    return moment.replace(tzinfo=timeutil.VN)


def _candidates(text: str) -> Iterable[tuple[int, FoundDate]]:
    for m in _YMD.finditer(text):
        day = _plausible(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if not day:
            continue
        if m.group(4) is None:
            yield m.start(), FoundDate(datetime(day.year, day.month, day.day, tzinfo=timeutil.VN), False)
            continue
        naive = datetime(day.year, day.month, day.day, int(m.group(4)), int(m.group(5)), int(m.group(6) or 0))
        if m.group(7):
            yield m.start(), FoundDate(datetime.fromisoformat(
                naive.isoformat() + ("+00:00" if m.group(7) == "Z" else m.group(7))).astimezone(timeutil.VN), True)
        else:
            yield m.start(), FoundDate(naive.replace(tzinfo=timeutil.VN), True)
    for pattern, order in ((_DMY, (1, 3, 4)), (_WORDY, (1, 2, 3))):
        for m in pattern.finditer(text):
            d, mo, y = (m.group(i) for i in order)
            day = _plausible(int(d), int(mo), _year(y))
            if not day:
                continue
            clock = _time_near(text, m.start(), m.end())
            hms = _read_time(clock) if clock else None
            if hms:
                moment = _shift_zone(datetime(day.year, day.month, day.day, *hms), text)
                yield m.start(), FoundDate(moment, True)
            else:
                yield m.start(), FoundDate(datetime(day.year, day.month, day.day, tzinfo=timeutil.VN), False)


def parse_date_text(text: str | None) -> FoundDate | None:
    """The first date (with its time when given) in a short, already located date string.

    Our own patterns first; dateparser (pinned, Vietnamese, day-month order) as a fallback for
    wordier forms, keeping only answers whose string names a year, so relative words such as
    "Thứ năm" or "hôm qua" never become a date.
    """
    text = normalize_text(text)
    if not text or len(text) > 300:
        return None
    found = sorted(_candidates(text), key=lambda pair: pair[0])
    if found:
        return found[0][1]
    if not (_YEAR.search(text) and _MONTH_WORD.search(text)):
        return None
    parsed = _dateparser().get_date_data(text).date_obj
    if parsed is None or not _plausible(parsed.day, parsed.month, parsed.year):
        return None
    has_time = bool(_TIME.search(text))
    return FoundDate(parsed.astimezone(timeutil.VN), has_time)


_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_MONTH_WORD = re.compile(r"tháng", re.IGNORECASE)  # numeric forms are ours; dateparser reads "Tháng Một 09, 2024"
@functools.cache
def _dateparser():
    """One parser for the process: building dateparser's language data costs far more than a parse."""
    from dateparser.date import DateDataParser

    return DateDataParser(languages=["vi"], settings=_DATEPARSER_SETTINGS)


_DATEPARSER_SETTINGS = {
    "DATE_ORDER": "DMY",
    "TIMEZONE": "Asia/Ho_Chi_Minh",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "PREFER_DATES_FROM": "past",
    "STRICT_PARSING": True,
}


# ---------------------------------------------------------------- a line that is only a date

_DATE_LABELS = re.compile(
    r"\b(?:ngày\s+đăng|đăng\s+ngày|đăng\s+lúc|ngày\s+xuất\s+bản|xuất\s+bản|ngày\s+cập\s+nhật|cập\s+nhật\s+lúc"
    r"|cập\s+nhật|thời\s+gian\s+đăng|thời\s+gian|ngày|đăng|lúc|posted|published|updated|on"
    r"|thứ\s+(?:hai|ba|tư|năm|sáu|bảy|2|3|4|5|6|7)|chủ\s+nhật|t[2-7]|cn|gmt|utc|sa|ch|am|pm)\b",
    re.IGNORECASE,
)
_UPDATED = re.compile(r"cập\s+nhật|updated|sửa\s+đổi", re.IGNORECASE)
_DATE_LINE_MAX = 80


def date_line(text: str) -> FoundDate | None:
    """The date when a short line is a date header ("Đăng lúc: 09/01/2024 10:06:03 (GMT+7)"), not prose."""
    text = normalize_text(text)
    if not text or len(text) > _DATE_LINE_MAX:
        return None
    found = parse_date_text(text)
    if not found:
        return None
    residue = _DATE_LABELS.sub(" ", re.sub(r"[\d:/.\-|,()\[\]+]", " ", split_byline_label(text)[1]))
    return found if len(residue.split()) <= 2 else None


def is_update_line(text: str) -> bool:
    return bool(_UPDATED.search(text or ""))


# ---------------------------------------------------------------- metadata

_META_PUBLISHED = (
    "article:published_time", "og:published_time", "datepublished", "pubdate", "publishdate",
    "publish-date", "publish_date", "dc.date.issued", "dcterms.created", "date", "sailthru.date",
    "parsely-pub-date", "article.published",
)


def date_from_meta(tree) -> FoundDate | None:
    """`<meta>` published-time tags, `itemprop=datePublished`, JSON-LD, then `<time datetime>`."""
    metas = {}
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key and key not in metas and meta.get("content"):
            metas[key] = meta.get("content")
    for key in _META_PUBLISHED:
        if key in metas:
            found = parse_date_text(metas[key])
            if found:
                return found
    for node in tree.xpath('.//*[@itemprop="datePublished"]'):
        found = parse_date_text(node.get("datetime") or node.get("content") or node.text_content())
        if found:
            return found
    for script in tree.xpath('.//script[@type="application/ld+json"]'):
        found = _date_from_json_ld(script.text or "")
        if found:
            return found
    for node in tree.xpath(".//article//time[@datetime] | .//time[@pubdate][@datetime]"):
        found = parse_date_text(node.get("datetime"))
        if found:
            return found
    return None


def _date_from_json_ld(text: str) -> FoundDate | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    stack = [data]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            if isinstance(node.get("datePublished"), str):
                found = parse_date_text(node["datePublished"])
                if found:
                    return found
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


# ---------------------------------------------------------------- the URL

_URL_SHAREPOINT = re.compile(r"/Pages/(\d{4})-(\d{1,2})-(\d{1,2})/", re.IGNORECASE)
_URL_PATH = re.compile(r"/((?:19|20)\d\d)/(\d{1,2})/(\d{1,2})/")
_URL_STAMP = re.compile(r"-(\d{16,19})\.html?(?:$|[?#])")
_URL_EPOCH = re.compile(r"[-_/](1\d{9})(?:\.html?)?(?:$|[?#])")


def date_from_url(url: str | None) -> FoundDate | None:
    """A date the CMS encodes in the article URL (htmldate reads only `/YYYY/MM/DD/`)."""
    if not url:
        return None
    for pattern in (_URL_SHAREPOINT, _URL_PATH):
        m = pattern.search(url)
        if m:
            day = _plausible(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            if day:
                return FoundDate(datetime(day.year, day.month, day.day, tzinfo=timeutil.VN), False)
    m = _URL_STAMP.search(url)
    if m:
        stamp = m.group(1)[-15:-3]  # YYMMDDhhmmss between a 1-4 digit prefix and 3 trailing digits
        yy, mo, dd, hh, mi, ss = (int(stamp[i:i + 2]) for i in range(0, 12, 2))
        day = _plausible(dd, mo, 2000 + yy)
        if day and hh < 24 and mi < 60 and ss < 60:
            return FoundDate(datetime(day.year, day.month, day.day, hh, mi, ss, tzinfo=timeutil.VN), True)
    m = _URL_EPOCH.search(url)
    if m:
        moment = datetime.fromtimestamp(int(m.group(1)), tz=timeutil.VN)
        if _plausible(moment.day, moment.month, moment.year):
            return FoundDate(moment, True)
    return None


# ---------------------------------------------------------------- feeds


def parse_feed_date(value) -> FoundDate | None:
    """A feed or sitemap date: RFC 822 (`pubDate`), ISO 8601, or a datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timeutil.VN)
        return FoundDate(moment.astimezone(timeutil.VN), True)
    text = str(value).strip()
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return parse_date_text(text)
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timeutil.VN)
    return FoundDate(moment.astimezone(timeutil.VN), True)


def combine(header: FoundDate | None, *others: FoundDate | None) -> FoundDate | None:
    """The header date; when it lacks a time, borrow the time of a later source naming the same day."""
    if header is None:
        return next((o for o in others if o), None)
    if not header.has_time:
        for other in others:
            if other and other.has_time and other.moment.date() == header.moment.date():
                return other
    return header


# ---------------------------------------------------------------- the article's header line

_BLOCK_TAGS = frozenset("div p li ul ol table tr td th h1 h2 h3 h4 h5 h6 section article header footer aside "
                        "nav main dl dt dd blockquote figure form".split())
_OUTSIDE_HEADER = re.compile(r"sidebar|related|lien-?quan|other|khac|cung-?chuyen|same|menu|footer|widget|"
                             r"list|box-?news|tin-?moi|most|hot|top-?news|marquee|ticker", re.IGNORECASE)
HEADER_WINDOW_AFTER = 8
HEADER_WINDOW_BEFORE = 4
_BODY_TEXT = 200  # a text block this long is the body: the header is over


_INLINE_TAGS = frozenset("span time em i b strong small font".split())


def leaf_blocks(root) -> list:
    """The page's text lines in document order: block elements holding no other block element, and
    inline elements (a `<span class="time">`, an `<i>` date) sitting directly in a block that does."""
    blocks = [el for el in root.iter() if isinstance(el.tag, str) and el.tag in _BLOCK_TAGS]
    holders = set()
    for el in blocks:
        for parent in el.iterancestors():
            if parent in holders:
                break
            holders.add(parent)
    return [el for el in root.iter() if isinstance(el.tag, str) and (
        (el.tag in _BLOCK_TAGS and el not in holders) or (el.tag in _INLINE_TAGS and el.getparent() in holders))]


def in_lists_or_sidebar(el, shared=frozenset()) -> bool:
    """Whether an element sits in a list item, a sidebar, a related-news box or the page's nav/footer;
    ancestors in `shared` (those of the headline: some sites call their main column "sidebar-1")
    are not asked."""
    for node in el.iterancestors():
        if node in shared:
            break
        if node.tag in {"li", "aside", "nav", "footer"}:
            return True
        marks = f"{node.get('class', '')} {node.get('id', '')}"
        if marks.strip() and _OUTSIDE_HEADER.search(marks):
            return True
    return el.tag == "li"


def header_lines(root, title_element) -> list[str]:
    """The short lines next to the headline, nearest first: a few after it, then a few before it;
    lines in lists and sidebars are skipped and the body (a long block) ends each side."""
    if title_element is None:
        return []
    leaves = leaf_blocks(root)
    position = {el: i for i, el in enumerate(leaves)}
    at = position.get(title_element)
    for node in title_element.iterancestors():
        if at is not None:
            break
        at = position.get(node)
    if at is None:
        inner = [position[el] for el in title_element.iterdescendants() if el in position]
        at = inner[-1] if inner else None
    if at is None:
        return []
    lines = []
    for side in (leaves[at + 1:at + 1 + HEADER_WINDOW_AFTER], reversed(leaves[max(0, at - HEADER_WINDOW_BEFORE):at])):
        for block in side:
            text = normalize_text(block.text_content())
            if len(text) >= _BODY_TEXT:
                break
            if text and not in_lists_or_sidebar(block):
                lines.append(text)
    return lines


def date_from_header(lines: list[str]) -> FoundDate | None:
    """The date line among the headline's neighbours; an "updated" line only when no published line answers."""
    updated = None
    for text in lines:
        for line in _split_inline(text):
            found = date_line(line)
            if found and is_update_line(line):
                updated = updated or found
            elif found:
                return found
    return updated


def _split_inline(text: str) -> list[str]:
    """One header line may hold several fields: "Ngày đăng: ... | Lượt xem: 120 - Cập nhật: ...";
    the whole line is tried first."""
    parts = [p.strip() for p in re.split(r"\n|\s[|•]\s(?=\D)|\s-\s(?=\D)", text) if p.strip()]
    return [text, *parts] if len(parts) > 1 else [text]


_BYLINE_LABEL = re.compile(r"(?:viết bởi|đăng bởi|người đăng|người viết|tác giả|posted by|written by)\s*:?\s*",
                           re.IGNORECASE)
_NOT_NAME = re.compile(r"^(?:thứ|chủ|t[2-7]|cn|ngày|lúc|cập|đăng|lượt|\W)", re.IGNORECASE)


def split_byline_label(line: str) -> tuple[str | None, str]:
    """("Hải Yến", the rest) from "Viết bởi Hải Yến  Thứ Hai, 12/5/2025 - 08:30"; (None, line) without a label."""
    m = _BYLINE_LABEL.search(line)
    if not m:
        return None, line
    words = line[m.end():].split(" ")
    name = []
    for word in words[:6]:
        if not word or not word[0].isupper() or any(c.isdigit() for c in word) or _NOT_NAME.match(word):
            break
        name.append(word.rstrip(",;|"))
        if word[-1] in ",;|":
            break
    rest = line[:m.start()] + " " + " ".join(words[len(name):])
    return (" ".join(name) or None), rest.strip()


def find_published(root, url: str | None, *, selector: str | None = None, title_element=None,
                   feed_published=None, lines: list[str] | None = None) -> str | None:
    """The article's publication date-time as ISO text (+07:00; a bare date when no time is known).
    `lines` are the headline's neighbours when the caller has them (`header_lines`)."""
    header = None
    if selector:
        for node in select(root, selector):
            header = parse_date_text(node.text_content()) or parse_date_text(node.get("datetime") or node.get("content"))
            if header:
                break
    header = header or date_from_header(lines if lines is not None else header_lines(root, title_element))
    found = combine(header, date_from_meta(root), date_from_url(url), parse_feed_date(feed_published))
    return found.iso() if found else None


def select(root, selector: str | None) -> list:
    """Elements matching a source's CSS selector; none for a missing or broken one (the generic
    rules then apply), so a bad selector in config never stops extraction."""
    if not selector:
        return []
    try:
        return root.cssselect(selector)
    except Exception:  # noqa: BLE001 - cssselect raises several error types
        return []
