"""What the spider hands to the pipelines: typed items (Scrapy reads dataclass items through
itemadapter), one class per kind of page, so a stage tells them apart with `isinstance`.

The fields are the hand-off between stages (docs/ARCHITECTURE.md, "Item fields between stages"):
a stage can only set a declared field, so a misspelt or undocumented key fails at once instead
of travelling silently. Items also read and write as mappings (`item["title"]`, `item.get(...)`,
`item.update(...)`), which is how the pure functions of each stage take them.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field, fields
from typing import Any, Iterator


class _Fields(MutableMapping):
    """Mapping access to a dataclass's declared fields (every field is a key; unset ones are None)."""

    _declared: dict[type, tuple[str, ...]] = {}  # per class: every stage reads items dozens of times

    def _names(self) -> tuple[str, ...]:
        names = _Fields._declared.get(type(self))
        if names is None:
            names = _Fields._declared[type(self)] = tuple(f.name for f in fields(self))
        return names

    def __getitem__(self, key: str) -> Any:
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._names():
            raise KeyError(f"{type(self).__name__} has no field {key!r}: declare it in crawler/items.py")
        setattr(self, key, value)

    def __delitem__(self, key: str) -> None:
        self[key] = None  # a declared field cannot go away; it is unset

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


@dataclass(eq=True)
class _Fetched(_Fields):
    """What the spider knows of any page it hands on: its source and where and when it was fetched."""

    source: str | None = None
    level: str | None = None                 # national | provincial
    province: str | None = None
    url: str | None = None                   # canonical, after redirects (and rel=canonical for articles)
    aliases: list[str] = field(default_factory=list)
    crawl_run_id: int | None = None
    fetched_at: str | None = None


@dataclass(eq=True)
class LinkingItem(_Fetched):
    """A page whose linked files are fetched (pipelines/attachments.py, Scrapy's FilesPipeline shape):
    the spider sets `file_urls` (and each one's link text); the files stage sets `files`."""

    file_urls: list[str] | None = None       # the files (PDF, DOCX, ...) the page links, canonical, first seen first
    file_labels: dict[str, str] | None = None  # file URL -> its link text
    files: list[dict] | None = None          # one result per file: url, status, document_id, outcome


@dataclass(eq=True)
class ArticleItem(LinkingItem):
    """A page taken as an article, from the spider to the store."""

    # set by the spider
    html: str | None = None
    feed_published: str | None = None
    feed_title: str | None = None
    selectors: dict | None = None            # the source's extraction selectors, when it has any
    # extraction
    title: str | None = None
    published: str | None = None
    author: str | None = None
    credit: str | None = None
    lead: str | None = None
    text: str | None = None
    content_hash: str | None = None
    cleaning: str | None = None
    # relevance
    relevant: bool | None = None
    relevance_score: float | None = None
    keywords: list[str] | None = None
    # facts: one field per fact kind, named after its table (pipelines/kinds/)
    figures: list[dict] | None = None
    directives: list[dict] | None = None
    instructions: list[dict] | None = None
    # stories and the store
    story_signature: Any = None
    article_id: int | None = None


@dataclass(eq=True)
class FileLinksItem(LinkingItem):
    """A page read only for the files it links: a source's `documents:` page (a portal's "Văn bản"
    listing), or a document's own HTML page behind a "Văn bản" link (`depth` 1: not followed further)."""

    cited_by: str | None = None              # the article whose link led here (None for a `documents:` page)
    depth: int = 0


@dataclass(eq=True)
class DocumentItem(_Fetched):
    """A downloaded file (PDF, DOCX, ODT, XLSX), from the files stage to the document stage
    (pipelines/attachments.py -> pipelines/documents.py read_document, store_document)."""

    cited_by: str | None = None              # the article URL that linked it
    label: str | None = None                 # the link text
    body: bytes | None = None
    content_type: str | None = None
    filename: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    status: str | None = None                # set by the files stage for a file over the size limit
    error: str | None = None
    # the documents stage
    document_id: int | None = None
    outcome: str | None = None
