"""Vietnamese text normalisation shared by every stage.

Portal text arrives in NFC, NFD, windows-1258 mixes and with look-alike characters
(Icelandic eth for Đ, en dashes in document numbers, NBSP). Everything is normalised
once at ingestion with `normalize_text`; matching keys use `match_key`.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

_CHAR_REPAIRS = str.maketrans(
    {
        "\u00d0": "Đ",  # Ð (eth) from cp1258 read as cp1252
        "\u00f0": "đ",
        "\u0189": "Đ",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\u2007": " ",
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
        "\u00ad": None,
    }
)

_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def nfc(text: str) -> str:
    """NFC only: for display strings that must keep their punctuation as written."""
    return unicodedata.normalize("NFC", text)


# The stages of one article (extraction, relevance, facts, stories) each normalise the same body
# and the same short labels: the last few hundred results are kept, so an article's text is
# normalised once, not about fifty times.
_CACHE = 512


@functools.lru_cache(maxsize=_CACHE)
def normalize_text(text: str | None) -> str:
    """NFC, repair look-alike characters, collapse spaces; keep paragraph breaks."""
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text).translate(_CHAR_REPAIRS)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return _BLANK_LINES.sub("\n\n", text).strip()


def strip_diacritics(text: str) -> str:
    """ASCII-fold Vietnamese ("chuyển đổi số" -> "chuyen doi so"); đ is mapped by hand."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_COMBINING = re.compile("[\u0300-\u036f]")


def fold(text: str) -> str:
    """Vietnamese without diacritics ("chuyển đổi số" -> "chuyen doi so"), one character per character.

    Same result as strip_diacritics on Vietnamese, with the marks removed by one regex instead of
    a per-character loop: the search index runs it on every stored body.
    """
    return _COMBINING.sub("", unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D")))


# Old-style tone placement (hoà, thuỷ, khoẻ) -> new style (hòa, thủy, khỏe), for matching keys.
_TONES = {
    "\u0300": "grave",
    "\u0301": "acute",
    "\u0303": "tilde",
    "\u0309": "hook",
    "\u0323": "dot",
}
_OLD_STYLE = re.compile(r"(?<![qQ])([oO][\u0300\u0301\u0303\u0309\u0323]?)([aAeE])([\u0300\u0301\u0303\u0309\u0323])(?!\w)|"
                        r"(?<![qQ])([uU])([yY])([\u0300\u0301\u0303\u0309\u0323])(?!\w)")


def tone_key(text: str) -> str:
    """Move the tone of word-final oa/oe/uy to the first vowel (hoà -> hòa); leaves quý alone."""
    decomposed = unicodedata.normalize("NFD", text)

    def move(m: re.Match) -> str:
        if m.group(1) is not None:
            first, second, tone = m.group(1), m.group(2), m.group(3)
        else:
            first, second, tone = m.group(4), m.group(5), m.group(6)
        return first[0] + tone + second

    return unicodedata.normalize("NFC", _OLD_STYLE.sub(move, decomposed))


@functools.lru_cache(maxsize=_CACHE)
def match_key(text: str) -> str:
    """Lower-cased, normalised, tone-placement-insensitive key for keyword and name matching."""
    return tone_key(normalize_text(text).lower())


def content_hash(text: str) -> str:
    """Hash of a body's matching key: the same article re-fetched, or copied, hashes the same."""
    return hashlib.sha256(match_key(text).encode("utf-8")).hexdigest()


def vi_number(value) -> str:
    """A number written the Vietnamese way for people: 53.800.000, 16,5 (never 5.38e+07)."""
    if value is None:
        return ""
    number = float(value)
    text = f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}".rstrip("0")
    return text.translate(str.maketrans(",.", ".,"))
