"""Attached documents (PDF, DOCX, ODT, XLSX): their text, their official header, and storage.

On government portals the directive itself is a PDF or Word file; the article only mentions it.
`extract_document` turns downloaded bytes into text with a status that says why there is none
(a scanned PDF, a corrupt or enormous file) instead of raising; `parse_header` reads the
administrative header block (issuing body, "Số: 2971/QĐ-UBND", "Thanh Hóa, ngày 22 tháng 8 năm
2023", the type line and the trích yếu) that every Vietnamese administrative document opens with.

The files stage (pipelines/attachments.py) downloads the files and hands each one here:
`read_document` (pure, run off the reactor thread) and `store_document` (crawler/db/documents.py).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import date

from crawler import timeutil
from crawler.db import documents as store
from crawler.db.documents import CORRUPT, EMPTY, ENCRYPTED, OK, SCANNED, TOO_LARGE, UNSUPPORTED
from crawler.textnorm import match_key, normalize_text, strip_diacritics
from pipelines.kinds import kinds


DEFAULT_MAX_PAGES = 500
DEFAULT_MAX_CHARS = 2_000_000
MAX_UNPACKED_BYTES = 200_000_000   # zip-based formats: refuse decompression bombs before parsing

_EXTENSIONS = {".pdf": "pdf", ".docx": "docx", ".odt": "odt", ".xlsx": "xlsx", ".doc": "doc", ".xls": "xls"}
_CONTENT_TYPES = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


# ---------------------------------------------------------------- format


def claimed_format(content_type: str | None = None, url: str = "", filename: str | None = None) -> str | None:
    """The format the server or the link says a file has (extension first: portals often send octet-stream)."""
    for name in (filename or "", url.split("?", 1)[0].split("#", 1)[0]):
        dot = name.rfind(".")
        if dot >= 0 and name[dot:].lower() in _EXTENSIONS:
            return _EXTENSIONS[name[dot:].lower()]
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return _CONTENT_TYPES.get(mime)


def sniff_format(body: bytes) -> str | None:
    """The format the bytes really have, from their signature; None when they are no known document."""
    head = body[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(_OLE_MAGIC):
        return "ole"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                names = set(archive.namelist())
                if "word/document.xml" in names:
                    return "docx"
                if "xl/workbook.xml" in names:
                    return "xlsx"
                if "mimetype" in names and archive.read("mimetype").strip() == b"application/vnd.oasis.opendocument.text":
                    return "odt"
        except Exception:  # noqa: BLE001 - a damaged or hostile archive is simply no document we know
            return None
        return "zip"
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<body" in lowered:
        return "html"
    return None


# ---------------------------------------------------------------- text


def extract_document(body: bytes, content_type: str | None = None, url: str = "", filename: str | None = None,
                     max_pages: int = DEFAULT_MAX_PAGES, max_chars: int = DEFAULT_MAX_CHARS) -> dict:
    """Text of a downloaded attachment: `{format, status, text, pages, error}`; never raises on bad input.

    The signature of the bytes decides the format; the extension or Content-Type only decides
    whether unreadable bytes are a corrupt document or something that was never a document.
    """
    claimed = claimed_format(content_type, url, filename)
    actual = sniff_format(body)
    fmt = actual if actual not in (None, "ole", "zip") else (claimed or actual or "unknown")
    result = {"format": fmt, "status": OK, "text": "", "pages": None, "error": None}
    if actual is None or actual == "zip":
        result["status"] = CORRUPT if claimed else UNSUPPORTED
        result["error"] = (f"the file does not look like a {claimed.upper()} document" if claimed
                           else "not a document format dxwatch reads")
        return result
    if actual in ("ole", "html"):
        result["status"] = UNSUPPORTED
        result["error"] = ("legacy binary Office file (.doc/.xls): no maintained library reads it; "
                           "open the original" if actual == "ole" else "an HTML page, not a document")
        return result
    if actual != "pdf":
        unpacked = _unpacked_size(body)
        if unpacked > MAX_UNPACKED_BYTES:
            result["status"], result["error"] = TOO_LARGE, f"unpacks to {unpacked} bytes (limit {MAX_UNPACKED_BYTES})"
            return result
    reader = {"pdf": _pdf_text, "docx": _docx_text, "odt": _odt_text, "xlsx": _xlsx_text}[actual]
    try:
        text, pages, status, error = reader(body, max_pages, max_chars)
    except Exception as exc:  # noqa: BLE001 - a parser's failure on hostile bytes is data, not a crash
        result["status"], result["error"] = CORRUPT, f"{type(exc).__name__}: {exc}"[:500]
        return result
    text = normalize_text(text)
    if len(text) > max_chars:
        text, error = text[:max_chars], error or f"text cut at {max_chars} characters"
    result.update(text=text, pages=pages, status=status if text or status != OK else EMPTY, error=error)
    return result


def _unpacked_size(body: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return sum(info.file_size for info in archive.infolist())


def _pdf_text(body: bytes, max_pages: int, max_chars: int) -> tuple[str, int, str, str | None]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(body))
    if reader.is_encrypted and not reader.decrypt(""):
        return "", None, ENCRYPTED, "the PDF needs a password"
    pages = len(reader.pages)
    if pages > max_pages:
        return "", pages, TOO_LARGE, f"{pages} pages (limit {max_pages})"
    texts, size, has_images = [], 0, False
    for page in reader.pages:
        page_text = page.extract_text() or ""
        texts.append(page_text)
        size += len(page_text)
        if not page_text.strip() and not has_images:
            has_images = len(page.images) > 0  # image ids only (forms and inline images included), not decoded
        if size > max_chars:
            break
    text = "\n".join(texts)
    if not text.strip():
        return "", pages, SCANNED if has_images else EMPTY, None
    return reflow(text), pages, OK, None


def reflow(text: str) -> str:
    """Join the lines a PDF wrapped mid-sentence ("công tác văn" / "thư;"), so a sentence is one line
    for the extractors. A line stays apart after a full stop, colon or semicolon, after a title in
    capitals ("QUYẾT ĐỊNH"), and when it starts with a capital."""
    lines: list[str] = []
    for line in text.split("\n"):
        line = line.strip()
        previous = lines[-1] if lines else ""
        if (line and line[0].islower() and previous and previous[-1] not in ".;:!?"
                and not previous.isupper()):
            lines[-1] = f"{previous} {line}"
        else:
            lines.append(line)
    return "\n".join(lines)


def _docx_text(body: bytes, max_pages: int, max_chars: int) -> tuple[str, None, str, None]:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(body))
    lines: list[str] = []
    for block in document.iter_inner_content():
        lines.extend(_table_lines(block) if isinstance(block, Table) else [block.text])
        if sum(map(len, lines)) > max_chars:
            break
    return "\n".join(lines), None, OK, None


def _table_lines(table) -> list[str]:
    """A data row becomes one line of cells joined by " | "; a layout row (the header block, cells of
    several lines) becomes its cells' lines one after the other, so the header parser sees them whole."""
    lines: list[str] = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:  # merged cells repeat: keep each once
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(cell.text.strip())
        if any("\n" in c for c in cells):
            lines.extend(c for c in cells if c)
        elif any(cells):
            lines.append(" | ".join(c for c in cells if c))
    return lines


def _odt_text(body: bytes, max_pages: int, max_chars: int) -> tuple[str, None, str, None]:
    from odf import teletype
    from odf.opendocument import load

    document = load(io.BytesIO(body))
    lines: list[str] = []

    def walk(node) -> None:
        for child in node.childNodes:
            if getattr(child, "qname", (None, None))[1] in ("p", "h"):
                lines.append(teletype.extractText(child))
            elif child.nodeType == child.ELEMENT_NODE:
                walk(child)

    walk(document.text)
    return "\n".join(lines), None, OK, None


def _xlsx_text(body: bytes, max_pages: int, max_chars: int) -> tuple[str, int, str, None]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    lines, size = [], 0
    try:
        for sheet in workbook.worksheets:
            lines.append(sheet.title)
            for row in sheet.iter_rows(values_only=True):
                cells = [_cell_text(v) for v in row if v is not None and str(v).strip()]
                if cells:
                    lines.append(" | ".join(cells))
                    size += len(lines[-1])
                if size > max_chars:
                    break
            lines.append("")
    finally:
        workbook.close()
    return "\n".join(lines), len(workbook.worksheets), OK, None


def _cell_text(value) -> str:
    """Numbers written the Vietnamese way (1.086; 16,5) so the figure extractor reads them as in prose."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value).strip()
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    whole, frac = f"{value:,.6f}".rstrip("0").split(".")
    return f"{whole.replace(',', '.')},{frac}" if frac else whole.replace(",", ".")


# ---------------------------------------------------------------- the official header block

# Document type lines as printed in capitals under the national motto (longest first).
TYPE_NAMES = (
    "Thông tư liên tịch", "Nghị quyết", "Nghị định", "Quyết định", "Chỉ thị", "Thông tư", "Kế hoạch",
    "Công văn", "Thông báo", "Hướng dẫn", "Chương trình", "Báo cáo", "Đề án", "Tờ trình", "Kết luận",
    "Công điện", "Quy chế", "Quy định", "Phương án", "Thông cáo", "Giấy mời", "Pháp lệnh", "Bộ luật",
    "Luật", "Lệnh", "Dự án", "Biên bản",
)
_TYPE_BY_KEY = {match_key(name).replace(" ", ""): name for name in TYPE_NAMES}  # "Q U Y Ế T  Đ Ị N H" too
_CAPS_TITLED = {"Luật", "Bộ luật", "Pháp lệnh"}  # "LUẬT / GIAO DỊCH ĐIỆN TỬ": the title is in capitals too

_MOTTOS = re.compile(
    r"C[ỘO]NG\s+H[ÒO]À?A?\s+X[ÃA]\s+H[ỘO]I\s+CH[ỦU]\s+NGH[ĨI]A\s+VI[ỆE]T\s+NAM"
    r"|Đ[ẢA]NG\s+C[ỘO]NG\s+S[ẢA]N\s+VI[ỆE]T\s+NAM"
    r"|Độc\s+lập\s*-\s*Tự\s+do\s*-\s*Hạnh\s+phúc",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"(?<!\w)(?i:số)\s*:?\s*"
    r"(?P<num>\d{1,5}[a-z]?\s*(?:/\s*(?:(?:19|20)\d{2}\s*/\s*)?|-\s*)[A-ZĐ][A-Za-zĐđ0-9&]*"
    r"(?:\s?[-/]\s?[A-ZĐ][A-Za-zĐđ0-9&]*)*)"
)
_PLACE_DATE = re.compile(r",\s*ngày\s*(?P<d>\d{1,2})\s*tháng\s*(?P<m>\d{1,2})\s*năm\s*(?P<y>(?:19|20)\d{2})",
                         re.IGNORECASE)
_SUBJECT_PREFIX = re.compile(r"^(?:V/v|Về\s+việc)\b", re.IGNORECASE)
_BODY_START = re.compile(r"^(?:Căn\s+cứ|Kính\s+gửi|Theo\s+đề\s+nghị|Xét\s+đề\s+nghị|Nơi\s+nhận)", re.IGNORECASE)
# Opens a body paragraph, or the trích yếu of a plan ("KẾ HOẠCH / Thực hiện Nghị quyết số 57-NQ/TW...").
_BODY_OR_SUBJECT = re.compile(r"^Thực\s+hiện\b", re.IGNORECASE)
_RULE = re.compile(r"^[\s_\-–—=*.·]*$")
HEADER_LINES = 30


def parse_header(text: str) -> dict:
    """Read the header block at the top of an administrative document.

    Returns `{issuer, number, type, place, date, subject}` (None where absent). `date` is ISO
    (`2023-08-22`). Works on the line orders PDF and Word extraction produce: both columns of the
    header table on one line, or the left column before the right one.
    """
    header = {"issuer": None, "number": None, "type": None, "place": None, "date": None, "subject": None}
    segments = _header_segments(normalize_text(text))
    issuer_parts: list[str] = []
    subject_parts: list[str] | None = None
    for segment in segments:
        if _BODY_START.match(segment) or (_BODY_OR_SUBJECT.match(segment) and subject_parts != []):
            break
        rest = segment
        found = _PLACE_DATE.search(rest)
        if found and not header["date"]:
            header["date"] = _iso_date(found)
            header["place"] = _place_before(rest[: found.start()])
            rest = (rest[: found.start()].removesuffix(header["place"] or "") + rest[found.end():]).strip()
        number = _NUMBER.search(rest)
        if number and not header["number"]:
            header["number"] = clean_number(number.group("num"))
            rest = (rest[: number.start()] + rest[number.end():]).strip()
        if not rest:
            continue
        type_name = _TYPE_BY_KEY.get(match_key(rest.rstrip(":")).replace(" ", ""))
        if type_name and rest.isupper() and not header["type"]:
            header["type"] = type_name
            subject_parts = []
            continue
        if _SUBJECT_PREFIX.match(rest) and not header["subject"]:
            subject_parts = [rest]
            if not header["type"]:
                header["type"] = "Công văn"  # an official letter has no type line, only "V/v ..."
            continue
        if subject_parts is not None and not header["subject"]:
            caps_title = not subject_parts and header["type"] in _CAPS_TITLED
            if (rest.isupper() and not caps_title) or rest.endswith(":") or len(subject_parts) >= 4:
                header["subject"] = " ".join(subject_parts) or None
                subject_parts = None
                if header["type"] and header["number"] and header["date"]:
                    break
            else:
                subject_parts.append(rest)
            continue
        if not header["number"] and not header["type"] and _is_caps_name(rest):
            issuer_parts.append(rest)
    if subject_parts and not header["subject"]:
        header["subject"] = " ".join(subject_parts)
    # Capitals at the top of a text without a number or a dated place line are a headline, not an issuer.
    header["issuer"] = _join_issuer(issuer_parts) if header["number"] or header["date"] else None
    return header


_BODY_WORDS = re.compile(r"^(?:SỞ|BỘ|BAN|CỤC|VỤ|PHÒNG|TRUNG TÂM|VĂN PHÒNG|ỦY BAN|UỶ BAN|UBND|HỘI ĐỒNG|TỔNG CỤC|"
                         r"VIỆN|TRƯỜNG|CHI CỤC|ĐẢNG ỦY|TỈNH ỦY|BAN CHỈ ĐẠO)\b")


def _join_issuer(lines: list[str]) -> str | None:
    """"ỦY BAN NHÂN DÂN" + "TỈNH THANH HÓA" is one name; "UBND TỈNH QUẢNG NINH" + "SỞ THÔNG TIN..." is a
    parent body and the issuing body, kept as "parent - issuer"."""
    if not lines:
        return None
    name = lines[0]
    for line in lines[1:]:
        name += (" - " if _BODY_WORDS.match(line) else " ") + line
    return name


def _header_segments(text: str) -> list[str]:
    """The first lines of the text, cut at table-cell bars and around the national motto."""
    segments: list[str] = []
    for line in text.split("\n")[: HEADER_LINES * 2]:
        for part in _MOTTOS.sub("\n", line).replace(" | ", "\n").split("\n"):
            part = part.strip(" |")
            if part and not _RULE.match(part):
                segments.append(part)
        if len(segments) >= HEADER_LINES:
            break
    return segments


def _is_caps_name(segment: str) -> bool:
    letters = [c for c in segment if c.isalpha()]
    return len(letters) >= 2 and segment.isupper()


def _place_before(prefix: str) -> str | None:
    """The place name in "Thanh Hóa, ngày ...": the title-case words just before the comma."""
    words: list[str] = []
    for word in reversed(prefix.split()):
        if len(words) >= 5 or any(c.isdigit() or c in "/:|" for c in word) or (len(word) > 1 and word.isupper()):
            break
        words.insert(0, word)
    while words and not words[0][0].isupper():
        words.pop(0)
    return " ".join(words) or None


def _iso_date(found: re.Match) -> str | None:
    try:
        return date(int(found["y"]), int(found["m"]), int(found["d"])).isoformat()
    except ValueError:
        return None


_ASCII_SYMBOLS = {"QD": "QĐ", "ND": "NĐ", "HDND": "HĐND", "DA": "ĐA"}


def clean_number(raw: str) -> str:
    """"179 /QD-TTg" -> "179/QĐ-TTg": no spaces around separators, ASCII-typed Đ restored."""
    number = re.sub(r"\s*([/-])\s*", r"\1", normalize_text(raw))
    parts = re.split(r"([/-])", number)
    return "".join(_ASCII_SYMBOLS.get(p, p) for p in parts)


# ---------------------------------------------------------------- storage

def read_document(item: dict, max_pages: int = DEFAULT_MAX_PAGES, max_chars: int = DEFAULT_MAX_CHARS) -> dict:
    """Everything dxwatch learns from one downloaded attachment: text, header, figures, directives.

    Pure (no database), so the pipeline can run it off the reactor thread. An item the spider
    already marked (a file over the download limit) keeps its status and gets no text.
    """
    body = item.get("body") or b""
    if item.get("status"):
        extracted = {"format": claimed_format(item.get("content_type"), item.get("url", ""), item.get("filename"))
                     or "unknown", "status": item["status"], "text": "", "pages": None, "error": item.get("error")}
    else:
        extracted = extract_document(body, item.get("content_type"), item.get("url", ""), item.get("filename"),
                                     max_pages, max_chars)
    record = {**extracted, "content_hash": hashlib.sha256(body).hexdigest() if body else None,
              "bytes": len(body) if body else item.get("bytes"),
              **{kind.table: [] for kind in kinds() if kind.in_documents}}
    header = parse_header(extracted["text"]) if extracted["text"] else dict.fromkeys(
        ("issuer", "number", "type", "place", "date", "subject"))
    record.update(header, key=None, issuer_code=None)
    if extracted["status"] != OK:
        return record
    from pipelines.facts import article_facts

    facts = article_facts(None, extracted["text"], item.get("province"))  # same keys as articles' facts
    record.update({kind.table: facts[kind.table] for kind in kinds() if kind.in_documents})
    if header["number"]:
        _describe_itself(record, item.get("province"))
    return record


def number_key(number: str, type_name: str | None = None, province: str | None = None) -> dict | None:
    """The directive record the facts stage makes of this number: its `key` is the one in
    directives.key (a province's own numbering, "2971/QĐ-UBND (Thanh Hóa)", carries the province)."""
    from pipelines.facts import article_facts

    found = article_facts(None, f"{type_name or 'Văn bản'} số {clean_number(number)}", province)["directives"]
    return found[0] if found else None


def _describe_itself(record: dict, province: str | None) -> None:
    """The document's own number becomes a directive carrying what its header says (date, subject),
    which a mention in running text rarely has; the document is its own best source."""
    own = number_key(record["number"], record["type"], province)
    if own is None:
        return
    record["key"], record["issuer_code"] = own["key"], own.get("issuer")
    record["type"] = record["type"] or own.get("type")
    fields = {"date": record["date"], "title": record["subject"], "type": record["type"],
              "year": own.get("year") or (int(record["date"][:4]) if record["date"] else None)}
    for directive in record["directives"]:
        if directive["key"] == own["key"]:
            directive.update({k: v for k, v in fields.items() if v})
            return
    record["directives"].insert(0, {**own, **{k: v for k, v in fields.items() if v},
                                    "raw": f"Số: {record['number']}", "context": record["subject"]})


def store_document(db, item: dict, record: dict) -> tuple[int, str]:
    """Store a read document once (see `crawler.db.documents.save_document`); `(document_id, outcome)`."""
    urls = [u for u in dict.fromkeys([item["url"], *item.get("aliases", [])]) if u]
    row = {c: (item.get(c) if c in ("source", "content_type", "filename", "label", "etag", "last_modified",
                                     "crawl_run_id") else record.get(c)) for c in store.DOCUMENT_COLUMNS}
    row["text"] = row["text"] or None  # NULL: nothing could be read (see status), not an empty document
    validators = {k: item[k] for k in ("etag", "last_modified") if item.get(k)}
    facts = [(kind.table, kind.columns, record.get(kind.table) or []) for kind in kinds() if kind.in_documents]
    return store.save_document(db, row, urls, facts, validators, item.get("cited_by"), timeutil.iso())


def document_for_number(db, number: str, province: str | None = None) -> dict | None:
    """The stored document with this number: as written ("2971/QĐ-UBND"), or a directives.key
    ("2971/QĐ-UBND (Thanh Hóa)"); `province` picks among provinces that reuse a local number."""
    owns = [number_key(number, province=p) for p in dict.fromkeys([province, None])]
    keys = list(dict.fromkeys([number, clean_number(number), *(own["key"] for own in owns if own)]))
    return store.document_by_keys(db, keys, next((own["key"] for own in owns if own), number))


def list_documents(db, doc_type: str | None = None, issuer: str | None = None, since: str | None = None,
                   until: str | None = None, source: str | None = None, status: str | None = None) -> list[dict]:
    """Stored documents, newest signing date first, filtered as `dxwatch documents` offers.

    `doc_type` and `issuer` match without regard to case, diacritics or tone placement; `doc_type`
    may be the abbreviation of the number ("QĐ", "KH"), `issuer` the code in it ("UBND");
    `since`/`until` bound the signing date (ISO dates).
    """
    from pipelines.references import TYPE_ABBREVIATIONS

    if doc_type:
        doc_type = TYPE_ABBREVIATIONS.get(doc_type.strip().upper(), (None, doc_type))[1]
    rows = store.all_documents(db)

    def fold(text: str | None) -> str:
        return strip_diacritics(match_key(text or ""))

    def keep(doc: dict) -> bool:
        if doc_type and fold(doc["type"]) != fold(doc_type):
            return False
        if issuer and fold(issuer) not in fold(doc["issuer"]) and fold(issuer) != fold(doc["issuer_code"]):
            return False
        if (since or until) and not doc["date"]:
            return False
        if since and doc["date"] < since or until and doc["date"] > until:
            return False
        return (not source or doc["source"] == source) and (not status or doc["status"] == status)

    return [d for d in rows if keep(d)]
