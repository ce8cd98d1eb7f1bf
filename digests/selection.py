"""What is new for one (digest or alert rule, recipient): stories, figures, directives, coverage, health.

"New" is tracked by a ledger, not by a clock: every outbox row lists the items it carries
(`delivered_items`), and an item is new for a recipient when it is recent (`max_age`) and no
pending or sent outbox row of this digest to this recipient carries it yet. A recipient added
later, or one whose send failed permanently, therefore gets everything recent; nobody gets an
item twice, and an article committed a moment after the previous digest was built is not lost.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable

from crawler import timeutil
from crawler.config import Config, Filters, parse_duration_seconds
from crawler.db.articles import article_by_url, articles_by_id, articles_stored_since
from crawler.db.deliveries import delivered_items
from crawler.textnorm import match_key, nfc
from pipelines.kinds import by_table, kinds

SECTIONS = ("stories", *(kind.digest_section for kind in kinds()))
EXTRACT_CHARS = 280
NATIONAL = "Trung ương"
# outbox statuses whose items count as delivered: a failed or unconfirmed row keeps its items, which
# never come back under another Message-ID (digests/delivery.py)
CARRYING = ("pending", "sending", "sent", "failed", "unconfirmed")
_PROVINCE_PREFIX = re.compile(r"^(tỉnh|thành phố|tp\.?)\s+")
_SAFE_URL = re.compile(r"^https?://", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


@dataclass
class Scope:
    """Who is asking: the filters that must all pass, and which sections they want."""

    ledger_name: str                      # digest name, or "alert:<rule>"
    filters: list[Filters]
    max_age: str
    only_relevant: bool = True
    sections: tuple[str, ...] = SECTIONS
    recipient: str | None = None          # None: a preview that ignores what was delivered
    with_health: bool = False
    with_recalled: bool = True            # old documents newly cited, under "được nhắc lại" (alerts: left out)


@dataclass
class Selection:
    since: str
    until: str
    stories: list[dict] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    references: list[dict] = field(default_factory=list)  # documents cited in the text (section "documents")
    instructions: list[dict] = field(default_factory=list)
    recalled: list[dict] = field(default_factory=list)   # documents issued before the window, newly cited
    provinces: list[dict] = field(default_factory=list)
    health: list[dict] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Entries per section, keyed by the public section names (deliveries.counts): a fact kind's
        entries are the field named after the kind (`references` is the section "documents")."""
        return {"stories": len(self.stories), **{kind.digest_section: len(getattr(self, kind.__kind__))
                                                 for kind in kinds()}}

    @property
    def is_empty(self) -> bool:
        return not any(self.counts.values())

    @property
    def figure_groups(self) -> list[dict]:
        """Figures grouped by the article they link to, in order: one link and reason per article."""
        groups: dict[str | None, dict] = {}
        for f in self.figures:
            group = groups.setdefault(f.get("story_id") or f["url"] or f["article_title"], {
                "article_title": f["article_title"], "url": f["url"], "source": f["source"],
                "published": f["article_date"], "why": f["why"], "figures": []})
            group["figures"].append(f)
        return list(groups.values())

    def ledger_items(self) -> list[tuple[str, str]]:
        """(item_type, item_key) of everything this selection carries, for the outbox ledger."""
        out = [("story", str(s["story_id"])) for s in self.stories]
        for kind in kinds():
            entries = getattr(self, kind.__kind__) + (self.recalled if kind.table == "directives" else [])
            out += [(kind.ledger_item, key) for e in entries for key in (e["key"], *e.get("same_as", ()))]
        return out


# ---------------------------------------------------------------- small helpers


def clean(text: str | None) -> str:
    """Portal text for display: NFC, no control characters (they could break headers or layout).

    Stored text was normalised at ingestion (`normalize_text`); this only makes display safe.
    """
    return _CONTROL.sub(" ", nfc(text)).strip() if text else ""


def safe_url(url: str | None) -> str | None:
    """Only http(s) links reach an email; anything else (javascript:, data:) is dropped."""
    return url if url and _SAFE_URL.match(url) and not _CONTROL.search(url) and " " not in url else None


def province_key(name: str | None) -> str:
    return _PROVINCE_PREFIX.sub("", match_key(name or ""))


def display_date(value: str | None) -> str:
    if not value:
        return ""
    try:
        moment = timeutil.parse_iso(value).astimezone(timeutil.VN)
    except ValueError:
        return clean(value)
    has_time = "T" in value and not value.split("T", 1)[1].startswith("00:00:00")
    return moment.strftime("%d/%m/%Y %H:%M" if has_time else "%d/%m/%Y")


def extract_of(text: str | None, limit: int = EXTRACT_CHARS) -> str:
    """The opening of the article, cut at a word boundary."""
    body = clean(text.split("\n\n", 1)[0]) if text else ""
    if len(body) <= limit:
        return body
    cut = body[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def source_titles(config: Config | None) -> dict[str, str]:
    return {s.name: s.title for s in config.sources} if config else {}


# ---------------------------------------------------------------- filters with reasons


def _article_reasons(article: dict, f: Filters, haystack: str, titles: dict[str, str]) -> list[str] | None:
    """Why one filter lets this article through, or None when it does not."""
    reasons: list[str] = []
    if f.levels or f.provinces:
        if article["level"] in f.levels:
            reasons.append("tin cấp trung ương" if article["level"] == "national" else "tin cấp tỉnh")
        elif article["province"] and province_key(article["province"]) in {province_key(p) for p in f.provinces}:
            reasons.append(f"địa phương: {clean(article['province'])}")
        else:
            return None
    if f.sources:
        if article["source"] not in f.sources:
            return None
        reasons.append(f"nguồn: {titles.get(article['source'], article['source'])}")
    if f.keywords:
        hit = next((k for k in f.keywords if match_key(k) and match_key(k) in haystack), None)
        if hit is None:
            return None
        reasons.append(f"từ khóa “{clean(hit)}”")
    return reasons


def article_reasons(article: dict, filters: list[Filters], titles: dict[str, str]) -> list[str] | None:
    """Every filter must pass; the reasons say which keyword or filter matched."""
    needs_text = any(f.keywords for f in filters)  # folding a whole article is the costly part
    haystack = match_key(f"{article.get('title') or ''}\n{article.get('text') or ''}") if needs_text else ""
    reasons: list[str] = []
    for f in filters:
        got = _article_reasons(article, f, haystack, titles)
        if got is None:
            return None
        reasons += got
    # The digest's own topic is no reason worth a line: the whole bulletin is about it. It is said
    # only beside a filter that let the article through ("địa phương: Đà Nẵng; chủ đề ...").
    if reasons and not any(r.startswith("từ khóa") for r in reasons):
        topic = json.loads(article.get("keywords") or "[]")
        if topic:
            reasons.append(f"chủ đề “{clean(topic[0])}”")
    return list(dict.fromkeys(reasons))


def _named_in(text: str | None, names: list[str]) -> str | None:
    """The first of `names` that `text` mentions (case, diacritics forms and tone placement aside)."""
    key = match_key(text or "")
    return next((n for n in names if match_key(n) and match_key(n) in key), None)


def _directive_passes(row: dict, filters: list[Filters]) -> list[str] | None:
    reasons: list[str] = []
    for f in filters:
        if f.document_types:
            if match_key(row.get("type") or "") not in {match_key(t) for t in f.document_types}:
                return None
            reasons.append(f"loại văn bản: {clean(row['type'])}")
        if f.issuers:
            hit = _named_in(row.get("issuer"), f.issuers)
            if hit is None:
                return None
            reasons.append(f"cơ quan ban hành: {clean(hit)}")
    return reasons


def _instruction_passes(row: dict, filters: list[Filters]) -> list[str] | None:
    reasons: list[str] = []
    for f in filters:
        if f.document_types:
            return None  # an instruction is not a document of any type
        if f.issuers:
            hit = _named_in(row.get("director"), f.issuers)
            if hit is None:
                return None
            reasons.append(f"người chỉ đạo: {clean(hit)}")
    return reasons


# ---------------------------------------------------------------- the ledger


def delivered(db, ledger_name: str, recipient: str | None) -> set[tuple[str, str]]:
    """Items carried by an outbox row of this digest to this recipient that is not failed."""
    if recipient is None:
        return set()
    return delivered_items(db, ledger_name, recipient.lower(), CARRYING)


# ---------------------------------------------------------------- the selection


def select(config: Config | None, db, scope: Scope, now: datetime | None = None) -> Selection:
    now = now or timeutil.now()
    since = timeutil.iso(now - _timedelta(scope.max_age))
    sel = Selection(since=since, until=timeutil.iso(now))
    titles = source_titles(config)
    done = delivered(db, scope.ledger_name, scope.recipient)
    passing: dict[int, list[str]] = {}  # article id -> reasons, for articles in the window

    def article_ok(article: dict) -> list[str] | None:
        if article["id"] not in passing:
            if scope.only_relevant and not article["relevant"]:
                passing[article["id"]] = None
            else:
                passing[article["id"]] = article_reasons(article, scope.filters, titles)
        return passing[article["id"]]

    if "stories" in scope.sections:
        window = articles_stored_since(db, since, scope.only_relevant)
        story_reasons: dict[int, list[str]] = {}
        for article in window:
            reasons = article_ok(article)
            sid = article["story_id"]
            if reasons is not None and sid is not None and ("story", str(sid)) not in done:
                story_reasons.setdefault(sid, reasons)
        sel.stories = _stories(db, story_reasons, titles, since)
        sel.provinces = _province_coverage(sel.stories)
    wanted = [(kind.__kind__, kind.table, kind.ledger_item) for kind in kinds()
              if kind.digest_section in scope.sections]
    if wanted:
        from crawler.db.facts import new_facts

        facts = new_facts(db, {table: by_table(table).columns for _, table, _ in wanted}, since,
                          only_relevant=scope.only_relevant)
        articles = articles_by_id(db, {a["id"] for _, table, _ in wanted for f in facts[table] for a in f["articles"]})
        for name, table, item_type in wanted:
            entries = []
            for fact in facts[table]:
                if (item_type, fact["key"]) in done:
                    continue
                extra = (_directive_passes(fact, scope.filters) if table == "directives"
                         else _instruction_passes(fact, scope.filters) if table == "instructions" else [])
                if extra is None:
                    continue
                for mention in fact["articles"]:
                    reasons = article_ok(articles[mention["id"]])
                    if reasons is not None:
                        entry = _fact_entry(fact, articles[mention["id"]], extra + reasons, titles)
                        entry["document_url"] = _document_url(db, fact, table)
                        entries.append(entry)
                        break
            if table == "directives":
                sel.references, recalled = _split_recalled(_merge_local_numbers(entries), scope.max_age)
                sel.recalled = recalled if scope.with_recalled else []
            else:
                setattr(sel, name, once_per_digest(entries, table))
    if scope.with_health:
        sel.health = source_health(config, db, now)
    return sel


_LOCAL_KEY = re.compile(r"^(?P<number>.+) \((?P<province>[^()]+)\)$")


def _merge_local_numbers(entries: list[dict]) -> list[dict]:
    """One entry per document: a national article citing "2971/QĐ-UBND" without saying which
    province's, beside provincial copies citing "2971/QĐ-UBND (Thanh Hóa)", means that one
    document. The bare entry is folded into the provincial one (its key still goes to the ledger,
    so it does not come back next time); a bare number cited by two provinces stays apart."""
    provinces: dict[str, list[dict]] = {}
    for entry in entries:
        local = _LOCAL_KEY.match(entry["key"])
        if local:
            provinces.setdefault(local["number"], []).append(entry)
    merged = []
    for entry in entries:
        owners = provinces.get(entry["key"], [])
        if len(owners) == 1:
            owners[0].setdefault("same_as", []).append(entry["key"])
            continue
        merged.append(entry)
    return merged


RECENT_DOCUMENT_DAYS = 31  # issued within a month of the article citing it: new even for a daily digest or an alert


def _split_recalled(entries: list[dict], max_age: str) -> tuple[list[dict], list[dict]]:
    """(new, recalled): a document is new when it was issued at most the window (and at least
    RECENT_DOCUMENT_DAYS) before the article citing it, or its date is unknown; an older one cited
    again (a 2022 decision named in this week's news) is only recalled."""
    window = max(_timedelta(max_age), timedelta(days=RECENT_DOCUMENT_DAYS))
    new, recalled = [], []
    for entry in entries:
        issued, cited = entry.get("issued") or "", entry.get("cited")
        if not issued and entry.get("year"):
            issued = f"{int(entry['year']):04d}-12-31"  # "13/2023/NĐ-CP": issued in 2023 at the latest
        old = entry.get("kind") in {"named", "law"} and not entry.get("issued")  # "Đề án 06": a programme
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", issued) and cited:
            try:
                start = (timeutil.parse_iso(cited).astimezone(timeutil.VN) - window).date().isoformat()
            except ValueError:
                start = ""
            old = old or issued < start
        (recalled if old else new).append(entry)
    return new, recalled


def once_per_digest(entries: list[dict], table: str) -> list[dict]:
    """One fact once per digest: a figure or instruction found again in another copy of the same story
    (the national article and a provincial republication), or stated twice in one article, is folded
    into its first entry; the keys of the copies go to the ledger with it (`same_as`)."""
    from pipelines.kinds.figures import same_statement

    kept: list[dict] = []
    seen: dict[tuple, dict] = {}
    near: dict[tuple, list[dict]] = {}  # (kind, value bucket): only values within 1.5% are compared
    for entry in entries:
        twin, bucket = None, None
        if table == "figures":
            ident = (entry.get("story_id") or entry["url"], entry["kind"], entry["value"], entry.get("value2"))
            bucket = (entry["kind"], (entry["value"] or 0) > 0, _bucket(entry["value"]))
            twin = seen.get(ident) or next(
                (k for b in (-1, 0, 1) for k in near.get((*bucket[:2], bucket[2] + b), []) if same_statement(k, entry)),
                None)
        else:
            # "Thủ tướng Chính phủ yêu cầu ..." and "Thủ tướng yêu cầu ..." in two copies: one instruction
            action = match_key(entry.get("action") or "")
            ident = ((action, match_key(entry.get("deadline") or "")) if len(action.split()) >= 6 else
                     tuple(match_key(entry.get(f) or "") for f in ("director", "verb", "directed", "action")))
            twin = seen.get(ident)
        if twin is None:
            seen[ident] = entry
            kept.append(entry)
            if bucket is not None:
                near.setdefault(bucket, []).append(entry)
        else:
            twin.setdefault("same_as", []).append(entry["key"])
    return kept


def _bucket(value: float | None) -> int:
    return int(math.log(abs(value)) // math.log(1.015)) if value else 0


def _document_url(db, fact: dict, table: str) -> str | None:
    """The attached file itself: where the fact was read, or, for a directive, the document with its number."""
    document = fact.get("document")
    if not document and table == "directives":
        from pipelines.documents import document_for_number

        document = document_for_number(db, fact["key"])
    return safe_url(document["url"]) if document and document.get("url") else None


def _timedelta(duration: str) -> timedelta:
    return timedelta(seconds=parse_duration_seconds(duration))


def _stories(db, story_reasons: dict[int, list[str]], titles: dict[str, str], since: str) -> list[dict]:
    """One entry per story: its first-published article is canonical; every portal that carried it is listed."""
    from pipelines.stories import story_coverage

    entries = []
    for sid, reasons in story_reasons.items():
        cover = story_coverage(db, sid)
        first = article_by_url(db, cover["first_url"]) if cover["first_url"] else None
        if first is None:
            continue
        title, published, first_seen, text, source, url = (first[k] for k in ("title", "published", "first_seen",
                                                                                "text", "source", "url"))
        provinces = []
        for member in cover["members"]:
            place = NATIONAL if member["level"] == "national" else clean(member["province"]) or None
            if place and place not in provinces and member["first_seen"] >= since:
                provinces.append(place)
        entries.append({
            "story_id": sid,
            "title": clean(title or cover["title"]) or "(không có tiêu đề)",
            "date": display_date(published or first_seen),
            "sort": published or first_seen,
            "extract": extract_of(text),
            "url": safe_url(url),
            "source": titles.get(source, source),
            "sources": [{"name": m["source"], "title": titles.get(m["source"], m["source"]), "url": safe_url(m["url"])}
                        for m in cover["sources"]],
            "portal_count": cover["count"],
            # every other copy of the story in the window, listed in the archive copy of the digest
            "copies": [{"title": clean(m["title"]) or m["url"], "url": safe_url(m["url"])} for m in cover["members"]
                       if m["first_seen"] >= since and m["url"] not in {url, *(x["url"] for x in cover["sources"])}],
            "provinces": provinces,
            "why": reasons,
        })
    entries.sort(key=lambda e: e["sort"], reverse=True)  # newest first, then widest coverage first
    entries.sort(key=lambda e: -e["portal_count"])
    return entries


def _province_coverage(stories: Iterable[dict]) -> list[dict]:
    counts: dict[str, int] = {}
    for story in stories:
        for place in story["provinces"]:
            counts[place] = counts.get(place, 0) + 1
    return [{"province": p, "stories": n} for p, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _fact_entry(fact: dict, article: dict, reasons: list[str], titles: dict[str, str]) -> dict:
    """The fact as first mentioned, linked to the first article that passes this recipient's filters."""
    entry = {k: (clean(v) if isinstance(v, str) else v) for k, v in fact.items() if k != "articles"}
    entry.update({
        "key": fact["key"],
        "context": extract_of(fact.get("context"), 220),
        "article_title": clean(article["title"]),
        "article_date": display_date(article["published"] or article["first_seen"]),
        "url": safe_url(article["url"]),
        "source": titles.get(article["source"], article["source"]),
        "date": display_date(fact.get("date")) if fact.get("date") else "",
        "issued": fact.get("date") if isinstance(fact.get("date"), str) else None,
        "cited": article["published"] or article["first_seen"],
        "story_id": article.get("story_id"),
        "why": list(dict.fromkeys(reasons)),
    })
    return entry


# ---------------------------------------------------------------- source health


_VERDICT_LABELS = {"BROKEN": "lỗi", "STALE": "lâu không có tin mới"}


def source_health(config: Config | None, db, now: datetime | None = None) -> list[dict]:
    """Broken and stale sources (crawler.health), for the admin footer."""
    if config is None:
        return []
    from crawler.health import source_status

    titles = source_titles(config)
    return [{"source": titles.get(row["source"], row["source"]),
             "problem": f"{_VERDICT_LABELS[row['verdict']]} ({clean(row['reason'])[:160]})"}
            for row in source_status(db, config, now) if row["verdict"] in _VERDICT_LABELS]
