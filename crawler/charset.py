"""Which charset to read a page with: shared by the crawl's charset middleware and `extract`
(the same bytes must decode the same way whichever path reads them)."""

from __future__ import annotations

from charset_normalizer import from_bytes
from w3lib.encoding import resolve_encoding


def repaired_encoding(body: bytes, declared: str | None) -> str | None:
    """The encoding to read an HTML body with when its declared charset is wrong or missing; None to keep it.

    Modern portals are UTF-8 but some send no charset or ISO-8859-1/windows-1252; legacy pages
    are windows-1258 and are sometimes labelled UTF-8.
    """
    declared = resolve_encoding(declared) if declared else None
    try:
        body.decode("utf-8")
        valid_utf8 = True
    except UnicodeDecodeError:
        valid_utf8 = False
    if valid_utf8:
        if declared != "utf-8" and not body.isascii():
            return "utf-8"
        return None
    if declared in (None, "utf-8", "cp1252", "iso8859-1", "ascii", "latin-1"):
        best = from_bytes(body, cp_isolation=["cp1258", "cp1252"]).best()
        guess = resolve_encoding(best.encoding) if best else None
        return guess if guess and guess != declared else "cp1258"
    return None
