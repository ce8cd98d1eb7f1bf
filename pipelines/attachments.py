"""The files stage: downloads the documents an item links, in the shape of Scrapy's FilesPipeline.

The spider puts the document links it finds on a page into the item (`file_urls`, and each
one's link text in `file_labels`): an article page, a source's `documents:` page (a
`FileLinksItem`). This stage issues the download requests from the item (`get_media_requests`),
skips a stored file that cannot have changed (`media_to_download`), hands each downloaded file to
the document stage (`file_downloaded`: pipelines/documents.py reads it, crawler/db/documents.py
stores it) and puts one result per file into the item (`item_completed` -> `files`). An HTML page
behind a "Văn bản" link (a document's own page) is read for its file links once more, as a
`FileLinksItem` of depth 1 processed by this same stage.

Why Scrapy's `MediaPipeline` and not `FilesPipeline` itself: FilesPipeline keeps the bytes in a
files store (FSFilesStore on disk, S3, ...) under a checksum path and decides a re-download by
the stored file's age (FILES_EXPIRES). dxwatch keeps no bytes: a file is read once into its
text, header and facts, which is all anything downstream uses, and whether to fetch it again is
the server's answer to a conditional request (spiders/conditional.py). Keeping every file on
disk would grow the data directory by the size of every PDF of every portal for nothing, and a
FilesPipeline subclass would override every method it adds to MediaPipeline. MediaPipeline
gives what matters: each URL downloaded once per crawl however many items link it, an item
waiting for its files, and downloads through every downloader middleware (robots.txt, the site
guard, retries, conditional requests, size limits).

A file is fetched once: a URL already stored is not asked again, except conditionally (ETag /
Last-Modified) when the server gave validators, so a changed file is read again and an unchanged
one costs a 304 (a file that was over the size limit is asked again: the limit may have
changed). Links are recorded as the item arrives, so forty articles linking one file are forty
links to one document however the downloads interleave. Files over the size limit are cut off by
Scrapy and recorded `too_large`. The stage runs before extraction, so the files of every page
read as an article are fetched, as the spider did before, whatever extraction makes of it.
"""

from __future__ import annotations

from email.message import Message
from urllib.parse import unquote, urlsplit

import scrapy
from scrapy.http import TextResponse
from scrapy.pipelines.media import MediaPipeline
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure

from crawler import timeutil
from crawler.db import database_errors
from crawler.db.documents import TOO_LARGE, record_links, stored_documents
from crawler.filelinks import document_links
from crawler.items import DocumentItem, FileLinksItem, LinkingItem
from crawler.runstats import source_key
from crawler.textnorm import normalize_text
from crawler.urls import canonical_url
from pipelines.documents import DEFAULT_MAX_CHARS, DEFAULT_MAX_PAGES, read_document, store_document
from pipelines.storage import DatabasePipeline, StorageFailed

DEFAULT_MAX_BYTES = 20_000_000
STAT = "documents_"


class AttachmentsPipeline(MediaPipeline):
    """Scrapy's media pipeline for documents: requests from `file_urls`, results into `files`.

    Settings: DXWATCH_DB_PATH (none in a dry run: no file is fetched), DXWATCH_DOCUMENT_MAX_BYTES,
    DXWATCH_DOCUMENT_MAX_PAGES, DXWATCH_DOCUMENT_MAX_CHARS; MEDIA_ALLOW_REDIRECTS (on in
    crawler/settings.py: a download handler often redirects to the file).
    """


    def __init__(self, crawler):
        super().__init__(crawler=crawler)
        settings = crawler.settings
        self.database = DatabasePipeline.from_crawler(crawler)
        self.stats = crawler.stats
        self.max_bytes = settings.getint("DXWATCH_DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES)
        self.max_pages = settings.getint("DXWATCH_DOCUMENT_MAX_PAGES", DEFAULT_MAX_PAGES)
        self.max_chars = settings.getint("DXWATCH_DOCUMENT_MAX_CHARS", DEFAULT_MAX_CHARS)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def open_spider(self, spider=None):
        super().open_spider()
        self.database.open_spider()

    def close_spider(self, spider=None):
        self.database.close_spider()

    @property
    def db(self):
        return self.database.db

    # ------------------------------------------------------------ helpers

    def _stat(self, source: str | None, key: str) -> None:
        self.stats.inc_value(source_key(source, STAT + key))

    def _crawl_for(self, request_or_item):
        """The source's part of the spider (spiders.portal.SourceCrawl): its hosts, its errors."""
        spider = self.crawler.spider
        return spider.crawl_for(request_or_item) if hasattr(spider, "crawl_for") else None

    def _record_failure(self, failure: Failure, request) -> None:
        failure.request = request  # as Scrapy gives it to an errback
        crawl = self._crawl_for(request)
        if crawl is not None:
            crawl.on_error(failure)

    # ------------------------------------------------------------ FilesPipeline's interface

    def get_media_requests(self, item, info):
        """One request per linked file; the links are recorded first (an article cites the file
        whether or not it is fetched now)."""
        if not isinstance(item, LinkingItem) or not item.get("file_urls") or self.db is None:
            return []
        cited_by = item["url"] if not isinstance(item, FileLinksItem) else item.get("cited_by")
        if cited_by:
            try:
                record_links(self.db, [(url, cited_by) for url in item["file_urls"]])
            except database_errors() as exc:
                crawl = self._crawl_for(item)
                if crawl is not None:
                    crawl.write_failed(exc)
                return []
        depth = item.get("depth") or 0
        labels = item.get("file_labels") or {}
        requests = []
        for url in item["file_urls"]:
            request = scrapy.Request(url, meta={
                "kind": "document", "source": item["source"], "cited_by": cited_by, "label": labels.get(url),
                "depth_in_documents": depth, "item_fields": _source_fields(item),
                "download_maxsize": self.max_bytes, "download_warnsize": self.max_bytes // 2})
            if depth and self.crawler.request_fingerprinter.fingerprint(request) in info.downloading:
                continue  # being fetched for another page already: waiting for it here could wait on ourselves
            requests.append(request)
        return requests

    def media_to_download(self, request, info, *, item=None):
        """A stored file without validators is not asked again (unless it was over the size limit)."""
        known = stored_documents(self.db, [request.url]).get(request.url)
        source = request.meta["source"]
        if known and not (known["etag"] or known["last_modified"]) and known["status"] != TOO_LARGE:
            self._stat(source, "known")
            return {"url": request.url, "status": "known", "document_id": known["id"]}
        self._stat(source, "requested")
        return None

    async def media_downloaded(self, response, request, info, *, item=None):
        """A 304 (counted by spiders/conditional.py), an HTTP error, a document's HTML page, or a file."""
        url = canonical_url(request.url)
        if response.status == 304:
            return {"url": url, "status": "not_modified"}
        if not 200 <= response.status < 300:
            self._record_failure(Failure(HttpError(response, "Ignoring non-200 response")), request)
            return {"url": url, "status": f"http_{response.status}"}
        content_type = _content_type(response)
        if isinstance(response, TextResponse) and content_type and "html" in content_type.lower():
            return await self._document_page(response, request, url)
        return await self.file_downloaded(response, request, info, item=item)

    async def _document_page(self, response, request, url: str) -> dict:
        """An HTML page behind a "Văn bản" link: its file links, one level deep."""
        meta = request.meta
        self._stat(meta["source"], "html_pages")
        crawl = self._crawl_for(request)
        if meta.get("depth_in_documents", 0) == 0 and crawl is not None:
            links = document_links(response, crawl.rules.hosts, files_only=True)
            if links:
                await self.process_item(FileLinksItem(
                    **meta["item_fields"], url=url, cited_by=meta.get("cited_by"), depth=1,
                    file_urls=[u for u, _ in links], file_labels=dict(links)))
        return {"url": url, "status": "html"}

    async def file_downloaded(self, response, request, info, *, item=None) -> dict:
        """The file, read off the reactor thread (a large PDF takes seconds) and stored by the document stage."""
        meta = request.meta
        url = canonical_url(response.url)
        aliases = {canonical_url(request.url), *(canonical_url(u) for u in meta.get("redirect_urls", []))}
        aliases.discard(url)
        document = DocumentItem(**meta["item_fields"], fetched_at=timeutil.iso(), cited_by=meta.get("cited_by"),
                                label=meta.get("label") or None, url=url, aliases=sorted(aliases), body=response.body,
                                content_type=_content_type(response),
                                filename=_filename(response), **response.meta.get("validators", {}))
        record = await maybe_deferred_to_future(deferToThread(read_document, document, self.max_pages, self.max_chars))
        return self._store(document, record)

    def media_failed(self, failure, request, info):
        """A file over the size limit is recorded (`too_large`); any other failure is a crawl error
        of the file's source (a failed write was recorded by DatabasePipeline.write).

        Handled here, so nothing is raised: MediaPipeline logs a raised failure with its traceback,
        and the crawl's log has one line per error. The file then has no result in `files`.
        """
        from scrapy.exceptions import DownloadCancelledError
        from twisted.internet.defer import CancelledError

        if failure.check(DownloadCancelledError, CancelledError):
            document = DocumentItem(**request.meta["item_fields"], fetched_at=timeutil.iso(),
                                    cited_by=request.meta.get("cited_by"),
                                    label=request.meta.get("label") or None, url=canonical_url(request.url),
                                    aliases=[], body=b"", content_type=None,
                                    filename=unquote(urlsplit(request.url).path.rsplit("/", 1)[-1]) or None,
                                    status=TOO_LARGE, error=failure.getErrorMessage()[:500])
            self._stat(request.meta["source"], "too_large")
            try:
                self._store(document, read_document(document))
            except StorageFailed:
                pass  # recorded on the source's run by DatabasePipeline.write; the crawl stops
        elif not failure.check(StorageFailed):
            self._record_failure(failure, request)

    def item_completed(self, results, item, info):
        if isinstance(item, LinkingItem) and results:
            item["files"] = [value for ok, value in results if ok and value]
        return item

    def file_path(self, request, response=None, info=None, *, item=None) -> str:
        """Files are not kept (module docstring): a document is known by its canonical URL."""
        return canonical_url(request.url)

    # ------------------------------------------------------------ the document stage

    def _store(self, document: DocumentItem, record: dict) -> dict:
        document_id, outcome = self.database.write(document, store_document, self.db, document, record)
        self._stat(document["source"], outcome)
        self._stat(document["source"], "status/" + record["status"])
        return {"url": document["url"], "status": record["status"], "document_id": document_id, "outcome": outcome}


def _source_fields(item) -> dict:
    """What every fetched page of the source carries, for the documents its item links."""
    return {"source": item["source"], "level": item.get("level"), "province": item.get("province"),
            "crawl_run_id": item.get("crawl_run_id")}


def _content_type(response) -> str | None:
    return (response.headers.get("Content-Type") or b"").decode("latin-1") or None


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
