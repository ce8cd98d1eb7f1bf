"""Turn a selection into an email: subject, HTML (CSS inlined) and plain text with the same content.

Autoescape is on for the HTML template, so every string that came from a portal is escaped;
the text template is plain text and never rendered as HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from crawler import timeutil
from digests.selection import Selection, clean, display_date

TEMPLATES = Path(__file__).parent / "templates"
FULL_ENTRIES = 15  # per section, entries shown with extract and reasons; the rest in short, never dropped

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
def vi_number(value) -> str:
    """A figure's value written the Vietnamese way (2.939.433; 16,5) when its raw text is missing."""
    if value is None:
        return ""
    number = float(value)
    text = f"{number:,.0f}" if number.is_integer() else f"{number:,.2f}".rstrip("0")
    return text.translate(str.maketrans(",.", ".,"))


_env.filters["vi_number"] = vi_number
_inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False, minify_css=True)


@dataclass
class Rendered:
    subject: str
    html: str
    text: str


_LABELS = (("stories", "tin mới"), ("figures", "số liệu"), ("documents", "văn bản"), ("instructions", "chỉ đạo"))


def counts_phrase(counts: dict[str, int], only_found: bool = False) -> str:
    """"12 tin mới, 8 số liệu, 3 văn bản" (+ ", 2 chỉ đạo" when there are instructions).

    `only_found` (alerts) names only what was found: "2 văn bản".
    """
    parts = [f"{counts.get(key, 0)} {label}" for key, label in _LABELS
             if counts.get(key) or (not only_found and key != "instructions")]
    return ", ".join(parts)


def week_label(moment: datetime) -> str:
    year, week, _ = moment.astimezone(timeutil.VN).isocalendar()
    return f"tuần {week}/{year}"


def subject_for(title: str, counts: dict[str, int], moment: datetime, alert_rule: str | None = None) -> str:
    if alert_rule:
        return clean(f"Cảnh báo {alert_rule}: {counts_phrase(counts, only_found=True)}")
    return clean(f"{title} {week_label(moment)}: {counts_phrase(counts)}")


def render(selection: Selection, *, title: str, moment: datetime | None = None, alert_rule: str | None = None,
           recipient_name: str | None = None, unsubscribe: str | None = None) -> Rendered:
    """Subject, inlined HTML and text for one recipient's selection."""
    moment = moment or timeutil.now()
    counts = selection.counts
    context = {
        "title": clean(f"Cảnh báo: {alert_rule}") if alert_rule else clean(title),
        "heading_note": week_label(moment) if not alert_rule else display_date(timeutil.iso(moment)),
        "period": f"{display_date(selection.since)} – {display_date(selection.until)}",
        "summary": counts_phrase(counts, only_found=bool(alert_rule)),
        "counts": counts,
        "sel": selection,
        "recipient_name": clean(recipient_name) if recipient_name else None,
        "unsubscribe": unsubscribe,
        "is_alert": bool(alert_rule),
        "full_entries": FULL_ENTRIES,
        "max_province": max((p["stories"] for p in selection.provinces), default=1),
    }
    html = _inliner.inline(_env.get_template("digest.html.j2").render(context))
    text = _env.get_template("digest.txt.j2").render(context)
    return Rendered(subject_for(title, counts, moment, alert_rule), html, text)
