"""Facts of an article (figures, directives, instructions): extraction, and their presentation.

What is stored and what is new among the stored facts is `crawler/db/facts.py`.
"""

from __future__ import annotations

import re
from datetime import datetime

from crawler import timeutil
from crawler.textnorm import match_key
from pipelines.directives import extract_directives
from pipelines.figures import extract_figures
from pipelines.instructions import extract_instructions

# Issuers whose numbering is per province: "2971/QĐ-UBND", "55/2025/NQ-HĐND" or "05-NQ/TU" of two
# provinces are two documents. Sở (department) codes start with S: STTTT, SKHCN, SNV.
LOCAL_ISSUERS = {"UBND", "HĐND", "TU", "HU", "ĐU", "QU", "BCĐ", "VP"}


def _local(issuer: str | None) -> bool:
    return bool(issuer) and (issuer in LOCAL_ISSUERS or (issuer.startswith("S") and issuer.isupper() and len(issuer) > 2))


def _merge_by_key(rows: list[dict]) -> list[dict]:
    """One row per key in an article; a later mention fills fields the first one lacked (date, title)."""
    merged: dict[str, dict] = {}
    for row in rows:
        first = merged.get(row["key"])
        if first is None:
            merged[row["key"]] = dict(row)
        else:
            for field, value in row.items():
                if first.get(field) in (None, "") and value not in (None, ""):
                    first[field] = value
    return list(merged.values())


_NEAR = 0.015  # "245 nghìn" and "245.312" are one figure rounded; 2% apart is two figures


def _digits(value: float | None) -> int:
    return len(f"{value:.6g}".replace(".", "").replace("-", "").strip("0")) if value else 0


def same_statement(a: dict, b: dict) -> bool:
    """One fact stated twice in an article: the same kind and unit, the same value (or one rounded from
    the other) and labels that share most of their words ("9,4%" in the lead and again in the body)."""
    if a["kind"] != b["kind"] or (a.get("unit") and b.get("unit") and a["unit"] != b["unit"]):
        return False
    for x, y in ((a["value"], b["value"]), (a.get("value2"), b.get("value2"))):
        if (x is None) != (y is None) or (x is not None and abs(x - y) > _NEAR * max(abs(x), abs(y))):
            return False
    if a["value"] != b["value"]:
        rough, exact = sorted((a["value"], b["value"]), key=_digits)
        if _digits(rough) == _digits(exact) or float(f"{exact:.{_digits(rough)}g}") != rough:
            return False  # 2.150 and 2.160, or 1.010 and 1.001: two counts, not one rounded from the other
    words = [set(re.findall(r"[^\W\d_]+", match_key(f.get("label") or f.get("subject") or ""))) for f in (a, b)]
    return bool(words[0] and words[1]) and len(words[0] & words[1]) / min(len(words[0]), len(words[1])) >= 0.5


def drop_repeats(figures: list[dict]) -> list[dict]:
    """Each fact of an article once: of two statements of it, the more precise value is kept
    (245.312 over "245 nghìn"), else the first."""
    kept: list[dict] = []
    for fig in figures:
        twin = next((i for i, k in enumerate(kept) if same_statement(k, fig)), None)
        if twin is None:
            kept.append(fig)
        elif _digits(fig["value"]) > _digits(kept[twin]["value"]):
            kept[twin] = fig
    return kept


def article_facts(title: str | None, text: str | None, province: str | None = None) -> dict[str, list[dict]]:
    """Figures, directives and instructions of one article (title first, then body), one per key."""
    parts = [p for p in (title, text) if p]
    # The body first: a headline repeats one of its figures in fewer words ("hơn 245 nghìn" for 245.312)
    body = extract_figures(text) if text else []
    in_body = {(f["kind"], f["value"], f["value2"]) for f in body}
    figures = drop_repeats(body + [f for f in (extract_figures(title) if title else [])
                                   if (f["kind"], f["value"], f["value2"]) not in in_body])
    directives = [d for p in parts for d in extract_directives(p)]
    if province:
        for d in directives:
            if d["kind"] not in {"law", "named"} and _local(d.get("issuer")):
                d["key"] = f"{d['key']} ({province})"
    instructions = extract_instructions(text or "")
    return {"figures": _merge_by_key(figures), "directives": _merge_by_key(directives),
            "instructions": _merge_by_key(instructions)}


class FactsPipeline:
    """Scrapy item pipeline: fills `figures`, `directives`, `instructions` on article items."""

    @classmethod
    def from_crawler(cls, crawler):
        return cls()

    def process_item(self, item, spider=None):
        if item.get("item_type", "article") != "article":
            return item
        item.update(article_facts(item.get("title"), item.get("text"), item.get("province")))
        return item


def since_moment(value: str) -> str:
    """`--since` as an ISO moment: a duration back from now ("36h", "7d", "2w") or a day ("2025-10-31")."""
    from datetime import date

    from crawler.config import parse_duration_seconds

    try:
        return timeutil.ago(parse_duration_seconds(value))
    except ValueError:
        pass
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"--since takes a duration (36h, 7d, 2w) or a day (2025-10-31), not {value!r}") from None
    return timeutil.iso(datetime(day.year, day.month, day.day, tzinfo=timeutil.VN))


def describe(table: str, fact: dict) -> str:
    """One line a reader understands without the article: "percent 46.2 % · tỷ lệ hồ sơ ... · Năm 2024"."""
    if table == "figures":
        value = f"{fact['value']:,.6g}" + (f"–{fact['value2']:,.6g}" if fact.get("value2") is not None else "")
        if fact["kind"] in {"ratio", "rank", "target"} and fact.get("value2") is not None:
            value = f"{fact['value']:g}/{fact['value2']:g}"
        label = fact.get("label")
        parts = [f"{fact['kind']} {value} {fact.get('unit') or ''}".strip(), fact.get("role"),
                 label or fact.get("subject"), None if label else fact.get("period")]
    elif table == "directives":
        parts = [fact.get("number"), fact.get("type") if fact.get("type") not in (fact.get("number") or "") else None,
                 fact.get("date"), fact.get("title")]
    else:
        parts = [fact.get("director"), fact.get("verb"), fact.get("directed"), fact.get("action"), fact.get("deadline")]
    return " · ".join(str(p) for p in parts if p)
