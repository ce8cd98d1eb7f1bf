"""Document references: every numbering shape, dates, titles, named references, and stable keys."""

import pytest
from hypothesis import given, settings, strategies as st

from pipelines.references import PAPERS, TYPE_ABBREVIATIONS, extract_references

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`


def only(text):
    found = extract_references(text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("text, key, kind, type_, issuer, year, date", [
    ("UBND tỉnh ban hành Quyết định số 1845/QĐ-UBND ngày 12/7/2024.",
     "1845/QĐ-UBND", "administrative", "Quyết định", "UBND", 2024, "2024-07-12"),
    ("Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ.",
     "30/2020/NĐ-CP", "normative", "Nghị định", "CP", 2020, "2020-03-05"),
    ("Chỉ thị số 05/CT-TTg ngày 23/02/2023 của Thủ tướng.",
     "05/CT-TTg", "administrative", "Chỉ thị", "TTg", 2023, "2023-02-23"),
    ("Công văn số 1234/UBND-KSTT ngày 15/3/2024 về giải quyết hồ sơ.",
     "1234/UBND-KSTT", "official_letter", "Công văn", "UBND", 2024, "2024-03-15"),
    ("Bộ có văn bản 4878/BTTTT-CĐSQG gửi các địa phương.",
     "4878/BTTTT-CĐSQG", "official_letter", "Văn bản", "BTTTT", None, None),
    ("Thông tư liên tịch số 19/2012/TTLT-BTC-BKH&ĐT-BTTTT hướng dẫn kinh phí.",
     "19/2012/TTLT-BTC-BKH&ĐT-BTTTT", "normative", "Thông tư liên tịch", "BTC-BKH&ĐT-BTTTT", 2012, None),
    ("Nghị quyết số 57-NQ/TW ngày 22/12/2024 của Bộ Chính trị.",
     "57-NQ/TW", "party", "Nghị quyết", "TW", 2024, "2024-12-22"),
    ("Chương trình hành động số 257-CTr/TU ngày 3/12/2021.",
     "257-CTr/TU", "party", "Chương trình", "TU", 2021, "2021-12-03"),
    ("Luật Giao dịch điện tử số 20/2023/QH15 ngày 22/6/2023.",
     "20/2023/QH15", "law", "Luật", "QH15", 2023, "2023-06-22"),
    ("Nghị quyết số 202/2025/QH15 về sắp xếp đơn vị hành chính.",
     "202/2025/QH15", "law", "Nghị quyết", "QH15", 2025, None),
    ("Tờ trình số 2650/TTr-SKHCN ngày 02 tháng 10 năm 2025.",
     "2650/TTr-SKHCN", "administrative", "Tờ trình", "SKHCN", 2025, "2025-10-02"),
    ("Nghị quyết 36a/NQ-CP về Chính phủ điện tử.", "36a/NQ-CP", "administrative", "Nghị quyết", "CP", None, None),
])
def test_reference_shapes(text, key, kind, type_, issuer, year, date):
    d = only(text)
    assert (d["key"], d["number"], d["kind"], d["type"], d["issuer"], d["year"], d["date"]) == (
        key, key, kind, type_, issuer, year, date)
    assert d["context"] == text


@pytest.mark.parametrize("text, key", [
    ("Nghị định 137/2015/NÐ-CP", "137/2015/NĐ-CP"),          # Icelandic eth from a cp1258 page
    ("Quyết định 942/QĐ–TTg", "942/QĐ-TTg"),                  # en dash
    ("Số: 179 /QD-TTg", "179/QĐ-TTg"),                         # OCR: space before the slash, ASCII QD
    ("Nghị định số 137/2015/NĐCP", "137/2015/NĐ-CP"),          # lost hyphen
    ("theo 06/QĐTTg", "06/QĐ-TTg"),
    ("bản quét ghi 57NQ/TW", "57-NQ/TW"),
    ("Quyết định số 204QĐ/TW", "204-QĐ/TW"),
    ("Quyết định số 6/QĐ-TTg", "06/QĐ-TTg"),                   # leading zero: one document
    ("Thông tư 01/2023/TT-VPCP", "01/2023/TT-VPCP"),
])
def test_real_world_deviations_get_the_canonical_key(text, key):
    assert only(text)["key"] == key


@pytest.mark.parametrize("text, date", [
    ("Quyết định 942/QĐ-TTg ngày 15-6-2021", "2021-06-15"),
    ("Hướng dẫn số 14/HD-STTTT ngày 08.5.2023", "2023-05-08"),
    ("Kế hoạch số 09/KH-BCĐ, ban hành ngày 15/3/2025", "2025-03-15"),
    ("Quyết định số 10/QĐ-UBND ngày 31/2/2024", None),         # no such day
    ("Số: 179 /QD-TTg\nHà Nội, ngày 06 tháng 10 năm 2025", "2025-10-06"),  # a document's header lines
    ("Số: 42/KH-UBND Thanh Hóa, ngày 3 tháng 2 năm 2025", "2025-02-03"),
])
def test_dates(text, date):
    assert only(text)["date"] == date


def test_title_of_the_document():
    assert only("Quyết định số 749/QĐ-TTg ngày 03/6/2020 của Thủ tướng Chính phủ phê duyệt Chương trình "
                "Chuyển đổi số quốc gia.")["title"] == "phê duyệt Chương trình Chuyển đổi số quốc gia"
    assert only("Nghị định số 13/2023/NĐ-CP về bảo vệ dữ liệu cá nhân có hiệu lực.")["title"] == \
        "về bảo vệ dữ liệu cá nhân"
    assert only("Luật Dữ liệu số 60/2024/QH15 được thông qua.")["title"] == "Dữ liệu"


@pytest.mark.parametrize("text, keys", [
    ("Theo Nghị quyết 57, Chỉ thị 05 và Đề án 06/CP, các địa phương hành động.",
     ["Nghị quyết 57", "Chỉ thị 05", "Đề án 06"]),
    ("Quốc hội thông qua Luật Bảo vệ người tiêu dùng (sửa đổi).", ["Luật Bảo vệ người tiêu dùng"]),
    ("Nghị quyết Đại hội XIII của Đảng xác định chuyển đổi số là động lực.", ["Nghị quyết Đại hội XIII"]),
    ("Bộ luật Dân sự công nhận thông điệp dữ liệu.", ["Bộ luật Dân sự"]),
    ("Quyết định số 06/QĐ-TTg phê duyệt Đề án 06.", ["06/QĐ-TTg", "Đề án 06"]),
])
def test_named_references(text, keys):
    found = extract_references(text)
    assert [d["key"] for d in found] == keys
    assert all(d["kind"] == "named" for d in found if "/" not in d["key"])


@pytest.mark.parametrize("text", [
    "Ngày 22/8/2023, tỷ lệ đạt 43/53 xã, lúc 10:06:03.",     # a date, a ratio, a time
    "Giai đoạn 2021-2025, đạt 16,5%.",                        # a period
    "Tỉnh ban hành 01 Chỉ thị, 15 Quyết định và 06 Kế hoạch.",  # counts of documents
    "Tốc độ tăng 20%/năm, xử lý 100 hồ sơ/ngày.",            # rates
    "Kế hoạch 2025 tập trung vào dữ liệu số.",                # a year after a type name
    "Kinh phí là 5 tỷ đồng theo Quyết định 5 tỷ đồng.",       # a figure after a type name
])
def test_not_a_reference(text):
    assert extract_references(text) == []


# ---------------------------------------------------------------- properties

_TYPES = sorted({canonical for canonical, _ in TYPE_ABBREVIATIONS.values()
                 if canonical.upper() not in PAPERS} - {"L", "CV", "TBKL"})
_ISSUERS = ["UBND", "TTg", "CP", "BTTTT", "HĐND", "STTTT", "BKHCN", "VPCP", "BCA", "SNV"]
_NAMES = ["Quyết định", "Nghị định", "Thông tư", "Kế hoạch", "Chỉ thị", "Nghị quyết", ""]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=99999), st.one_of(st.none(), st.integers(1990, 2030)),
       st.sampled_from(_TYPES), st.sampled_from(_ISSUERS), st.sampled_from(_NAMES),
       st.sampled_from(["/", " / ", "/ "]))
def test_state_numbers_round_trip(num, year, abbr, issuer, name, slash):
    written = f"{num:02d}{slash}{f'{year}/' if year else ''}{abbr}-{issuer}"
    text = f"Căn cứ {name + ' số ' if name else ''}{written} của cơ quan có thẩm quyền."
    d = only(text)
    assert d["key"] == f"{num:02d}/{f'{year}/' if year else ''}{abbr}-{issuer}"
    assert d["kind"] == ("normative" if year else "administrative")
    assert d["issuer"] == issuer and d["year"] == year


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=9999), st.sampled_from(["NQ", "CT", "KH", "KL", "QĐ", "HD", "CTr"]),
       st.sampled_from(["TW", "TU", "HU", "BCĐTW", "VPTW"]))
def test_party_numbers_round_trip(num, abbr, issuer):
    d = only(f"Thực hiện văn kiện {num}-{abbr}/{issuer} của Đảng.")
    assert (d["key"], d["kind"], d["issuer"]) == (f"{num:02d}-{abbr}/{issuer}", "party", issuer)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789/-. ,QĐNCPTUBKHWqđgsốngàyáthnmĐềánLuật\n", max_size=80))
def test_never_raises_and_keys_are_nonempty(text):
    for d in extract_references(text):
        assert d["key"] and d["kind"] in {"normative", "administrative", "official_letter", "party", "law", "named"}


@given(st.integers(1, 31), st.integers(1, 12), st.integers(1990, 2030))
def test_bare_dates_are_never_references(day, month, year):
    assert extract_references(f"Ngày {day}/{month}/{year} và {day}-{month}-{year}, tỷ lệ {day}/{month + 40}.") == []


def test_seed_articles(shared_dir):
    seeds = sorted((shared_dir / "seeds").glob("*.txt"))
    if not seeds:
        pytest.skip("no seed texts")
    found = {d["key"]: d for p in seeds for d in extract_references(p.read_text(encoding="utf-8"))}
    assert set(found) == {"2971/QĐ-UBND", "3853/QĐ-UBND", "Đề án 06"}
    assert (found["2971/QĐ-UBND"]["date"], found["3853/QĐ-UBND"]["date"]) == ("2023-08-22", "2022-11-09")
    assert found["3853/QĐ-UBND"]["title"].startswith("về việc ban hành Bộ chỉ số đánh giá")


def test_short_names_take_the_key_of_the_full_reference_in_the_same_text():
    found = extract_references("Thực hiện Nghị quyết số 57-NQ/TW của Bộ Chính trị và Luật Giao dịch điện tử số "
                               "20/2023/QH15. Nghị quyết 57 đặt mục tiêu cao; Luật Giao dịch điện tử quy định rõ. "
                               "Đề án 06 và Quyết định số 06/QĐ-TTg là hai văn bản khác nhau.")
    assert [(d["key"], d["kind"]) for d in found] == [
        ("57-NQ/TW", "party"), ("20/2023/QH15", "law"), ("57-NQ/TW", "named"), ("20/2023/QH15", "named"),
        ("Đề án 06", "named"), ("06/QĐ-TTg", "administrative")]
    assert extract_references("Nghị quyết 57 đặt mục tiêu cao.")[0]["key"] == "Nghị quyết 57"


@pytest.mark.parametrize("text, type_", [
    ("Luật số 20/2023/QH15", "Luật"),
    ("Bộ luật Dân sự công nhận thông điệp dữ liệu", "Bộ luật"),
    ("Nghị quyết số 57-NQ/TW", "Nghị quyết"),
    ("Nghị định số 42/2022/NĐ-CP", "Nghị định"),
    ("Quyết định số 749/QĐ-TTg", "Quyết định"),
    ("Chỉ thị số 05/CT-TTg", "Chỉ thị"),
    ("Thông tư số 13/2017/TT-BTTTT", "Thông tư"),
    ("Kế hoạch số 212/KH-UBND", "Kế hoạch"),
    ("Công văn số 1234/UBND-KSTT", "Công văn"),
    ("Đề án số 05/ĐA-UBND", "Đề án"),
    ("Chương trình số 19/CTr-UBND", "Chương trình"),
    ("Thông báo số 318/TB-VPCP", "Thông báo"),
    ("Hướng dẫn số 14/HD-STTTT", "Hướng dẫn"),
    ("Công điện số 1036/CĐ-TTg", "Công điện"),
    ("theo 1036/CĐ-TTg", "Công điện"),      # the type comes from the abbreviation when no name is written
    ("Đề án 06", "Đề án"),
])
def test_every_document_type(text, type_):
    assert only(text)["type"] == type_


@pytest.mark.parametrize("text", [
    "Giấy phép số 52/GP-TTĐT do Sở cấp ngày 10/5/2021.",   # the portal's licence, in every footer
    "Giấy mời số 120/GM-UBND dự hội nghị.",
    "Phòng 302/A5 nhà B, số 18/2 Lê Lợi.",
    "Tuyến xe buýt số 12/HN chạy qua trung tâm.",
])
def test_papers_and_codes_are_not_directives(text):
    assert extract_references(text) == []


def test_year_written_after_the_reference():
    found = extract_references("Quyết định 1290/QĐ-TTg năm 2025 và Luật Giao dịch điện tử năm 2023 được áp dụng. "
                               "Theo Đề án 06 năm 2024 tỉnh đạt nhiều kết quả.")
    assert [(d["key"], d["year"]) for d in found] == [
        ("1290/QĐ-TTg", 2025), ("Luật Giao dịch điện tử", 2023), ("Đề án 06", None)]
