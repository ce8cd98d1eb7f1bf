"""Figures (statistics) in Vietnamese text: value, unit, kind, what they measure and when.

Vietnamese writes "2.939.433" for thousands and "16,5" for decimals, scales numbers with words
("1,92 triệu tỷ đồng" = 1.92e15 đồng) and mixes figures with dates, document numbers, phone
numbers and ordinals that are never figures. So the text is first masked (document references,
dates, times, periods, phones, legal parts, levels, codes, portal counters), then ranks, targets,
ratios and plain figures are read from what is left (../shared/domain/vietnam.md section 3).
"""

from __future__ import annotations

import bisect
import re
from decimal import Decimal, InvalidOperation

from crawler.textnorm import match_key, normalize_text
from pipelines.references import find_references, sentence_at, sentence_of, sentence_spans
from pipelines.figure_labels import clause_label, figure_role, with_period

MAX_FIGURES = 1000  # more than this in one text is a data table flattened into prose, not news
FIELDS = ("key", "kind", "value", "value2", "unit", "subject", "period", "qualifier", "direction", "ambiguous",
          "raw", "context", "label", "role")
MASK = "\ue000"  # a private-use character: not a word character, never in portal text
MASK_REFERENCE = "\ue001"  # a masked document reference: also ends the clause a subject is read from

SCALES = {
    "nghìn tỷ": 10**12, "ngàn tỷ": 10**12, "nghìn tỉ": 10**12, "ngàn tỉ": 10**12,
    "triệu tỷ": 10**15, "triệu tỉ": 10**15, "tỷ": 10**9, "tỉ": 10**9,
    "triệu": 10**6, "nghìn": 10**3, "ngàn": 10**3,
}
CURRENCIES = {"đồng": "VND", "vnđ": "VND", "vnd": "VND", "đ": "VND", "usd": "USD", "đô la mỹ": "USD",
              "đô la": "USD", "eur": "EUR", "euro": "EUR"}

# ---------------------------------------------------------------- number parsing

_NUMBER = r"(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+\.\d{1,2}(?![\d.])|\d+(?:,\d+)?)"


def parse_vn_number(raw: str) -> tuple[float, bool] | None:
    """`(value, ambiguous)` for a number written the Vietnamese way; None when it is not a number.

    "2.939.433" -> 2939433, "16,5" -> 16.5; "12.5" (English style) -> 12.5 ambiguous;
    "1,595" -> 1.595 ambiguous (a comma before exactly three digits may be an English thousands mark).
    """
    text = (raw or "").strip().replace(" ", "")
    if not re.fullmatch(r"\d[\d.,]*", text) or re.search(r"[.,]{2}|[.,]$", text):
        return None
    ambiguous = False
    if "." in text and "," in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        head, _, tail = text.rpartition(decimal_mark)
        if decimal_mark in head or not re.fullmatch(r"\d{1,3}(?:\%s\d{3})*" % thousands, head):
            return None
        ambiguous = decimal_mark == "."
        number = head.replace(thousands, "") + "." + tail
    elif "." in text:
        groups = text.split(".")
        if len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]):
            number = "".join(groups)
        elif len(groups) == 2:
            number, ambiguous = text, True
        else:
            return None
    elif "," in text:
        groups = text.split(",")
        if len(groups) > 2:
            if len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]):
                return float("".join(groups)), True
            return None
        number = text.replace(",", ".")
        ambiguous = len(groups[1]) == 3
    else:
        number = text
    try:
        return float(Decimal(number)), ambiguous
    except (InvalidOperation, ValueError):
        return None


def _scaled(raw: str, scale: str | None) -> tuple[float, bool] | None:
    parsed = parse_vn_number(raw)
    if parsed is None:
        return None
    value, ambiguous = parsed
    if scale:
        value = float(Decimal(str(value)) * SCALES[_fold(scale)])
    return value, ambiguous


def _fold(word: str) -> str:
    return re.sub(r"\s+", " ", word.strip().lower())


# ---------------------------------------------------------------- masking what is never a figure

_I = re.IGNORECASE
# (pattern, flags[, a substring the text must contain for the pattern to be worth running])
_MASKS = [
    (re.compile(p, f), needle[0] if needle else "")
    for p, f, *needle in [
        # bounded repeats after a left edge: an unbounded `[\w.]+@` retries from every character of a long run
        (r"https?://\S+", 0, "://"),
        (r"www\.\S+", 0, "www."),
        (r"(?<![\w.+-])[\w.+-]{1,64}@[\w-]{1,63}\.[\w.]{1,63}", 0, "@"),
        (r"(?<![\w-])[\w-]{1,120}\.(?:jpe?g|png|gif|webp|mp4|mov|pdf|docx?|xlsx?|zip|rar)\b\S*", _I, "."),
        (r"\b(?:GMT|UTC)\s*[+-]\s*\d{1,2}", _I),
        # times
        (r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?:\s*(?:SA|CH|AM|PM)\b)?", _I),
        (r"(?<![\w.,])\d{1,2}\s?h\s?\d{0,2}(?!\w)", 0),
        (r"(?<![\w.,])\d{1,2}\s+giờ(?:\s+\d{1,2}\s+phút)?", _I),
        # dates and periods
        (r"(?<![\w.,/])\d{1,2}\s*([/.-])\s*\d{1,2}\s*\1\s*(?:19|20)\d{2}(?!\d)", 0),
        (r"(?:ngày|hôm|sáng|chiều|tối|đêm|trưa)\s*\d{1,2}(?!\d)(?:\s*[/-]\s*\d{1,2}(?!\d))?(?:\s*[/-]\s*\d{2,4})?"
         r"(?!\s*(?:%|[.,]\d))", _I),
        (r"(?<![\w.,])\d{1,2}\s+tháng\s+\d{1,2}(?:\s*,?\s*năm\s+\d{4})?", _I),
        (r"(?:\d{1,2}|ba|sáu|chín|mười một|mười)\s+tháng\s+(?:đầu|cuối)\s+năm(?:\s+(?:19|20)\d{2})?", _I),
        (r"tháng\s+\d{1,2}(?!\d)(?:\s*[/-]\s*\d{4}|\s+năm\s+\d{4})?", _I),
        (r"quý\s+(?:[IV]+|\d)\b(?:\s*[/-]\s*\d{4}|\s+năm\s+\d{4})?", _I),
        (r"(?<![\w.,])(?:19|20)\d{2}\s*(?:-|–|đến|tới)\s*(?:19|20)\d{2}(?!\d)", _I),
        (r"(?:(?:đến|tới|từ|trong|vào|đến hết|đến cuối)\s+)?(?:năm|niên khóa|nhiệm kỳ)\s+(?:19|20)\d{2}(?!\d)", _I),
        (r"(?:thế kỷ|thế kỉ)\s+(?:[IVXL]+|\d+)", _I),
        # phone numbers and hotlines
        (r"\(0\d{2,3}\)\s*\d{3,4}[\s.]?\d{3,4}", 0),
        (r"(?<![\d.,])0\d{2,3}[\s.]\d{3,4}[\s.]?\d{3,4}(?!\d)", 0),
        (r"(?<![\d.,])0\d{9,10}(?!\d)", 0),
        (r"(?<![\d.,])1[89]00[\s.]?\d{3,4}(?:[\s.]?\d{2,4})?", 0),
        (r"(?:đường dây nóng|hotline|tổng đài|số điện thoại|fax)\s*(?:[^\d\n.;]{0,40}?)\d[\d\s.]*\d"
         r"(?:\s*(?:hoặc|,|và|/)\s*\d[\d\s.]*\d)*(?=\s*(?:$|[^\w\s]|hoặc|và|để|của|trong|hay|miễn phí|\())", _I),
        # legal parts, ordinals, levels, tech tokens
        (r"(?:Điều|khoản|điểm|Mục|Chương|Phụ lục|Tiết|Phần)\s+\d+[a-zđ]?(?![\d.,%])", _I),
        (r"(?:khóa|khoá)\s+(?:[IVXLC]+\b|\d+)", _I),
        (r"(?<!đứng )(?<!xếp )(?<!hạng )(?<!trí )thứ\s+\d+(?![\d/])", _I),
        (r"(?m)^\s*(?:\d{1,2}|[IVX]{1,4}|[a-zđ])\s*[.)]\s", 0),
        (r"\(\d{1,2}\)|\b\d{1,2}\)\s", 0),
        (r"(?:mức độ|cấp độ|level)\s+\d(?![\d/.,])", _I),
        (r"(?<![\w.,])\d{1,2}G(?!\w)|(?<![\w.,])\d\.0(?![\d.,])|IPv\d|(?:covid|sars-cov)-?\s?\d+", _I),
        (r"(?:ISO|TCVN|IEC|QCVN)\s*[\d.:/-]*\d", 0),
        (r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d+", 0),
        (r"(?:Quận|Phường|Khu phố|Tổ dân phố|Ấp|Thôn|Xóm|Đường|Quốc lộ|Tỉnh lộ|Km|Lô|Tầng|Phòng|Khu|Số nhà)\s+\d+[A-Za-z]?"
         r"(?![\d.,])", 0),
        (r"(?<!\w)số\s+\d+[A-Za-z]?(?:/\d+)?(?=\s+(?:đường\s+|phố\s+)?[A-ZĐ])", 0),
        # the portal's own counters and furniture
        (r"(?:hôm nay|hôm qua|tuần này|tháng này|năm nay|tất cả|tổng cộng|lượt truy cập|số lượt truy cập|lượt xem|"
         r"đang truy cập|đang online|online|lượt thích|bình luận|lượt đọc|lượt tải|views?)\s*:\s*[\d.,]+", _I, ":"),
        (r"(?m)^\s*[\d.,]+\s*(?:bình luận|lượt xem|lượt thích|lượt chia sẻ|lượt đọc|views?|comments?)?\s*$", _I),
        (r"(?:trang|ảnh|hình|video|clip|biểu đồ|bảng|slide)\s+\d+(?:\s*/\s*\d+)?(?![\d.,%])", _I),
        (r"\b[A-Z]{1,4}\s?\d{1,3}(?=\.(?:jpe?g|png))", 0),
    ]
]


_MASK_RUNS = re.compile(rb"\x01+|\x02+")


def mask_non_figures(text: str) -> str:
    """Same length as `text`, with every span that can never be a figure replaced by MASK characters.

    Line breaks stay. The spans are marked in a byte map (a later span overrides an earlier one),
    then each run is masked in one piece: no Python loop over the characters of the text.
    """
    marks = bytearray(len(text))  # 0: kept, 1: a document reference, 2: never a figure
    for ref in find_references(text):
        marks[ref.start:ref.end] = b"\x01" * (ref.end - ref.start)
    for pattern, needle in _MASKS:
        if needle in text:
            for m in pattern.finditer(text):
                marks[m.start():m.end()] = b"\x02" * (m.end() - m.start())
    pieces, last = [], 0
    for run in _MASK_RUNS.finditer(marks):
        start, end = run.span()
        mask = MASK_REFERENCE if marks[start] == 1 else MASK
        pieces.append(text[last:start])
        pieces.append("\n".join(mask * len(part) for part in text[start:end].split("\n")))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


# ---------------------------------------------------------------- patterns for figures

# [^\S\n]: a figure never runs across a line break (PDF tables put "2025" above "Tỷ lệ ...")
_SCALE = r"(?:nghìn[^\S\n]+tỷ|ngàn[^\S\n]+tỷ|nghìn[^\S\n]+tỉ|ngàn[^\S\n]+tỉ|triệu[^\S\n]+tỷ|triệu[^\S\n]+tỉ|tỷ|tỉ|triệu|nghìn|ngàn)"
_CUR = r"(?:đồng|VNĐ|VND|USD|đô[^\S\n]+la[^\S\n]+Mỹ|đô[^\S\n]+la|EUR|euro|đ(?!\w))"
FIGURE = re.compile(
    rf"(?<![\w.,/:{MASK}-])(?P<num>{_NUMBER})(?:[^\S\n]*(?:-|–|đến|tới)[^\S\n]*(?P<num2>{_NUMBER}))?"
    rf"(?:[^\S\n]*(?P<pct>%|phần[^\S\n]+trăm|điểm[^\S\n]+phần[^\S\n]+trăm))?(?:[^\S\n]+(?P<scale>{_SCALE}))?(?:[^\S\n]*(?P<cur>{_CUR}))?"
    rf"(?!\w|/\d|[.,]\d)",
    re.IGNORECASE,
)
_INT = r"(?:\d{1,3}(?:\.\d{3})+|\d{1,5})"
RATIO = re.compile(rf"(?<![\w.,/:{MASK}-])(?P<a>{_INT})\s?/\s?(?P<b>{_INT})(?![\w/]|[.,]\d)")
RANK = re.compile(
    r"(?P<prefix>(?:đứng|xếp|xếp hạng|giữ)\s+(?:ở\s+)?(?:vị trí\s+|hạng\s+)?(?:thứ\s+)?"
    r"|(?:vươn lên|tụt xuống|leo lên|lên|xuống)\s+(?:vị trí\s+|hạng\s+|thứ\s+)(?:thứ\s+)?"  # not "lên 587 doanh nghiệp"
    r"|(?:hạng|vị trí)\s+(?:thứ\s+)?|(?<!\w)top\s+)(?P<a>\d{1,3})(?:\s?/\s?(?P<b>\d{1,3}))?(?!\d|[.,]\d|\s*(?:%|bậc|lần|điểm))",
    re.IGNORECASE,
)
_HAS_TARGET = re.compile(r"/\s*(?:mục tiêu|kế hoạch|chỉ tiêu)", re.IGNORECASE)
TARGET = re.compile(
    rf"(?P<a>{_NUMBER})\s+(?P<unit>[^\d/\n{MASK}]{{1,40}}?)\s*/\s*(?:mục tiêu|kế hoạch|chỉ tiêu)\s+(?P<b>{_NUMBER})"
    r"(?:\s+(?P=unit))?",
    re.IGNORECASE,
)

_QUALIFIER = re.compile(
    r"(?<!\w)(?:vào khoảng|khoảng|gần như|gần|hơn|trên|dưới|xấp xỉ|ước đạt|ước tính|ước|ít nhất|tối thiểu|tối đa|đạt|"
    r"chỉ|từ|lên tới|lên đến|tới)\s*$",
    re.IGNORECASE,
)
_CHANGE = re.compile(
    r"(?<!\w)(?P<verb>tăng\s+trưởng|tăng|giảm|gấp|cao\s+gấp|lớn\s+gấp|thấp\s+hơn|vượt)\s+(?:thêm\s+|bình\s+quân\s+|được\s+|lên\s+|xuống\s+)?"
    r"(?:(?:vào\s+)?(?:khoảng|gần|hơn|trên|dưới|xấp xỉ|ít nhất|tới|đến)\s+)?$",
    re.IGNORECASE,
)
# Words that show the number before them is not counting anything.
_FUNCTION_WORDS = {
    "so", "và", "với", "để", "được", "hoặc", "theo", "của", "là", "có", "đã", "đạt", "trong", "tại", "từ", "đến",
    "cho", "thì", "mà", "nhưng", "khi", "này", "đó", "các", "những", "về", "trên", "dưới", "sau", "trước",
    "hay", "cũng", "sẽ", "đang", "vẫn", "bị", "do", "như", "nên", "vào", "ra", "lên", "xuống", "tới",
    "còn", "chỉ", "mới", "nay", "qua", "gồm", "bao", "hết", "nữa", "rồi", "thêm",
}
# A duration is a figure when it is what changed ("rút ngắn từ 30 ngày xuống còn 10 ngày") or an
# average ("bình quân 1,5 ngày"); "trong 2 ngày" is just how long something lasts.
_DURATION_CHANGE = re.compile(r"(?<!\w)(?:từ|xuống(?:\s+còn|\s+dưới)?|còn|rút ngắn(?: được)?|giảm|tiết kiệm(?: được)?|chỉ mất|bình quân)\s*$",
                              re.IGNORECASE)
# Units written with capitals that still follow a count ("500 TB", "120 MW").
_UPPERCASE_UNIT = re.compile(r"[kKMGTP]?(?:B|bit|bps|W|Wh|Hz)|Mbit|Gbit|Km|CPU|DN")
_TIME_UNITS = {"năm", "tháng", "ngày", "tuần", "giờ", "phút", "giây", "quý", "buổi", "đêm", "thập", "kỳ", "tuổi"}
# Nouns of two or three syllables kept whole as a unit; other units are their first syllable.
_COMPOUND_UNITS = {
    "doanh nghiệp", "hồ sơ", "thủ tục", "dịch vụ", "tài khoản", "thành viên", "cán bộ", "công chức", "viên chức",
    "học sinh", "sinh viên", "cơ quan", "đơn vị", "hệ thống", "nhiệm vụ", "mục tiêu", "chỉ tiêu", "quy định",
    "văn bản", "sản phẩm", "giải pháp", "thiết bị", "nền tảng", "ứng dụng", "thuê bao", "người dân",
    "chữ ký", "giao dịch", "cơ sở", "trường học", "bệnh viện", "hội nghị", "lớp học", "máy tính", "điểm cầu",
    "công dân", "hộ gia đình", "bài viết", "tin bài", "cuộc gọi", "lao động", "thôn bản", "trạm phát",
    "khu công nghiệp", "dự án", "chương trình", "kế hoạch", "quyết định", "chỉ thị", "nghị quyết", "tổ chức",
    "hội viên", "phần mềm", "mô hình", "sáng kiến", "vụ việc", "đề tài", "gian hàng", "hợp tác xã",
}
# One-syllable classifiers and nouns: "63 tỉnh", "2.939.433 lượt văn bản", "1.086 tổ công nghệ số".
_SINGLE_UNITS = {
    "người", "xã", "phường", "tỉnh", "huyện", "thôn", "bản", "hộ", "tổ", "lượt", "trạm", "điểm", "lần", "trường",
    "lớp", "ca", "cuộc", "chiếc", "máy", "bài", "trang", "tin", "km", "ha", "tấn", "sở", "bộ", "ngành", "nước",
    "nhóm", "cấp", "bậc", "gói", "khu", "cụm", "câu", "tỷ", "triệu", "nghìn", "ngàn", "mục", "vụ", "đợt", "ngày",
    "giờ", "phút", "tuần", "tháng", "năm", "quý", "file", "camera", "website", "thiết", "đơn", "phòng", "ban",
    "cơ", "hệ", "trụ",
}
_CONTENT_PHRASE = re.compile(r"[^\W\d_]+(?:\s+[^\W\d_]+){0,5}")
_CLAUSE_BREAK = re.compile(rf",(?!\d)|[;:(\n\"“”]|(?:\s[-–]\s)|\s(?:và|trong đó|còn|nhưng)\s|{MASK_REFERENCE}+")
_TRAILING_VERBS = re.compile(
    r"(?:\s+(?:đạt|chiếm|là|ước đạt|ước tính|ước|khoảng|vào khoảng|hơn|trên|gần|dưới|tăng trưởng|tăng|giảm|gấp|"
    r"cao|có|với|bằng|tỷ lệ|lên|xuống|còn|mức|ở mức|tới|đến|được|đã|xấp xỉ|bình quân|thêm|từ|đạt tỷ lệ|quy mô|"
    r"là khoảng|vào|nay|hiện nay|hiện|khoảng chừng|ít nhất|tối thiểu|tối đa|so với|so|của|mới|chỉ|vẫn|cũng|"
    r"xếp thứ|đứng thứ|xếp hạng|xếp|đứng|thứ|vị trí|hạng|ở))+\s*$",
    re.IGNORECASE,
)
_LEADING_CONNECTORS = re.compile(r"^(?:(?:và|trong đó|đồng thời|với|theo đó|còn|riêng|tuy nhiên|ngoài ra|của|ngày|chiếm|"
                                 r"đạt|có)\s+)+",
                                 re.IGNORECASE)
_MONTHS_SPELLED = r"(?:\d{1,2}|ba|sáu|chín|mười một|mười)"
PERIOD = re.compile(
    r"(?:" + _MONTHS_SPELLED + r"\s+tháng\s+(?:(?:đầu|cuối)\s+)?năm(?:\s+(?:19|20)\d{2})?|quý\s+[IV]+(?:\s*[/-]\s*\d{4}|\s+năm\s+\d{4})?"
    r"|tháng\s+\d{1,2}\s*[/-]\s*\d{4}|tháng\s+\d{1,2}\s+năm\s+\d{4}|giai đoạn\s+\d{4}\s*[-–]\s*\d{4}"
    r"|(?:đến|tới)\s+(?:hết\s+|cuối\s+)?năm\s+\d{4}|năm\s+(?:19|20)\d{2}|(?<![\w.,/])(?:19|20)\d{2}(?=\s+(?:đạt|là|:))"
    r"|(?:tính\s+)?(?:đến|tới)\s+(?:hết\s+)?ngày\s+\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*(?:19|20)\d{2})",
    re.IGNORECASE,
)
# Between a figure and its own period: its noun, then "của"/"trong"/"vào" ("312 doanh nghiệp năm 2021").
_RIGHT_AFTER = re.compile(r"\s*(?:[^\W\d]+\s+){0,3}?(?:của|trong|vào|,)?\s*", re.IGNORECASE)
_BASELINE = re.compile(r"(?:so với|cùng kỳ|từ|kể từ)\s*(?:cùng kỳ\s*)?(?:năm\s*)?$", re.IGNORECASE)


# ---------------------------------------------------------------- helpers


def _words_after(masked: str, end: int) -> str:
    m = _CONTENT_PHRASE.match(masked, end + (len(masked[end:]) - len(masked[end:].lstrip(" "))))
    return m.group(0) if m else ""


_PHRASE_VERBS = {"hoàn thành", "kết nối", "triển khai", "thực hiện", "tham gia", "sử dụng", "đăng ký", "tiếp nhận",
                 "cung cấp", "giải quyết", "phủ sóng", "cài đặt", "kích hoạt", "ban hành", "đáp ứng", "xử lý"}


def _noun_phrase(masked: str, end: int) -> str:
    """The noun phrase after a number, up to a function word or verb: "hồ sơ trực tuyến toàn trình"."""
    words: list[str] = []
    candidates = _words_after(masked, end).split()
    for i, w in enumerate(candidates):
        lower = w.lower()
        if lower in _FUNCTION_WORDS or " ".join(candidates[i:i + 2]).lower() in _PHRASE_VERBS:
            break
        words.append(w)
    return " ".join(words)


def _unit_of(phrase: str) -> str | None:
    words = phrase.split()
    if not words:
        return None
    two = " ".join(words[:2]).lower()
    three = " ".join(words[:3]).lower()
    if three in _COMPOUND_UNITS:
        return three
    if two in _COMPOUND_UNITS or (len(words) > 1 and words[0].lower() not in _SINGLE_UNITS
                                  and not _UPPERCASE_UNIT.fullmatch(words[0])):
        return two  # "đại biểu", "lĩnh vực": a word of two syllables
    return words[0] if _UPPERCASE_UNIT.fullmatch(words[0]) else words[0].lower()


_NUMERIC_WORD = re.compile(r"[\d.,%/]+")


def _subject_before(masked: str, sentence_start: int, start: int) -> str:
    """The clause before a figure, minus verbs and qualifiers: "tỷ lệ hồ sơ trực tuyến toàn trình"."""
    begin = max(sentence_start, start - 160)
    clause = masked[begin:start]
    if begin > sentence_start and not masked[begin - 1].isspace():
        clause = clause.split(" ", 1)[-1]  # the window began inside a word
    breaks = list(_CLAUSE_BREAK.finditer(clause))
    if breaks:
        # "xuất khẩu sản phẩm điện tử, máy tính và linh kiện đạt ...": a short tail after "," or "và" is the
        # end of a list, so the clause reaches back over the list while no figure stands in it.
        n = len(breaks) - 1
        begin = breaks[n].end()
        while n >= 0 and breaks[n].group(0).strip() in {",", "và"}:
            before = breaks[n - 1].end() if n > 0 else 0
            tail = _TRAILING_VERBS.sub("", " " + clause[breaks[n].end():]).split()
            if len(tail) > 2 or re.search(r"\d", clause[before:breaks[n].start()]):
                break
            begin, n = before, n - 1
        clause = clause[begin:]
    clause = re.sub(rf"{MASK}+", " ", clause)
    clause = re.sub(r"\s+", " ", clause).strip()
    previous = None
    while previous != clause:
        previous = clause
        clause = _TRAILING_VERBS.sub("", " " + clause).strip()
    clause = _LEADING_CONNECTORS.sub("", clause)
    words = [w for w in clause.split() if not _NUMERIC_WORD.fullmatch(w)]
    return " ".join(words[-24:])


def _periods(text: str, sentence: tuple[int, int]) -> list[tuple[int, str]]:
    """(position, words) of each period stated in a sentence; a baseline ("so với năm 2023") is not one."""
    s, e = sentence
    out = []
    for m in PERIOD.finditer(text, s, e):
        if not _BASELINE.search(text[max(s, m.start() - 25):m.start()]):
            out.append((m.start(), re.sub(r"\s+", " ", m.group(0)).strip()))
    return out


def _period(periods: list[tuple[int, str]], start: int, end: int, text: str) -> str | None:
    """The period right after the figure ("16,5% của năm 2023"), else the nearest before it in its
    sentence, else the first after it."""
    i = bisect.bisect_left(periods, (start, ""))
    if i < len(periods) and _RIGHT_AFTER.fullmatch(text[end:periods[i][0]]):
        return periods[i][1]
    if i > 0:
        return periods[i - 1][1]
    return periods[i][1] if i < len(periods) else None


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


# Words that do not change what a subject names: "tỷ lệ hồ sơ trực tuyến của tỉnh" = "hồ sơ trực tuyến".
_KEY_STOP_PHRASES = re.compile(r"(?<!\w)(?:tỷ lệ|tỉ lệ|số lượng|tổng số|tỷ trọng|trên địa bàn|toàn tỉnh|cả nước)(?!\w)")
_KEY_STOP_WORDS = {"của", "các", "những", "trên", "trong", "toàn", "tỉnh", "thành", "phố", "cả", "ước", "đạt", "theo",
                   "và", "đã", "được", "là", "này"}


def _key(f: dict) -> str:
    words = re.findall(r"\w+", _KEY_STOP_PHRASES.sub(" ", match_key(f.get("subject") or "")))
    subject = " ".join([w for w in words if w not in _KEY_STOP_WORDS][:6])
    period = re.sub(r"\W+", " ", match_key(f.get("period") or "")).strip()
    return "|".join([f["kind"], _fmt(f["value"]), _fmt(f.get("value2")), f.get("unit") or "", subject, period])


# ---------------------------------------------------------------- extraction


def extract_figures(text: str) -> list[dict]:
    """Every figure in `text`, in reading order, as dicts (see the module docstring for the masking)."""
    text = normalize_text(text)
    if not text:
        return []
    masked = mask_non_figures(text)
    spans = sentence_spans(text)
    taken = bytearray(len(text))  # 1 where a figure was already read
    found: list[tuple[int, dict]] = []
    periods: dict[tuple[int, int], list[tuple[int, str]]] = {}

    def free(a: int, b: int) -> bool:
        return not any(taken[a:b])

    def emit(start: int, end: int, fig: dict) -> None:
        taken[start:end] = b"\x01" * (end - start)
        sentence = sentence_of(spans, start)
        if sentence not in periods:
            periods[sentence] = _periods(text, sentence)
        fig.setdefault("value2", None)
        fig.setdefault("unit", None)
        fig.setdefault("qualifier", None)
        fig.setdefault("direction", None)
        fig.setdefault("ambiguous", False)
        if not fig.get("subject"):
            fig["subject"] = (_subject_before(masked, sentence[0], start)
                              or (_noun_phrase(masked, end) if fig["kind"] in {"count", "ratio", "target"} else None))
        fig["period"] = _period(periods[sentence], start, end, text)
        fig["raw"] = text[start:end].strip()  # the number as written, with %, scale and currency; the noun is `unit`
        fig["context"] = sentence_at(text, spans, start)
        fig["role"] = figure_role(text, sentence, start, end, fig["kind"])
        if fig["role"] == "threshold" and fig["kind"] == "change":
            fig["kind"], fig["direction"] = "percent", None  # "có tỷ lệ tăng dưới 40%" selects; nothing changed
        fig["label"] = with_period(clause_label(text, sentence, start, end, fig["kind"]), fig["period"], text,
                                   sentence, end)
        fig["sentence"] = sentence
        found.append((start, fig))

    def prefix(start: int, size: int = 40) -> str:
        return masked[max(0, start - size):start]

    for m in RANK.finditer(masked):
        if len(found) >= MAX_FIGURES:
            break
        a, b = int(m.group("a")), m.group("b")
        if b is not None and (int(b) == 0 or a > int(b)):
            continue
        emit(m.start("a"), m.end(), {"kind": "rank", "value": float(a), "value2": float(b) if b else None,
                                     "unit": "hạng"})
    for m in TARGET.finditer(masked) if _HAS_TARGET.search(masked) else ():
        if len(found) >= MAX_FIGURES:
            break
        if not free(m.start(), m.end()):
            continue
        a, b = parse_vn_number(m.group("a")), parse_vn_number(m.group("b"))
        if a and b:
            unit = _unit_of(m.group("unit").strip())
            emit(m.start(), m.end(), {"kind": "target", "value": a[0], "value2": b[0], "unit": unit,
                                      "subject": m.group("unit").strip(), "ambiguous": a[1] or b[1]})
    for m in RATIO.finditer(masked):
        if len(found) >= MAX_FIGURES:
            break
        if not free(m.start(), m.end()):
            continue
        a, b = parse_vn_number(m.group("a")), parse_vn_number(m.group("b"))
        if not (a and b) or b[0] == 0 or a[0] > b[0] or re.fullmatch(r"(?:19|20)\d{2}", m.group("b").strip()):
            continue  # "số 15/2024" is an issue number of a year, not a ratio
        phrase = _noun_phrase(masked, m.end())
        if a[0] <= 31 and b[0] <= 12 and "." not in m.group(0):
            # "10/10", "22/8": a day and month unless a noun follows or the context says score
            head = phrase.split()[0].lower() if phrase else ""
            if not (head and head not in _TIME_UNITS | {"hằng", "hàng", "vừa", "tới", "này"}
                    and head not in _FUNCTION_WORDS) and not re.search(r"(?:đạt|cấp độ|điểm|là)\s*$", prefix(m.start())):
                continue
        qualifier = _QUALIFIER.search(prefix(m.start()))
        emit(m.start(), m.end(), {"kind": "ratio", "value": a[0], "value2": b[0], "unit": _unit_of(phrase),
                                  "subject": phrase or None,
                                  "qualifier": qualifier.group(0).strip().lower() if qualifier else None})
    for m in FIGURE.finditer(masked):
        if len(found) >= MAX_FIGURES:
            break
        if not free(m.start(), m.end()):
            continue
        fig = _read_figure(m, masked)
        if fig:
            emit(m.start(), m.end(), fig)
    found.sort(key=lambda pair: pair[0])
    out, last_subject = [], {}
    for _, fig in found:
        # "chiếm 83,48%" after "1,488 triệu hồ sơ": a figure with no subject of its own measures what its
        # sentence named last
        fig["subject"] = fig["subject"] or last_subject.get(fig["sentence"])
        if fig["subject"]:
            last_subject[fig["sentence"]] = fig["subject"]
        fig["key"] = _key(fig)
        out.append({field: fig[field] for field in FIELDS})
    return out


def _read_figure(m: re.Match, masked: str) -> dict | None:
    num, num2 = m.group("num"), m.group("num2")
    pct, scale, cur = m.group("pct"), m.group("scale"), m.group("cur")
    before = masked[max(0, m.start() - 40):m.start()]
    parsed = _scaled(num, scale)
    if parsed is None:
        return None
    value, ambiguous = parsed
    value2 = None
    if num2:
        second = _scaled(num2, scale)
        if second is None:
            return None
        value2, ambiguous = second[0], ambiguous or second[1]
    change = _CHANGE.search(before)
    verb = re.sub(r"\s+", " ", change.group("verb").lower()) if change else None
    direction = None
    if verb:
        direction = "times" if "gấp" in verb else ("down" if verb in {"giảm", "thấp hơn"} else "up")
    qualifier = _QUALIFIER.search(before)
    qual = re.sub(r"\s+", " ", qualifier.group(0).strip().lower()) if qualifier else None
    if num2 and qual == "từ":
        qual = None
    base = {"value": value, "value2": value2, "ambiguous": ambiguous, "qualifier": qual, "direction": direction}
    pct_word = _fold(pct) if pct else None
    if pct_word == "điểm phần trăm":
        return {**base, "kind": "pp", "unit": "điểm %"}
    if pct_word:
        kind = "change" if verb and direction in {"up", "down"} else "percent"
        measured = _noun_phrase(masked, m.end())
        if measured and measured[0].islower() and not verb:
            base["subject"] = measured  # "81% thủ tục hành chính": the share of what follows
        return {**base, "kind": kind, "unit": "%"}
    if cur:
        return {**base, "kind": "money", "unit": CURRENCIES.get(_fold(cur), _fold(cur).upper())}
    phrase = _noun_phrase(masked, m.end())
    head = phrase.split()[0].lower() if phrase else ""
    if head == "lần":
        if verb or "," in num:  # "gấp 3 lần", "thu hẹp còn 1,9 lần"
            return {**base, "kind": "multiplier", "unit": "lần",
                    "direction": "times" if not verb or "gấp" in verb else direction}
        return {**base, "kind": "count", "unit": "lần", "subject": phrase}
    if scale:
        return {**base, "kind": "count", "unit": _unit_of(phrase), "subject": phrase or None}
    if "," in num and (head == "điểm" or not head or head in _FUNCTION_WORDS):
        # "đạt 0,5921 điểm", "điểm trung bình là 0,6514": an index score, not a count
        return {**base, "kind": "score", "unit": "điểm" if head == "điểm" else None}
    # A bare number counts something only when a noun follows it.
    document = _is_document_word(_words_after(masked, m.end()))
    if document:
        return {**base, "kind": "count", "unit": document.lower(), "subject": document}
    if head in _TIME_UNITS and (_DURATION_CHANGE.search(before) or "," in num):
        return {**base, "kind": "count", "unit": head, "subject": phrase}  # "giảm từ 30 ngày xuống còn 10 ngày"
    if not head or head in _FUNCTION_WORDS or head in _TIME_UNITS:
        return None
    if re.fullmatch(r"(?:19|20)\d{2}", num) and not num2 and not (
            _unit_of(phrase) in _COMPOUND_UNITS or head in _SINGLE_UNITS - _TIME_UNITS):
        return None  # a year ("Hội nghị 2025 thành công"), unless a counted noun follows ("2024 hồ sơ")
    if _UPPERCASE_UNIT.fullmatch(phrase.split()[0]):
        # "đạt 142 Mbit/s": a measurement; what it measures comes before it
        return {**base, "kind": "count", "unit": phrase.split()[0]}
    if phrase[0].isupper():
        return None  # "Quận 1", "HN 1": a name or code, not a count
    return {**base, "kind": "count", "unit": _unit_of(phrase), "subject": phrase}


def _is_document_word(phrase: str) -> str | None:
    """"01 Chỉ thị, 15 Quyết định": documents issued are counted by their type name."""
    m = re.match(r"(?:Chỉ thị|Quyết định|Kế hoạch|Nghị quyết|Nghị định|Thông tư|Công văn|Văn bản|Đề án|"
                 r"Chương trình|Hướng dẫn|Thông báo|Báo cáo)(?!\w)", phrase, re.IGNORECASE)
    return m.group(0) if m else None
