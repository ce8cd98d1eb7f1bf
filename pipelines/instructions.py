"""Instructions: sentences in which a leader or body directs someone to act.

"Thủ tướng yêu cầu các bộ, ngành, địa phương khẩn trương ban hành kế hoạch..." gives
director "Thủ tướng", verb "yêu cầu", directed "các bộ, ngành, địa phương", action "khẩn trương
ban hành kế hoạch...". A sentence that starts with the verb ("Yêu cầu các bộ...") takes the
director of the sentence before, as news reports do. Rule-based; its precision and recall are
measured by `bench/facts_eval.py`.
"""

from __future__ import annotations

import hashlib
import re

from crawler.textnorm import match_key, normalize_text
from pipelines.references import CONTEXT_LIMIT, sentence_spans

# "Bộ Khoa học và Công nghệ", "Sở Tài chính": capitalised word, lower-case word, optionally "và" and again.
_MINISTRY = (r"(?:Bộ|Sở)\s+[A-ZĐ][\wÀ-ỹ]*(?:\s+[a-zđà-ỹ][\wÀ-ỹ]*)?"
             r"(?:\s+và\s+[A-ZĐ][\wÀ-ỹ]*(?:\s+[a-zđà-ỹ][\wÀ-ỹ]*)?)?")
_NAME = r"(?:\s+[A-ZĐ][\wÀ-ỹ]*(?:\s+[A-ZĐ][\wÀ-ỹ]*){1,3})"
DIRECTOR = re.compile(
    r"(?<!\w)(?:Phó\s+)?(?:"
    r"Thủ tướng(?:\s+Chính phủ)?|Tổng Bí thư|Chủ tịch nước|Chủ tịch Quốc hội|"
    r"Chủ tịch(?:\s+(?:UBND|Ủy ban nhân dân|HĐND|Hội đồng nhân dân))(?:\s+(?:tỉnh|thành phố|huyện|xã|phường))?|"
    r"Bí thư(?:\s+(?:Tỉnh ủy|Thành ủy|Huyện ủy|Đảng ủy))?|Bộ trưởng(?:\s+{_MINISTRY})?|Thứ trưởng(?:\s+{_MINISTRY})?|"
    r"Giám đốc(?:\s+{_MINISTRY}|\s+Sở)?|"
    r"Chính phủ|Văn phòng Chính phủ|Bộ Chính trị|Ban Bí thư|Thường trực Tỉnh ủy|Ban Thường vụ Tỉnh ủy|"
    r"(?:UBND|Ủy ban nhân dân)\s+(?:tỉnh|thành phố|huyện|xã)|Ban Chỉ đạo(?:\s+(?:CĐS|chuyển đổi số))?(?:\s+(?:tỉnh|thành phố|quốc gia))?|"
    r"Ủy ban Quốc gia về chuyển đổi số|{_MINISTRY}"
    r"){_NAME}?".replace("{_MINISTRY}", _MINISTRY).replace("{_NAME}", _NAME)
)
# Lower case, or capitalised at the start of a sentence; "Chỉ thị" with a capital is a document.
# One or more named bodies: "Bộ Tài chính, Bộ Tư pháp và Ngân hàng Nhà nước", "Sở Nội vụ".
_BODIES = re.compile(rf"(?:{DIRECTOR.pattern})(?:\s*(?:,|và)\s*(?:{DIRECTOR.pattern}))*")
VERB = re.compile(
    r"(?<!\w)(?<!bàn )(?<!chuyển )(?<!giao )"
    r"(?P<verb>(?i:yêu cầu|đề nghị|giao nhiệm vụ|giao trách nhiệm|giao|chỉ đạo|phân công|đôn đốc)|chỉ thị)(?!\w)"
    r"(?!\s+(?:thông|dịch|lưu|ban|diện|tiếp|nhận|thoa|kết|khoán|đất|rừng|hàng|mặt bằng|hữu|ca|lộ|xét|khen|công nhận)(?!\w))"
)
# These verbs direct someone only when an addressee follows: "giao Sở X chủ trì", "đề nghị các bộ ...".
_NEED_ADDRESSEE = {"giao", "giao nhiệm vụ", "giao trách nhiệm", "đề nghị", "phân công"}
# Words before the verb that make it a noun or a passive, not a directive being given.
_NOT_DIRECTING = re.compile(
    r"(?:được|theo|với|các|những|đáp ứng|là|của|nhiệm vụ|công tác|sự|việc|trong|nhận|thực hiện|vào|có|này|"
    r"lãnh đạo,|lãnh đạo và|lãnh đạo|quyết liệt|đã|\d)\s*$",
    re.IGNORECASE,
)
_AFTER_NOUN = re.compile(r"^\s*(?:của|đặt ra|nêu|trên|tại|này|đó|quyết liệt|sát sao)\b", re.IGNORECASE)
_ACTION_START = re.compile(
    r"(?<!Ban)\s(?:khẩn trương|chủ trì|tập trung|phải|cần|triển khai|ban hành|xây dựng|thực hiện|tăng cường|đẩy mạnh|rà soát|"
    r"hoàn thành|nghiên cứu|phối hợp|chủ động|quyết liệt|sớm|nâng cao|tiếp tục|bảo đảm|đảm bảo|tổ chức|hoàn thiện|"
    r"làm tốt|quan tâm|vào cuộc|trong việc|theo dõi|kiểm tra|khắc phục|thúc đẩy|phát huy|ưu tiên|quyết tâm|"
    r"cụ thể|lãnh đạo|chỉ đạo|tham mưu|hướng dẫn|đề xuất|báo cáo|nghiêm túc|kịp thời|rà|bố trí|dứt điểm|"
    r"trong quá trình|trong thời gian|quán triệt|nắm bắt|lưu ý|khai thác|giải quyết|hỗ trợ|cung cấp|cập nhật|"
    r"số hóa|đưa|xử lý|làm sạch|hướng tới|nghiêm|khẩn|thường xuyên|khuyến khích|tích cực|đổi mới|gửi|đi đầu|"
    r"nộp|tiến hành|phấn đấu|khảo sát|thống kê|không|tránh|học tập|nêu cao|gương mẫu|đăng ký|"
    r"hoàn tất|ký|duy trì|chuẩn bị|vận động|tuyên truyền|mở rộng|nâng cấp|xây|lập|điều chỉnh|sửa đổi|tổng kết|"
    r"đánh giá|thẩm định|tổng hợp)(?!\w)|:",
    re.IGNORECASE,
)
_ADDRESSEE = re.compile(
    r"^(?:cho\s+)?(?:các|từng|mọi|toàn thể|Bộ|Sở|UBND|Ủy ban|Ban|Văn phòng|Thủ trưởng|người đứng đầu|lãnh đạo|"
    r"cấp ủy|cơ quan|địa phương|ngành|đơn vị|Thường trực|Ngân hàng|Tập đoàn|Tổng|Cục|Chủ tịch|Giám đốc|Công an|"
    r"Trung tâm|Đài|Báo|doanh nghiệp|Hội|Đoàn|Liên|Kho bạc|Cổng|Viện|thanh niên|người dân|hội viên|đoàn viên|"
    r"cán bộ|đảng viên|nhân dân|phụ nữ|học sinh|giáo viên|[A-ZĐ])",
)
DEADLINE = re.compile(
    r"(?:(?:trước|chậm nhất|hạn chót|xong trước|hoàn thành trước|trước ngày)\s+(?:ngày\s+)?\d{1,2}\s*[/-]\s*\d{1,2}"
    r"(?:\s*[/-]\s*\d{4})?|(?:trước|trong|ngay trong|chậm nhất|xong trong|hoàn thành trong|vào)\s+"
    r"(?:tháng\s+\d{1,2}(?:\s*[/-]\s*\d{4})?|quý\s+[IV]+(?:\s*[/-]\s*\d{4})?|năm\s+\d{4}|\d+\s+ngày(?:\s+làm việc)?))",
    re.IGNORECASE,
)
_LEAD_IN = re.compile(r"^(?:[\"“]?\s*)?(?:Đồng thời|Ngoài ra|Bên cạnh đó|Trong đó|Theo đó|Cùng với đó|Cũng)?\s*,?\s*$",
                      re.IGNORECASE)


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ,;:.-–\"“”")


def _split_directed(after: str) -> tuple[str | None, str]:
    """Who is directed and what they must do, from the text after the verb."""
    after = re.sub(r"^\s*(?:cụ thể\s+)?(?:cho\s+)?", "", after)
    if not _ADDRESSEE.match(after):
        return None, after
    bodies = _BODIES.match(after)
    if bodies and re.match(r"\s+[a-zđà-ỹ]", after[bodies.end():]):
        # "giao Sở Nông nghiệp và Môi trường tổng kết ...": a named body, then what it must do
        return _clean(bodies.group(0)), after[bodies.end():]
    cut = _ACTION_START.search(after, 1)
    if not cut:
        return _clean(after[:200]) or None, ""  # "giao trách nhiệm cho Bộ A, Bộ B": the task is the list
    if cut.start() > 140:
        return None, after
    return _clean(after[: cut.start()]) or None, after[cut.start():]


def extract_instructions(text: str) -> list[dict]:
    """Instructions given in `text`: director, verb, directed, action, deadline and the sentence."""
    text = normalize_text(text)
    out: list[dict] = []
    last_director: str | None = None
    for start, end in sentence_spans(text):
        sentence = text[start:end].strip()
        directors = list(DIRECTOR.finditer(sentence))
        resume = 0  # verbs before this belong to the action of an instruction already read
        spoke = False
        for v in VERB.finditer(sentence):
            if v.start() < resume:
                continue
            before = sentence[: v.start()]
            if v.group(0)[0].isupper() and before.strip(" \"“(-–"):
                continue  # capitalised inside a sentence: a name ("Sở Giao thông", "Ban Chỉ đạo")
            if _NOT_DIRECTING.search(before) or _AFTER_NOUN.match(sentence[v.end():]):
                continue
            near = [d for d in directors if d.end() <= v.start() and v.start() - d.end() <= 45
                    and not re.search(r"[,;]", sentence[d.end():v.start()])
                    and not VERB.search(sentence[d.end():v.start()])]
            # "...; giao Bộ Y tế ...": a later clause with its own verb is a second instruction
            clause_end = next((m.start() for m in re.finditer(r";\s*", sentence[v.end():])
                               if VERB.match(sentence, v.end() + m.end())), None)
            stop = v.end() + clause_end if clause_end is not None else len(sentence)
            directed, action = _split_directed(sentence[v.end():stop])
            if near:
                director = _clean(near[-1].group(0))
            elif last_director and (_LEAD_IN.match(before) or (directed and re.search(r"[,;]\s*$", before))):
                director = last_director  # "..., giao Bộ X chủ trì": the speaker of the sentence before
            else:
                continue
            action = _clean(action)
            verb = v.group("verb").lower()
            if (len(action) < 8 and not directed) or (verb in _NEED_ADDRESSEE and not directed):
                continue
            deadline = DEADLINE.search(action)
            key_text = match_key(f"{director}|{verb}|{directed or ''}|{action[:160]}")
            out.append({
                "key": hashlib.sha1(key_text.encode("utf-8")).hexdigest()[:16],
                "director": director,
                "verb": verb,
                "directed": directed,
                "action": action[:400] or None,
                "deadline": deadline.group(0) if deadline else None,
                "context": sentence if len(sentence) <= CONTEXT_LIMIT else sentence[:CONTEXT_LIMIT] + " …",
            })
            last_director, spoke, resume = director, True, stop
        if not spoke and directors and directors[0].start() < 40:
            last_director = _clean(directors[0].group(0))  # the sentence's subject speaks next
    return out
