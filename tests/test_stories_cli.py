"""Stories and search from the command line, after a real crawl of loopback portals that republish."""

from __future__ import annotations

import json
from html import escape

import pytest
from servers import Page
from helpers import ANNOUNCEMENT, OTHER_STORY, crawl, listing_html, run_dxwatch, write_config

LOCAL = "Tại địa phương, Sở Khoa học và Công nghệ đã cử cán bộ xuống từng xã hướng dẫn vận hành hệ thống mới."
SCHOOLS = [
    "Sáng 3/11, Sở Giáo dục và Đào tạo triển khai học bạ số cho toàn bộ các trường trung học trên địa bàn.",
    "Phụ huynh có thể theo dõi kết quả học tập của con qua ứng dụng trên điện thoại thay cho sổ liên lạc giấy.",
    "Các trường được yêu cầu hoàn thành việc cập nhật dữ liệu học sinh trước khi kết thúc học kỳ I.",
    "Sở cũng lưu ý bảo mật tài khoản của giáo viên và không chia sẻ mật khẩu cho người khác.",
]


def page(title: str, paragraphs: list[str], day: int) -> Page:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return Page("<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'>"
                f"<title>{escape(title)}</title></head><body><nav><a href='/'>Trang chủ</a></nav>"
                f"<article><h1>{escape(title)}</h1><div class='date'>Ngày đăng: {day:02d}/11/2025 09:15</div>"
                f"<div class='content'>{body}</div></article><footer>Cổng thông tin điện tử</footer></body></html>")


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """A national portal and a provincial one: one story carried by both, and one of each alone."""
    from servers import PortalServer

    tmp = tmp_path_factory.mktemp("stories_cli")
    with PortalServer() as portal:
        national = {
            "/bo/tin-tuc/chuyen-doi-so/so-ket-chuyen-doi-so-1001.html":
                page("Sơ kết chín tháng chuyển đổi số", ANNOUNCEMENT, 14),
            # the same article again under a second address on the same portal: stored once
            "/bo/tin-tuc/chuyen-doi-so/ban-in-so-ket-chuyen-doi-so-1002.html":
                page("Sơ kết chín tháng chuyển đổi số", ANNOUNCEMENT, 14),
            "/bo/tin-tuc/chuyen-doi-so/benh-an-dien-tu-1003.html": page("Tập huấn bệnh án điện tử", OTHER_STORY, 20),
        }
        provincial = {
            "/tinh/tin-tuc/chuyen-doi-so/tinh-so-ket-cds-2001.html":
                page("Tỉnh sơ kết công tác chuyển đổi số", ANNOUNCEMENT[:3] + [LOCAL] + ANNOUNCEMENT[3:], 15),
            "/tinh/tin-tuc/chuyen-doi-so/hoc-ba-so-2002.html": page("Triển khai học bạ số", SCHOOLS, 3),
        }
        for prefix, pages in (("/bo", national), ("/tinh", provincial)):
            portal.routes[f"{prefix}/tin-tuc/chuyen-doi-so.html"] = Page(listing_html(list(pages)))
            portal.routes.update(pages)
        cfg = write_config(tmp / "cfg", [
            {"name": "bo-khcn", "level": "national", "province": None,
             "start_urls": [portal.url("/bo/tin-tuc/chuyen-doi-so.html")]},
            {"name": "tinh-lao-cai", "start_urls": [portal.url("/tinh/tin-tuc/chuyen-doi-so.html")]},
        ])
        db_path = tmp / "dxwatch.db"
        result = crawl(cfg, db_path)
        assert result.returncode == 0, result.stdout + result.stderr
    return cfg, db_path


def dxwatch_json(crawled, *args: str) -> list[dict]:
    result = run_dxwatch(*crawled, *args, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_republication_across_portals_is_one_story_and_a_second_url_is_not_stored(crawled):
    stories = dxwatch_json(crawled, "stories")
    assert sum(s["article_count"] for s in stories) == 4  # 5 pages, the second address of one stored once
    shared = [s for s in stories if s["count"] == 2]
    assert len(shared) == 1
    story = shared[0]
    assert [m["source"] for m in story["sources"]] == ["bo-khcn", "tinh-lao-cai"]
    assert story["first_source"] == "bo-khcn" and story["title"] == "Sơ kết chín tháng chuyển đổi số"
    assert story["national"] == ["bo-khcn"] and story["provinces"] == ["Lào Cai"]
    assert dxwatch_json(crawled, "stories", "--min-sources", "2") == [story]


def test_stories_table_and_one_story(crawled):
    story = dxwatch_json(crawled, "stories", "--min-sources", "2")[0]
    listing = run_dxwatch(*crawled, "stories")
    assert listing.returncode == 0
    assert "Sơ kết chín tháng chuyển đổi số" in listing.stdout and "Lào Cai" in listing.stdout
    one = run_dxwatch(*crawled, "stories", str(story["story_id"]))
    assert one.returncode == 0 and "carried by 2 portals" in one.stdout
    assert "tinh-lao-cai" in one.stdout and "bo-khcn" in one.stdout
    missing = run_dxwatch(*crawled, "stories", "999")
    assert missing.returncode == 2 and "no story 999" in missing.stderr
    bad_day = run_dxwatch(*crawled, "stories", "--since", "yesterday")
    assert bad_day.returncode == 2 and "--since takes a duration" in bad_day.stderr
    assert dxwatch_json(crawled, "stories", "--since", "2999-01-01") == []


def test_search_without_diacritics_with_filters(crawled):
    found = dxwatch_json(crawled, "search", "to cong nghe so")
    assert {r["source"] for r in found} == {"bo-khcn", "tinh-lao-cai"}
    assert len({r["story"] for r in found}) == 1
    assert [r["title"] for r in dxwatch_json(crawled, "search", "hoc ba so")] == ["Triển khai học bạ số"]
    only = dxwatch_json(crawled, "search", "to cong nghe so", "--source", "tinh-lao-cai")
    assert [r["source"] for r in only] == ["tinh-lao-cai"]
    assert [r["title"] for r in dxwatch_json(crawled, "search", "bệnh án", "--since", "2025-11-16")] == [
        "Tập huấn bệnh án điện tử"]
    assert dxwatch_json(crawled, "search", "bệnh án", "--until", "2025-11-16") == []
    table = run_dxwatch(*crawled, "search", "hoc ba so")
    assert table.returncode == 0 and "học bạ số" in table.stdout


def test_search_reports_bad_input(crawled):
    bad_date = run_dxwatch(*crawled, "search", "so", "--since", "16/11/2025")
    assert bad_date.returncode == 2 and "--since takes a duration" in bad_date.stderr
    empty = run_dxwatch(*crawled, "search", " ; ")
    assert empty.returncode == 2 and "no words" in empty.stderr
    assert all("Traceback" not in r.stderr for r in (bad_date, empty))  # a message, no traceback
