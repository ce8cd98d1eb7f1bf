"""Build the annotated extraction corpus: each article of articles.yaml wrapped in one of eleven
portal layouts that mirror the CMS families of Vietnamese government portals (vietnam.md 1.3) and
their traps (counters, print copies, title repeated as lead, same-category and by-date lists with
dates, sidebars with newer dates, share bars, comment prompts, media file names, body dates).

Writes pages/<nn>-<layout>.html and gold.jsonl (title, published, author, credit, text). Run it
after editing articles.yaml or a layout: `.venv/bin/python tests/extraction_corpus/build.py`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from html import escape
from pathlib import Path

import yaml

HERE = Path(__file__).parent
VN_WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]
SIDEBAR_TITLES = [
    "Kỳ họp HĐND tỉnh giải quyết công việc phát sinh đột xuất",
    "Khai mạc hội diễn nghệ thuật quần chúng",
    "Kiểm tra nhiệm vụ quân sự, quốc phòng địa phương",
    "Hội nghị Ban Thường vụ Tỉnh ủy tháng 11",
    "Tuyên truyền, phổ biến các văn bản pháp luật đất đai",
]


def e(text: str) -> str:
    return escape(text, quote=True)


def slug(text: str) -> str:
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = "".join(c for c in folded if not unicodedata.combining(c))
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_text.lower()).split())[:60]


def paragraphs_html(art: dict, caption_html) -> str:
    out = []
    for i, para in enumerate(art["paragraphs"]):
        out.append(f"<p>{e(para)}</p>")
        if art.get("caption") and art.get("caption_after") == i:
            out.append(caption_html(art["caption"]))
    return "\n".join(out)


def gold_paragraphs(art: dict) -> list[str]:
    out = []
    for i, para in enumerate(art["paragraphs"]):
        out.append(para)
        if art.get("caption") and art.get("caption_after") == i:
            out.append(art["caption"])
    return out


def listing(dates_fmt, count=5, start=0) -> str:
    items = []
    for i in range(count):
        moment = datetime(2024, 11 - i, 14 - i, 18 - i, 32 - i * 3)
        items.append(f'<li><a href="/tin/{1000 + i + start}.html">{e(SIDEBAR_TITLES[(i + start) % 5])}</a> '
                     f"<span>{dates_fmt(moment)}</span></li>")
    return "<ul>" + "".join(items) + "</ul>"


def shell(title_tag: str, head_extra: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="vi"><head><meta charset="utf-8"><title>{e(title_tag)}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">{head_extra}\n'
            f'<link rel="stylesheet" href="/style.css"><script>var _gaq = _gaq || [];</script></head>\n'
            f"<body>\n{body}\n</body></html>\n")


# ---------------------------------------------------------------- layouts


def sharepoint_pages(art, n, when):
    """SharePoint portal/Pages (Thanh Hóa style): counter, title repeated as lead, a hidden print
    copy of the whole article with "Đăng lúc", comment prompt, image file names in the text."""
    url = f"https://thanhhoa.gov.vn/portal/Pages/{when.year}-{when.month}-{when.day}/{slug(art['title'])}-{n}x7a.aspx"
    title = art["title"].upper()
    paras = []
    for i, para in enumerate(art["paragraphs"]):
        paras.append(f"<p>{e(para)}</p>")
        if i == 0:
            paras.append(f"<p>TH {n}.jpg</p>")
        if art.get("caption") and art.get("caption_after") == i:
            paras.append(f'<p style="text-align:center"><em>{e(art["caption"])}</em></p>')
    paras[-1] = paras[-1].replace("</p>", f"TH {n + 1}.jpg</p>")
    body_html = "\n".join(paras)
    byline = f'<p style="text-align:right"><strong>{e(art["author"])}</strong></p>' if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    stamp = when.strftime("%d/%m/%Y %H:%M:%S")
    body = f"""<div id="s4-workspace"><div class="header"><img src="/logo.png" alt="logo">
<div class="site-title">CỔNG THÔNG TIN ĐIỆN TỬ TỈNH THANH HÓA</div></div>
<div class="ms-webpart-zone"><div class="thong-ke"><div class="tk-title">Truy cập</div>
<div>Hôm nay:</div><div>1</div><div>Hôm qua:</div><div>0</div><div>Tuần này:</div><div>1</div>
<div>Tháng này:</div><div>0</div><div>Tất cả:</div><div>205171</div></div></div>
<div class="ms-rtestate-field"><div class="article-view">
<h1 class="tieude">{e(title)}</h1><div class="ngaydang">Ngày {stamp}</div>
<p><strong>{e(title)}</strong></p><p><strong>{e(title)}</strong></p>
{body_html}
{byline}{credit}</div>
<div id="printArea" style="display:none"><h2>{e(title)}</h2><p>Đăng lúc: {stamp} (GMT+7)</p>
<p><strong>{e(title)}</strong></p><p><strong>{e(title)}</strong></p>
{body_html}
{byline}{credit}</div>
<div class="binhluan-count">0 bình luận</div><div><a href="#">(Bấm vào đây để nhận mã)</a></div>
</div></div>"""
    return shell(f"{title} - Cổng thông tin điện tử tỉnh Thanh Hóa", "", body), url, "second"


def sharepoint_trang(art, n, when):
    """SharePoint "Trang" (Quảng Ninh style): newer-dated sidebar first, date above the title,
    tool bar, table-wrapped image caption, "Tin liên quan"."""
    url = f"https://www.quangninh.gov.vn/Trang/ChiTietTinTuc.aspx?nid={120000 + n}"
    stamp = f"{VN_WEEKDAYS[when.weekday()]}, {when:%d/%m/%Y}, {when:%H:%M} [GMT+7]"

    def caption(text):
        return (f'<table class="image" align="center"><tr><td><img src="/Lists/img{n}.jpg"></td></tr>'
                f'<tr><td class="image_desc">{e(text)}</td></tr></table>')

    byline = f"<p><b>{e(art['author'])}</b></p>" if art.get("author") else ""
    credit = f"<p>(Theo {e(art['credit'])})</p>" if art.get("credit") else ""
    body = f"""<div class="top"><a href="/"><h1 class="logo-text">Cổng thông tin điện tử Quảng Ninh</h1></a></div>
<div class="col-left"><div class="box-title">Tin mới</div>
{listing(lambda m: f"({m:%d/%m/%Y %H:%M})")}</div>
<div class="col-main"><div class="news-detail">
<div class="date-time">{stamp}</div>
<h2 class="title-detail">{e(art["title"])}</h2>
<div class="tool-bar"><a>Phóng to</a> <a>Thu nhỏ</a> <a>In bài</a> <a>Gửi email</a></div>
<div class="content-detail">
{paragraphs_html(art, caption)}
{byline}{credit}</div>
<div class="lienquan"><div class="lq-title">Tin liên quan</div>
{listing(lambda m: f"{m:%d/%m/%Y}", 4, 2)}</div></div></div>"""
    return shell(f"{art['title']} | Cổng thông tin điện tử Quảng Ninh", "", body), url, "minute"


def liferay_hcm(art, n, when):
    """Liferay asset publisher (Hồ Chí Minh City style): SA/CH clock, bold sapo that is the first
    paragraph, breadcrumb, related assets with dates."""
    url = f"https://hochiminhcity.gov.vn/web/hcm/-/{slug(art['title'])}"
    hour = when.hour % 12 or 12
    stamp = f"{when:%d/%m/%Y} {hour:02d}:{when:%M} {'SA' if when.hour < 12 else 'CH'}"
    first, *rest = art["paragraphs"]
    art_rest = dict(art, paragraphs=rest, caption_after=(art.get("caption_after", 0) - 1))

    def caption(text):
        return f'<p style="text-align:center"><img src="/documents/{n}/img.jpg"><br><em>{e(text)}</em></p>'

    if art.get("caption") and art.get("caption_after") == 0:
        lead_caption = caption(art["caption"])
        art_rest["caption"] = None
    else:
        lead_caption = ""
    byline = f'<p style="text-align:right"><strong>{e(art["author"])}</strong></p>' if art.get("author") else ""
    credit = f"<p><em>Nguồn: {e(art['credit'])}</em></p>" if art.get("credit") else ""
    body = f"""<header id="banner"><div class="logo">Cổng Thông tin điện tử Thành phố Hồ Chí Minh</div>
<nav><ul><li>Trang chủ</li><li>Tin tức - Sự kiện</li></ul></nav></header>
<div class="breadcrumb"><a>Trang chủ</a> / <a>Tin tức</a> / <a>Chuyển đổi số</a></div>
<div class="portlet-boundary portlet-asset-publisher"><div class="asset-full-content">
<h3 class="header-title"><span>{e(art["title"])}</span></h3>
<div class="sp-dislaydate">{stamp}</div>
<div class="asset-content"><p><strong>{e(first)}</strong></p>{lead_caption}
{paragraphs_html(art_rest, caption)}
{byline}{credit}</div></div></div>
<div class="portlet-boundary"><div class="portlet-title">Tin liên quan</div>
<div class="news-items">{listing(lambda m: f'<span class="text-date-sklh">{m:%d/%m/%Y %H:%M}</span>', 3)}</div></div>
<footer>Cơ quan chủ quản: UBND Thành phố Hồ Chí Minh</footer>"""
    head = (f'<meta property="og:title" content="{e(art["title"])}">'
            '<meta property="og:site_name" content="Cổng Thông tin điện tử Thành phố Hồ Chí Minh">')
    return shell(f"{art['title']} - Cổng Thông tin điện tử Thành phố Hồ Chí Minh", head, body), url, "minute"


def dnn_hue(art, n, when):
    """DotNetNuke (Huế style): an "updated at" line as the only date, view counter, author before a
    "Nguồn:" credit, comment form."""
    url = f"https://hue.gov.vn/Trang-chu/Tin-tuc/tb/{slug(art['title'])}-{4000 + n}"
    stamp = f"Cập nhật lúc {when:%H:%M}, {VN_WEEKDAYS[when.weekday()]}, {when:%d/%m/%Y}"
    byline = f"<p><strong>{e(art['author'])}</strong></p>" if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<form id="Form" action="/Trang-chu" method="post"><div id="dnn_ContentPane">
<div class="DnnModule"><h1 class="news-title">{e(art["title"])}</h1>
<div class="news-info"><span class="news-date">{stamp}</span></div><div>Lượt xem: {120 + n * 7}</div>
<div class="news-content">{paragraphs_html(art, lambda t: f'<p><img src="/Portals/0/{n}.jpg"></p><p><em>{e(t)}</em></p>')}
{byline}{credit}</div>
<div class="comment-area"><h4>Ý kiến bạn đọc</h4><p>Họ và tên:</p><p>Email:</p><p>Mã xác nhận:</p>
<p>Gửi</p></div></div></div></form>"""
    return shell(f"{art['title']}", "", body), url, "minute"


def nukeviet(art, n, when):
    """NukeViet (Sở / CĐS subsite style): "Thứ năm - dd/mm/yyyy HH:MM", hometext lead, author and
    "Nguồn tin" panel, rating, keywords, newer/older lists with dates."""
    url = f"https://chuyendoiso.laichau.gov.vn/vi/news/chuyen-doi-so/{slug(art['title'])}-{700 + n}.html"
    stamp = f"{VN_WEEKDAYS[when.weekday()].lower().capitalize()} - {when:%d/%m/%Y %H:%M}"
    first, *rest = art["paragraphs"]
    art_rest = dict(art, paragraphs=rest, caption_after=(art.get("caption_after", 0) - 1))
    lead_caption = ""
    if art.get("caption") and art.get("caption_after") == 0:
        lead_caption = f'<figure class="article center"><img src="/uploads/news/{n}.jpg"><figcaption>{e(art["caption"])}</figcaption></figure>'
        art_rest["caption"] = None
    panel = ""
    if art.get("author"):
        panel += f'<p class="author"><strong>Tác giả bài viết: </strong>{e(art["author"])}</p>'
    if art.get("credit"):
        panel += f'<p class="source"><strong>Nguồn tin: </strong>{e(art["credit"])}</p>'
    body = f"""<div class="header"><div class="site_name">Trang thông tin chuyển đổi số tỉnh Lai Châu</div></div>
<div class="news_column panel"><div class="panel-body">
<h1 class="title margin-bottom-lg">{e(art["title"])}</h1>
<div class="row margin-bottom-lg"><span class="h5">{stamp}</span></div>
<div class="hometext m-bottom"><strong>{e(first)}</strong></div>{lead_caption}
<div id="news-bodyhtml" class="bodytext margin-bottom-lg">
{paragraphs_html(art_rest, lambda t: f'<figure class="article center"><img src="/uploads/news/{n}.jpg"><figcaption>{e(t)}</figcaption></figure>')}
</div><div class="margin-bottom-lg">{panel}</div></div></div>
<div class="news_column panel"><div class="panel-body"><div class="h5"><em class="fa fa-tags"></em><strong>Từ khóa: </strong>
<a>chuyển đổi số</a>, <a>chính quyền số</a></div></div></div>
<div class="news_column panel"><div class="panel-body">Tổng số điểm của bài viết là: 0 trong 0 đánh giá
<p>Click để đánh giá bài viết</p></div></div>
<div class="news_column panel"><div class="panel-body"><p class="h3"><strong>Những tin mới hơn</strong></p>
{listing(lambda m: f"({m:%d/%m/%Y})", 3)}<p class="h3"><strong>Những tin cũ hơn</strong></p>
{listing(lambda m: f"({m:%d/%m/%Y})", 3, 3)}</div></div>"""
    return shell(f"{art['title']} - Chuyển đổi số Lai Châu", "", body), url, "minute"


def timestamp_cms(art, n, when):
    """News CMS with a timestamp id in the URL (baochinhphu style): sapo, related-news box in the
    middle of the body, figure captions, author element, meta published time."""
    stamp_id = f"102{when:%y%m%d%H%M%S}{n:03d}"
    url = f"https://baochinhphu.vn/{slug(art['title'])}-{stamp_id}.htm"
    first, *rest = art["paragraphs"]
    middle = f"""<div class="VCSortableInPreviewMode" type="RelatedNewsBox"><div class="kbwscwl-relatedbox">
<p class="box-heading">Tin liên quan</p>{listing(lambda m: "", 3)}</div></div>"""
    body_parts = []
    for i, para in enumerate(rest):
        body_parts.append(f"<p>{e(para)}</p>")
        if i == 0:
            body_parts.append(middle)
        if art.get("caption") and art.get("caption_after") == i + 1:
            body_parts.append(f'<figure class="VCSortableInPreviewMode"><img src="/{n}.jpg"><figcaption><p>'
                              f'{e(art["caption"])}</p></figcaption></figure>')
    lead_caption = ""
    if art.get("caption") and art.get("caption_after") == 0:
        lead_caption = (f'<figure class="VCSortableInPreviewMode"><img src="/{n}.jpg"><figcaption><p>'
                        f'{e(art["caption"])}</p></figcaption></figure>')
    author = f'<div class="detail-author">{e(art["author"])}</div>' if art.get("author") else ""
    credit = f'<p class="detail-source">Theo {e(art["credit"])}</p>' if art.get("credit") else ""
    body = f"""<div class="header"><a class="logo" href="/">Báo Điện tử Chính phủ</a></div>
<div class="detail-container"><h1 class="detail-title">{e(art["title"])}</h1>
<div class="detail-time"><div data-role="publishdate">{when:%d/%m/%Y %H:%M}</div></div>
<h2 class="detail-sapo">{e(first)}</h2>{lead_caption}
<div class="detail-content afcbc-body">{"".join(body_parts)}</div>
{author}{credit}</div>
<div class="box-stream"><div class="box-heading">Tin mới</div>{listing(lambda m: f"{m:%H:%M %d/%m/%Y}", 4)}</div>"""
    head = (f'<meta property="og:title" content="{e(art["title"])}">'
            f'<meta property="article:published_time" content="{when:%Y-%m-%dT%H:%M:%S}+07:00">'
            '<meta property="og:site_name" content="Báo Điện tử Chính phủ">')
    return shell(f"{art['title']}", head, body), url, "second"


def thaibinh_video(art, n, when):
    """Provincial portal with a video player (Thái Bình style): a video file name above the text,
    a 24-hour clock with "PM", same-category list with dates, by-date list, broadcast schedule."""
    url = f"https://thaibinh.gov.vn/tin-tuc/chuyen-doi-so/{slug(art['title'])}.html"

    def clock(m):
        return f"{m:%d.%m.%Y} | {m:%H:%M} {'AM' if m.hour < 12 else 'PM'}"

    byline = f"<p>{e(art['author'])}</p>" if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<div class="banner"><img alt="Cổng thông tin điện tử tỉnh Thái Bình" src="/banner.jpg"></div>
<div class="main"><div class="detail"><h1 class="title">{e(art["title"])}</h1>
<div class="meta">{clock(when)}</div>
<div class="video"><p>Video: {when:%d%m%y}_-_Hop_truc_tuyen_{n}.mp4?_t={1703775935 + n}</p></div>
<div class="detail-content">{paragraphs_html(art, lambda t: f'<p><img src="/img/{n}.jpg"></p><p><em>{e(t)}</em></p>')}
{byline}{credit}</div></div>
<div class="same-category"><h3>Tin cùng chuyên mục</h3>{listing(clock, 5)}</div>
<div class="by-day"><h3>Xem tin theo ngày</h3><ul><li>{e(SIDEBAR_TITLES[0])}</li><li>{e(SIDEBAR_TITLES[1])}</li></ul></div>
<div class="program"><h3>Lịch phát sóng</h3><ul><li><a>06:00 Thời sự buổi sáng</a></li><li><a>19:30 Chuyển đổi số và cuộc sống</a></li></ul></div></div>"""
    return shell(f"{art['title']}", "", body), url, "minute"


def ninhbinh_news(art, n, when):
    """Syndicating province portal (Ninh Bình style): "Thứ năm, dd/mm/yyyy HH:MM", newest-news
    sidebar before the article, "Nguồn:" credit at the end, "title | site" title tag."""
    url = f"https://ninhbinh.gov.vn/tin-tuc/{slug(art['title'])}-{88000 + n}.html"
    stamp = f"{VN_WEEKDAYS[when.weekday()].lower().capitalize()}, {when:%d/%m/%Y %H:%M}"
    byline = f"<p>{e(art['author'].upper())}</p>" if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<div id="header"><h1 class="logo"><a href="/">Cổng TTĐT tỉnh Ninh Bình</a></h1></div>
<div class="sidebar-left"><h4>Tin mới nhất</h4>{listing(lambda m: f"{m:%d/%m/%Y %H:%M}", 5, 1)}</div>
<div class="main-content"><div class="article">
<h2 class="article-title">{e(art["title"])}</h2><p class="article-date">{stamp}</p>
<div class="article-body">{paragraphs_html(art, lambda t: f'<p class="caption">{e(t)}</p>')}
{byline}{credit}</div>
<div class="social"><span>Chia sẻ</span> <a>Facebook</a> <a>Zalo</a></div></div></div>"""
    head = f'<meta property="og:title" content="{e(art["title"])}">'
    return shell(f"{art['title']} | Cổng TTĐT tỉnh Ninh Bình", head, body), url, "minute"


def aspnet_ministry(art, n, when):
    """Custom ASP.NET ministry portal: date without a time next to a view count, upper-case
    byline with (t/h), print/email links, "Các tin khác" list with dates."""
    url = f"https://most.gov.vn/vn/tin-tuc/{23000 + n}/{slug(art['title'])}.aspx"
    author = art.get("author")
    byline = f"<p><strong>{e(author if '(' in author else author.upper())}</strong></p>" if author else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<form id="aspnetForm" method="post"><div class="header"><div class="logo">Bộ Khoa học và Công nghệ</div></div>
<table class="layout"><tr><td class="left-col"><div class="menu-left"><a>Giới thiệu</a><a>Tin tức</a></div></td>
<td class="main-col"><div class="news-detail"><h2 class="news-title">{e(art["title"])}</h2>
<div class="news-date">Ngày đăng: {when:%d/%m/%Y} | Lượt xem: {1000 + n * 13}</div>
<div class="news-body">{paragraphs_html(art, lambda t: f'<p style="text-align:center"><em>{e(t)}</em></p>')}
{byline}{credit}</div>
<div class="print-tools"><a>In trang</a> | <a>Gửi email</a> | <a>Về đầu trang</a></div></div>
<div class="other-news"><b>Các tin khác</b>{listing(lambda m: f"({m:%d/%m/%Y})", 5)}</div></td></tr></table></form>"""
    return shell(f"Bộ Khoa học và Công nghệ - {art['title']}", "", body), url, "date"


def commune_platform(art, n, when):
    """Post-2025 shared commune portal: "HH:MM dd/mm/yyyy" before the title, share bar, other news
    with "(dd/mm/yyyy, HH:MM)" suffixes."""
    url = f"https://camthach.thanhhoa.gov.vn/chuyen-doi-so/{slug(art['title'])}-{n * 37}"
    byline = f"<p><strong>{e(art['author'])}</strong></p>" if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<header><div class="brand">Cổng thông tin điện tử xã Cẩm Thạch</div></header>
<main><article class="post-detail"><div class="post-time">{when:%H:%M %d/%m/%Y}</div>
<h1 class="post-title">{e(art["title"])}</h1>
<div class="share-bar"><span>Chia sẻ:</span><a>Facebook</a><a>Zalo</a></div>
<div class="post-content">{paragraphs_html(art, lambda t: f'<p style="text-align:center"><img src="/u/{n}.jpg"></p><p style="text-align:center"><em>{e(t)}</em></p>')}
{byline}{credit}</div></article>
<section class="box-other"><h3>Tin khác</h3>{listing(lambda m: f"({m:%d/%m/%Y, %H:%M})", 4)}</section></main>"""
    return shell(f"{art['title']} - Xã Cẩm Thạch", "", body), url, "minute"


def wordpress_cds(art, n, when):
    """WordPress-based CĐS subsite: a date-only header with `<time datetime>` carrying the time,
    lower-case "admin" author link, "Tin, ảnh:" byline in the text, related posts, comment form."""
    url = f"https://chuyendoiso.quangngai.gov.vn/{when:%Y/%m/%d}/{slug(art['title'])}/"
    byline = f"<p>{e(art['author'])}</p>" if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<div id="page" class="site"><header id="masthead" class="site-header"><p class="site-title">
<a href="/" rel="home">Chuyển đổi số Quảng Ngãi</a></p></header>
<div id="content" class="site-content"><main id="main"><article class="post type-post">
<header class="entry-header"><h1 class="entry-title">{e(art["title"])}</h1>
<div class="entry-meta"><span class="posted-on"><time class="entry-date published" datetime="{when:%Y-%m-%dT%H:%M:%S}+07:00">{when:%d/%m/%Y}</time></span>
<span class="byline"><span class="author vcard"><a class="url fn n" href="/author/admin/">admin</a></span></span></div></header>
<div class="entry-content">{paragraphs_html(art, lambda t: f'<figure class="wp-block-image"><img src="/wp-content/uploads/{n}.jpg"><figcaption>{e(t)}</figcaption></figure>')}
{byline}{credit}
<div class="sharedaddy"><h3 class="sd-title">Chia sẻ:</h3><ul><li>Facebook</li><li>Twitter</li></ul></div></div>
</article>
<div class="related-posts"><h3>Bài viết liên quan</h3>{listing(lambda m: f"{m:%d/%m/%Y}", 3)}</div>
<div id="comments" class="comments-area"><h3 id="reply-title">Để lại một bình luận</h3><p>Email của bạn sẽ không được hiển thị công khai.</p></div>
</main></div></div>"""
    return shell(f"{art['title']} – Chuyển đổi số Quảng Ngãi", "", body), url, "second"


# ---------------------------------------------------------------- held-out layouts (never tuned on)


def joomla_portal(art, n, when):
    """Older PHP portal: site name first in <title>, author and date on one info line above the
    text, "Đang online" counter, "Các tin khác" links."""
    url = f"https://sotttt.example-tinh.gov.vn/index.php/tin-tuc/{800 + n}-{slug(art['title'])}"
    info = f"{VN_WEEKDAYS[when.weekday()]}, {when.day}/{when.month}/{when.year} - {when:%H:%M}"
    if art.get("author"):
        info = f"Viết bởi {e(art['author'])} &nbsp;&nbsp; {info}"
    credit = f"<p><em>Nguồn: {e(art['credit'])}</em></p>" if art.get("credit") else ""
    body = f"""<div id="wrapper"><div id="top"><span>Sở Thông tin và Truyền thông</span></div>
<table class="contentpaneopen"><tr><td class="contentheading" width="100%">{e(art["title"])}</td>
<td class="buttonheading"><a title="In">In</a></td><td class="buttonheading"><a title="E-mail">E-mail</a></td></tr></table>
<table class="contentpaneopen"><tr><td class="createdate">{info}</td></tr>
<tr><td valign="top">{paragraphs_html(art, lambda t: f'<p align="center"><img src="/images/{n}.jpg"><br>{e(t)}</p>')}{credit}</td></tr></table>
<div class="moduletable"><h3>Đang online</h3><p>Có 12 khách trực tuyến</p></div>
<div class="blog_more"><strong>Các tin khác:</strong>{listing(lambda m: f"- {m:%d/%m/%Y}", 4)}</div></div>"""
    return shell(f"Sở Thông tin và Truyền thông - {art['title']}", "", body), url, "minute"


def hanoi_timestamp(art, n, when):
    """City portal whose only date is the timestamp id in the URL; "Đọc thêm" box inside the text,
    "(Theo ...)" credit, share icons."""
    url = f"https://hanoi.gov.vn/tin-so-nganh/{slug(art['title'])}-4{when:%y%m%d%H%M%S}{n % 1000:03d}.htm"
    first, *rest = art["paragraphs"]
    caption = ""
    if art.get("caption"):
        caption = f'<div class="image-box"><img src="/{n}.jpg"><div class="PhotoCMS_Caption"><p>{e(art["caption"])}</p></div></div>'
    byline = f'<p style="text-align:right;"><b>{e(art["author"])}</b></p>' if art.get("author") else ""
    credit = f'<p style="text-align:right;"><i>(Theo {e(art["credit"])})</i></p>' if art.get("credit") else ""
    body = f"""<div class="site-header"><a href="/">Cổng Thông tin điện tử thành phố Hà Nội</a></div>
<div class="detail__content"><h1 class="detail__title">{e(art["title"])}</h1>
<div class="detail__share"><a>f</a><a>z</a><a>in</a></div>
<div class="detail__body"><p>{e(first)}</p>{caption}
<div class="box-docthem"><span>Đọc thêm</span><ul><li><a>{e(SIDEBAR_TITLES[2])}</a></li><li><a>{e(SIDEBAR_TITLES[3])}</a></li></ul></div>
{"".join(f"<p>{e(p)}</p>" for p in rest)}
{byline}{credit}</div></div>
<div class="box-news-other"><h2>Tin cùng chuyên mục</h2>{listing(lambda m: f"{m:%H:%M %d/%m/%Y}", 4)}</div>"""
    return shell(f"{art['title']}", "", body), url, "second"


def quangninh_so(art, n, when):
    """Department subsite on SharePoint: "T2, dd/mm/yyyy HH:MM" day abbreviations, caption as an
    image-caption paragraph, upper-case right-aligned byline, keywords line, view counter."""
    days = ["T2", "T3", "T4", "T5", "T6", "T7", "CN"]
    url = f"https://quangninh.gov.vn/so/sothongtinTT/Trang/ChiTietTinTuc.aspx?nid={9000 + n}&title={slug(art['title'])}.html"
    byline = f'<p align="right"><strong>{e(art["author"].upper())}</strong></p>' if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<div class="ms-banner"><span class="ms-siteicon-a">Sở Thông tin và Truyền thông Quảng Ninh</span></div>
<div class="ChiTietTin"><div class="TieuDe">{e(art["title"])}</div>
<div class="NgayDang">{days[when.weekday()]}, {when:%d/%m/%Y %H:%M}</div><div class="LuotXem">Lượt xem: {300 + n}</div>
<div class="NoiDung">{paragraphs_html(art, lambda t: f'<p><img src="/Lists/{n}.jpg"></p><p class="image-caption">{e(t)}</p>')}
{byline}{credit}</div>
<div class="TuKhoa">Từ khóa: chuyển đổi số, Quảng Ninh</div></div>
<div class="TinKhac"><div class="TieuDeTinKhac">Các tin đã đưa</div>{listing(lambda m: f"({m:%d/%m/%Y})", 5)}</div>"""
    head = f'<meta property="og:title" content="{e(art["title"])}">'
    return shell(f"{art['title']}", head, body), url, "minute"


def danang_liferay(art, n, when):
    """Liferay city portal: query-string article URL, the site named as meta author, an "updated"
    line next to a "published" line, "Bài, ảnh:" byline."""
    url = f"https://danang.gov.vn/chinh-quyen/chi-tiet?id={51000 + n}&_c=3,9,33"
    updated = when.replace(hour=min(when.hour + 2, 23))
    byline = f"<p><strong>{e(art['author'])}</strong></p>" if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<div id="banner"><div class="logo-dn"><span>Cổng thông tin điện tử thành phố Đà Nẵng</span></div></div>
<div class="portlet-body"><div class="journal-content-article">
<h2 class="tieu-de">{e(art["title"])}</h2>
<div class="thoi-gian"><span>Ngày đăng: {when:%d/%m/%Y %H:%M}</span> - <span>Cập nhật: {updated:%d/%m/%Y %H:%M}</span></div>
{paragraphs_html(art, lambda t: f'<p style="text-align:center"><em>{e(t)}</em></p>')}
{byline}{credit}</div></div>
<div class="portlet-body"><div class="tin-lien-quan"><p><b>Tin liên quan</b></p>{listing(lambda m: f"[{m:%d/%m/%Y}]", 4)}</div></div>"""
    head = '<meta name="author" content="Cổng thông tin điện tử thành phố Đà Nẵng">'
    return shell(f"{art['title']} - Cổng thông tin điện tử thành phố Đà Nẵng", head, body), url, "minute"


def province_newspaper(art, n, when):
    """Provincial newspaper: "HH:MM, dd/mm/yyyy" line, author line above the text, sapo block, a
    "Xem thêm:" link paragraph inside the body, tags, same-category list."""
    url = f"https://baotinh.example.vn/xa-hoi/{slug(art['title'])}-a{20000 + n}.html"
    lead = f'<div class="sapo">{e(art["lead"])}</div>' if art.get("lead") else ""
    first, *rest = art["paragraphs"]
    author = f'<div class="author-line">{e(art["author"])}</div>' if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<header class="main-header"><a class="logo" href="/">Báo tỉnh điện tử</a></header>
<article class="article-detail"><span class="time">{when:%H:%M, %d/%m/%Y}</span>
<h1 class="article-title">{e(art["title"])}</h1>{lead}{author}
<div class="article-body"><p>{e(first)}</p>
<p><strong>Xem thêm:</strong> <a href="/x/{n}.html">{e(SIDEBAR_TITLES[4])}</a></p>
{"".join(f"<p>{e(p)}</p>" for p in rest)}{credit}</div>
<div class="article-tags">Tags: <a>chuyển đổi số</a> <a>bình dân học vụ số</a></div></article>
<section class="same-cat"><h2>Cùng chuyên mục</h2>{listing(lambda m: f"{m:%H:%M, %d/%m/%Y}", 4)}</section>"""
    return shell(f"{art['title']} - Báo tỉnh điện tử", "", body), url, "minute"


def legacy_cp1258(art, n, when):
    """Legacy portal served in windows-1258 (decomposed tone marks), table layout, "Ngày d/m/yyyy"."""
    url = f"http://sonn.example-tinh.gov.vn/tintuc.asp?id={300 + n}"
    byline = f"<p align=right><b>{e(art['author'])}</b></p>" if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<table width="100%"><tr><td colspan=2><img src="/banner.gif" alt="Sở Nông nghiệp"></td></tr>
<tr><td width="200" valign=top><a href="/">Trang chủ</a><br><a href="/gioithieu.asp">Giới thiệu</a><br><a href="/tintuc.asp">Tin tức</a></td>
<td valign=top><font class="tieude"><b>{e(art["title"])}</b></font><br><i>Ngày {when.day}/{when.month}/{when.year}</i>
{paragraphs_html(art, lambda t: f'<p align=center><i>{e(t)}</i></p>')}
{byline}{credit}<p><a href="javascript:window.print()">In trang</a> | <a href="#">Về đầu trang</a></p></td></tr></table>"""
    page = shell(art["title"], '<meta http-equiv="Content-Type" content="text/html; charset=windows-1258">', body)
    decomposed = unicodedata.normalize("NFD", page)
    legacy = re.sub(r"([aeouAEOU])(\u0323?)([\u0302\u0306\u031b])",  # cp1258: â ă ê ô ơ ư precomposed, tones combining
                    lambda m: unicodedata.normalize("NFC", m.group(1) + m.group(3)) + m.group(2), decomposed)
    return legacy.encode("cp1258"), url, "date"


def nfd_portal(art, n, when):
    """Portal whose text is stored decomposed (NFD), "HH:MM ngày dd/mm/yyyy", credit in brackets."""
    url = f"https://stttt.example-tinh.gov.vn/tin-tuc/{slug(art['title'])}.html"
    byline = f"<p><strong>{e(art['author'])}</strong></p>" if art.get("author") else ""
    credit = f"<p>(Nguồn: {e(art['credit'])})</p>" if art.get("credit") else ""
    body = f"""<div class="navbar"><a>Trang chủ</a><a>Tin tức</a></div>
<div class="content"><h1>{e(art["title"])}</h1><p class="post-meta">{when:%H:%M} ngày {when:%d/%m/%Y}</p>
{paragraphs_html(art, lambda t: f'<p><em>{e(t)}</em></p>')}
{byline}{credit}</div><div class="counter">Lượt truy cập: {10000 + n}</div>"""
    return unicodedata.normalize("NFD", shell(art["title"], "", body)), url, "minute"


def party_portal(art, n, when):
    """Party committee portal: sapo, then "Thứ Hai, 12/5/2025 | 08:30" below it, authors in a
    `div.tac-gia` after the text, "Các tin khác"."""
    url = f"https://dangbo.example-tinh.vn/tin-hoat-dong/{slug(art['title'])}-{600 + n}.html"
    lead = f'<div class="sapo"><b>{e(art["lead"])}</b></div>' if art.get("lead") else ""
    author = f'<div class="tac-gia text-right">{e(art["author"])}</div>' if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<div class="top-banner"><img alt="Đảng bộ tỉnh" src="/b.png"></div>
<div class="detail"><h1 class="detail-title">{e(art["title"])}</h1>{lead}
<p class="date-detail">{VN_WEEKDAYS[when.weekday()]}, {when.day}/{when.month}/{when.year} | {when:%H:%M}</p>
<div class="detail-content">{paragraphs_html(art, lambda t: f'<p><em>{e(t)}</em></p>')}{credit}</div>{author}</div>
<div class="tin-khac"><h3>Các tin khác</h3>{listing(lambda m: f"({m:%d/%m/%Y})", 4)}</div>"""
    return shell(f"{art['title']}", "", body), url, "minute"


def tv_station(art, n, when):
    """Provincial radio-TV portal: only an "updated" line, a video file name, "Nhóm PV:" byline,
    broadcast schedule and "Xem thêm" list."""
    url = f"https://truyenhinh.example-tinh.vn/thoi-su/{slug(art['title'])}-{900 + n}.html"
    byline = f"<p><strong>{e(art['author'])}</strong></p>" if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<div class="header"><a class="logo" href="/">Đài Phát thanh và Truyền hình tỉnh</a></div>
<div class="main"><h1>{e(art["title"])}</h1><div class="info">Cập nhật: {when:%H:%M} ngày {when.day}/{when.month}/{when.year}</div>
<div class="player"><video src="/media/{n}.mp4"></video><p>ban_tin_{when:%d%m}_{n}.mp4</p></div>
<div class="noidung">{paragraphs_html(art, lambda t: f'<p><em>{e(t)}</em></p>')}{byline}{credit}</div>
<div class="xemthem"><p><b>Xem thêm</b></p>{listing(lambda m: f"{m:%d/%m/%Y}", 3)}</div></div>
<div class="right"><h3>Lịch phát sóng</h3><ul><li>18:00 Thời sự</li><li>20:00 Phim truyện</li></ul></div>"""
    return shell(f"{art['title']} - Đài PT-TH tỉnh", "", body), url, "minute"


def microdata_portal(art, n, when):
    """schema.org microdata: the visible date is relative ("2 giờ trước"); the real one is in
    `itemprop=datePublished`; credit at the end."""
    url = f"https://tintuc.example-tinh.gov.vn/bai-viet/{n * 101}"
    byline = f"<p>{e(art['author'])}</p>" if art.get("author") else ""
    credit = f"<p>Nguồn: {e(art['credit'])}</p>" if art.get("credit") else ""
    body = f"""<div class="site"><span class="site-name">Tin tức tỉnh</span></div>
<div itemscope itemtype="https://schema.org/NewsArticle"><h1 itemprop="headline">{e(art["title"])}</h1>
<meta itemprop="datePublished" content="{when:%Y-%m-%dT%H:%M:%S}+07:00"><span class="ago">2 giờ trước</span>
<div itemprop="articleBody">{paragraphs_html(art, lambda t: f'<p><em>{e(t)}</em></p>')}{byline}{credit}</div></div>
<div class="hot"><h4>Tin đọc nhiều</h4>{listing(lambda m: f"{m:%d/%m}", 4)}</div>"""
    return shell(f"{art['title']}", "", body), url, "second"


HELDOUT_LAYOUTS = [joomla_portal, hanoi_timestamp, quangninh_so, danang_liferay]
HELDOUT2_LAYOUTS = [province_newspaper, legacy_cp1258, nfd_portal]
HELDOUT3_LAYOUTS = [party_portal, tv_station, microdata_portal]
LAYOUTS = [sharepoint_pages, sharepoint_trang, liferay_hcm, dnn_hue, nukeviet, timestamp_cms, thaibinh_video,
           ninhbinh_news, aspnet_ministry, commune_platform, wordpress_cds]


def gold_author(art: dict, layout) -> str | None:
    author = art.get("author_gold", art.get("author"))
    if author and layout in (ninhbinh_news, quangninh_so):
        return author.upper()
    if author and layout is aspnet_ministry and "(" not in art.get("author", ""):
        return author.upper()
    return author


PUBLISHED_FORMAT = {"date": "{:%Y-%m-%d}", "minute": "{:%Y-%m-%dT%H:%M}:00+07:00", "second": "{:%Y-%m-%dT%H:%M:%S}+07:00"}


def build(out: Path = HERE) -> list[dict]:
    """Write pages/ and gold.jsonl under `out` (the corpus itself by default)."""
    development = yaml.safe_load((HERE / "articles.yaml").read_text(encoding="utf-8"))
    heldout = yaml.safe_load((HERE / "heldout.yaml").read_text(encoding="utf-8"))
    first, second, third = heldout[:8], heldout[8:14], heldout[14:]
    plan = [(art, LAYOUTS[n % len(LAYOUTS)], "development") for n, art in enumerate(development)]
    plan += [(art, HELDOUT_LAYOUTS[n % len(HELDOUT_LAYOUTS)], "heldout") for n, art in enumerate(first)]
    plan += [(art, HELDOUT2_LAYOUTS[n % len(HELDOUT2_LAYOUTS)], "heldout2") for n, art in enumerate(second)]
    plan += [(art, HELDOUT3_LAYOUTS[n % len(HELDOUT3_LAYOUTS)], "heldout3") for n, art in enumerate(third)]
    pages = out / "pages"
    pages.mkdir(parents=True, exist_ok=True)
    for old in pages.glob("*.html"):
        old.unlink()
    gold = []
    for n, (art, layout, subset) in enumerate(plan):
        when = datetime.strptime(str(art["when"]), "%Y-%m-%d %H:%M:%S")
        page, url, shown = layout(art, n, when)  # the date precision the page shows: date, minute, second
        name = f"{n:02d}-{layout.__name__}.html"
        (pages / name).write_bytes(page if isinstance(page, bytes) else page.encode("utf-8"))
        gold.append({
            "file": name, "layout": layout.__name__, "set": subset, "url": url, "title": art["title"].upper()
            if layout is sharepoint_pages else art["title"],
            "published": PUBLISHED_FORMAT[shown].format(when),
            "author": gold_author(art, layout), "credit": art.get("credit"),
            "text": "\n\n".join(([art["lead"]] if art.get("lead") else []) + gold_paragraphs(art)),
        })
    with open(out / "gold.jsonl", "w", encoding="utf-8") as handle:
        for row in gold:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return gold


if __name__ == "__main__":
    rows = build()
    print(f"{len(rows)} pages, {len({r['layout'] for r in rows})} layouts "
          f"({sum(r['set'] != 'development' for r in rows)} held-out pages)")
