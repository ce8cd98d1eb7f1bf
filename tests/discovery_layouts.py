"""Listing layouts in shapes the URL rules do not know, written after discovery by structure was
built (crawler/listing.py) and never tuned on: an id before the slug, a bare number, a query
parameter, an unusual suffix, a table of documents, a home page with "Xem tiếp" under each teaser.
Each page also carries what must never be taken: menus, category, topic, event and tag links,
static pages and pagers, some shaped like articles. Used by tests/test_discovery.py (a crawl with
only `start_urls`) and bench/discovery_eval.py (first-run numbers in BENCHMARKS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Callable

PLACES = ["Sơn La", "Hà Giang", "Cao Bằng", "Bắc Kạn", "Yên Bái", "Tuyên Quang", "Hòa Bình", "Lạng Sơn"]
TOPICS = ["triển khai nền tảng số dùng chung", "số hóa hồ sơ thủ tục hành chính", "phát triển kinh tế số nông thôn",
          "đào tạo kỹ năng số cho cán bộ", "mở rộng thanh toán không dùng tiền mặt", "xây dựng chính quyền số cấp xã"]


def headline(i: int) -> str:
    return f"{PLACES[i % len(PLACES)]} {TOPICS[i % len(TOPICS)]} giai đoạn {i + 1}"


def teaser(i: int) -> str:
    return (f"Sáng nay, {PLACES[i % len(PLACES)]} tổ chức hội nghị về {TOPICS[(i + 2) % len(TOPICS)]}, "
            f"đặt mục tiêu hoàn thành trước quý {1 + i % 4} năm sau.")


@dataclass
class Layout:
    name: str
    listing_path: str
    article: Callable[[int], str]          # the i-th article's path
    item: Callable[[int, str], str]        # the HTML of one list item, given its article path
    wrap: Callable[[str], str]             # the list's container around the items
    count: int = 8
    others: list[tuple[str, str]] = field(default_factory=list)  # (path, text): never articles
    above: str = ""                        # HTML inside the main column above the list
    pager: str = ""

    def articles(self, page: int = 1) -> list[str]:
        """Page 1 lists `count` articles; page 2 (behind the pager) three older ones."""
        return [self.article(i) for i in (range(self.count) if page == 1 else range(100, 103))]


def _links(links: list[tuple[str, str]]) -> str:
    return "".join(f"<a href='{escape(p)}'>{escape(t)}</a> " for p, t in links)


def listing_page(layout: Layout, page: int = 1) -> tuple[str, list[str], list[str]]:
    """`(listing HTML, article paths, non-article paths)` of one layout's page 1 or 2."""
    menu = [(p, t) for p, t in layout.others if t.startswith("menu:")]
    rest = [(p, t) for p, t in layout.others if not t.startswith("menu:")]
    first = 0 if page == 1 else 100
    items = "".join(layout.item(first + n, path) for n, path in enumerate(layout.articles(page)))
    html = ("<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'><title>Tin tức - Cổng thông tin</title>"
            "</head><body><div class='top-bar'><div class='topnav'>"
            + _links([(p, t.removeprefix("menu:")) for p, t in menu])
            + "</div></div><div class='wrap'><div class='col-main'>" + layout.above + layout.wrap(items)
            + (layout.pager if page == 1 else "") + "</div><div class='col-side'><div class='box'><b>Chủ đề</b>"
            + "".join(f"<p><a href='{escape(p)}'>{escape(t)}</a></p>" for p, t in rest)
            + "</div></div></div><div class='bottom'>Cơ quan chủ quản: UBND tỉnh. Điện thoại: 0209 385 2345"
            "</div></body></html>")
    return html, layout.articles(page), [p for p, _t in layout.others] + [layout.pager_path]


def _dated(i: int) -> str:
    return f"{1 + i % 28:02d}/{1 + i % 12:02d}/2025"


LAYOUTS: list[Layout] = []


def _add(layout: Layout, pager_path: str = "", into: list[Layout] = LAYOUTS) -> None:
    layout.pager_path = pager_path  # type: ignore[attr-defined]
    into.append(layout)


# 1. an id before the slug, no suffix; topic and event pages are id-first too
_add(Layout(
    "id-first", "/tin-tuc",
    article=lambda i: f"/bai-viet/{48100 + i}-so-hoa-ho-so-dot-{i}",
    item=lambda i, p: (f"<div class='entry'><h4><a href='{p}'>{escape(headline(i))}</a></h4>"
                       f"<em>{_dated(i)}</em><p>{escape(teaser(i))}</p></div>"),
    wrap=lambda items: f"<div class='stream'>{items}</div>",
    others=[("/", "menu:Trang chủ"), ("/gioi-thieu-chung", "menu:Giới thiệu"), ("/chuyen-muc/12-kinh-te", "menu:Kinh tế"),
            ("/chu-de/45-chuyen-doi-so-quoc-gia", "Chuyển đổi số quốc gia năm 2025 toàn cảnh"),
            ("/su-kien/7-hoi-nghi-xuc-tien-dau-tu", "Hội nghị xúc tiến đầu tư tỉnh 2025")],
    pager="<div class='paging'><a href='/tin-tuc?pg=2'>2</a> <a href='/tin-tuc?pg=3'>3</a></div>"), "/tin-tuc?pg=2")

# 2. a bare number, items as table rows with the date in its own cell
_add(Layout(
    "bare-number", "/news",
    article=lambda i: f"/news/{70231 + i * 7}",
    item=lambda i, p: f"<tr><td><a href='{p}'>{escape(headline(i))}</a></td><td>{_dated(i)}</td></tr>",
    wrap=lambda items: f"<table class='tbl'><tbody>{items}</tbody></table>",
    others=[("/", "menu:Trang chủ"), ("/page/12", "menu:Giới thiệu"), ("/news/category/3", "menu:Tin tức"),
            ("/tag/chuyen-doi-so", "chuyển đổi số"), ("/lien-ket", "Liên kết website")],
    pager="<p><a href='/news?p=2'>Trang sau</a></p>"), "/news?p=2")

# 3. the article is a query parameter of one script; categories are the same script
_add(Layout(
    "query-param", "/index.php?module=news&act=list",
    article=lambda i: f"/index.php?module=news&act=view&code={8841 + i}",
    item=lambda i, p: (f"<li><a class='t' href='{escape(p)}'>{escape(headline(i))}</a> "
                       f"<span class='d'>({_dated(i)})</span><div>{escape(teaser(i))}</div></li>"),
    wrap=lambda items: f"<ul class='lst'>{items}</ul>",
    others=[("/index.php", "menu:Trang chủ"), ("/index.php?module=news&act=list&cat=3", "menu:Kinh tế - Xã hội"),
            ("/index.php?module=page&act=view&code=2", "menu:Giới thiệu"),
            ("/index.php?module=news&act=list&cat=9", "Chuyên mục Chuyển đổi số và đổi mới sáng tạo")],
    pager="<div><a href='/index.php?module=news&act=list&page=2'>»</a></div>"),
    "/index.php?module=news&act=list&page=2")

# 4. an unusual suffix with a letter-prefixed id; topics share the suffix
_add(Layout(
    "odd-suffix", "/thoi-su.vnp",
    article=lambda i: f"/thoi-su/{headline(i).lower().split()[0]}-dau-tu-ha-tang-so-dot-{i},a{20551 + i}.vnp",
    item=lambda i, p: (f"<article class='post'><a class='thumb' href='{escape(p)}'><img src='/i/{i}.jpg' alt=''></a>"
                       f"<h3><a href='{escape(p)}'>{escape(headline(i))}</a></h3><p class='sapo'>{escape(teaser(i))}</p>"
                       "</article>"),
    wrap=lambda items: f"<section class='latest'>{items}</section>",
    others=[("/", "menu:Trang chủ"), ("/thoi-su.vnp", "menu:Thời sự"), ("/kinh-te.vnp", "menu:Kinh tế"),
            ("/chu-de/chuyen-doi-so,t12.vnp", "Chuyển đổi số: những câu chuyện thành công"),
            ("/su-kien/ky-hop-hdnd-tinh,e88.vnp", "Kỳ họp thứ 12 Hội đồng nhân dân tỉnh khóa XVII")],
    pager="<div class='pages'><a href='/thoi-su/trang-2.vnp'>2</a></div>"), "/thoi-su/trang-2.vnp")

# 5. a home page: "Xem tiếp" under every teaser, a featured story above the list
_add(Layout(
    "read-more", "/",
    article=lambda i: f"/Tin-tuc/Chi-tiet/{3300 + i}/{i}",
    item=lambda i, p: (f"<div class='news'><span class='t'><a href='{p}'>{escape(headline(i))}</a></span>"
                       f"<div class='s'>{escape(teaser(i))} <a href='{p}'>Xem tiếp</a></div></div>"),
    wrap=lambda items: f"<div class='home-news'>{items}</div>",
    others=[("/Gioi-thieu", "menu:Giới thiệu"), ("/Van-ban", "menu:Văn bản"), ("/Lien-he", "menu:Liên hệ"),
            ("/Tin-tuc/Danh-muc/4/Kinh-te", "Kinh tế"), ("/Su-kien/Chi-tiet/12/0", "Lễ hội văn hóa các dân tộc năm 2025")],
    pager="<div class='pg'><a href='/?trang=2'>Trang 2</a></div>"), "/?trang=2")


# ---------------------------------------------------------------- held out
# Written after the probe and the listing check were done (this session), in URL shapes and markup
# no earlier layout or rule used; their first run is reported apart in BENCHMARKS.md.

HELD_OUT: list[Layout] = []


# 6. numeric segments only; items as a definition list; an archive-year link shaped like an article
_add(Layout(
    "numeric-path", "/tin",
    article=lambda i: f"/tin/2025/{61200 + 37 * i}",
    item=lambda i, p: (f"<dt><a href='{p}'>{escape(headline(i))}</a></dt>"
                       f"<dd><small>{_dated(i)}</small> {escape(teaser(i))}</dd>"),
    wrap=lambda items: f"<dl class='ds-tin'>{items}</dl>",
    others=[("/", "menu:Trang chủ"), ("/chuyenmuc/12", "menu:Kinh tế"), ("/tin/2024", "Lưu trữ tin bài năm 2024 của cổng"),
            ("/hoidap/77", "Hỏi đáp về thủ tục hành chính trực tuyến mức độ 4")],
    pager="<div class='pg'><a href='/tin?pageindex=2'>Sau</a></div>"), "/tin?pageindex=2", HELD_OUT)

# 7. an .aspx page with ItemID and CateID; events use ItemID too (in the side box)
_add(Layout(
    "aspx-itemid", "/Pages/TinTuc.aspx?CateID=5",
    article=lambda i: f"/Pages/TinTuc.aspx?CateID=5&ItemID={3312 + i}",
    item=lambda i, p: (f"<div class='card'><div class='card-body'><h5 class='card-title'><a href='{escape(p)}'>"
                       f"{escape(headline(i))}</a></h5><p class='card-text'>{escape(teaser(i))}</p>"
                       f"<p class='text-muted'>Cập nhật {_dated(i)}</p></div></div>"),
    wrap=lambda items: f"<div class='row cards'>{items}</div>",
    others=[("/Pages/Default.aspx", "menu:Trang chủ"), ("/Pages/TinTuc.aspx?CateID=7", "menu:Văn hóa - Xã hội"),
            ("/Pages/SuKien.aspx?ItemID=12", "Sự kiện: Tuần lễ chuyển đổi số tỉnh năm 2025"),
            ("/Pages/TinTuc.aspx?CateID=9", "Chuyên mục Cải cách hành chính và chuyển đổi số")],
    pager="<div class='pager'><a href='/Pages/TinTuc.aspx?CateID=5&Page=2'>2</a></div>"),
    "/Pages/TinTuc.aspx?CateID=5&Page=2", HELD_OUT)

# 8. a hex hash after the slug; items are paragraphs separated by line breaks
_add(Layout(
    "hash-suffix", "/thong-tin",
    article=lambda i: f"/bai/{headline(i).lower().split()[0]}-so-hoa-ho-so-dot-{i}-{(0x5f3a9c + 977 * i):x}e{i}",
    item=lambda i, p: f"<p class='row-item'><a href='{escape(p)}'><b>{escape(headline(i))}</b></a><br>"
                      f"<i>{_dated(i)}</i> — {escape(teaser(i))}</p>",
    wrap=lambda items: f"<div id='ctl00_list'>{items}</div>",
    others=[("/", "menu:Trang chủ"), ("/chu-de/chuyen-doi-so-f3e2a1", "menu:Chuyển đổi số"),
            ("/bai/gioi-thieu-chung-ve-cong-thong-tin-9c1d2e", "Giới thiệu chung về cổng thông tin điện tử"),
            ("/lich-cong-tac", "Lịch công tác tuần của lãnh đạo tỉnh")],
    pager="<div><a href='/thong-tin/p/2'>Tiếp</a></div>"), "/thong-tin/p/2", HELD_OUT)

# 9. a UUID as the article's last segment; a featured story above a table-less grid
_add(Layout(
    "uuid", "/news/list",
    article=lambda i: f"/news/view/3f2504e0-4f89-11d3-9a0c-{0x305e82c3301 + i:012x}",
    item=lambda i, p: (f"<section class='grid-cell'><a class='ttl' href='{escape(p)}'>{escape(headline(i))}</a>"
                       f"<time datetime='2025-10-{1 + i % 28:02d}'>{_dated(i)}</time></section>"),
    wrap=lambda items: f"<main><div class='grid'>{items}</div></main>",
    others=[("/", "menu:Home"), ("/news/topic/4f8a", "menu:Chuyển đổi số"),
            ("/news/view/1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed", "Giới thiệu Ban biên tập Cổng thông tin điện tử tỉnh"),
            ("/events/2025-hoi-nghi-so", "Hội nghị chuyển đổi số các tỉnh miền núi phía Bắc 2025")],
    pager="<nav class='pages'><a href='/news/list?page=2'>2</a></nav>"), "/news/list?page=2", HELD_OUT)
