"""The names a config filter may use, and what to suggest when one is mistyped.

A digest or recipient filter that names a province, source, level or document type that no article
ever carries matches nothing: that recipient gets nothing, forever, without a word. So every filter
value is resolved here when the config loads. A value that is the same name written without
diacritics, in another case or with "tỉnh"/"TP" in front is accepted and normalised to the known
spelling ("Lai Chau" -> "Lai Châu"); anything else is refused, with the closest known name
(`difflib`) when there is one ("Lai Chao": did you mean 'Lai Châu'?).
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from crawler.textnorm import match_key, strip_diacritics

_PROVINCE_PREFIX = re.compile(r"^(tinh|thanh pho|tp)\b\.?\s*")
_NOT_WORD = re.compile(r"[\W_]+")
LEVELS = ("national", "provincial")


def fold(text: str) -> str:
    """The comparison key: lower case, no diacritics, tone placement and punctuation aside."""
    return " ".join(_NOT_WORD.sub(" ", strip_diacritics(match_key(text or ""))).split())


def _province_fold(text: str) -> str:
    return _PROVINCE_PREFIX.sub("", fold(text))


def _squeeze(text: str) -> str:
    """Source names compared without separators: 'lai-chau' and 'laichau' are one typo apart."""
    return fold(text).replace(" ", "")


@dataclass
class Vocabulary:
    """Known names of one kind; `resolve` turns what an admin wrote into one of them, or refuses."""

    kind: str                                    # "province", "source", ...: used in messages
    names: list[str]
    key: Callable[[str], str] = fold
    aliases: dict[str, str] = field(default_factory=dict)   # folded alias -> known name
    retired: dict[str, str] = field(default_factory=dict)   # folded former name -> why it is refused
    exact: bool = False                          # identifiers: only the name itself is accepted
    hint: str = ""                               # said when nothing known is close

    def __post_init__(self) -> None:
        self._by_key = {self.key(n): n for n in self.names}
        self._by_key.update({k: v for k, v in self.aliases.items() if k not in self._by_key})

    def known(self, value: str) -> str | None:
        """The known name `value` is written for (diacritics, case, prefix aside), or None."""
        text = str(value).strip()
        if text in self.names:
            return text
        key = self.key(text)
        return self._by_key.get(key) if not self.exact and key not in self.retired else None

    def resolve(self, value: str) -> str:
        """The known name `value` stands for; ValueError saying what was meant when there is none."""
        found = self.known(value)
        if found is None:
            raise ValueError(self.complaint(str(value).strip()))
        return found

    def complaint(self, text: str) -> str:
        """Why `text` is not a known name, with the closest one when something is close."""
        key = self.key(text)
        if key in self.retired:
            return self.retired[key]
        close = difflib.get_close_matches(key, list(self._by_key), n=1, cutoff=0.7)
        if close:
            return f"no {self.kind} named {text!r}; did you mean {self._by_key[close[0]]!r}?"
        known = sorted(set(self._by_key.values()))
        return f"no {self.kind} named {text!r}; " + (self.hint or f"known: {', '.join(known) or 'none'}")


@functools.cache
def _units() -> tuple[dict, ...]:
    return tuple(yaml.safe_load((Path(__file__).with_name("provinces.yaml")).read_text(encoding="utf-8")))


def province_names() -> list[str]:
    """The 34 provincial-level units in force since 1/7/2025."""
    return [u["name"] for u in _units()]


@functools.lru_cache(maxsize=16)  # built once per config, not once per filter value or source
def provinces(extra: tuple[str, ...] = ()) -> Vocabulary:
    """The 34 units, plus the provinces configured sources name (a test or custom source may have its own)."""
    aliases = {_province_fold(a): u["name"] for u in _units() for a in u.get("aliases", [])}
    retired = {_province_fold(old): f"{old!r} is no longer a province: since 1/7/2025 it is part of {u['name']!r}"
               for u in _units() for old in u.get("merged", [])}
    names = list(dict.fromkeys([*province_names(), *(e for e in extra if e)]))
    retired = {k: v for k, v in retired.items() if k not in {_province_fold(n) for n in names}}
    return Vocabulary("province", names, key=_province_fold, aliases=aliases, retired=retired,
                      hint="not one of the 34 provincial-level units since 1/7/2025 nor a configured source's "
                           "province (the list: crawler/provinces.yaml)")


def sources(names: list[str]) -> Vocabulary:
    return Vocabulary("source", list(names), key=_squeeze, exact=True)


@functools.cache
def levels() -> Vocabulary:
    return Vocabulary("level", list(LEVELS), aliases={"trung uong": "national", "tinh": "provincial",
                                                      "dia phuong": "provincial"})


@functools.cache
def document_types() -> Vocabulary:
    """Document types as the extraction names them; an abbreviation (QĐ, KH) stands for its type."""
    from pipelines.references import DOC_NAMES, TYPE_ABBREVIATIONS  # the extraction's own vocabulary

    names = list(dict.fromkeys([*DOC_NAMES, *(full for _, full in TYPE_ABBREVIATIONS.values())]))
    aliases = {fold(abbr): full for abbr, (_, full) in TYPE_ABBREVIATIONS.items()}
    return Vocabulary("document type", names, aliases=aliases,
                      hint="write a type as documents carry it, e.g. 'Quyết định', 'Kế hoạch', 'Công văn' "
                           "or 'QĐ'")
