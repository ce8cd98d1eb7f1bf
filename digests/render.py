"""Turn a selection into an email: subject, HTML and plain text with the same content, within a size budget.

Autoescape is on for the HTML template, so every string that came from a portal is escaped;
the text template is plain text and never rendered as HTML. The CSS is a class-based `<style>`
block (Gmail, Apple Mail, Outlook and Thunderbird apply it), not inlined on every element: inlining
doubled the size of a digest. Documents and instructions come first, then stories, then figures.

Gmail clips an HTML part past about 102 KB, and a week can hold anything from 3 stories to thousands
(`only_relevant: false`). So the mail shows a bounded number of entries per section (`Limits`),
shrinking them until the HTML is under BUDGET_BYTES, and links the rest to the archive copy: the
same digest rendered in full (`full=True`), which `digest send` writes next to the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from crawler import timeutil
from crawler.textnorm import vi_number
from digests.selection import Selection, clean, display_date
from pipelines.kinds import kinds

TEMPLATES = Path(__file__).parent / "templates"
BUDGET_BYTES = 90_000  # the HTML part, under Gmail's ~102 KB clipping with room for the headers
MAX_TEXT = 320         # characters of a title, label or extract shown; portal text can be any length

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def short(text: str | None, limit: int = MAX_TEXT) -> str:
    """At most `limit` characters, cut at a word: a 10 KB "title" must not fill the mail."""
    text = text or ""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


# A document number never breaks across lines ("13/202|3/NĐ-CP" on a phone): wrapped in a nowrap span.
_DOC_NUMBER = re.compile(r"(?<![\w/])\d+[a-zđ]?(?:/\d{4})?(?:/|-)[A-ZĐ][\w&Đđ]*(?:[-/][\w&Đđ]+)*")


def nowrap_numbers(text: str | None) -> Markup:
    """Escaped text with each document number in `<span class="nw">`."""
    escaped = str(escape(text or ""))
    return Markup(_DOC_NUMBER.sub(lambda m: f'<span class="nw">{m.group(0)}</span>', escaped))


def figure_line(f: dict) -> str:
    """What a figure states, in one line: its clause (number and unit as written, and its period),
    marked as a goal when it is one. Older rows without a clause show "value — subject (period)"."""
    label = f.get("label")
    if not label:
        number = f.get("raw") or f"{vi_number(f.get('value'))} {f.get('unit') or ''}".strip()
        label = " — ".join(p for p in (number, f.get("subject")) if p)
        if f.get("period"):
            label += f" ({f['period']})"
    if f.get("role") == "target" and not re.search(r"mục tiêu|phấn đấu|chỉ tiêu|kế hoạch|dự kiến", label, re.I):
        label = f"Mục tiêu: {label}"
    return short(label)


def figure_html(f: dict) -> Markup:
    """The figure's line with its number in bold."""
    line = str(escape(figure_line(f)))
    raw = str(escape(f.get("raw") or ""))
    if raw and raw in line:
        line = line.replace(raw, f'<strong class="num">{raw}</strong>', 1)
    return Markup(line)


def document_name(d: dict) -> str:
    """"Quyết định 2971/QĐ-UBND", "Đề án 06" (not "Đề án Đề án 06")."""
    number = d.get("number") or d.get("key") or ""
    kind = d.get("type") or ""
    return number if not kind or number.lower().startswith(kind.lower()) else f"{kind} {number}"


def document_about(d: dict) -> str:
    """The document's title, or the sentence citing it when the title is missing or a fragment."""
    title = d.get("title") or ""
    return short(title if len(title.split()) >= 6 else d.get("context") or title)


_env.filters.update(vi_number=vi_number, short=short, nowrap=nowrap_numbers, figure_line=figure_line,
                    figure_html=figure_html, document_name=document_name, document_about=document_about)


@dataclass
class Rendered:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class Limits:
    """How many entries of each section the mail shows; the rest are in the archive copy."""

    references: int = 30         # documents cited (the section "documents")
    recalled: int = 8
    instructions: int = 20
    stories: int = 10            # in full: extract, portals, reasons
    briefs: int = 30             # then one line each
    figure_groups: int = 12      # articles whose figures are shown
    figures_per_group: int = 3   # the most informative figures of each


FULL = Limits(*(10**9,) * 7)
MAIL_PROVINCES = 20  # rows of "Theo địa phương" in the mail
MAIL_HEALTH = 10     # sources named in the admin footer of the mail
# Tried in turn until the HTML fits the budget; the last keeps only what officers need most.
STEPS = (Limits(), Limits(20, 5, 12, 6, 20, 8, 2), Limits(12, 0, 8, 3, 10, 4, 2), Limits(8, 0, 5, 0, 0, 0, 0))

def count_labels(stories: str = "tin mới") -> tuple[tuple[str, str], ...]:
    """(section, Vietnamese count word) of every digest section, stories first, then each fact kind."""
    return (("stories", stories), *((kind.digest_section, kind.digest_label) for kind in kinds()))


def counts_phrase(counts: dict[str, int], only_found: bool = False) -> str:
    """"12 tin mới, 8 số liệu, 3 văn bản" (+ ", 2 chỉ đạo" when there are instructions).

    `only_found` (alerts) names only what was found: "2 văn bản".
    """
    parts = [f"{counts.get(key, 0)} {label}" for key, label in count_labels()
             if counts.get(key) or (not only_found and key != "instructions")]
    return ", ".join(parts)


_PERIOD_WORD = re.compile(r"\s+(?:hằng\s+|hàng\s+)?(?:ngày|tuần|tháng)\s*$", re.IGNORECASE)


def period_note(since: str, until: str) -> str:
    """What the digest covers, from its window (`max_age`): "ngày 04/12/2026", "tuần 49/2026",
    "tuần 48–49/2026", "tháng 11/2026", else "04/09/2026–04/12/2026". A week or month is the one
    most of the window falls in: a digest sent on Monday morning is the bulletin of the week before."""
    start = timeutil.parse_iso(since).astimezone(timeutil.VN)
    end = timeutil.parse_iso(until).astimezone(timeutil.VN)
    span = end - start
    if span <= timedelta(days=1, hours=12):
        return f"ngày {end:%d/%m/%Y}"
    if span <= timedelta(days=24):
        half = timedelta(days=3, hours=12)
        first, last = ((start + span / 2).isocalendar(),) * 2 if span <= timedelta(days=8) else \
            ((start + half).isocalendar(), (end - half).isocalendar())
        if first[:2] == last[:2]:
            return f"tuần {last[1]}/{last[0]}"
        if first[0] == last[0]:
            return f"tuần {first[1]}–{last[1]}/{last[0]}"
        return f"tuần {first[1]}/{first[0]}–{last[1]}/{last[0]}"
    if span <= timedelta(days=35):
        return f"tháng {start + span / 2:%m/%Y}"
    return f"{start:%d/%m/%Y}–{end:%d/%m/%Y}"


def heading(title: str, note: str) -> str:
    """"Bản tin CĐS tuần" + "tuần 49/2026" = "Bản tin CĐS tuần 49/2026": a period word the title ends
    with gives way to the period actually covered (a daily digest titled "... tuần" says "ngày")."""
    return clean(f"{_PERIOD_WORD.sub('', clean(title))} {note}")


def subject_for(title: str, counts: dict[str, int], note: str, alert_title: str | None = None) -> str:
    if alert_title:
        return clean(f"{alert_title}: {counts_phrase(counts, only_found=True)}")
    return clean(f"{heading(title, note)}: {counts_phrase(counts)}")


def _pick_figures(figures: list[dict], n: int) -> list[dict]:
    """The `n` most informative statements of an article, in reading order; figures stated by one
    clause ("1.086 tổ ... với 6.512 thành viên, phủ kín 100% thôn, bản") are one line."""
    order = {id(f): i for i, f in enumerate(figures)}
    picked: list[tuple[str, dict]] = []
    for f in sorted(figures, key=lambda f: (-informativeness(f), order[id(f)])):
        line = figure_line(f)
        if any(line in other for other, _ in picked):
            continue  # its clause is already shown, inside a longer one
        longer = [i for i, (other, _) in enumerate(picked) if other in line]
        if longer:
            picked[longer[0]] = (line, f)  # "…18,3%, tăng so với mức 16,5%" says "…18,3%" too
            continue
        if len(picked) < n:
            picked.append((line, f))
    return sorted((f for _, f in picked), key=lambda f: order[id(f)])


_KIND_WEIGHT = {"percent": 3, "change": 3, "money": 3, "ratio": 3, "target": 3, "pp": 2, "rank": 2, "multiplier": 2,
                "score": 2, "count": 1}


def informativeness(f: dict) -> int:
    """Shares, changes, amounts and targets before bare counts; a clear clause with a period before a
    threshold, an ambiguous number or a small count ("3 bài toán")."""
    score = _KIND_WEIGHT.get(f.get("kind"), 1) + bool(f.get("period")) + bool(f.get("label"))
    if f.get("role") == "threshold":
        score -= 3
    if f.get("ambiguous"):
        score -= 2
    if f.get("kind") == "count" and (f.get("value") or 0) < 10:
        score -= 1
    if (f.get("label") or "").startswith("…") or len(f.get("label") or "") > 240:
        score -= 1  # words around a figure in a flattened table, or a paragraph-long clause
    return score


def view(sel: Selection, limits: Limits) -> dict:
    """The parts of the selection the mail shows under `limits`, and how many entries are left out."""
    groups = sel.figure_groups
    groups.sort(key=lambda g: -max(informativeness(f) for f in g["figures"]))
    shown_groups = [{**g, "figures": _pick_figures(g["figures"], limits.figures_per_group)}
                    for g in groups[:limits.figure_groups]] if limits.figures_per_group else []
    shown_figures = sum(len(g["figures"]) for g in shown_groups)
    v = {
        "references": sel.references[:limits.references],
        "recalled": sel.recalled[:limits.recalled],
        "instructions": sel.instructions[:limits.instructions],
        "stories": sel.stories[:limits.stories],
        "briefs": sel.stories[limits.stories:limits.stories + limits.briefs],
        "figure_groups": shown_groups,
        "provinces": sel.provinces if limits is FULL else sel.provinces[:MAIL_PROVINCES],
        "health": sel.health if limits is FULL else sel.health[:MAIL_HEALTH],
    }
    left = {
        "references": len(sel.references) - len(v["references"]),
        "recalled": len(sel.recalled) - len(v["recalled"]),
        "instructions": len(sel.instructions) - len(v["instructions"]),
        "stories": len(sel.stories) - len(v["stories"]) - len(v["briefs"]),
        "figures": len(sel.figures) - shown_figures,
        "provinces": len(sel.provinces) - len(v["provinces"]),
        "health": len(sel.health) - len(v["health"]),
    }
    v["left"] = left
    v["complete"] = not any(left.values())
    return v


def render(selection: Selection, *, title: str, moment: datetime | None = None, alert_title: str | None = None,
           recipient_name: str | None = None, unsubscribe: str | None = None, archive_url: str | None = None,
           full: bool = False) -> Rendered:
    """Subject, HTML and text for one recipient's selection.

    The mail (default) fits BUDGET_BYTES and links what it leaves out to `archive_url`; `full=True`
    renders everything, for the archive copy.
    """
    moment = moment or timeutil.now()
    counts = selection.counts
    note = period_note(selection.since, selection.until)
    base = {
        "title": clean(alert_title) if alert_title else heading(title, note),
        "heading_note": display_date(timeutil.iso(moment)) if alert_title else None,  # a digest's title says it
        "period": f"{display_date(selection.since)[:10]} – {display_date(selection.until)[:10]}",
        "summary": counts_phrase(counts, only_found=bool(alert_title)),
        "counts": counts,
        "sel": selection,
        "recipient_name": clean(recipient_name) if recipient_name else None,
        "unsubscribe": unsubscribe,
        "is_alert": bool(alert_title),
        "is_archive": full,
        "archive_url": None if full else archive_url,
        "max_province": max((p["stories"] for p in selection.provinces), default=1),
    }
    html = text = ""
    for limits in (FULL,) if full else STEPS:
        shown = view(selection, limits)
        context = {**base, "v": shown}
        html = _env.get_template("digest.html.j2").render(context)
        text = _env.get_template("digest.txt.j2").render(context)
        if len(html.encode("utf-8")) <= BUDGET_BYTES:
            break
    return Rendered(subject_for(title, counts, note, alert_title), html, text)

