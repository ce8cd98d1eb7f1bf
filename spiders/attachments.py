"""Requests for the documents articles link (PDF, Word, ODT, Excel), and their responses as items.

A source's crawl (`spiders.portal.SourceCrawl`, the `spider` argument here) calls
`document_requests(spider, response, item)` on every article page. A file is
fetched once: a URL already stored is not asked again, except conditionally (ETag /
Last-Modified, by the middleware of spiders/conditional.py) when the server gave validators, so a changed file is read again and an unchanged
one costs a 304 (a file that was over the size limit is asked again: the limit may have changed). Links are recorded as the article is read, so forty articles linking one file
are forty links to one document however the requests interleave. Files over the size limit are
cut off by Scrapy and recorded `too_large`; robots.txt applies as to every request.
"""

from __future__ import annotations

import re
from email.message import Message
from functools import partial
from urllib.parse import parse_qsl, unquote, urlsplit

import scrapy
from scrapy.http import TextResponse

from crawler import timeutil
from crawler.db.documents import TOO_LARGE, record_links, stored_documents
from crawler.items import DocumentItem
from crawler.textnorm import match_key, normalize_text
from crawler.urls import canonical_url, is_same_site
from spiders.conditional import not_modified, response_validators

DEFAULT_MAX_BYTES = 20_000_000
STAT = "documents_"

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


def _max_bytes(spider) -> int:
    return spider.crawler.settings.getint("DXWATCH_DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES)


def _stat(spider, key: str, count: int = 1) -> None:
    spider._stat(STAT + key, count)  # counted for the article's source


def document_requests(spider, response, item: dict | None, depth: int = 0) -> list[scrapy.Request]:
    """Requests for the documents `response` links that are not stored yet (or may have changed)."""
    if spider.db is None or not isinstance(response, TextResponse):
        return []
    links = document_links(response, spider.rules.hosts, files_only=depth > 0)
    if not links:
        return []
    cited_by = item["url"] if item else None
    if cited_by:
        record_links(spider.db, [(url, cited_by) for url, _ in links])
    stored = stored_documents(spider.db, [url for url, _ in links])
    requests = []
    for url, label in links:
        known = stored.get(url)
        if known and not (known["etag"] or known["last_modified"]) and known["status"] != TOO_LARGE:
            _stat(spider, "known")
            continue  # a file over the limit is asked again: the limit may have been raised
        _stat(spider, "requested")
        max_bytes = _max_bytes(spider)
        requests.append(scrapy.Request(  # a stored file is asked conditionally: spiders/conditional.py
            url, priority=5,
            callback=partial(parse_document, spider), errback=partial(document_error, spider),
            meta={"kind": "document", "cited_by": cited_by, "label": label, "depth_in_documents": depth,
                  "download_maxsize": max_bytes, "download_warnsize": max_bytes // 2},
        ))
    return requests


def document_listing_requests(spider, source) -> list[scrapy.Request]:
    """Requests for a source's `documents:` pages (a portal's "Văn bản" listing): files they link."""
    return [scrapy.Request(url, callback=partial(parse_document_listing, spider), errback=spider.on_error,
                           meta={"kind": "document_listing"})
            for url in source.documents]


def parse_document_listing(spider, response):
    _stat(spider, "listing_pages")
    yield from document_requests(spider, response, None)


def _base_item(spider, cited_by: str | None, label: str | None) -> dict:
    source = spider.source
    return {"source": source.name, "level": source.level, "province": source.province,
            "cited_by": cited_by, "label": label or None, "crawl_run_id": spider.crawl_run_id,
            "fetched_at": timeutil.iso()}


def _filename(response) -> str | None:
    disposition = response.headers.get("Content-Disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition.decode("latin-1")
        name = message.get_filename()
        if name:
            return normalize_text(name)
    last = unquote(urlsplit(response.url).path.rsplit("/", 1)[-1])
    return normalize_text(last) or None


def parse_document(spider, response):
    """The downloaded file as a document item; an HTML page behind a "Văn bản" link is searched once more."""
    meta = response.meta
    url = canonical_url(response.url)
    if not_modified(response):  # counted and recorded by the conditional-request middleware
        return
    content_type = (response.headers.get("Content-Type") or b"").decode("latin-1") or None
    if isinstance(response, TextResponse) and content_type and "html" in content_type.lower():
        _stat(spider, "html_pages")
        if meta.get("depth_in_documents", 0) == 0:  # a document's own page: its file links, one level deep
            yield from document_requests(spider, response, {"url": meta["cited_by"]} if meta.get("cited_by") else None,
                                         depth=1)
        return
    aliases = {canonical_url(response.request.url), *(canonical_url(u) for u in meta.get("redirect_urls", []))}
    aliases.discard(url)
    yield DocumentItem(**_base_item(spider, meta.get("cited_by"), meta.get("label")),
                       url=url, aliases=sorted(aliases), body=response.body, content_type=content_type,
                       filename=_filename(response), **response_validators(response))


def document_error(spider, failure):
    """A file over the size limit is recorded (`too_large`); any other failure is a crawl error."""
    from scrapy.exceptions import DownloadCancelledError
    from twisted.internet.defer import CancelledError

    request = failure.request
    if failure.check(DownloadCancelledError, CancelledError):
        _stat(spider, "too_large")
        yield DocumentItem(**_base_item(spider, request.meta.get("cited_by"), request.meta.get("label")),
                           url=canonical_url(request.url), aliases=[], body=b"", content_type=None,
                           filename=unquote(urlsplit(request.url).path.rsplit("/", 1)[-1]) or None,
                           status=TOO_LARGE, error=failure.getErrorMessage()[:500])
        return
    spider.on_error(failure)
