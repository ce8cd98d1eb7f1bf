"""Publication dates: every format of vietnam.md section 4, URL-encoded dates, feeds, and the pinned dateparser."""

import dateparser
import pytest
from lxml import html as lxml_html

from pipelines.dates import date_from_meta, date_from_url, date_line, find_published, parse_date_text, parse_feed_date

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ngày 09/01/2024 10:06:03", "2024-01-09T10:06:03+07:00"),
        ("Đăng lúc: 09/01/2024 10:06:03 (GMT+7)", "2024-01-09T10:06:03+07:00"),
        ("Thứ Tư, 01/12/2021, 14:51 [GMT+7]", "2021-12-01T14:51:00+07:00"),
        ("14.11.2024 | 18:32 PM", "2024-11-14T18:32:00+07:00"),  # 24-hour clock with a stray PM
        ("14.11.2024 | 06:32 PM", "2024-11-14T18:32:00+07:00"),
        ("Cập nhật: 09/01/2024 10:06:03", "2024-01-09T10:06:03+07:00"),
        ("Thứ năm - 08/04/2021 05:04", "2021-04-08T05:04:00+07:00"),
        ("Chủ nhật - 26/02/2023 19:52", "2023-02-26T19:52:00+07:00"),
        ("(29/06/2025, 14:49)", "2025-06-29T14:49:00+07:00"),
        ("06:44 13/03/2025", "2025-03-13T06:44:00+07:00"),
        ("Thứ năm, 01/06/2023 15:17", "2023-06-01T15:17:00+07:00"),
        ("ngày 22 tháng 8 năm 2023", "2023-08-22"),
        ("Hà Nội, ngày 06 tháng 01 năm 2022", "2022-01-06"),
        ("Cập nhật lúc 10:06, Thứ Ba, 09/01/2024", "2024-01-09T10:06:00+07:00"),
        ("09/01/2024 10:06 SA", "2024-01-09T10:06:00+07:00"),
        ("09/01/2024 02:06 CH", "2024-01-09T14:06:00+07:00"),
        ("09/01/2024 12:15 SA", "2024-01-09T00:15:00+07:00"),
        ("Ngày 22/8/2023", "2023-08-22"),
        ("05/03/2020", "2020-03-05"),  # day first, always
        ("Thứ Hai, 12/5/2025 - 08:30", "2025-05-12T08:30:00+07:00"),
        ("T2, 12/05/2025 08:30", "2025-05-12T08:30:00+07:00"),
        ("Thời gian ký: 07.10.2025 16:15:52 +07:00", "2025-10-07T16:15:52+07:00"),
        ("08:30 | 12/05/2025", "2025-05-12T08:30:00+07:00"),
        ("12/05/2025 9h30", "2025-05-12T09:30:00+07:00"),
        ("12-05-25 08:30", "2025-05-12T08:30:00+07:00"),
        ("12/05/2025 01:30 GMT", "2025-05-12T08:30:00+07:00"),
        ("2024-01-09T03:06:03Z", "2024-01-09T10:06:03+07:00"),
        ("2024-01-09", "2024-01-09"),
        ("21 tháng 09 năm 2025", "2025-09-21"),
    ],
)
def test_vietnamese_date_formats(text, expected):
    assert parse_date_text(text).iso() == expected


@pytest.mark.parametrize("text", ["Thứ năm", "hôm qua", "2 giờ trước", "lúc 10:06", "31/02/2024", "09/01/2024 25:70",
                                  "", "Số 1234/QĐ-UBND", "01/01/2099"])
def test_not_a_publication_date(text):
    found = parse_date_text(text)
    assert found is None or found.has_time is False and found.moment.year < 2099 and text == "09/01/2024 25:70"


def test_dateparser_is_the_pinned_release_with_the_vietnamese_fix():
    """dateparser #1297 read "21 tháng 09 năm 2025" as a relative date; fixed upstream, pinned here."""
    assert dateparser.__version__ == "1.5.0"
    settings = {"DATE_ORDER": "DMY", "PREFER_DATES_FROM": "past"}
    for text in ("21 tháng 09 năm 2025", "ngày 21 tháng 09 năm 2025", "03 tháng 02 năm 2024"):
        parsed = dateparser.parse(text, languages=["vi"], settings=settings)
        assert (parsed.year, parsed.month, parsed.day) == tuple(int(p) for p in _ymd(text)), text


def _ymd(text):
    nums = [n for n in text.split() if n.isdigit()]
    return nums[2], nums[1], nums[0]


def test_wordy_forms_fall_back_to_dateparser():
    assert parse_date_text("Tháng Một 09, 2024").iso() == "2024-01-09"


@pytest.mark.parametrize(
    "line, is_date",
    [
        ("Đăng lúc: 09/01/2024 10:06:03 (GMT+7)", True),
        ("Ngày đăng: 09/01/2024 | Lượt xem", True),
        ("Ngày 09/01/2024, UBND tỉnh tổ chức hội nghị sơ kết chuyển đổi số", False),
        ("Quyết định số 2971/QĐ-UBND ngày 22/8/2023", False),
    ],
)
def test_date_line_is_a_header_not_prose(line, is_date):
    assert (date_line(line) is not None) is is_date


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://dienbien.gov.vn/portal/Pages/2024-4-25/Tinh-uy-Bai-viet-abc12.aspx", "2024-04-25"),
        ("https://hanoi.gov.vn/tin-so-nganh/chuyen-doi-so-4250407154648115.htm", "2025-04-07T15:46:48+07:00"),
        ("https://xaydungchinhsach.chinhphu.vn/chi-tiet-34-don-vi-tu-12-6-2025-119250612141845533.htm",
         "2025-06-12T14:18:45+07:00"),
        ("https://baochinhphu.vn/thu-tuong-chu-tri-102240109100603123.htm", "2024-01-09T10:06:03+07:00"),
        ("https://bocongan.gov.vn/tin-tuc/dan-cu-so-1704769563", "2024-01-09T10:06:03+07:00"),
        ("https://example.vn/2024/01/09/bai-viet", "2024-01-09"),
        ("https://quangninh.gov.vn/Trang/ChiTietTinTuc.aspx?nid=123456", None),
        ("https://x.gov.vn/tin/bai-123.html", None),
    ],
)
def test_dates_encoded_in_urls(url, expected):
    found = date_from_url(url)
    assert (found.iso() if found else None) == expected


def test_feed_dates():
    assert parse_feed_date("Tue, 09 Jan 2024 03:06:03 GMT").iso() == "2024-01-09T10:06:03+07:00"
    assert parse_feed_date("2024-01-09T10:06:03+07:00").iso() == "2024-01-09T10:06:03+07:00"
    assert parse_feed_date("") is None and parse_feed_date("không rõ") is None


def _tree(body, head=""):
    return lxml_html.document_fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def test_meta_tags_and_json_ld():
    assert date_from_meta(_tree("", '<meta property="article:published_time" content="2024-01-09T10:06:03+07:00">')
                          ).iso() == "2024-01-09T10:06:03+07:00"
    ld = '<script type="application/ld+json">{"@graph": [{"datePublished": "2024-01-09T03:06:03Z"}]}</script>'
    assert date_from_meta(_tree("", ld)).iso() == "2024-01-09T10:06:03+07:00"
    assert date_from_meta(_tree("<p>Ngày 09/01/2024</p>")) is None


SIDEBAR = "<ul class='tin-moi'><li>Tin mới hơn (15/01/2024 08:00)</li><li>Tin khác 16/01/2024</li></ul>"
BODY = ("<p>Ngày 28/12/2023, Ủy ban Quốc gia về chuyển đổi số họp phiên tổng kết theo Quyết định số 749/QĐ-TTg "
        "ngày 03/6/2020 của Thủ tướng Chính phủ, với sự tham dự của các bộ, ngành và 63 tỉnh, thành phố trên cả "
        "nước; phiên họp được kết nối trực tuyến tới các điểm cầu địa phương.</p>")


def test_header_line_beats_sidebar_and_body_dates():
    root = _tree(f"{SIDEBAR}<h1>Phiên họp tổng kết</h1><div class='date'>Đăng lúc: 09/01/2024 10:06:03 (GMT+7)</div>"
                 f"{BODY}")
    assert find_published(root, None, title_element=root.find(".//h1")) == "2024-01-09T10:06:03+07:00"


def test_no_header_date_means_unknown_not_a_body_or_sidebar_date():
    root = _tree(f"{SIDEBAR}<h1>Phiên họp tổng kết</h1>{BODY}")
    assert find_published(root, "https://x.gov.vn/tin/a-12.html", title_element=root.find(".//h1")) is None


def test_published_preferred_over_updated_and_time_borrowed_from_meta():
    root = _tree("<h1>Phiên họp tổng kết</h1><p>Cập nhật: 10/01/2024 08:00</p><p>Ngày đăng: 09/01/2024</p>" + BODY,
                 '<meta property="article:published_time" content="2024-01-09T10:06:03+07:00">')
    assert find_published(root, None, title_element=root.find(".//h1")) == "2024-01-09T10:06:03+07:00"


def test_date_above_the_headline():
    root = _tree(f"<p class='time'>Thứ Tư, 01/12/2021, 14:51 [GMT+7]</p><h1>Phiên họp tổng kết</h1>{BODY}")
    assert find_published(root, None, title_element=root.find(".//h1")) == "2021-12-01T14:51:00+07:00"
