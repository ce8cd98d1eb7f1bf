"""Relevance and facts during a real crawl: a loopback portal, `dxwatch crawl` in a subprocess, SQLite."""

from __future__ import annotations

import json
from html import escape

import sqlite_utils

from servers import Page
from helpers import crawl, write_config

FARM_TEXT = [
    "Theo Quyết định số 1845/QĐ-UBND ngày 12/7/2025, tỉnh hỗ trợ hợp tác xã đưa nông sản lên sàn giao dịch.",
    "Năm 2025, tỉnh đã tiêu thụ 1.250 tấn nông sản qua các kênh mới, tăng 18% so với năm trước.",
    "Chủ tịch UBND tỉnh giao Sở Nông nghiệp và Môi trường tổng kết mô hình trước ngày 15/12/2025.",
]
SPORT_TEXT = [
    "Hơn 1.500 vận động viên tham gia giải việt dã truyền thống của tỉnh, cự ly dài nhất 10 km.",
    "Ban tổ chức trao 30 bộ huy chương cho các vận động viên xuất sắc ở các nhóm tuổi.",
    "Giải chạy năm nay có thêm nội dung dành cho học sinh trung học và người cao tuổi.",
]


def page(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (f"<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
            f"<body><article><h1>{escape(title)}</h1><div class='date'>Ngày đăng: 20/11/2025 09:15</div>"
            f"<div class='content'>{body}</div></article></body></html>")


def test_source_keywords_facts_and_province_scoped_keys_reach_the_database(portal, tmp_path, db_path):
    farm, sport = "/tin-tuc/nong-san-len-san-2001.html", "/tin-tuc/giai-viet-da-2002.html"
    portal.routes["/tin-tuc/index.html"] = Page(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body><ul class='news'>"
        f"<li><a href='{farm}'>Nông sản lên sàn giao dịch</a></li><li><a href='{sport}'>Giải việt dã</a></li>"
        "</ul></body></html>")
    portal.routes[farm] = Page(page("Nông sản của tỉnh lên sàn giao dịch", FARM_TEXT))
    portal.routes[sport] = Page(page("Giải việt dã truyền thống", SPORT_TEXT))
    cfg = write_config(tmp_path / "cfg", [{"name": "laocai", "keywords": ["nông sản"],
                                          "start_urls": [portal.url("/tin-tuc/index.html")]}])
    result = crawl(cfg, db_path)
    assert result.returncode == 0, result.stdout + result.stderr

    db = sqlite_utils.Database(db_path)
    articles = {r["url"]: r for r in db.query("SELECT * FROM articles")}
    farm_row, sport_row = articles[portal.url(farm)], articles[portal.url(sport)]
    assert farm_row["relevant"] == 1 and "nông sản" in json.loads(farm_row["keywords"])  # only via the source
    assert sport_row["relevant"] == 0

    [directive] = db.query("SELECT * FROM directives WHERE article_id = ?", [farm_row["id"]])
    assert (directive["key"], directive["number"], directive["date"]) == (
        "1845/QĐ-UBND (Lào Cai)", "1845/QĐ-UBND", "2025-07-12")
    figures = {(f["kind"], f["value"], f["unit"]) for f in db.query(
        "SELECT * FROM figures WHERE article_id = ?", [farm_row["id"]])}
    assert {("count", 1250.0, "tấn"), ("change", 18.0, "%")} <= figures
    [instruction] = db.query("SELECT * FROM instructions WHERE article_id = ?", [farm_row["id"]])
    assert (instruction["directed"], instruction["deadline"]) == ("Sở Nông nghiệp và Môi trường", "trước ngày 15/12/2025")
