"""Extraction on pages we write: title, date-time, author, credit, clean body; pipeline and CLI."""

import gzip
import json

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from helpers import dxwatch
from servers import Page

from crawler.items import ArticleItem, DocumentItem
from crawler.runstats import source_key
from pipelines.extraction import ExtractionPipeline, NoArticle, extract_article, extract_article_or_raise

LEAD = ("Sáng ngày 08/01/2025, Ban Chỉ đạo chuyển đổi số tỉnh tổ chức hội nghị tổng kết công tác năm 2024 "
        "và triển khai nhiệm vụ năm 2025. Hội nghị do đồng chí Phó Chủ tịch UBND tỉnh chủ trì.")
MIDDLE = ("Theo báo cáo, năm 2024 tỉnh đã cung cấp 1.250 dịch vụ công trực tuyến, tỷ lệ hồ sơ trực tuyến "
          "đạt 62,5%. Quyết định số 1234/QĐ-UBND ngày 15/3/2023 tiếp tục được triển khai.")
END = "Kết luận hội nghị, đồng chí Phó Chủ tịch yêu cầu các sở, ngành hoàn thiện hạ tầng số và dữ liệu."
TITLE = "Hội nghị tổng kết công tác chuyển đổi số năm 2024"


def portal_page(date_line="Ngày 09/01/2025 10:06:03", byline="<p><strong>Minh Ngọc</strong></p>", extra=""):
    return f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<title>{TITLE} - Cổng thông tin điện tử tỉnh Hòa Bình</title></head><body>
<div id="header"><h1 class="logo">CỔNG THÔNG TIN ĐIỆN TỬ TỈNH HÒA BÌNH</h1>
<ul class="menu"><li><a href="/">Trang chủ</a></li><li><a href="/tin">Tin tức</a></li></ul></div>
<div class="box-counter"><h3>Truy cập</h3><p>Hôm nay: 12</p><p>Tất cả: 205171</p></div>
<div class="content"><h2 class="news-title">{TITLE}</h2><div class="news-date">{date_line}</div>
<p><strong>{TITLE}</strong></p><p>{LEAD}</p><p>HB 1.jpg</p><p>{MIDDLE}</p><p>{END}HB 2.jpg</p>{byline}{extra}
<div class="share"><a>Facebook</a> <a>Zalo</a> <a>In bài</a></div>
<div><p>0 bình luận</p><p>(Bấm vào đây để nhận mã)</p></div>
<h3>Tin cùng chuyên mục</h3>
<ul><li><a href="/a">Tăng cường lãnh đạo chuyển đổi số</a> 14.11.2024 | 18:32 PM</li>
<li><a href="/b">Tập huấn kỹ năng số cho cán bộ</a> 12.10.2024 | 17:40 PM</li></ul></div>
</body></html>"""


def test_ordinary_portal_page():
    art = extract_article(portal_page(), "https://hoabinh.gov.vn/tin/hoi-nghi-123.html")
    assert art["title"] == TITLE
    assert art["published"] == "2025-01-09T10:06:03+07:00"
    assert art["author"] == "Minh Ngọc"
    assert art["text"] == "\n\n".join([LEAD, MIDDLE, END])
    assert len(art["content_hash"]) == 64


def test_credit_kept_apart_and_upper_case_byline():
    page = portal_page(byline="<p>NGUYỄN HÀ (t/h)</p><p>Nguồn: baoninhbinh.org.vn</p>")
    art = extract_article(page, None)
    assert (art["author"], art["credit"]) == ("NGUYỄN HÀ", "baoninhbinh.org.vn")
    assert "Nguồn" not in art["text"] and "NGUYỄN" not in art["text"]


def test_print_copy_and_second_date_line_are_dropped():
    copy = f"<div class='print-copy'><p>{TITLE}</p><p>Đăng lúc: 09/01/2025 10:06:03 (GMT+7)</p>" \
           f"<p>{LEAD}</p><p>{MIDDLE}</p><p>{END}</p></div>"
    art = extract_article(portal_page(byline="", extra=copy), None)
    paragraphs = art["text"].split("\n\n")
    assert paragraphs == [LEAD, MIDDLE, END]


def test_content_hash_ignores_whitespace_and_normalisation():
    import unicodedata

    a = extract_article(portal_page(), None)
    b = extract_article(unicodedata.normalize("NFD", portal_page()).replace("<p>", "<p>  "), None)
    assert a["text"] == b["text"] and a["content_hash"] == b["content_hash"]


def test_date_from_meta_when_header_has_none():
    page = portal_page(date_line="").replace(
        "</title>", '</title><meta property="article:published_time" content="2025-01-09T03:06:03Z">')
    assert extract_article(page, None)["published"] == "2025-01-09T10:06:03+07:00"


def test_unknown_date_never_taken_from_body_or_lists():
    assert extract_article(portal_page(date_line=""), "https://hoabinh.gov.vn/tin/a-1.html")["published"] is None


def test_feed_date_used_last():
    art = extract_article(portal_page(date_line=""), None, feed_published="Thu, 09 Jan 2025 03:06:03 GMT")
    assert art["published"] == "2025-01-09T10:06:03+07:00"


def test_selectors_from_source_config():
    page = portal_page(date_line="").replace('<div class="content">',
                                             '<div class="content"><span class="ngay">14:51 02/01/2025</span>')
    art = extract_article(page, None, selectors={"date": "span.ngay", "title": "h2.news-title"})
    assert art["published"] == "2025-01-02T14:51:00+07:00" and art["title"] == TITLE


LISTING = "<html lang='vi'><head><title>Tin tức - Cổng thông tin điện tử tỉnh</title></head><body><h2>Tin tức</h2>" + "".join(
    f"<div class='item'><h3><a href='/tin/{i}.html'>Tỉnh tổ chức hội nghị chuyển đổi số lần thứ {i} năm 2025</a></h3>"
    f"<span>1{i}/05/2025</span><p>Ban Chỉ đạo chuyển đổi số tỉnh họp lần thứ {i} để đánh giá kết quả các nhiệm vụ "
    "trọng tâm và đề ra giải pháp cho thời gian tới.</p></div>" for i in range(8)) + "</body></html>"


@pytest.mark.parametrize(
    "page, reason",
    [
        ("", "empty"),
        (None, "empty"),
        (bytes(range(256)) * 64, "binary"),
        ("<p>" + "a" * 8_100_000, "too_large"),
        ("<html><body><ul><li><a href='/a'>Tin một</a></li></ul></body></html>", "no_text"),
        ("<html><body>" + "<div>" * 50_000 + "chữ", "too_deep"),
        ("<div>" * 50_000 + "chữ", "unparseable"),
        (portal_page()[:600], "no_text"),
        (LISTING, "listing"),
        ("<html><body>" + "<p>Tin</p>" * 45_000 + "</body></html>", "too_large"),
        (b"\x1f\x8b\x08\x00garbage", "unreadable"),
    ],
    ids=["empty", "none", "binary", "enormous", "links", "deeply-nested", "nested-fragment", "truncated", "listing",
         "too-many-elements", "damaged-gzip"],
)
def test_malformed_pages_are_a_clear_no_article(page, reason):
    with pytest.raises(NoArticle) as caught:
        extract_article_or_raise(page, "https://x.gov.vn/a")
    assert caught.value.reason == reason and str(caught.value)
    assert extract_article(page, "https://x.gov.vn/a") is None


def test_gzip_bytes_are_read():
    assert extract_article(gzip.compress(portal_page().encode()), None)["title"] == TITLE


def test_pipeline_fills_articles_and_counts_rejections():
    crawler = get_crawler()
    pipeline = ExtractionPipeline.from_crawler(crawler)
    item = pipeline.process_item(ArticleItem(url="https://hoabinh.gov.vn/a", html=portal_page(), source="hb"))
    assert item["title"] == TITLE and item["author"] == "Minh Ngọc" and item["text"].startswith(LEAD[:20])
    document = DocumentItem(url="https://x/a.pdf", body=b"")
    assert pipeline.process_item(document) == DocumentItem(url="https://x/a.pdf", body=b"")
    with pytest.raises(DropItem, match="no article"):
        pipeline.process_item(ArticleItem(url="https://x/list", html="<html><body><p>Trang chủ</p></body></html>"))
    assert crawler.stats.get_value(source_key(None, "articles_rejected")) == 1
    assert crawler.stats.get_value(source_key(None, "articles_rejected/no_text")) == 1


def test_cli_extract_files_and_urls_in_one_process(tmp_path, portal):
    plain = tmp_path / "a.html"
    plain.write_text(portal_page(), encoding="utf-8")
    packed = tmp_path / "b.html.gz"
    packed.write_bytes(gzip.compress(portal_page(byline="<p>Tú Anh</p>").encode()))
    portal.routes["/tin/bai-1.html"] = Page(portal_page(), gzip=True)
    portal.routes["/empty.html"] = Page("<html><body></body></html>")
    run = dxwatch("extract", plain, packed, portal.url("/tin/bai-1.html"), portal.url("/empty.html"),
                  portal.url("/missing.html"), tmp_path / "none.html")
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert run.returncode == 1, run.stderr
    assert [r.get("author") for r in rows[:3]] == ["Minh Ngọc", "Tú Anh", "Minh Ngọc"]
    assert rows[2]["url"] == portal.url("/tin/bai-1.html") and rows[2]["published"] == "2025-01-09T10:06:03+07:00"
    assert all(set(r) >= {"title", "published", "author", "credit", "text", "figures", "directives"} for r in rows[:3])
    assert rows[3]["reason"] == "no_text" and "no article" in rows[3]["error"]
    assert [r["reason"] for r in rows[4:]] == ["unreadable", "unreadable"] and "404" in rows[4]["error"]


TAGS = ["div", "p", "span", "table", "tr", "td", "h1", "h2", "ul", "li", "a", "script", "figure", "figcaption", "br"]
WORDS = ["Ngày 09/01/2024 10:06:03", "Tin cùng chuyên mục", "chuyển đổi số", "HN 1.jpg", "Nguồn: abc.vn", "Bích Phương",
         "| a | b |", "&amp;", "<!--", "]]>", "\x00", "\ufffd", "Đăng lúc: 31/02/2024 25:99", "14.11.2024 | 18:32 PM"]


@pytest.mark.parametrize("seed", range(3))
def test_any_markup_gives_an_article_or_none_never_an_exception(seed):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    piece = st.one_of(st.sampled_from(WORDS), st.text(max_size=40),
                      st.sampled_from(TAGS).map(lambda t: f"<{t} class='x{seed}'>"), st.sampled_from(TAGS).map(lambda t: f"</{t}>"))

    @settings(max_examples=60, deadline=None, database=None)
    @given(st.lists(piece, max_size=80), st.booleans())
    def check(pieces, as_bytes):
        page = "<html><body>" + "".join(pieces)
        result = extract_article(page.encode("utf-8", "surrogatepass") if as_bytes else page, "https://x.gov.vn/a")
        assert result is None or isinstance(result["text"], str) and result["text"]

    check()


def test_short_news_item_keeps_its_paragraphs_and_no_header():
    """Under 250 characters trafilatura falls back to flattening the page; dxwatch's threshold is its own."""
    short = ["Cuối tuần này, khu vực Bắc Bộ có mưa rào rải rác, nhiệt độ thấp nhất từ 17 đến 19 độ C.",
             "Vùng núi cao có nơi rét đậm; người dân cần chú ý giữ ấm cho trẻ nhỏ và người già."]
    page = (f"<html lang='vi'><head><title>Dự báo thời tiết cuối tuần - Bộ Thử nghiệm</title></head><body><article>"
            "<h1 class='post-title'>Dự báo thời tiết cuối tuần</h1><div class='post-meta'>Ngày đăng: 21/11/2025 08:10 | "
            "<a href='/in'>In bài</a> | Chia sẻ: Facebook Zalo</div><div class='post-body'>"
            + "".join(f"<p>{p}</p>" for p in short) + "<p class='author'><strong>Minh Thư</strong></p></div></article>"
            "</body></html>")
    art = extract_article(page, None)
    assert art["text"] == "\n\n".join(short)
    assert (art["author"], art["published"]) == ("Minh Thư", "2025-11-21T08:10:00+07:00")


def test_broken_or_unmatched_selectors_fall_back_to_the_generic_rules():
    art = extract_article(portal_page(), None, selectors={"date": "[[[", "title": "h9.none", "body": "div.none"})
    assert (art["title"], art["published"], art["author"]) == (TITLE, "2025-01-09T10:06:03+07:00", "Minh Ngọc")
    assert art["text"] == "\n\n".join([LEAD, MIDDLE, END])


def test_body_selector_limits_the_text():
    extra = "<div class='qc'><p>Quảng cáo: khóa học kỹ năng số giá ưu đãi cho cán bộ, công chức, viên chức toàn tỉnh.</p></div>"
    page = portal_page(extra=extra).replace("<p>" + LEAD, "<div class='noi-dung'><p>" + LEAD).replace(
        END + "HB 2.jpg</p>", END + "HB 2.jpg</p></div>")
    art = extract_article(page, None, selectors={"body": "div.noi-dung"})
    assert art["text"] == "\n\n".join([LEAD, MIDDLE, END])


@pytest.mark.parametrize("line, credit", [
    ("Nguồn: baoninhbinh.org.vn", "baoninhbinh.org.vn"), ("(Theo Báo Quảng Ninh)", "Báo Quảng Ninh"),
    ("Theo baochinhphu.vn", "baochinhphu.vn"), ("Nguồn tin: Sở Khoa học và Công nghệ", "Sở Khoa học và Công nghệ"),
    ("Theo kế hoạch, công trình hoàn thành cuối năm.", None), ("Theo Thủ tướng, cần quyết liệt hơn.", None),
])
def test_credit_lines(line, credit):
    from pipelines.extraction import parse_credit

    assert parse_credit(line) == credit


@pytest.mark.parametrize("line, author", [
    ("Bích Phương", "Bích Phương"), ("NGUYỄN HÀ (t/h)", "NGUYỄN HÀ"), ("Tin, ảnh: Minh Hà", "Minh Hà"),
    ("Trần Quang - Lê Hương", "Trần Quang - Lê Hương"), ("PV", "PV"), ("Tác giả bài viết: Hoàng Anh", "Hoàng Anh"),
    ("Minh Khôi (Báo Điện tử Chính phủ)", "Minh Khôi"), ("P.V (tổng hợp)", "P.V"), ("Ban Biên tập", "Ban Biên tập"),
    ("Hương", None), ("Ban Chỉ đạo tỉnh", None), ("Kết quả đạt được rất đáng ghi nhận.", None), ("admin", None),
])
def test_byline_lines(line, author):
    from pipelines.extraction import parse_byline

    assert parse_byline(line) == author


def test_credit_and_author_in_a_panel_outside_the_text():
    panel = ("</div><div class='panel'><p class='author'><strong>Tác giả bài viết: </strong>Hoàng Anh</p>"
             "<p class='source'><strong>Nguồn tin: </strong>Sở Khoa học và Công nghệ</p></div><div>")
    art = extract_article(portal_page(byline="", extra=panel), None)
    assert (art["author"], art["credit"]) == ("Hoàng Anh", "Sở Khoa học và Công nghệ")
    assert "Nguồn tin" not in art["text"] and "Hoàng Anh" not in art["text"]


def test_dateline_and_outlet_in_the_byline():
    page = portal_page(byline="<p><em>Minh Khôi (Báo Điện tử Chính phủ)</em></p>").replace(
        f"<p>{LEAD}</p>", f"<p>(Chinhphu.vn) - {LEAD}</p>")
    art = extract_article(page, None)
    assert art["text"].startswith(LEAD) and (art["author"], art["credit"]) == ("Minh Khôi", "Báo Điện tử Chính phủ")


SHORT_PARAGRAPHS = [f"Đoạn {i}: tỉnh triển khai nền tảng số dùng chung cho cấp xã, kết nối dữ liệu dân cư." for i in range(1, 9)]


def body_page(body: str, head: str = "") -> str:
    return (f"<html lang='vi'><head><meta charset='utf-8'><title>{TITLE}</title>{head}</head><body>"
            f"<div class='menu'><a href='/'>Trang chủ</a></div><h1>{TITLE}</h1>"
            f"<div class='date'>Ngày 09/01/2025 10:06</div>{body}</body></html>")


def test_a_news_widget_first_in_the_body_takes_only_itself():
    widget = ("<div class='box'><h3>TIN MỚI</h3><ul><li><a href='/x'>Hà Nội đẩy mạnh dịch vụ công trực tuyến toàn trình</a>"
              "</li><li><a href='/y'>Tập huấn kỹ năng số cho cán bộ cấp xã</a></li></ul></div>")
    page = body_page(f"<div class='detail'>{widget}" + "".join(f"<p>{p}</p>" for p in [LEAD, MIDDLE, END]) + "</div>")
    art = extract_article(page, None)
    assert art["text"] == "\n\n".join([LEAD, MIDDLE, END]) and art["cleaning"] is None


def test_a_list_heading_first_in_the_body_takes_its_links_not_the_paragraphs_after_it():
    heading = ("<h3>Tin mới</h3><p><a href='/x'>Hà Nội đẩy mạnh dịch vụ công trực tuyến toàn trình</a></p>"
               "<p><a href='/y'>Tập huấn kỹ năng số cho cán bộ cấp xã</a></p>")
    page = body_page(f"<div class='detail'>{heading}" + "".join(f"<p>{p}</p>" for p in [LEAD, MIDDLE, END]) + "</div>")
    assert extract_article(page, None)["text"] == "\n\n".join([LEAD, MIDDLE, END])


def test_an_unclosed_nav_holding_the_article_is_not_removed():
    page = body_page("<nav class='top'><a href='/'>Trang chủ</a><div class='post'>"
                     + "".join(f"<p>{p}</p>" for p in [LEAD, MIDDLE, END]) + "</div>")
    assert extract_article(page, None)["text"] == "\n\n".join([LEAD, MIDDLE, END])


def test_cleaning_that_would_take_most_of_the_text_falls_back_to_trafilatura_and_says_why():
    """An unclosed <nav> swallowing a column of short paragraphs is short and prose-free, so it is
    marked as furniture; the guard sees that this would leave under half of trafilatura's text."""
    page = body_page("<nav class='top'><a href='/'>Trang chủ</a><div class='post'>"
                     + "".join(f"<p>{p}</p>" for p in SHORT_PARAGRAPHS) + "</div>")
    art = extract_article(page, None)
    assert art["text"] == "\n\n".join(SHORT_PARAGRAPHS)
    assert "furniture removal would keep" in art["cleaning"] and "nav" in art["cleaning"]
    crawler = get_crawler()
    ExtractionPipeline.from_crawler(crawler).process_item(ArticleItem(url="https://x.gov.vn/a", html=page, source="x"))
    assert crawler.stats.get_value(source_key("x", "extraction_fallback")) == 1


def test_a_widget_classed_column_of_short_paragraphs_is_not_furniture():
    page = body_page("<div class='widget-wrap'>" + "".join(f"<p>{p}</p>" for p in SHORT_PARAGRAPHS) + "</div>"
                     "<div class='share'><a>Facebook</a> <a>Zalo</a></div>")
    art = extract_article(page, None)
    assert art["text"] == "\n\n".join(SHORT_PARAGRAPHS) and art["cleaning"] is None


def test_a_related_box_inside_the_text_takes_only_its_heading_and_headlines():
    from pipelines.extraction import clean_paragraphs

    lines = [LEAD, "Tin liên quan", "Hà Nội đẩy mạnh dịch vụ công trực tuyến toàn trình", MIDDLE, END, MIDDLE + " Thêm.",
             LEAD + " Hết."]
    assert clean_paragraphs(lines, TITLE) == [LEAD, MIDDLE, END, MIDDLE + " Thêm.", LEAD + " Hết."]
    tail = [LEAD, MIDDLE, END, "Tin liên quan", "Hà Nội đẩy mạnh dịch vụ công", "Tóm tắt một tin khác, ngắn."]
    assert clean_paragraphs(tail, TITLE) == [LEAD, MIDDLE, END]


def test_author_metadata_in_order_of_trust():
    """Printed byline first; else JSON-LD NewsArticle people; a <meta name=author> naming the site never."""
    json_ld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
               '"author": [{"@type": "Person", "name": "Hồ Hương"}, {"@type": "Person", "name": "Lê Minh"}], '
               '"publisher": {"@type": "Organization", "name": "Báo Thử Nghiệm"}}</script>')
    site_meta = '<meta name="author" content="Báo Thử Nghiệm"><meta property="og:site_name" content="Báo Thử Nghiệm">'
    body = "".join(f"<p>{p}</p>" for p in [LEAD, MIDDLE, END])
    assert extract_article(body_page(body, site_meta + json_ld), None)["author"] == "Hồ Hương - Lê Minh"
    assert extract_article(body_page(body, site_meta), None)["author"] is None
    printed = body_page(body + "<p><strong>Minh Ngọc</strong></p>", site_meta + json_ld)
    assert extract_article(printed, None)["author"] == "Minh Ngọc"
    own_host = body_page(body, '<meta name="author" content="Thử Nghiệm">')
    assert extract_article(own_host, "https://thunghiem.vn/a-1.html")["author"] is None


@pytest.mark.parametrize("markup, author", [
    ("<div class='author'><a>Trần Quang</a>\n - \n<a>Lê Hương</a></div>", "Trần Quang - Lê Hương"),
    ("<div class='author-list'><span>NHẬT XUÂN</span>\n<span>NGHI VŨ</span></div>", "NHẬT XUÂN - NGHI VŨ"),
    ("<div class='author'><span>NHẬT XUÂN</span>\n<span>và 1 tác giả khác</span></div>", None),
    ("<p class='tac-gia'>Theo Hồ Hương</p>", "Hồ Hương"),
    ("<p class='tac-gia'>Theo Báo Quảng Ninh</p>", None),
])
def test_printed_bylines_near_the_headline(markup, author):
    page = body_page(markup + "".join(f"<p>{p}</p>" for p in [LEAD, MIDDLE, END]))
    assert extract_article(page, None)["author"] == author


def test_the_sapo_is_found_inside_the_block_after_the_headline():
    page = body_page("<div class='meta-row'><div class='left'><h2 class='detail-sapo'>(Chinhphu.vn) - "
                     f"{LEAD}</h2></div></div><div class='body'><p>{MIDDLE}</p><p>{END}</p></div>")
    art = extract_article(page, None)
    assert art["lead"] == f"(Chinhphu.vn) - {LEAD}"
    assert art["text"] == "\n\n".join([LEAD, MIDDLE, END])


def test_the_sapo_repeating_the_page_description():
    page = body_page(f"<div><div><p>{LEAD}</p></div></div><p>{MIDDLE}</p><p>{END}</p>",
                     f'<meta property="og:description" content="{LEAD}">')
    art = extract_article(page, None)
    assert art["lead"] == LEAD and art["text"].startswith(LEAD)


def test_app_download_box_and_hot_news_list_inside_the_content_go():
    app = ("<div class='download-app'><p>Tải ứng dụng:</p><p><a href='/ios'>App Store</a> <a href='/android'>"
           "Google Play</a></p></div>")
    hot = ("<div class='box'><div class='head'><a href='/hot'>Tin nóng</a></div><ul><li><a href='/x'>Hà Nội đẩy mạnh "
           "dịch vụ công trực tuyến toàn trình</a></li><li><a href='/y'>Tập huấn kỹ năng số cho cán bộ cấp xã</a></li>"
           "</ul></div>")
    page = body_page(f"<div class='detail'><p>{LEAD}</p>{hot}<p>{MIDDLE}</p>{app}<p>{END}</p></div>")
    art = extract_article(page, None)
    assert art["text"] == "\n\n".join([LEAD, MIDDLE, END])
