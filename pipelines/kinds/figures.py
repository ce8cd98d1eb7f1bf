"""Figures: numbers with what they count ("46,2% hồ sơ trực tuyến", "1.086 tổ công nghệ số").

The sentence-level extractor is `pipelines/figures.py`; this kind adds what one article needs:
the body before the headline (a headline repeats one of its figures in fewer words) and each
figure once when the article states it twice.
"""

from __future__ import annotations

import re

from crawler.textnorm import match_key, vi_number
from pipelines.figures import extract_figures
from pipelines.kinds import FactKind

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


class Figures(FactKind):
    __kind__ = "figures"
    order = 1
    table = "figures"
    columns = ("key", "kind", "value", "value2", "unit", "subject", "period", "qualifier", "direction",
               "ambiguous", "raw", "context", "label", "role")
    in_documents = True
    digest_section = "figures"
    digest_label = "số liệu"
    ledger_item = "figure"
    alert_item = "figures"
    description = "numbers with what they count, the period and, when stated, a target or threshold"

    def extract(self, title, text, province):
        # The body first: a headline repeats one of its figures in fewer words ("hơn 245 nghìn" for 245.312)
        body = extract_figures(text) if text else []
        in_body = {(f["kind"], f["value"], f["value2"]) for f in body}
        return drop_repeats(body + [f for f in (extract_figures(title) if title else [])
                                    if (f["kind"], f["value"], f["value2"]) not in in_body])

    def describe(self, fact):
        """"percent 46,2 % · tỷ lệ hồ sơ ... · Năm 2024", numbers the Vietnamese way (53.800.000)."""
        value = vi_number(fact["value"]) + (f"–{vi_number(fact['value2'])}" if fact.get("value2") is not None else "")
        if fact["kind"] in {"ratio", "rank", "target"} and fact.get("value2") is not None:
            value = f"{vi_number(fact['value'])}/{vi_number(fact['value2'])}"
        label = fact.get("label")
        parts = [f"{fact['kind']} {value} {fact.get('unit') or ''}".strip(), fact.get("role"),
                 label or fact.get("subject"), None if label else fact.get("period")]
        return " · ".join(str(p) for p in parts if p)
