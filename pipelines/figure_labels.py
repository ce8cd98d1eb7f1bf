"""What a figure says, in the article's own words: the shortest clause of its sentence that carries it.

A reader who forwards "1.368 — bộ dữ liệu thuộc" or "64% — lĩnh vực" is misled; a reader who gets
"Cổng dữ liệu mở ... cung cấp 1.368 bộ dữ liệu thuộc 18 lĩnh vực, trong đó 64% được cập nhật hằng
tháng" can check and quote it. So a figure's label is cut from its sentence at clause boundaries
(";", ":", a dash, "trong đó", "nhưng", a comma that ends a clause, "và" between two statements with
figures), never inside a phrase, and it keeps the number with its unit as written ("142 Mbit/s",
"gấp 3 lần"). A clause that names nothing before or after the number ("tăng 26% so với cùng kỳ",
"trong đó 64% được cập nhật") is joined to the clause before it until it does. The label also says
whether the figure is a goal (mục tiêu, phấn đấu, dự kiến, sẽ ...) or a threshold ("những địa phương
có tỷ lệ dưới 40%"), which is a condition, not a change.
"""

from __future__ import annotations

import re

WINDOW = 400  # characters either side of the figure: a table flattened into one "sentence" is not read whole
MAX_LABEL_CHARS = 320
MIN_WORDS = 4  # "19/21 bộ" says too little: the clause before ("... sử dụng dịch vụ:") says of what  # past this a joined clause is more paragraph than statement: keep the figure's own clause

# Clause boundaries. Commas are judged separately: "phường, xã" and "các bộ, ngành" are lists, not clauses.
_HARD_BREAK = re.compile(r"\s*(?:;|:(?!\d)|\s[-–—]\s|[()…“”\"]|\.\.\.|(?<=[%\w])\.(?=[A-ZĐ][^\W\d_]))\s*")
_CONNECTIVE = re.compile(r"(?<!\w)(?:trong đó|trong số đó|nhưng|song|đồng thời|tuy nhiên|ngoài ra|bên cạnh đó)(?!\w)",
                         re.IGNORECASE)
_AND = re.compile(r"(?<!\w)và(?!\w)", re.IGNORECASE)
_COMMA = re.compile(r",(?!\d)")
_NUMBER = re.compile(r"\d")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")

# Words that name nothing: verbs of reporting and comparing, qualifiers, measures without their object.
_EMPTY_WORDS = set("""
đạt chiếm là có với và của các những trong tại từ đến tới cho về theo so được đã đang sẽ còn thì mà nên khi
này đó nay hiện ước tính khoảng gần hơn trên dưới xấp xỉ ít nhất tối thiểu tối đa chỉ lên xuống thêm bình quân
tăng giảm gấp cao thấp lớn nhỏ vượt trưởng mức cộng bằng như vào ra qua mới
đồng thời nhưng song cùng kỳ năm trước ngoái sau tương đương riêng toàn đứng thứ xếp hạng vị trí lần bậc
điểm phần trăm ở hoặc nếu để do vì
""".split())
_CHANGE_VERB = re.compile(r"(?<!\w)(?:tăng|giảm|gấp|vượt|thêm|hơn|trưởng)\s*(?:\S+\s*)?$", re.IGNORECASE)
# Period words: a clause that only says when ("Trong năm", "Đến nay") names nothing either.
_PERIOD_WORDS = {"năm", "tháng", "quý", "tuần", "ngày", "đầu", "cuối", "hết", "nay", "giai", "đoạn", "kỳ", "cùng",
                 "hằng", "hàng", "mỗi", "gần", "đây", "vừa", "qua", "lũy", "kế"}

_GOAL_BEFORE = re.compile(
    r"(?<!\w)(?:mục tiêu|phấn đấu|chỉ tiêu|dự kiến|kỳ vọng|theo kế hoạch(?=\s*,)|kế hoạch đặt ra|"
    r"(?<!hồ sơ )(?<!đơn )(?:yêu cầu|đề nghị)(?=\s+(?:[^\W\d_]+\s+){0,6}?(?:nâng|đạt|hoàn thành|bảo đảm|"
    r"phấn đấu|chỉ đạo|mở rộng|lựa chọn|sử dụng|giảm|tăng)(?!\w))|"
    r"nâng\s+(?:[^\W\d_]+\s+){0,8}?lên|sẽ|cần đạt|phải đạt)(?!\w)",
    re.IGNORECASE)
_GOAL_AFTER = re.compile(r"^[^,;.]{0,60}?(?<!\w)(?:sẽ|dự kiến|vào cuối năm|trước cuối năm|trong năm tới)(?!\w)",
                         re.IGNORECASE)
_NOT_GOAL = re.compile(r"(?<!\w)(?:vượt|hoàn thành|đạt được)\s+(?:\S+\s+){0,2}?(?:mục tiêu|chỉ tiêu|kế hoạch)\s*$",
                       re.IGNORECASE)
_THRESHOLD = re.compile(
    r"(?<!\w)(?:những|các|nhóm)\s+(?:[^\W\d_]+,?\s+){1,8}?(?:có|đạt|với)\s+(?:[^\W\d_]+\s+){0,9}?"
    r"(?:dưới|trên|từ|không quá|không dưới|thấp hơn|cao hơn|vượt)\s*$",
    re.IGNORECASE)


_ASIDE = re.compile(r"\([^()\d]{1,60}\)")  # "(PII)", "(EUR, JPY, CHF)": a name's abbreviation, not a clause


# "nếu có doanh thu trên 500 triệu đồng", "từ 500 triệu đồng trở xuống": a condition, not a result or goal
_CONDITION = re.compile(r"(?<!\w)(?:nếu|khi|trường hợp)(?!\w)[^,;.]{0,80}?(?:từ|trên|dưới|không quá|vượt quá|tối đa)\s*$",
                        re.IGNORECASE)
_BOUND_AFTER = re.compile(r"^(?:/\S+)?\s+(?:\S+\s+){0,2}?trở (?:xuống|lên)(?!\w)", re.IGNORECASE)


def _boundaries(sentence: str) -> list[tuple[int, int, bool]]:
    """(start, end, soft) of every clause boundary in the sentence: the text between two of them is a
    clause. Soft boundaries (a comma, "và") may continue a statement begun before them."""
    asides = [(m.start(), m.end()) for m in _ASIDE.finditer(sentence) if len(m.group(0).split()) <= 8]
    cuts = [(m.start(), m.end(), False) for m in _HARD_BREAK.finditer(sentence)
            if not any(m.start() < b and m.end() > a for a, b in asides)]
    cuts += [(m.start(), m.start(), False) for m in _CONNECTIVE.finditer(sentence)]
    for m in _COMMA.finditer(sentence):
        if not _is_list_comma(sentence, m.start()):
            cuts.append((m.start(), m.end(), True))
    for m in _AND.finditer(sentence):
        # "2.874 doanh nghiệp và 1,1 triệu tài khoản": two statements; "người dân và doanh nghiệp tiết kiệm
        # khoảng 7,5 nghìn tỷ": one phrase (the figure after "và" must come within its first words)
        left = _segment(sentence, cuts, m.start(), backwards=True)
        right = _segment(sentence, cuts, m.end(), backwards=False)
        if _NUMBER.search(left) and _NUMBER.search(" ".join(right.split()[:3])):
            cuts.append((m.start(), m.start(), True))
    return sorted(set(cuts))


def _segment(sentence: str, cuts: list[tuple[int, int, bool]], at: int, backwards: bool) -> str:
    if backwards:
        start = max((e for s, e, _ in cuts if e <= at), default=0)
        return sentence[start:at]
    end = min((s for s, e, _ in cuts if s >= at), default=len(sentence))
    return sentence[at:end]


def _item(words: list[str]) -> int:
    """How many words a list item has: up to the first function word, number or verb."""
    n = 0
    for w in words:
        if not _WORD.fullmatch(w) or w.lower() in _EMPTY_WORDS or w.lower() in {"đã", "được", "với", "đều"}:
            break
        n += 1
    return n


def _is_list_comma(sentence: str, at: int) -> bool:
    """"phường, xã với", "các bộ, ngành đã", "phần cứng, điện tử đạt": a short item after the comma, then
    a function word or verb, is the last item of a list, not a new clause."""
    before = sentence[:at].split()[::-1][:4]
    after = sentence[at + 1:].split()[:5]
    left, right = _item(before), _item(after)
    if left and after and 1 <= len(after[0]) and after[0].endswith(",") and _WORD.fullmatch(after[0][:-1]):
        return True  # "thôn, bản, tổ dân phố": the list goes on
    if not left or not 1 <= right <= 4 or after[0].lower() in _CLAUSE_VERBS:
        return False  # ", giúp người dân ...": a verb opens a clause, not a list item
    follows = after[right].lower() if len(after) > right else ""
    if not follows or not _WORD.fullmatch(follows):
        pass  # "cho cán bộ, công chức cấp xã.": the last item ends the sentence or clause
    elif right > 3 or follows not in _EMPTY_WORDS | {"đã", "được", "với", "đều"}:
        return False
    # "Trong năm, cổng ...", "Đến nay, tỉnh đã ...": an opening phrase of time, then the clause
    return not all(w.lower() in _PERIOD_WORDS | _EMPTY_WORDS for w in before[:left])


_MEASURE = re.compile(r"(?<!\w)(?:tỷ lệ|tỉ lệ|tỷ trọng|tỉ trọng|số lượng|tổng số|con số|tổng cộng)(?!\w)", re.IGNORECASE)


def _names_something(words: str) -> bool:
    words = _MEASURE.sub(" ", words)
    return any(w.lower() not in _EMPTY_WORDS and w.lower() not in _PERIOD_WORDS for w in _WORD.findall(words))


def _noun_after(clause_before: str, clause_rest: str, kind: str) -> bool:
    """A counted or measured noun right after the number: "2.150 trạm phát sóng", "81% thủ tục"
    (not "tăng 2 bậc": what rose is named before)."""
    if kind in {"change", "multiplier", "pp", "money", "rank", "score"} or _CHANGE_VERB.search(clause_before):
        return False
    words = clause_rest.split()[:4]
    if not words:
        return False
    first = words[0].lower()
    return bool(_WORD.fullmatch(first)) and first not in _EMPTY_WORDS and first not in _PERIOD_WORDS \
        and first not in {"được", "đều", "so"}


# Words a clause starts with when its subject is the previous clause's: "..., tăng 2 bậc", "..., đứng
# thứ 46", "..., liên tiếp duy trì trong nhóm 50 nước".
_CONTINUING = {"tăng", "giảm", "đạt", "chiếm", "đứng", "xếp", "liên", "duy", "tiếp", "cao", "gấp", "vượt", "giữ",
               "góp", "tương", "là", "bằng", "thu", "nâng", "trở", "lên", "xuống"}


_CLAUSE_VERBS = _CONTINUING | {"giúp", "nhằm", "tạo", "đưa", "góp", "làm"}


def _continues(sentence: str, begins: list[tuple[int, bool]], i: int, a: int) -> bool:
    """Whether the clause starting at begins[i] goes on the statement before its (soft) boundary: it
    opens with a verb ("..., tăng 2 bậc so với năm 2022"), or it is the next item of a list of counts
    ("ban hành 01 Chỉ thị, 15 Quyết định, 06 Kế hoạch")."""
    if i == 0:
        return False
    start = begins[i][0]
    words = sentence[start:a].split()
    if words and words[0].lower() in _CONTINUING:
        return True
    previous = sentence[begins[i - 1][0]:start]
    return bool(re.match(r"\s*(?:và\s+)?\d", sentence[start:]) and _NUMBER.search(previous))


def clause_label(text: str, sentence: tuple[int, int], start: int, end: int, kind: str) -> str:
    """The shortest clause of `text[sentence]` around the figure `text[start:end]` that names what it measures."""
    s0, s1 = max(sentence[0], start - WINDOW), min(max(sentence[1], end), end + WINDOW)
    s0, s1 = min(s0, start), max(s1, end)
    sentence_text = text[s0:s1]
    a, b = start - s0, end - s0
    cuts = _boundaries(sentence_text)
    begins = [(0, False)] + [(e, soft) for s, e, soft in cuts if e <= a]
    ends = [s for s, e, _ in cuts if s >= b] + [len(sentence_text)]
    i, j = len(begins) - 1, 0
    first_clause = None
    while True:
        (left, soft), right = begins[i], ends[j]
        clause_before = sentence_text[left:a]
        clause_after = sentence_text[b:right]
        label = _tidy(sentence_text[left:right])
        first_clause = first_clause or label
        if (_names_something(clause_before) or _noun_after(clause_before, clause_after, kind)) \
                and len(label.split()) >= MIN_WORDS and not (soft and _continues(sentence_text, begins, i, a)):
            break
        if i > 0:
            i -= 1  # join the clause before: it says what "tăng 26%" or "trong đó 64%" is about
        elif j < len(ends) - 1:
            j += 1  # the figure opens its sentence: the clause after it must say it
        else:
            break
    if len(label) <= MAX_LABEL_CHARS:
        return label
    if len(first_clause) <= MAX_LABEL_CHARS:
        return first_clause
    # no clause boundary for hundreds of characters (a table flattened into text): the words around it
    before = sentence_text[:a].split()[-12:]
    after = sentence_text[b:].split()[:12]
    return _tidy(" ".join(["…", *before, sentence_text[a:b], *after, "…"]))


def _tidy(clause: str) -> str:
    clause = re.sub(r"\s+", " ", clause).strip(" ,;:.-–—")
    if clause.count("“") > clause.count("”"):
        clause += "”"
    if clause.count("(") > clause.count(")"):
        clause += ")"  # "27 mục tiêu có khả năng hoàn thành cao (chiếm 43,5%)"
    elif clause.count(")") > clause.count("(") and clause.endswith(")"):
        clause = clause[:-1]
    clause = re.sub(r"^(?:trong đó|trong số đó|đồng thời|nhưng|song|và|còn|tuy nhiên|ngoài ra)\s*,?\s+", "",
                    clause, flags=re.IGNORECASE)
    return clause[:1].upper() + clause[1:] if clause else clause


def figure_role(text: str, sentence: tuple[int, int], start: int, end: int, kind: str) -> str | None:
    """"target" for a goal, "threshold" for a condition that selects ("dưới 40%"), else None (a result)."""
    if kind == "target":
        return None  # "50.350 doanh nghiệp/mục tiêu 48.000": an achievement against its goal
    before = text[sentence[0]:start]
    after = text[end:sentence[1]]
    if _THRESHOLD.search(before[-120:]) or _CONDITION.search(before[-100:]) or _BOUND_AFTER.match(after):
        return "threshold"
    if _NOT_GOAL.search(before[-60:]):
        return None
    tail = before[-160:]
    goals = [m for m in _GOAL_BEFORE.finditer(tail) 
             if not re.search(r"(?:[\d/]|kết quả|thực hiện(?: các)?|đạt)\s*$", tail[:m.start()])]  # "62 mục tiêu"
    if goals:
        between = tail[goals[-1].end():]
        if not re.search(r"(?<!\w)(?:đã|đạt được|hiện|ước đạt|đến nay|mới đạt)(?!\w)|;", between):
            return "target"
    if _GOAL_AFTER.search(after):
        return "target"
    return None


def with_period(label: str, period: str | None, text: str = "", sentence: tuple[int, int] = (0, 0),
                end: int = 0) -> str:
    """The label, followed by the figure's period when the clause itself does not say it; not a
    period that names an orientation ("định hướng đến năm 2030" in a plan's title) or that opens the
    next statement ("28%, 2023 đạt 19%")."""
    if not period:
        return label
    from crawler.textnorm import match_key

    if match_key(period) in match_key(label):
        return label
    said = text[sentence[0]:sentence[1]]
    places = [m.start() + sentence[0] for m in re.finditer(re.escape(period), said)]
    if places and all(_NOT_A_PERIOD.search(text[max(sentence[0], p - 30):p]) or
                      (p >= end and _NEXT_STATEMENT.match(text, p + len(period))) for p in places):
        return label
    return f"{label} ({period})"


_NOT_A_PERIOD = re.compile(r"(?:định hướng|tầm nhìn)\s*$", re.IGNORECASE)
_NEXT_STATEMENT = re.compile(r"\s*(?:đạt|là|:)", re.IGNORECASE)
