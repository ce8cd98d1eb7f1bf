"""Which links on a page lead to documents (PDF, Word, ODT, Excel): `document_links(response, hosts)`.

Used by the spider to fill an item's `file_urls` (an article page, a source's `documents:` page)
and by the files stage (pipelines/attachments.py) on a document's own HTML page. Plain parsing
of a Scrapy response: which files to fetch, and how, is the files stage's business.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

from crawler.textnorm import match_key, normalize_text
from crawler.urls import canonical_url, is_same_site

DOCUMENT_FILE = re.compile(r"\.(?:pdf|docx?|odt|xlsx?)$", re.IGNORECASE)
# Link texts that promise the document itself behind a download handler without an extension
# ("/DownloadFile.aspx?id=12", "/van-ban/tai-ve/12"): followed, kept only if a file comes back.
DOCUMENT_LABELS = re.compile(
    r"^(?:tải về|tải xuống|tải tệp|tải văn bản|download|tệp đính kèm|file đính kèm|văn bản đính kèm|văn bản|"
    r"xem văn bản|toàn văn|xem toàn văn|nội dung văn bản)\b",
)


def _looks_like_file(url: str) -> bool:
    """A path ending .pdf/.docx/..., or a viewer/download URL whose query names such a file."""
    parts = urlsplit(url)
    if DOCUMENT_FILE.search(unquote(parts.path)):
        return True
    return any(DOCUMENT_FILE.search(unquote(v)) for _, v in parse_qsl(parts.query))


def document_links(response, hosts: set[str], files_only: bool = False) -> list[tuple[str, str]]:
    """Same-site document links on a page as `(canonical URL, link text)`, first seen first.

    Anchors, and the `iframe`/`embed`/`object` a portal uses to show a PDF inline; with
    `files_only`, links by their text alone ("Tải về") are left out.
    """
    found: dict[str, str] = {}
    candidates = [(a.attrib.get("href"), " ".join(a.css("::text").getall()) or a.attrib.get("title", ""))
                  for a in response.css("a[href]")]
    candidates += [(node.attrib.get("src") or node.attrib.get("data"), "")
                   for node in response.css("iframe[src], embed[src], object[data]")]
    for href, text in candidates:
        href = (href or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        url = canonical_url(response.urljoin(href))
        label = normalize_text(text)
        if url in found or not is_same_site(url, hosts):
            continue
        if _looks_like_file(url) or (not files_only and DOCUMENT_LABELS.match(match_key(label))):
            found[url] = label
    return list(found.items())
