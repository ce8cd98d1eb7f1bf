"""The issue 2 contract, end to end through the CLI, against portals these tests own (not the demo).

crawl -> export (every field of the contract) -> digest send to a real SMTP server -> a second crawl
downloads no article again -> a second send sends nothing.
"""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from crawler import timeutil
from helpers import dxwatch
from servers import Page

pytestmark = pytest.mark.slow

DAY = timeutil.now().replace(microsecond=0) - timedelta(days=1)
EARLIER = DAY - timedelta(days=2)
VN_DAY = f"{DAY:%d/%m/%Y}"


def shell(title: str, main: str, head: str = "") -> str:
    """A ministry-style page: menu, breaking-news ticker, sidebar with other dates, footer counter."""
    return f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{title} - Bộ Thử nghiệm</title>{head}</head>
<body><div id="menu"><a href="/">Trang chủ</a> <a href="/tin-tuc/">Tin tức</a> <a href="/lien-he">Liên hệ</a></div>
<div class="ticker">Tin nóng: Hội nghị trực tuyến toàn quốc về khoa học công nghệ ngày 01/01/2020</div>
<div id="content">{main}</div>
<div id="sidebar"><h4>Tin đọc nhiều</h4><ul><li><a href="/tin-tuc/khac.html">Một tin khác</a> (03/02/2021)</li></ul>
<div class="counter">Số lượt truy cập: 8.765.432 | Đang online: 88</div></div>
<div id="footer">Bản quyền thuộc Bộ Thử nghiệm. Ghi rõ nguồn khi đăng lại.</div></body></html>"""


NATIONAL_STORY = [
    "Bộ Thử nghiệm vừa công bố báo cáo về chữ ký số. Theo báo cáo, tỷ lệ doanh nghiệp nhỏ sử dụng chữ ký "
    "số trong giao dịch điện tử đạt 16,5%, cả nước đã cấp 2.939.433 chứng thư chữ ký số cho cá nhân.",
    "Việc triển khai thực hiện theo Quyết định số 2971/QĐ-UBND ngày 22/8/2023 và các chương trình chuyển đổi "
    "số quốc gia. Doanh thu từ dịch vụ số của doanh nghiệp ước đạt 7,5 tỷ USD trong năm.",
    "Bộ trưởng yêu cầu các đơn vị trực thuộc hoàn thành việc tích hợp chữ ký số vào hệ thống quản lý văn "
    "bản trước ngày 30/12/2030.",
]


def article(title: str, when, paragraphs: list[str], author: str | None, extra: str = "") -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    byline = f'<p class="author"><strong>{author}</strong></p>' if author else ""
    return shell(title, f"""<article><h1 class="post-title">{title}</h1>
<div class="post-meta">Ngày đăng: {when:%d/%m/%Y} {when:%H:%M} | <a href="/in-bai">In bài</a> | Chia sẻ: Facebook Zalo</div>
<div class="post-body">{body}{byline}{extra}</div>
<div class="related"><h4>Tin cùng chuyên mục</h4><ul><li><a href="/tin-tuc/cu.html">Bài cũ hơn</a> ({EARLIER:%d/%m/%Y})</li></ul></div>
<div class="comments">Gửi bình luận của bạn (vui lòng gõ tiếng Việt có dấu)</div></article>""")


@pytest.fixture
def portals():
    from servers import PortalServer

    with PortalServer() as national, PortalServer() as province:
        national.routes.update({
            "/tin-tuc/": Page(shell("Tin tức", f"""
                <div class="list"><h3><a href="/tin-tuc/chu-ky-so-doanh-nghiep-nho-101.html?utm_source=trangchu#binh-luan">
                Chữ ký số lan rộng tới doanh nghiệp nhỏ</a></h3><span>{VN_DAY}</span>
                <h3><a href="/tin-tuc/du-bao-thoi-tiet-cuoi-tuan-102.html">Dự báo thời tiết cuối tuần</a></h3><span>{VN_DAY}</span></div>
                <div class="paging"><b>1</b> <a href="/tin-tuc/trang-2/">2</a> <a href="/tin-tuc/trang-2/">Trang sau »</a></div>""")),
            "/tin-tuc/trang-2/": Page(shell("Tin tức - Trang 2", """
                <div class="list"><h3><a href="/tin-tuc/toa-dam-du-lieu-mo-103.html">Tọa đàm dữ liệu mở</a></h3></div>
                <div class="paging"><a href="/tin-tuc/">1</a> <b>2</b></div>""")),
            "/tin-tuc/chu-ky-so-doanh-nghiep-nho-101.html": Page(article(
                "Chữ ký số lan rộng tới doanh nghiệp nhỏ", DAY, NATIONAL_STORY, "NGUYỄN VĂN AN")),
            "/tin-tuc/du-bao-thoi-tiet-cuoi-tuan-102.html": Page(article(
                "Dự báo thời tiết cuối tuần", DAY, [
                    "Cuối tuần này, khu vực Bắc Bộ có mưa rào rải rác, nhiệt độ thấp nhất từ 17 đến 19 độ C.",
                    "Vùng núi cao có nơi rét đậm; người dân cần chú ý giữ ấm cho trẻ nhỏ và người già."], "Minh Thư")),
            "/tin-tuc/toa-dam-du-lieu-mo-103.html": Page(article(
                "Tọa đàm &lt;b&gt;dữ liệu mở&lt;/b&gt; &amp; chuyển đổi số", EARLIER, [
                    "Tọa đàm bàn về việc công bố dữ liệu mở phục vụ chuyển đổi số, với hơn 200 đại biểu tham dự.",
                    "Các đại biểu thống nhất kiến nghị chuẩn hóa danh mục dữ liệu dùng chung trong năm tới."], None)),
        })
        copy = article("Chữ ký số lan rộng tới doanh nghiệp nhỏ", DAY + timedelta(hours=3), NATIONAL_STORY,
                       "Nguyễn Văn An", extra="<p><em>Nguồn: Bộ Thử nghiệm</em></p>")
        own = article("Tỉnh Thử nghiệm ban hành kế hoạch chuyển đổi số năm 2027", EARLIER, [
            "UBND tỉnh ban hành Kế hoạch số 88/KH-UBND ngày 05/11/2026 về chuyển đổi số năm 2027, đặt mục "
            "tiêu 80% hồ sơ thủ tục hành chính được xử lý trực tuyến toàn trình.",
            "Chủ tịch UBND tỉnh yêu cầu các sở, ngành xây dựng kế hoạch chi tiết, hoàn thành trước ngày 30/12/2030."],
            "Lê Thị Bình")
        province.routes.update({
            "/rss/chuyen-doi-so.rss": Page(f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
                <title>Chuyển đổi số</title><link>{province.base}/</link>
                <item><title>Chữ ký số lan rộng tới doanh nghiệp nhỏ</title><link>{province.base}/cds/chu-ky-so-201.html</link>
                <pubDate>{format_datetime(DAY + timedelta(hours=3))}</pubDate></item>
                <item><title>Tỉnh Thử nghiệm ban hành kế hoạch chuyển đổi số năm 2027</title><link>{province.base}/cds/ke-hoach-202.html</link>
                <pubDate>{format_datetime(EARLIER)}</pubDate></item></channel></rss>""",
                content_type="application/rss+xml; charset=utf-8"),
            "/cds/chu-ky-so-201.html": Page(copy),
            "/cds/ke-hoach-202.html": Page(own),
        })
        yield national, province


@pytest.fixture
def config_dir(tmp_path, portals, smtp):
    national, province = portals
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(f"""
settings:
  download_delay: 0
  retry_times: 0
sources:
  - name: bo-thu-nghiem
    title: Bộ Thử nghiệm
    level: national
    start_urls: [{national.base}/tin-tuc/]
  - name: tinh-thu-nghiem
    title: Cổng TTĐT tỉnh Thử nghiệm
    level: provincial
    province: Thử nghiệm
    feeds: [{province.base}/rss/chuyen-doi-so.rss]
""", encoding="utf-8")
    (config / "digests.yaml").write_text(f"""
smtp:
  host: 127.0.0.1
  port: {smtp.port}
  sender: dxwatch@example.vn
digests:
  - name: tuan
    recipients: [a@example.vn, b@example.vn]
""", encoding="utf-8")
    return config


def cli(config: Path, db: Path, *args: str) -> subprocess.CompletedProcess:
    result = dxwatch("--config", config, "--db", db, *args, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def article_requests(server) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request in server.log:
        path = request.path.split("?")[0]
        if path.endswith(".html") and ("/tin-tuc/" in path or "/cds/" in path) and request.method == "GET":
            counts[path] = counts.get(path, 0) + 1
    return counts


def test_crawl_export_digest_then_nothing_twice(tmp_path, portals, config_dir, smtp, db_target):
    """On SQLite and on PostgreSQL (db_target): the same contract, the same results."""
    national, province = portals
    db = db_target
    cli(config_dir, db, "crawl")

    rows = [json.loads(line) for line in cli(config_dir, db, "export", "--format", "jsonl").stdout.splitlines()]
    by_url = {row["url"]: row for row in rows}
    story_url = f"{national.base}/tin-tuc/chu-ky-so-doanh-nghiep-nho-101.html"
    assert set(by_url) == {story_url, f"{national.base}/tin-tuc/du-bao-thoi-tiet-cuoi-tuan-102.html",
                           f"{national.base}/tin-tuc/toa-dam-du-lieu-mo-103.html",
                           f"{province.base}/cds/chu-ky-so-201.html", f"{province.base}/cds/ke-hoach-202.html"}
    story = by_url[story_url]
    assert story["source"] == "bo-thu-nghiem"
    assert story["title"] == "Chữ ký số lan rộng tới doanh nghiệp nhỏ"
    assert story["published"] == timeutil.iso(DAY.replace(second=0))
    assert story["published"].endswith("+07:00")
    assert story["author"] and "AN" in story["author"].upper()
    assert story["text"].startswith("Bộ Thử nghiệm vừa công bố báo cáo")
    for row in rows:
        for furniture in ("8.765.432", "Trang chủ", "Tin đọc nhiều", "Gửi bình luận", "Bài cũ hơn", "Tin nóng",
                          "Ngày đăng", "Chia sẻ", "In bài"):
            assert furniture not in row["text"], (row["url"], furniture, row["text"][:300])
    assert story["relevant"] is True
    assert by_url[f"{national.base}/tin-tuc/du-bao-thoi-tiet-cuoi-tuan-102.html"]["relevant"] is False
    assert by_url[f"{national.base}/tin-tuc/toa-dam-du-lieu-mo-103.html"]["author"] is None

    figures = {f["raw"]: f for f in story["figures"]}
    assert figures["16,5%"]["value"] == 16.5 and figures["16,5%"]["unit"] == "%"
    assert figures["2.939.433"]["value"] == 2939433
    assert figures["7,5 tỷ USD"]["value"] == 7_500_000_000 and figures["7,5 tỷ USD"]["unit"] == "USD"
    assert all(f["context"] and f["raw"] in f["context"] for f in story["figures"])
    assert "8765432" not in {str(int(f["value"])) for f in story["figures"] if f["value"]}
    directive = next(d for d in story["directives"] if d["number"] == "2971/QĐ-UBND")
    assert directive["type"] == "Quyết định" and directive["date"] == "2023-08-22"
    assert directive["issuer"] and "UBND" in directive["issuer"]
    assert "Quyết định số 2971/QĐ-UBND" in directive["raw"] and directive["raw"] in directive["context"]
    plan = by_url[f"{province.base}/cds/ke-hoach-202.html"]
    assert any(d["number"] == "88/KH-UBND" and d["type"] == "Kế hoạch" for d in plan["directives"])

    copy = by_url[f"{province.base}/cds/chu-ky-so-201.html"]
    assert copy["story"] == story["story"] and copy["source"] == "tinh-thu-nghiem"

    def hits(query: str) -> set[str]:
        return {json.loads(line)["url"] for line in cli(config_dir, db, "search", query, "--json").stdout.splitlines()}

    signature = hits("chữ ký số")
    assert {story_url, copy["url"]} <= signature and plan["url"] not in signature
    assert hits("chu ky so") == signature, "a query without diacritics finds the same articles"
    assert hits("chữ ký số, 16,5%") == {story_url, copy["url"]}
    assert plan["story"] != story["story"]

    summary = cli(config_dir, db, "digest", "send", "tuan")
    assert len(smtp.messages) == 2, summary.stdout
    assert {m["To"].addresses[0].addr_spec for m in smtp.messages} == {"a@example.vn", "b@example.vn"}
    message = smtp.messages[0]
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Chữ ký số lan rộng tới doanh nghiệp nhỏ" in text and "Dự báo thời tiết" not in text
    assert "2971/QĐ-UBND" in text and "16,5%" in text
    assert "&lt;b&gt;dữ liệu mở&lt;/b&gt;" in html and "<b>dữ liệu mở</b>" not in html
    headlines = [line for line in text.splitlines() if line.startswith("* Chữ ký số lan rộng")]
    assert len(headlines) == 1 and "đăng trên 2 cổng" in text, "one entry per story, naming both portals"

    first = {**article_requests(national), **article_requests(province)}
    assert first and all(n == 1 for n in first.values()), first
    cli(config_dir, db, "crawl")
    again = {**article_requests(national), **article_requests(province)}
    assert again == first, "the second crawl downloaded a stored article again"
    assert len(cli(config_dir, db, "export").stdout.splitlines()) == len(rows)

    cli(config_dir, db, "digest", "send", "tuan")
    assert len(smtp.messages) == 2, "the second send must not deliver anything"
