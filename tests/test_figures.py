"""Figures: Vietnamese number formats, scale words, kinds, subjects and periods, and what is never a figure."""

import math
import unicodedata

import pytest
from hypothesis import given, settings, strategies as st

from pipelines.figures import extract_figures, parse_vn_number

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`


def only(text):
    figures = extract_figures(text)
    assert len(figures) == 1, figures
    return figures[0]


def values(text):
    return [(f["kind"], f["value"]) for f in extract_figures(text)]


# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize("raw, value, ambiguous", [
    ("2.939.433", 2939433, False),
    ("1.086", 1086, False),
    ("16,5", 16.5, False),
    ("1,92", 1.92, False),
    ("2.939.433,5", 2939433.5, False),
    ("80", 80, False),
    ("12.5", 12.5, True),        # English decimal point
    ("1,595", 1.595, True),      # a comma before three digits may be an English thousands mark
    ("1,234.5", 1234.5, True),   # English thousands and decimal
])
def test_parse_vn_number(raw, value, ambiguous):
    assert parse_vn_number(raw) == (pytest.approx(value), ambiguous)


@pytest.mark.parametrize("raw", ["", "abc", "1..2", "1,", "1.2.3", "1.23.456", ".5", "1,2,3,4"])
def test_parse_vn_number_rejects_what_is_not_a_number(raw):
    assert parse_vn_number(raw) is None


@given(st.text(max_size=30))
def test_parse_vn_number_never_raises(text):
    result = parse_vn_number(text)
    assert result is None or (isinstance(result[0], float) and isinstance(result[1], bool))


@given(st.integers(min_value=0, max_value=10**15))
def test_dot_thousands_round_trip(n):
    written = f"{n:,}".replace(",", ".")
    assert parse_vn_number(written) == (float(n), False)


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=99))
def test_comma_decimal_round_trip(whole, cents):
    written = f"{whole:,}".replace(",", ".") + f",{cents:02d}"
    value, ambiguous = parse_vn_number(written)
    assert math.isclose(value, whole + cents / 100, rel_tol=1e-12) and not ambiguous


_VI = "0123456789.,/%:- aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạầấẩẫậđếềểễệịọộớờởỡợụủứừửữựỳýỷỹỵ\nTQĐNCHKU"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_VI, max_size=120))
def test_extract_figures_never_raises_and_values_are_numbers(text):
    for fig in extract_figures(text):
        assert isinstance(fig["value"], float) and math.isfinite(fig["value"])
        assert fig["key"] and fig["raw"]


# ---------------------------------------------------------------- kinds and normalised values


@pytest.mark.parametrize("text, kind, value, unit", [
    ("Tỉnh có 1.245.678 người dân đã kích hoạt tài khoản.", "count", 1245678, "người dân"),
    ("Hệ thống đã xử lý 3.418.902 lượt văn bản.", "count", 3418902, "lượt"),
    ("Tỷ lệ ký số đạt 97,8%.", "percent", 97.8, "%"),
    ("Tỷ lệ thanh toán trực tuyến đạt 45,6 %.", "percent", 45.6, "%"),
    ("Khoảng 86 phần trăm hộ gia đình có cáp quang.", "percent", 86, "%"),
    ("Quy mô kinh tế số ước đạt 2,15 triệu tỷ đồng.", "money", 2.15e15, "VND"),
    ("Doanh thu xuất khẩu phần mềm đạt 8,2 tỷ USD.", "money", 8.2e9, "USD"),
    ("Giá trị giao dịch đạt 3,6 nghìn tỷ đồng.", "money", 3.6e12, "VND"),
    ("Các doanh nghiệp đầu tư 2,4 ngàn tỷ đồng.", "money", 2.4e12, "VND"),
    ("Ngân sách chi 48,5 tỉ đồng cho mạng chuyên dùng.", "money", 48.5e9, "VND"),
    ("Gói cước ưu đãi là 70.000đ mỗi tháng.", "money", 70000, "VND"),
    ("Hệ thống xử lý gần 1,2 triệu hồ sơ trực tuyến.", "count", 1.2e6, "hồ sơ"),
    ("Doanh số thương mại điện tử gấp 2,8 lần so với cùng kỳ.", "multiplier", 2.8, "lần"),
    ("Tỷ trọng kinh tế số tăng 1,8 điểm phần trăm.", "pp", 1.8, "điểm %"),
])
def test_kinds_values_units(text, kind, value, unit):
    fig = only(text)
    assert (fig["kind"], fig["unit"]) == (kind, unit)
    assert fig["value"] == pytest.approx(value, rel=1e-12)


def test_ratio_keeps_both_parts_and_its_noun():
    fig = only("Đã có 38/45 xã hoàn thành số hóa sổ hộ tịch.")
    assert (fig["kind"], fig["value"], fig["value2"], fig["unit"]) == ("ratio", 38, 45, "xã")
    fig = only("Đơn giản hóa 412/1.205 thủ tục hành chính.")
    assert (fig["value"], fig["value2"]) == (412, 1205)
    assert only("Hoàn thành 07/12 nhiệm vụ trọng tâm.")["value"] == 7


def test_rising_to_a_number_is_not_a_rank():
    assert values("Số doanh nghiệp tăng từ 312 doanh nghiệp lên 587 doanh nghiệp.") == [("count", 312), ("count", 587)]
    assert values("Tỉnh vươn lên vị trí thứ 5 cả nước.") == [("rank", 5)]


def test_top_n_is_a_rank():
    assert values("Ứng dụng lọt top 10 giải pháp số tiêu biểu.") == [("rank", 10)]


def test_rank_with_and_without_total():
    assert (only("Năm 2024, tỉnh xếp thứ 8/63 tỉnh, thành phố.")["kind"], ) == ("rank",)
    fig = only("Việt Nam đứng thứ 44 về chỉ số đổi mới sáng tạo.")
    assert (fig["kind"], fig["value"], fig["value2"]) == ("rank", 44, None)


def test_changes_have_direction():
    up = only("Doanh thu dịch vụ số tăng 31% so với cùng kỳ năm trước.")
    assert (up["kind"], up["value"], up["direction"]) == ("change", 31, "up")
    down = only("Số hồ sơ giấy giảm 42,5% so với năm 2022.")
    assert (down["kind"], down["direction"]) == ("change", "down")
    assert only("Số giao dịch gấp 3 lần năm trước.")["direction"] == "times"
    pp = only("Tỷ lệ hồ sơ trễ hạn giảm 0,6 điểm phần trăm.")
    assert (pp["kind"], pp["direction"]) == ("pp", "down")


def test_achieved_versus_target():
    figs = extract_figures("Phát triển doanh nghiệp số đạt 1.250 doanh nghiệp/mục tiêu 1.200 doanh nghiệp, đạt 104,2%.")
    assert [(f["kind"], f["value"], f["value2"]) for f in figs] == [("target", 1250, 1200), ("percent", 104.2, None)]
    assert figs[0]["unit"] == "doanh nghiệp"


def test_range_and_qualifier():
    fig = only("Tỷ lệ người dân có chữ ký số đạt từ 40 - 50% vào cuối năm.")
    assert (fig["value"], fig["value2"]) == (40, 50)
    assert only("Đến nay đã có trên 3.200 doanh nghiệp dùng hóa đơn điện tử.")["qualifier"] == "trên"
    assert only("Tổng vốn đầu tư khoảng 14.059 tỷ đồng.")["qualifier"] == "khoảng"


def test_ambiguous_separators_are_flagged():
    assert only("Bộ công bố 1,595 dịch vụ công trực tuyến.")["ambiguous"] is True
    assert only("Bộ công bố 1.595 dịch vụ công trực tuyến.")["ambiguous"] is False
    assert only("Tăng trưởng 12.5% trong năm.")["ambiguous"] is True


def test_subject_period_raw_context():
    text = "Kết quả rất khả quan. Năm 2024, tỷ lệ hồ sơ trực tuyến toàn trình của tỉnh đạt 46,2%."
    fig = only(text)
    assert fig["subject"] == "tỷ lệ hồ sơ trực tuyến toàn trình của tỉnh"
    assert fig["period"] == "Năm 2024"
    assert fig["raw"] == "46,2%"
    assert fig["context"] == "Năm 2024, tỷ lệ hồ sơ trực tuyến toàn trình của tỉnh đạt 46,2%."


@pytest.mark.parametrize("text, period", [
    ("Sáu tháng đầu năm 2025, hồ sơ trực tuyến đạt 52%.", "Sáu tháng đầu năm 2025"),
    ("Trong 6 tháng đầu năm 2025, hồ sơ trực tuyến đạt 52%.", "6 tháng đầu năm 2025"),
    ("Quý I/2025, tỉnh tiếp nhận 92.418 hồ sơ.", "Quý I/2025"),
    ("Trong tháng 10/2025, Cổng ghi nhận 48.710 giao dịch.", "tháng 10/2025"),
    ("Giai đoạn 2021-2025, tỉnh đào tạo 15.200 lượt cán bộ.", "Giai đoạn 2021-2025"),
    ("Mục tiêu đến năm 2030, kinh tế số chiếm 30% GRDP.", "đến năm 2030"),
    ("Doanh thu tăng 26% so với cùng kỳ năm 2023.", None),  # a baseline is not the period
])
def test_periods(text, period):
    assert only(text)["period"] == period


def test_a_percent_after_a_count_measures_the_same_thing():
    figs = extract_figures("Toàn tỉnh có 1,488 triệu hồ sơ trực tuyến toàn trình, chiếm 83,48%.")
    assert figs[1]["subject"] == figs[0]["subject"] == "hồ sơ trực tuyến toàn trình"


# ---------------------------------------------------------------- never a figure


@pytest.mark.parametrize("text", [
    "Ngày 22/8/2024, UBND tỉnh ban hành Quyết định số 2105/QĐ-UBND.",         # date, document number
    "Cập nhật ngày 12.03.2025 | 09:15 PM",                                    # date and time
    "Đăng lúc 14:35 ngày 06/10/2025 (GMT+7).",                                # time, date, timezone
    "Hội nghị bắt đầu lúc 08h30 ngày 25/02/2025.",                            # 08h30
    "Buổi tập huấn vào 14 giờ 30 phút ngày 5 tháng 7 năm 2025.",              # spelled-out time and date
    "Tỉnh triển khai Đề án 06 và Nghị quyết 57 trên địa bàn.",               # named programmes
    "Kết luận số 14-KL/TW và Nghị định 45/2020/NĐ-CP được quán triệt.",      # Party and normative numbers
    "Ngày Chuyển đổi số quốc gia 10/10 hằng năm có nhiều hoạt động.",         # a day/month
    "Liên hệ đường dây nóng 0236 3822 115 hoặc 1900 6789.",                   # phones
    "Người dân có thể gọi (0210) 3846 120 trong giờ hành chính.",
    "Theo Điều 12, khoản 3 của Luật, chữ ký số có giá trị pháp lý.",          # legal parts
    "Kỳ họp thứ 8, HĐND tỉnh khóa XVII thông qua nghị quyết.",                # ordinals
    "Tài khoản định danh điện tử mức độ 2 giúp làm thủ tục nhanh hơn.",       # levels
    "Cách mạng công nghiệp 4.0 và mạng 5G thay đổi cách làm việc.",           # tech tokens
    "Hệ thống đạt chuẩn ISO 9001:2015.",
    "Trụ sở đặt tại số 15 Trần Hưng Đạo, Phường 2.",                          # address
    "Mã định danh của cơ quan là 000.00.21.H45.",                             # agency code
    "Năm 2025 được chọn là năm dữ liệu số.",                                  # a year standing alone
    "Kế hoạch giai đoạn 2026 - 2030 sẽ được trình HĐND tỉnh.",                # a period
    "Truy cập\nHôm nay:\n12\nTất cả:\n205.171\n\n0 bình luận",                # the portal's counters
    "Lượt xem: 1.245",
    "Hội thảo diễn ra trong 2 ngày.",                                          # a plain duration
    "Xem ảnh 2 và trang 3/5 để biết thêm.",                                    # furniture
    "Tạp chí số 15/2024 đăng bài viết về chuyển đổi số.",                      # an issue number of a year
    "Trẻ em dưới 14 tuổi được cấp tài khoản qua cha mẹ.",                      # an age limit
    "Điện thoại: 0233.3852.012 - Fax: 0233.3852.013",
    "Giờ làm việc từ 7h30 đến 17h00, thứ Hai đến thứ Sáu.",
    "Đại hội Đảng bộ tỉnh lần thứ XX, nhiệm kỳ 2025 - 2030.",
])
def test_never_a_figure(text):
    assert extract_figures(text) == []


def test_a_year_like_number_counts_only_before_a_counted_noun():
    assert values("Trong tháng, tỉnh tiếp nhận 2024 hồ sơ trực tuyến.") == [("count", 2024)]
    assert values("Hội nghị 2025 thành công tốt đẹp.") == []
    assert values("Kết quả 2022 đạt 28%.") == [("percent", 28)]


def test_list_ordinals_are_not_counted_but_the_item_is():
    assert values("1. Toàn tỉnh có 152 điểm hỗ trợ dịch vụ công.") == [("count", 152)]
    assert values("(2) Hoàn thành cấp 46.300 chữ ký số.") == [("count", 46300)]


def test_nfd_and_look_alike_input_gives_the_same_figures():
    text = "Tỷ lệ hồ sơ trực tuyến đạt 16,5%, với 2.939.433 lượt văn bản."
    nfd = unicodedata.normalize("NFD", text).replace(" ", "\u00a0", 2)
    assert [f["key"] for f in extract_figures(nfd)] == [f["key"] for f in extract_figures(text)]


# ---------------------------------------------------------------- keys


def test_key_is_stable_across_articles_and_precise():
    a = extract_figures("Năm 2024, tỷ lệ hồ sơ trực tuyến đạt 46,2%. Thông tin khác.")[0]["key"]
    b = extract_figures("Theo Sở, năm 2024, tỷ lệ hồ sơ trực tuyến đạt 46,2%.")[0]["key"]
    c = extract_figures("Năm 2025, tỷ lệ hồ sơ trực tuyến đạt 46,2%.")[0]["key"]
    d = extract_figures("Năm 2024, tỷ lệ hồ sơ trực tuyến đạt 46,3%.")[0]["key"]
    e = extract_figures("Năm 2024, tỷ lệ hồ sơ trực tuyến của tỉnh đạt 46,2%.")[0]["key"]   # the same, said differently
    f = extract_figures("Năm 2024, tỷ lệ học sinh dùng học bạ số đạt 46,2%.")[0]["key"]      # another measure
    assert a == b == e
    assert len({a, c, d, f}) == 4


# ---------------------------------------------------------------- real portal text


def test_seed_article(shared_dir):
    seeds = sorted((shared_dir / "seeds").glob("*.txt"))
    if not seeds:
        pytest.skip("no seed texts")
    figures = [f for path in seeds for f in extract_figures(path.read_text(encoding="utf-8"))]
    found = {(f["kind"], f["value"], f["value2"]) for f in figures}
    for expected in [("count", 2939433, None), ("percent", 16.5, None), ("money", 7.5e9, None),
                     ("ratio", 528, 1086), ("rank", 46, None), ("multiplier", 3.5, None),
                     ("money", 1.92e15, None), ("target", 50350, 48000), ("ratio", 63, 63)]:
        assert expected in found, expected
    assert not {205171, 2971, 3853} & {f["value"] for f in figures}      # the counter, document numbers
    assert not [f for f in figures if f["kind"] == "count" and f["value"] in {2022, 2023, 2024}]  # years
    assert not [f for f in figures if f["raw"].startswith(("10:", "28/12", "09/01"))]  # times, dates


@pytest.mark.parametrize("text", [
    "1" * 20000,                          # one endless number
    "1." * 10000,
    "a" * 20000 + "@",                    # an address pattern that could retry from every character
    "12/QĐ-" + "A-" * 10000,              # an endless document symbol
    "5% " * 3000,                         # thousands of figures in one "sentence"
])
def test_pathological_text_is_handled(text):
    figures = extract_figures(text)
    assert len(figures) <= 1000
    assert all(len(f["context"]) <= 610 for f in figures)  # a table flattened into one sentence is cut


@pytest.mark.parametrize("text, subjects, periods", [
    ("Tốc độ tải xuống trung bình đạt 142 Mbit/s, gấp 3 lần so với đầu năm.",
     ["Tốc độ tải xuống trung bình"] * 2, [None, None]),
    ("Tỷ trọng kinh tế số năm 2025 ước đạt 18,3%, tăng so với mức 16,5% của năm 2024.",
     ["Tỷ trọng kinh tế số"] * 2, ["năm 2025", "năm 2024"]),              # a baseline figure keeps its own year
    ("Kim ngạch xuất khẩu phần cứng, điện tử đạt 132 tỷ USD.",
     ["Kim ngạch xuất khẩu phần cứng, điện tử"], [None]),                   # a comma inside a list
    ("Các cơ quan đã công bố 8.120 bộ dữ liệu mở, nhưng mới khoảng 35% được cập nhật định kỳ.",
     ["bộ dữ liệu mở"] * 2, [None, None]),
    ("Theo Kế hoạch số 145/KH-UBND của UBND tỉnh, kinh tế số chiếm 20% GRDP.",
     ["kinh tế số"], [None]),
])
def test_subjects_and_periods_in_harder_sentences(text, subjects, periods):
    figures = extract_figures(text)
    assert [f["subject"] for f in figures] == subjects
    assert [f["period"] for f in figures] == periods


def _vn(value: float, decimals: int) -> str:
    """Write a number the Vietnamese way: dots between thousands, a decimal comma."""
    whole, _, fraction = f"{value:.{decimals}f}".partition(".")
    return f"{int(whole):,}".replace(",", ".") + (f",{fraction}" if fraction else "")


_SCALE_WORDS = {"": 1, "nghìn": 1e3, "triệu": 1e6, "tỷ": 1e9, "nghìn tỷ": 1e12, "triệu tỷ": 1e15}


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=10**7), st.integers(min_value=0, max_value=2),
       st.sampled_from(sorted(_SCALE_WORDS)), st.sampled_from(["đồng", "USD", ""]),
       st.sampled_from(["Tổng giá trị đạt", "Quy mô ước khoảng", "Năm 2025, doanh thu là"]))
def test_written_amounts_round_trip(cents, decimals, scale, currency, lead):
    value = cents / 10**decimals
    written = _vn(value, decimals)
    if not currency and not scale:
        text = f"{lead} {written} doanh nghiệp."
    else:
        text = f"{lead} {written}{' ' + scale if scale else ''}{' ' + currency if currency else ''} cho dự án."
    figures = extract_figures(text)
    assert len(figures) == 1, (text, figures)
    figure = figures[0]
    expected = value * _SCALE_WORDS[scale]
    assert figure["value"] == pytest.approx(expected, rel=1e-12), text
    assert figure["kind"] == ("money" if currency else "count")
    assert figure["raw"] == text[len(lead) + 1:].split(" cho")[0].removesuffix(" doanh nghiệp.")


def test_report_style_sentence_subjects_and_periods():
    text = ("Đến ngày 30/9/2025, toàn tỉnh có 1.842 dịch vụ công trực tuyến. Kết quả chỉ số chuyển đổi số năm 2024, "
            "tỉnh đạt 0,5127 điểm, xếp thứ 21/63; trong đó chính quyền số xếp thứ 15, kinh tế số xếp thứ 33. "
            "Số doanh nghiệp tăng từ 312 doanh nghiệp năm 2021 lên 587 doanh nghiệp năm 2024.")
    got = [(f["raw"], f["subject"], f["period"]) for f in extract_figures(text)]
    assert got == [
        ("1.842", "dịch vụ công trực tuyến", "Đến ngày 30/9/2025"),
        ("0,5127", "Kết quả chỉ số chuyển đổi số tỉnh", "năm 2024"),
        ("21/63", "Kết quả chỉ số chuyển đổi số tỉnh", "năm 2024"),   # no subject of its own: the sentence's last
        ("15", "chính quyền số", "năm 2024"),
        ("33", "kinh tế số", "năm 2024"),
        ("312", "doanh nghiệp", "năm 2021"),                          # the year right after its noun
        ("587", "doanh nghiệp", "năm 2024"),
    ]


def test_a_figure_never_runs_across_a_line_break():
    """PDF tables put a year above a label: "2025" then "Tỷ lệ ..." is not 2,025 billion."""
    figures = extract_figures("Mục tiêu 2025\nTỷ lệ hồ sơ trực tuyến toàn trình đạt 80%")
    assert [(f["raw"], f["value"]) for f in figures] == [("80%", 80.0)]
