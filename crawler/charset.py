"""Which charset to read a page with: shared by the crawl's charset middleware and `extract`
(the same bytes must decode the same way whichever path reads them)."""

from __future__ import annotations

import re

from charset_normalizer import from_bytes
from w3lib.encoding import resolve_encoding


# A well-formed UTF-8 sequence of two to four bytes (RFC 3629: no overlongs, no surrogates).
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
                             rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
                             rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}")
# UTF-8 with at least this many well-formed multibyte characters per damaged spot is UTF-8 with
# local damage (a stray byte, a character cut in half by a CMS teaser), not another charset.
MOSTLY_UTF8 = 4


def utf8_damage(body: bytes) -> tuple[int, int]:
    """`(well-formed multibyte UTF-8 characters, spots that are not UTF-8)` in `body`."""
    good = len(_UTF8_MULTIBYTE.findall(body))
    bad = body.decode("utf-8", errors="replace").count("\ufffd") - body.count("\ufffd".encode("utf-8"))
    return good, bad


def repaired_encoding(body: bytes, declared: str | None) -> str | None:
    """The encoding to read an HTML body with when its declared charset is wrong or missing; None to keep it.

    Modern portals are UTF-8 but some send no charset or ISO-8859-1/windows-1252; legacy pages
    are windows-1258 and are sometimes labelled UTF-8. A UTF-8 page with a few damaged bytes stays
    UTF-8 (each damaged spot becomes one U+FFFD): re-reading the whole page as cp1258 because of
    one bad byte would garble every Vietnamese letter in it.
    """
    declared = resolve_encoding(declared) if declared else None
    good, bad = utf8_damage(body)
    if not bad or good >= MOSTLY_UTF8 * bad:
        if declared != "utf-8" and not body.isascii():
            return "utf-8"
        return None
    if declared in (None, "utf-8", "cp1252", "iso8859-1", "ascii", "latin-1"):
        best = from_bytes(body, cp_isolation=["cp1258", "cp1252"]).best()
        guess = resolve_encoding(best.encoding) if best else None
        return guess if guess and guess != declared else "cp1258"
    return None
