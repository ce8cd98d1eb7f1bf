"""Is an article about digital transformation (chuyển đổi số)? Keyword evidence, weighted by where it is.

Matching is on NFC, tone-normalised, lower-cased text at syllable boundaries, so "chuyển đổi số"
never matches inside "chuyển đổi số lượng" or "chuyển đổi số điện thoại", and "Chính phủ số 30/2020"
(a document number) is not "chính phủ số" (../shared/domain/vietnam.md section 5.4). Abbreviations
(CĐS, AI, DTI) are matched case-sensitively. URL slugs are matched without diacritics.
"""

from __future__ import annotations

import math
import re
from urllib.parse import unquote, urlsplit

from crawler.items import ArticleItem
from crawler.textnorm import match_key, normalize_text, strip_diacritics

# (display term, weight, lookahead that rules out a false positive)
_NOT_NUMBER = r"(?!\s*:?\s*\d)"
TERMS: list[tuple[str, float, str]] = [
    ("chuyển đổi số", 4, r"(?!\s+(?:lượng|liệu|điện thoại|thuê bao|hiệu|tiền|tài khoản|sim|máy|\d))"),
    ("Ngày Chuyển đổi số", 4, ""),
    ("chính phủ số", 3, _NOT_NUMBER), ("chính quyền số", 3, _NOT_NUMBER),
    ("chính phủ điện tử", 3, ""), ("chính quyền điện tử", 3, ""), ("đô thị thông minh", 2, ""),
    ("trung tâm điều hành thông minh", 2, ""),
    ("kinh tế số", 3, _NOT_NUMBER), ("xã hội số", 3, _NOT_NUMBER), ("công dân số", 2, _NOT_NUMBER),
    ("kỹ năng số", 2, _NOT_NUMBER), ("Bình dân học vụ số", 3, ""), ("tổ công nghệ số cộng đồng", 3, ""),
    ("công nghệ số", 2, _NOT_NUMBER), ("hạ tầng số", 2, _NOT_NUMBER), ("nền tảng số", 2, _NOT_NUMBER),
    ("dữ liệu số", 2, _NOT_NUMBER), ("dữ liệu mở", 1, ""), ("cơ sở dữ liệu quốc gia", 2, ""),
    ("dữ liệu dân cư", 2, ""), ("trung tâm dữ liệu", 1, ""), ("Đề án 06", 3, ""),
    ("định danh điện tử", 2, ""), ("định danh và xác thực điện tử", 2, ""), ("căn cước", 1, ""),
    ("dịch vụ công trực tuyến", 2, ""), ("Cổng Dịch vụ công", 2, ""), ("một cửa điện tử", 2, ""),
    ("số hóa", 1, ""), ("thanh toán trực tuyến", 2, ""), ("không dùng tiền mặt", 2, ""), ("chữ ký số", 2, ""),
    ("hóa đơn điện tử", 2, ""), ("thương mại điện tử", 1, ""), ("chỉ số chuyển đổi số", 3, ""),
    ("ví điện tử", 1, ""), ("mã QR", 1, ""), ("điện thoại thông minh", 1, ""), ("bệnh án điện tử", 2, ""),
    ("sổ sức khỏe điện tử", 2, ""), ("học bạ số", 2, ""), ("y tế số", 2, _NOT_NUMBER), ("giáo dục số", 2, _NOT_NUMBER),
    ("nông nghiệp số", 2, _NOT_NUMBER), ("du lịch số", 2, _NOT_NUMBER),
    ("đổi mới sáng tạo", 1, ""), ("khoa học, công nghệ", 1, ""), ("khoa học công nghệ", 1, ""),
    ("Nghị quyết 57", 2, r"(?![\d/-])"), ("trí tuệ nhân tạo", 2, ""), ("điện toán đám mây", 2, ""),
    ("an toàn thông tin", 1, ""), ("an ninh mạng", 1, ""), ("dữ liệu lớn", 1, ""), ("internet vạn vật", 1, ""),
]
# Abbreviations keep their case: "AI" is an abbreviation, "ai" is "who".
ABBREVIATIONS: list[tuple[str, float]] = [
    ("CĐS", 4), ("DVCTT", 2), ("CPĐT", 3), ("IOC", 2), ("VNeID", 2), ("LGSP", 2), ("NDXP", 2), ("DTI", 3),
    ("EMC", 1), ("AI", 1), ("5G", 1), ("KHCN", 1), ("ĐMST", 1), ("IoT", 1), ("Big Data", 1),
]
# Slugs of topic sections and articles.
URL_TERMS = ["chuyen-doi-so", "chinh-quyen-so", "chinh-phu-so", "kinh-te-so", "xa-hoi-so", "de-an-06", "cds",
             "chinh-quyen-dien-tu", "chinh-phu-dien-tu", "cong-nghe-so"]

TITLE_FACTOR = 3.0
URL_BONUS = 4.0
THRESHOLD = 5.0  # one core term in the title (4 x 3) or in the body with support clears it


def _term_pattern(term: str, lookahead: str) -> re.Pattern:
    # Starts with the literal (no lookbehind) so `re` can scan for it fast; `_count` checks the left edge.
    body = r"\s+".join(re.escape(match_key(w)) for w in term.split())
    return re.compile(rf"{body}(?!\w){lookahead}")


def _count(pattern: re.Pattern, text: str) -> int:
    """Matches that start at a word boundary."""
    return sum(1 for m in pattern.finditer(text) if m.start() == 0 or not text[m.start() - 1].isalnum())


_COMPILED = [(t, w, _term_pattern(t, la)) for t, w, la in TERMS]
# A term can only match where its first word occurs: a substring test skips most patterns cheaply.
_FIRST_WORD = {t: match_key(t.split()[0]) for t, _, _ in TERMS}
_COMPILED_ABBR = [(t, w, re.compile(rf"{re.escape(t)}(?!\w)")) for t, w in ABBREVIATIONS]


def _hits(text: str, extra: list[tuple[str, float, re.Pattern]]) -> dict[str, int]:
    """Occurrences per display term in one field."""
    if not text:
        return {}
    keyed = match_key(text)
    nfc = normalize_text(text)
    counts: dict[str, int] = {}
    for term, _, pattern in [*_COMPILED, *extra]:
        if term in _FIRST_WORD and _FIRST_WORD[term] not in keyed:
            continue
        n = _count(pattern, keyed)
        if n:
            counts[term] = n
    for term, _, pattern in _COMPILED_ABBR:
        if term not in nfc:
            continue
        n = _count(pattern, nfc)
        if n:
            counts[term] = n
    return counts


def _url_hits(url: str) -> list[str]:
    path = strip_diacritics(unquote(urlsplit(url or "").path)).lower()
    return [t for t in URL_TERMS if re.search(rf"(?<![a-z0-9]){re.escape(t)}(?![a-z0-9])", path)]


def score_relevance(title: str | None, text: str | None, url: str | None,
                    extra_keywords=()) -> tuple[bool, float, list[str]]:
    """`(relevant, score, keywords)`: keyword weights, title hits x3, a topic URL slug as a prior."""
    extra = [(normalize_text(k), 2.0, _term_pattern(normalize_text(k), "")) for k in extra_keywords if k and k.strip()]
    weights = {t: w for t, w, _ in [*_COMPILED, *extra]} | {t: w for t, w in ABBREVIATIONS}
    in_title = _hits(title or "", extra)
    in_body = _hits(text or "", extra)
    score = 0.0
    for term in set(in_title) | set(in_body):
        weight = weights[term]
        if term in in_title:
            score += weight * TITLE_FACTOR
        if term in in_body:
            score += weight * (1 + math.log(in_body[term]))  # repeated mentions count, with diminishing returns
    slugs = _url_hits(url or "")
    if slugs:
        score += URL_BONUS
    order = sorted(set(in_title) | set(in_body),
                   key=lambda t: (-(t in in_title), -weights[t], -in_body.get(t, 0), t))
    return score >= THRESHOLD, round(score, 2), order


class RelevancePipeline:
    """Scrapy item pipeline: fills `relevant`, `relevance_score`, `keywords` on article items.

    Extra topic keywords come from `item["extra_keywords"]`, else from the crawling source's
    `keywords:` in sources.yaml.
    """

    def __init__(self, crawler=None):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _source_keywords(self, item) -> list[str]:
        spider = getattr(self.crawler, "spider", None)
        crawl = spider.crawl_for(item) if hasattr(spider, "crawl_for") else None  # the item's source
        return list(getattr(getattr(crawl, "source", None), "keywords", None) or [])

    def process_item(self, item, spider=None):
        if not isinstance(item, ArticleItem):
            return item
        extra = item.get("extra_keywords") or self._source_keywords(item)
        relevant, score, keywords = score_relevance(item.get("title"), item.get("text"), item.get("url"), extra)
        item["relevant"], item["relevance_score"], item["keywords"] = relevant, score, keywords
        return item
