"""Decoding damage stays local: a stray byte or a multibyte character cut in half in a UTF-8 page
costs that one character, not the whole page (crawled from a loopback portal; pages that really are
windows-1258 are still repaired)."""

from __future__ import annotations

import unicodedata

import sqlite_utils

from servers import Page
from helpers import article_html, article_path, crawl, listing_html, to_cp1258, write_config
from crawler.charset import repaired_encoding, utf8_damage


def damaged(i: int) -> bytes:
    """Article i in UTF-8 with an invalid byte in its first paragraph and a character cut in half (the
    first two of its three bytes, as a CMS teaser cut leaves it) before the author line."""
    page = article_html(i).encode("utf-8")
    page = page.replace("Ủy ban".encode(), b"\xff\xfe" + "Ủy ban".encode(), 1)
    cut = "ể".encode("utf-8")[:2]
    return page.replace(b"<p class='author'>", cut + b"<p class='author'>", 1)


def test_a_few_bad_bytes_do_not_turn_a_utf8_page_into_another_charset():
    page = damaged(1)
    good, bad = utf8_damage(page)
    assert bad >= 2 and good > 100
    assert repaired_encoding(page, "utf-8") is None  # keep UTF-8; the bad spots become U+FFFD
    assert repaired_encoding(page, None) == "utf-8"
    legacy = to_cp1258(article_html(2))
    assert repaired_encoding(legacy, "utf-8") == "cp1258"  # a real legacy page is still re-read


def test_invalid_bytes_in_a_vietnamese_article_keep_its_text_and_relevance(portal, tmp_path, db_path):
    paths = [article_path(i) for i in (1, 2, 3)]
    portal.routes["/tin-tuc"] = Page(listing_html(paths))
    portal.routes[paths[0]] = Page(damaged(1))                                     # labelled UTF-8
    portal.routes[paths[1]] = Page(damaged(2), content_type="text/html")           # no label at all
    portal.routes[paths[2]] = Page(to_cp1258(article_html(3)))                     # cp1258 labelled UTF-8
    cfg = write_config(tmp_path / "cfg", [{"name": "tinh", "start_urls": [portal.url("/tin-tuc")]}])
    assert crawl(cfg, db_path).returncode == 0
    rows = {r["url"]: r for r in sqlite_utils.Database(db_path).query("SELECT url, title, text, relevant FROM articles")}
    assert len(rows) == 3
    for path in paths:
        row = rows[portal.url(path)]
        assert row["title"] == unicodedata.normalize("NFC", row["title"]) and "đẩy mạnh chuyển đổi số" in row["title"]
        assert "chuyển đổi số" in row["text"] and "Ủy ban nhân dân tỉnh" in row["text"]
        assert "Ã" not in row["text"] and "á»" not in row["text"]  # no mojibake anywhere
        assert row["relevant"] == 1
