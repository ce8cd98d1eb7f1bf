"""Documents written by the tests: administrative PDFs and Word files with a real header block.

Every sample text here is written for dxwatch's tests (an imagined province's decision and
letter); the numbers follow the official formats of Decree 30/2020 so the parsers meet the
shapes portals publish.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

SIGNED = datetime(2023, 8, 22, 9, 0, tzinfo=timezone.utc)
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)


@dataclass
class OfficialDocument:
    """The parts of an administrative document, laid out by each writer below as portals do."""

    issuer_lines: list[str]
    number: str
    place_date: str
    type_line: str | None
    subject_lines: list[str]
    authority: str | None
    body: list[str]
    table: list[list[str]] = field(default_factory=list)
    motto: tuple[str, str] = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


DECISION = OfficialDocument(
    issuer_lines=["ỦY BAN NHÂN DÂN", "TỈNH THANH HÓA"],
    number="Số: 2971/QĐ-UBND",
    place_date="Thanh Hóa, ngày 22 tháng 8 năm 2023",
    type_line="QUYẾT ĐỊNH",
    subject_lines=["Về việc phê duyệt Kế hoạch chuyển đổi số", "tỉnh Thanh Hóa giai đoạn 2023 - 2025"],
    authority="CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH THANH HÓA",
    body=[
        "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;",
        "Căn cứ Quyết định số 749/QĐ-TTg ngày 03/6/2020 của Thủ tướng Chính phủ phê duyệt Chương trình "
        "Chuyển đổi số quốc gia;",
        "Theo đề nghị của Giám đốc Sở Thông tin và Truyền thông.",
        "QUYẾT ĐỊNH:",
        "Điều 1. Phê duyệt Kế hoạch chuyển đổi số của tỉnh với các chỉ tiêu sau.",
        "Đến cuối năm 2025, tỷ lệ hồ sơ trực tuyến toàn trình của tỉnh đạt 80%; "
        "toàn tỉnh có 1.250 tổ công nghệ số cộng đồng với hơn 7.400 thành viên.",
        "Kinh tế số đóng góp 12,5% GRDP của tỉnh.",
        "Điều 2. Giao Sở Thông tin và Truyền thông chủ trì, theo dõi việc thực hiện.",
    ],
    table=[
        ["Chỉ tiêu", "Năm 2023", "Mục tiêu 2025"],
        ["Tỷ lệ hồ sơ trực tuyến toàn trình", "45,2%", "80%"],
        ["Số tài khoản định danh điện tử mức độ 2", "1.186.400", "2.500.000"],
    ],
)

LETTER = OfficialDocument(
    issuer_lines=["UBND TỈNH QUẢNG NINH", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"],
    number="Số: 1234/STTTT-CĐS",
    place_date="Quảng Ninh, ngày 06 tháng 01 năm 2024",
    type_line=None,
    subject_lines=["V/v triển khai nền tảng số hóa", "hồ sơ thủ tục hành chính"],
    authority=None,
    body=[
        "Kính gửi: Ủy ban nhân dân các huyện, thị xã, thành phố.",
        "Thực hiện Kế hoạch số 176/KH-UBND ngày 29/7/2022 của UBND tỉnh, Sở đề nghị các địa phương "
        "hoàn thành số hóa 100% hồ sơ trước ngày 30/6/2024.",
    ],
)

PARTY_PROGRAMME = OfficialDocument(
    issuer_lines=["TỈNH ỦY THANH HÓA", "*"],
    number="Số 257-CTr/TU",
    place_date="Thanh Hóa, ngày 3 tháng 12 năm 2021",
    type_line="CHƯƠNG TRÌNH",
    subject_lines=["chuyển đổi số tỉnh Thanh Hóa đến năm 2025, định hướng đến năm 2030"],
    authority=None,
    body=["Thực hiện Nghị quyết số 52-NQ/TW ngày 27/9/2019 của Bộ Chính trị, Ban Thường vụ Tỉnh ủy "
          "ban hành Chương trình chuyển đổi số."],
    motto=("ĐẢNG CỘNG SẢN VIỆT NAM", ""),
)


def font_path() -> str:
    """A TrueType font with Vietnamese glyphs; the PDF tests skip on a machine without one."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    pytest.skip("no TrueType font with Vietnamese glyphs on this machine (install fonts-dejavu-core)")


# ---------------------------------------------------------------- PDF (fpdf2)


def _pdf():
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(SIGNED)  # same document, same bytes: the store tells changes by their hash
    pdf.add_font("dejavu", fname=font_path())
    pdf.set_font("dejavu", size=11)
    pdf.set_auto_page_break(True, margin=15)
    return pdf


def pdf_bytes(doc: OfficialDocument, extra_pages: int = 0) -> bytes:
    """The header as a two-column block (both columns share baselines, as a real scan-free PDF does)."""
    pdf = _pdf()
    pdf.add_page()
    left = [*doc.issuer_lines, doc.number, *([] if doc.type_line else doc.subject_lines)]
    right = [line for line in doc.motto if line] + [doc.place_date]
    for i in range(max(len(left), len(right))):
        pdf.cell(80, 6, left[i] if i < len(left) else "")
        pdf.cell(110, 6, right[i] if i < len(right) else "", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for line in [doc.type_line or "", *(doc.subject_lines if doc.type_line else []), doc.authority or ""]:
        if line:
            pdf.cell(0, 6, line, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for paragraph in doc.body:
        pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
    if doc.table:
        with pdf.table(first_row_as_headings=False) as table:
            for row in doc.table:
                cells = table.row()
                for value in row:
                    cells.cell(value)
    for n in range(extra_pages):
        pdf.add_page()
        pdf.cell(0, 6, f"Phụ lục trang {n + 2}")
    return bytes(pdf.output())


def scanned_pdf_bytes() -> bytes:
    """A page that is only a picture of text, as a scanner makes it: no text layer at all."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (800, 1100), 255)
    draw = ImageDraw.Draw(image)
    for row in range(40, 1000, 28):
        draw.line((60, row, 60 + (row * 7) % 600 + 100, row), fill=0, width=3)
    png = io.BytesIO()
    image.save(png, format="PNG")
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(SIGNED)
    pdf.add_page()
    pdf.image(io.BytesIO(png.getvalue()), x=0, y=0, w=210)
    return bytes(pdf.output())


def corrupt_pdf_bytes() -> bytes:
    """Starts like a PDF, then the download broke off: the cross-reference table is gone."""
    whole = pdf_bytes(DECISION)
    return whole[: len(whole) // 3]


def garbage_bytes() -> bytes:
    """What a portal sends under a .pdf link when its file store is broken."""
    return bytes((i * 37 + 11) % 256 for i in range(4096))


def enormous_bytes(size: int) -> bytes:
    """A valid PDF start padded past any sane attachment limit (only its size matters)."""
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    return head + b"0" * (size - len(head))


# ---------------------------------------------------------------- Word, ODT, Excel


def docx_bytes(doc: OfficialDocument) -> bytes:
    """The header block as a borderless two-column table, the way ministries lay it out in Word."""
    import docx

    document = docx.Document()
    header = document.add_table(rows=2, cols=2)
    left_top = "\n".join(doc.issuer_lines)
    right_top = "\n".join(line for line in doc.motto if line)
    header.cell(0, 0).text = left_top
    header.cell(0, 1).text = right_top
    header.cell(1, 0).text = "\n".join([doc.number, *([] if doc.type_line else doc.subject_lines)])
    header.cell(1, 1).text = doc.place_date
    for line in [doc.type_line, *(doc.subject_lines if doc.type_line else []), doc.authority]:
        if line:
            document.add_paragraph(line)
    for paragraph in doc.body:
        document.add_paragraph(paragraph)
    if doc.table:
        table = document.add_table(rows=len(doc.table), cols=len(doc.table[0]))
        for r, row in enumerate(doc.table):
            for c, value in enumerate(row):
                table.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def odt_bytes(doc: OfficialDocument) -> bytes:
    """The same document as LibreOffice writes it, header lines as plain paragraphs."""
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    lines = [*doc.issuer_lines, doc.number, *doc.motto, doc.place_date, doc.type_line or "",
             *doc.subject_lines, doc.authority or "", *doc.body]
    for line in lines:
        if line:
            document.text.addElement(P(text=line))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def xlsx_bytes(rows: list[list]) -> bytes:
    """A statistics annex: numbers are stored as numbers, as officers type them into Excel."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Phụ lục"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_bomb_docx(unpacked: int) -> bytes:
    """A .docx whose document part unpacks to `unpacked` bytes of spaces (a few hundred KB packed)."""
    import zipfile

    out = io.BytesIO()
    chunk = b" " * 1_000_000
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(unpacked // len(chunk)):
                member.write(chunk)
    return out.getvalue()
