"""Legal documents cited in Vietnamese text: numbered references, Party documents and named ones.

Built from the numbering rules of Nghị định 30/2020/NĐ-CP (administrative documents), normative
documents with a year in the number, Party documents ("57-NQ/TW") and official letters without a
type abbreviation (docs: ../shared/domain/vietnam.md section 2). `key` identifies one document across
articles, so forty articles citing it are forty mentions of one reference. These are the fact kind
"references" (pipelines/kinds/references.py), stored in the table `directives` (a public name kept
from before the rename: docs/ARCHITECTURE.md, "Fact kinds"); "documents" are downloaded files.

Instructions (a leader directing someone) live in `pipelines/instructions.py`, which uses this
module's sentence splitting.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from datetime import date

from crawler.textnorm import normalize_text

# ---------------------------------------------------------------- vocabularies

# Spelled-out document names, longest first so "Thông tư liên tịch" wins over "Thông tư".
DOC_NAMES = (
    "Thông tư liên tịch", "Thông báo kết luận", "Nghị định", "Nghị quyết", "Quyết định", "Chỉ thị",
    "Thông tư", "Kế hoạch", "Công văn", "Văn bản", "Thông báo", "Hướng dẫn", "Chương trình", "Báo cáo",
    "Đề án", "Tờ trình", "Kết luận", "Công điện", "Quy chế", "Quy định", "Phương án", "Thông cáo",
    "Giấy mời", "Pháp lệnh", "Bộ luật", "Luật", "Lệnh",
)

# Type abbreviation (upper-cased for lookup) -> (canonical spelling, document type).
TYPE_ABBREVIATIONS = {
    "NQ": ("NQ", "Nghị quyết"), "QĐ": ("QĐ", "Quyết định"), "QD": ("QĐ", "Quyết định"),
    "CT": ("CT", "Chỉ thị"), "QC": ("QC", "Quy chế"), "QYĐ": ("QyĐ", "Quy định"),
    "TC": ("TC", "Thông cáo"), "TB": ("TB", "Thông báo"), "HD": ("HD", "Hướng dẫn"),
    "CTR": ("CTr", "Chương trình"), "KH": ("KH", "Kế hoạch"), "PA": ("PA", "Phương án"),
    "ĐA": ("ĐA", "Đề án"), "DA": ("DA", "Dự án"), "BC": ("BC", "Báo cáo"), "BB": ("BB", "Biên bản"),
    "TTR": ("TTr", "Tờ trình"), "HĐ": ("HĐ", "Hợp đồng"), "CĐ": ("CĐ", "Công điện"),
    "BGN": ("BGN", "Bản ghi nhớ"), "GM": ("GM", "Giấy mời"), "NĐ": ("NĐ", "Nghị định"),
    "ND": ("NĐ", "Nghị định"), "TT": ("TT", "Thông tư"), "TTLT": ("TTLT", "Thông tư liên tịch"),
    "KL": ("KL", "Kết luận"), "L": ("L", "Lệnh"), "CV": ("CV", "Công văn"), "TBKL": ("TBKL", "Thông báo kết luận"),
}

# Numbered papers that direct nobody: permits (a portal's own licence sits in every footer),
# invitations, introductions, leave and authorisation papers, transmittal slips, certified copies.
PAPERS = {"GP", "GM", "GGT", "GNP", "GUQ", "PG", "PC", "PB", "SY", "TRS", "SL"}

# Issuers whose usual spelling is not all capitals.
ISSUER_SPELLING = {"TTG": "TTg", "BKH&ĐT": "BKH&ĐT"}

KNOWN_ISSUERS = {
    "CP", "TTg", "VPCP", "CTN", "BTTTT", "BKHCN", "BCA", "BNV", "BTC", "BTP", "BYT", "BGDĐT", "BKHĐT",
    "NHNN", "UBND", "HĐND", "STTTT", "SKHCN", "CĐSQG", "TW", "TU", "HU", "ĐU", "BCĐTW", "BCĐ", "VPTW",
    "BCT", "BNNPTNT", "BXD", "BTNMT", "BLĐTBXH", "BQP", "BGTVT", "BVHTTDL", "UBTVQH",
}

# Where a document type is spelled without its number ("theo Nghị quyết 57").
_NAMED_SHORT = ("Đề án", "Nghị quyết", "Chỉ thị", "Quyết định", "Nghị định", "Chương trình", "Kết luận",
                "Kế hoạch", "Thông tư")

# ---------------------------------------------------------------- regular expressions

_NAME = "(?i:" + "|".join(n.replace(" ", r"\s+") for n in DOC_NAMES) + ")"
_SEG = r"[A-ZĐ][A-Za-zĐđ0-9&]*"
_SYM = rf"{_SEG}(?:\s?-\s?{_SEG})*"
_DATE = (r"(?P<date>\s*,?\s*(?:\(?\s*)?(?i:ban\s+hành\s+|ký\s+)?(?i:ngày)\s*(?P<d>\d{1,2})\s*(?:[/.-]|\s+(?i:tháng)\s+)\s*"
         r"(?P<m>\d{1,2})\s*(?:[/.-]|\s+(?i:năm)\s+)\s*(?P<y>(?:19|20)\d{2})(?!\d))?")
_PARTY_TYPES = r"(?i:NQ|CTr|CT|QĐ|QD|KH|KL|HD|TB|QC|QyĐ|BC|TTr|ĐA|CV)"
_PARTY_ISSUERS = r"(?:TW|TƯ|TU|HU|QU|ĐUK|ĐU|BCĐTW|VPTW|BCT|BBT|BTGTW|BTCTW|UBKTTW|BCSĐ|[A-ZĐ]{2,}TW)"
# The number is found first and the spelled-out name looked for just before it: a regex that starts
# with an optional name would try every name at every position of the text.
NAME_BEFORE = re.compile(rf"(?:(?P<name>{_NAME})\s+(?:(?i:số)\s*:?\s*)?|(?i:số)\s*:?\s*)$")

PARTY_REF = re.compile(
    rf"(?<![\w/.,-])(?P<num>\d{{1,4}})\s?-?\s?(?P<type>{_PARTY_TYPES})\s?/\s?"
    rf"(?P<issuer>{_PARTY_ISSUERS})(?![\w/-]){_DATE}"
)
STATE_REF = re.compile(
    rf"(?<![\w/.,-])(?P<num>\d{{1,5}}[a-z]?)\s?/\s?(?:(?P<year>(?:19|20)\d{{2}})\s?/\s?)?"
    rf"(?P<sym>{_SYM})(?![\w/]|-\w){_DATE}"
)
NAMED_REF = re.compile(
    r"(?<!\w)(?P<name>" + "|".join(_NAMED_SHORT) + r")\s+(?:(?i:số)\s+)?(?P<num>\d{1,4}[a-z]?)(?:/CP)?"
    r"(?![\w/-]|[.,]\d|\s/)(?!\s*(?:%|phần trăm|tỷ|tỉ|triệu|nghìn|ngàn|lần))"
)
# "Luật Giao dịch điện tử", "Bộ luật Dân sự": a capitalised name after the type, until a stop word.
_STOP_WORDS = (
    r"và|của|được|đã|có|là|để|với|trong|theo|số(?=\s*:?\s*\d)|năm|ngày|thì|cho|tại|đến|từ|nhằm|này|khi|mà|sẽ|cũng|"
    "vừa|chính thức|hiện hành|quy định|đang|do|về việc|trên|như|nhưng|hoặc|đối với|ban hành|mới|cùng|"
    "nêu|tới|sau|trước|giai đoạn|thì|bị|gồm|các|những|đều|lần|công nhận|thay thế|sửa đổi|bổ sung|xác định|"
    "nêu rõ|yêu cầu|đặt ra|tạo|mở ra|cho phép|nghiêm cấm|áp dụng|điều chỉnh|hướng dẫn|có hiệu lực|ghi nhận|"
    "khẳng định|tiếp tục|đi vào|ra đời|quy|giúp|không|trở thành|lần đầu|đầu tiên|hết"
)
NAMED_LAW = re.compile(
    r"(?<!\w)(?P<name>Bộ luật|Luật)\s+(?P<title>[A-ZĐÀ-Ỹ][\wÀ-ỹ]*(?:\s+(?!(?:" + _STOP_WORDS + r")(?!\w))"
    r"[\wÀ-ỹ]+){0,7})"
)
PARTY_CONGRESS = re.compile(
    r"(?<!\w)Nghị quyết\s+Đại hội\s+(?:(?:đại biểu\s+)?(?:Đảng bộ\s+(?:tỉnh|thành phố)(?:\s+[A-ZĐ]\w*){0,3}|"
    r"Đảng(?:\s+toàn quốc)?|toàn quốc)\s+)?(?:lần thứ\s+)?(?P<term>[IVXLC]+)\b(?:\s+của\s+Đảng)?"
)

# ---------------------------------------------------------------- sentences (shared with figures)

_SENTENCE_END = re.compile(r"(?<=[.!?;…])\s+(?=[\"“(\[]?[A-ZĐÀ-Ỹ0-9])|\n+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: split at end punctuation before a capital, and at line breaks."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


CONTEXT_LIMIT = 600  # a "sentence" longer than this (a table flattened into text) is cut around the fact


def sentence_of(spans: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    """The (start, end) of the sentence containing `pos`; spans are sorted, so bisect."""
    i = bisect.bisect_right(spans, (pos, float("inf"))) - 1
    if i >= 0 and spans[i][0] <= pos < spans[i][1]:
        return spans[i]
    return (pos, pos)


def sentence_at(text: str, spans: list[tuple[int, int]], pos: int) -> str:
    s, e = sentence_of(spans, pos)
    if e - s > CONTEXT_LIMIT:
        s = max(s, pos - CONTEXT_LIMIT // 2)
        e = min(e, s + CONTEXT_LIMIT)
        return "… " + text[s:e].strip() + " …"
    return text[s:e].strip()


# ---------------------------------------------------------------- parsing helpers


@dataclass
class Reference:
    """One reference found in the text, with its span so figures can mask it."""

    start: int
    end: int
    fields: dict


def _iso_date(d: str | None, m: str | None, y: str | None) -> str | None:
    if not (d and m and y):
        return None
    try:
        return date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        return None


def _pad(num: str) -> str:
    """Numbers below 10 carry a leading zero in official numbering: "6" and "06" are one document."""
    digits = re.match(r"\d+", num).group(0)
    return (digits.lstrip("0") or "0").zfill(2) + num[len(digits):].lower()


def _canonical_type(abbr: str) -> tuple[str, str] | None:
    return TYPE_ABBREVIATIONS.get(abbr.upper())


def _canonical_issuer(seg: str) -> str:
    return ISSUER_SPELLING.get(seg.upper(), seg)


def _split_glued(seg: str) -> list[str] | None:
    """"NĐCP" -> ["NĐ", "CP"], "QĐTTg" -> ["QĐ", "TTg"] when the rest is a known issuer."""
    for abbr in sorted(TYPE_ABBREVIATIONS, key=len, reverse=True):
        if seg.upper().startswith(abbr) and len(seg) > len(abbr):
            rest = _canonical_issuer(seg[len(abbr):])
            if rest in KNOWN_ISSUERS:
                return [seg[: len(abbr)], rest]
    return None


def _doc_name(name: str | None) -> str | None:
    if not name:
        return None
    name = re.sub(r"\s+", " ", name)
    for n in DOC_NAMES:
        if n.lower() == name.lower():
            return n
    return name


def _classify_state(num: str, year: str | None, sym: str, name: str | None) -> dict | None:
    segments = [s for s in re.split(r"\s?-\s?", sym) if s]
    if len(segments) == 1 and (glued := _split_glued(segments[0])):
        segments = glued
    if segments[0].upper() in PAPERS:
        return None
    number_part = f"{_pad(num)}/{year + '/' if year else ''}"
    name = _doc_name(name)
    first = _canonical_type(segments[0])
    if first and len(segments) >= 2:
        abbr, doc_type = first
        rest = [_canonical_issuer(s) for s in segments[1:]]
        issuer = "-".join(rest) if abbr == "TTLT" else rest[0]
        canonical = number_part + "-".join([abbr, *rest])
        kind = "normative" if year else "administrative"
        return {"number": canonical, "type": name if name and name not in {"Văn bản", "Công văn"} else doc_type,
                "issuer": issuer, "kind": kind, "year": int(year) if year else None}
    if year and len(segments) == 1 and re.fullmatch(r"(?i:(?:UBTV)?QH\d{1,2})", segments[0]):
        seg = segments[0].upper()
        return {"number": number_part + seg, "type": name, "issuer": seg, "kind": "law", "year": int(year)}
    if not year and not first and (len(segments) >= 2 or name in {"Công văn", "Văn bản"}):
        issuer = _canonical_issuer(segments[0])
        if not re.fullmatch(r"[A-ZĐ][A-ZĐ0-9&]*[a-z]?[A-ZĐ0-9&]*", issuer):
            return None  # official-letter issuers are abbreviations: "UBND", "BTTTT"
        canonical = number_part + "-".join(_canonical_issuer(s) for s in segments)
        return {"number": canonical, "type": name or "Công văn", "issuer": issuer,
                "kind": "official_letter", "year": None}
    return None


# What follows a reference and names its subject.
_TITLE_AFTER = re.compile(
    r"^\s*(?:,\s*)?(?:của\s+(?P<by>[^,;.()\n]{3,60}?)\s+)?(?P<title>(?:(?i:về việc|V/v|về|phê duyệt|ban hành|quy định|"
    r"hướng dẫn|triển khai|thực hiện)\s)[^;.()\n“”\"]{4,160}?)(?=\s*(?:[;.()\n“”\"]|,\s|$|(?:ngày|của)\s))"
)


def _title_after(text: str, end: int) -> str | None:
    m = _TITLE_AFTER.match(text[end:end + 220])
    if not m:
        return None
    title = m.group("title").strip().rstrip(",")
    # A following reference is not part of the subject.
    # A following reference or the sentence's own verb ("... có hiệu lực từ") is not part of the subject.
    cut = re.search(r"\s(?:" + _NAME + r")\s+(?:số\s*)?\d+[a-z]?\s?[/-]|\s(?:có hiệu lực|được|đã|là|sẽ|đang|vừa|"
                    r"nhằm|thì|cũng|bị|tiếp tục)(?!\w)", title)
    return title[: cut.start()].strip() if cut else title


# A document's own header: "Số: 179/QĐ-TTg" then "Hà Nội, ngày 06 tháng 10 năm 2025" (place, then date).
_HEADER_DATE = re.compile(r"\s*\n?\s*[A-ZĐÀ-Ỹ][^,\n\d]{1,40},\s*(?i:ngày)\s*(?P<d>\d{1,2})\s+(?i:tháng)\s+(?P<m>\d{1,2})"
                          r"\s+(?i:năm)\s+(?P<y>(?:19|20)\d{2})")


_YEAR_AFTER = re.compile(r"\s+(?i:năm)\s+((?:19|20)\d{2})(?!\d)")


def _mention(kind_fields: dict, raw: str, start: int, end: int, match_date: dict, text: str) -> Reference:
    iso = _iso_date(match_date.get("d"), match_date.get("m"), match_date.get("y"))
    if iso is None and raw[:2].lower() == "số":
        header = _HEADER_DATE.match(text, end)
        iso = _iso_date(*header.group("d", "m", "y")) if header else None
    year_after = _YEAR_AFTER.match(text, end) if iso is None else None  # "Quyết định 1290/QĐ-TTg năm 2025"
    fields = {
        "key": kind_fields["number"],
        "number": kind_fields["number"],
        "type": kind_fields.get("type"),
        "issuer": kind_fields.get("issuer"),
        "year": kind_fields.get("year") or (int(iso[:4]) if iso else None)
        or (int(year_after.group(1)) if year_after and (kind_fields["kind"] != "named"
                                                         or kind_fields.get("type") in {"Luật", "Bộ luật"}) else None),
        "date": iso,
        "title": kind_fields.get("title") or _title_after(text, end),
        "kind": kind_fields["kind"],
        "raw": raw.strip(),
    }
    return Reference(start, end, fields)


def _name_before(text: str, num_start: int) -> tuple[int, str | None]:
    """Where a mention starts and its spelled-out name: "Quyết định số 749/QĐ-TTg" starts at "Quyết"."""
    window_start = max(0, num_start - 40)
    m = NAME_BEFORE.search(text[window_start:num_start])
    return (window_start + m.start(), m.group("name")) if m else (num_start, None)


def _law_name_before(text: str, num_start: int) -> re.Match | None:
    window_start = max(0, num_start - 120)
    for law in NAMED_LAW.finditer(text, window_start):
        if law.start() >= num_start:
            break
        if re.fullmatch(r"\s*(?:số\s*:?\s*)?", text[law.end():num_start], re.IGNORECASE):
            return law
    return None


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


@functools.lru_cache(maxsize=4)  # small: texts can be whole PDF documents
def find_references(text: str) -> tuple[Reference, ...]:
    """Every document reference in normalised text, in order, with spans; no context yet.

    Cached: figures mask these spans and directives report them, for the same text, one after the other.
    Callers copy `fields` before changing anything.
    """
    found: list[Reference] = []
    taken: list[tuple[int, int]] = []

    def add(ref: Reference) -> None:
        found.append(ref)
        taken.append((ref.start, ref.end))

    for m in PARTY_REF.finditer(text):
        start, name = _name_before(text, m.start())
        abbr, doc_type = _canonical_type(m.group("type"))
        issuer = m.group("issuer").upper().replace("TƯ", "TW")
        number = f"{_pad(m.group('num'))}-{abbr}/{issuer}"
        name = _doc_name(name)
        add(_mention({"number": number, "type": name or doc_type, "issuer": issuer, "kind": "party"},
                     text[start:m.end()], start, m.end(), m.groupdict(), text))
    for m in STATE_REF.finditer(text):
        if _overlaps(taken, m.start(), m.end()):
            continue
        start, name = _name_before(text, m.start())
        fields = _classify_state(m.group("num"), m.group("year"), m.group("sym"), name)
        if fields is None:
            continue
        if fields["kind"] == "law" and fields["type"] in {None, "Luật", "Bộ luật"}:
            # "Luật Giao dịch điện tử số 20/2023/QH15": the law's name is part of this mention.
            law = _law_name_before(text, m.start("num"))
            if law:
                start, fields["type"], fields["title"] = law.start(), law.group("name"), law.group("title").strip()
        add(_mention(fields, text[start:m.end()], start, m.end(), m.groupdict(), text))
    for m in PARTY_CONGRESS.finditer(text):
        if not _overlaps(taken, m.start(), m.end()):
            key = f"Nghị quyết Đại hội {m.group('term')}"
            add(_mention({"number": key, "type": "Nghị quyết", "kind": "named"}, m.group(0), m.start(), m.end(), {}, text))
    for m in NAMED_REF.finditer(text):
        if _overlaps(taken, m.start(), m.end()):
            continue
        name, num = m.group("name"), m.group("num")
        if name in {"Kế hoạch", "Chương trình", "Đề án"} and re.fullmatch(r"(?:19|20)\d{2}", num):
            continue  # "Kế hoạch 2024" is a year, not a number
        key = f"{name} {_pad(num)}"
        add(_mention({"number": key, "type": name, "kind": "named"}, m.group(0), m.start(), m.end(), {}, text))
    for m in NAMED_LAW.finditer(text):
        if _overlaps(taken, m.start(), m.end()):
            continue
        title = m.group("title").strip()
        key = f"{m.group('name')} {title}"
        add(_mention({"number": key, "type": m.group("name"), "kind": "named", "title": title},
                     m.group(0), m.start(), m.end(), {}, text))
    found.sort(key=lambda r: r.start)
    return tuple(found)


_LEADING_NUMBER = re.compile(r"\d+[a-z]?")


def extract_references(text: str) -> list[dict]:
    """Documents cited in `text`: one dict per mention, with the sentence as `context`."""
    text = normalize_text(text)
    spans = sentence_spans(text)
    refs = find_references(text)
    # "Nghị quyết 57" or "Luật Giao dịch điện tử" in a text that also cites "Nghị quyết số 57-NQ/TW" or
    # "Luật Giao dịch điện tử số 20/2023/QH15" is that document.
    numbered = {}
    for ref in refs:
        f = ref.fields
        if f["kind"] != "named" and f["type"]:
            numbered.setdefault(f"{f['type']} {_LEADING_NUMBER.match(f['number']).group(0)}", f)
            if f["kind"] == "law" and f["title"]:
                numbered.setdefault(f"{f['type']} {f['title']}", f)
    out = []
    for ref in refs:
        fields = dict(ref.fields)
        if fields["kind"] == "named" and (full := numbered.get(fields["number"])):
            fields.update(key=full["key"], number=full["number"], issuer=full["issuer"], year=full["year"])
        out.append({**fields, "context": sentence_at(text, spans, ref.start)})
    return out
