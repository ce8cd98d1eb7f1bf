"""The demo portals' content: articles written for the demo, dated relative to an anchor, rendered as pages.

The portals mirror real CMS families (see `crawler/demo/sites/*.yaml`): each site is a YAML file of
articles written for the demo plus a template folder. Publication dates are days before an *anchor*
date, so the demo shows recent news on any day.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import format_datetime
from html import unescape
from pathlib import Path

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from crawler import timeutil

SITES_DIR = Path(__file__).parent / "sites"
WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]


@dataclass
class Article:
    site: "Site"
    key: str
    seq: int
    title: str
    lead: str | None
    paragraphs: list[str]
    published: datetime
    author: str | None
    credit: str | None
    relevant: bool
    expect: dict
    copy_of: str | None = None

    def fields(self) -> dict[str, str]:
        """Placeholders of the site's URL formats: the CMS families put dates and ids in their URLs."""
        p = self.published
        return {
            "slug": self.key,
            "Slug": "-".join(w.capitalize() for w in self.key.split("-")),  # SharePoint page names
            "suffix": hashlib.md5(self.key.encode()).hexdigest()[:6],
            "id": str(self.seq),
            "seq": f"{self.seq:03d}",
            "y": str(p.year), "m": str(p.month), "d": str(p.day),  # no zero padding, like portal/Pages
            "ts": p.strftime("%y%m%d%H%M%S"),  # the timestamp-id CMS
        }

    @property
    def path(self) -> str:
        return self.site.urls["article"].format(**self.fields())

    @property
    def print_path(self) -> str | None:
        fmt = self.site.urls.get("print")
        return fmt.format(**self.fields()) if fmt else None

    @property
    def url(self) -> str:
        return self.site.base + self.path


@dataclass
class Site:
    name: str
    title: str
    template: str
    urls: dict
    per_page: int
    base: str = ""
    articles: list[Article] = field(default_factory=list)

    def listing_path(self, page: int) -> str:
        return self.urls["listing"] if page == 1 else self.urls["listing_page"].format(n=page)

    @property
    def pages(self) -> list[list[Article]]:
        ordered = sorted(self.articles, key=lambda a: a.published, reverse=True)
        return [ordered[i : i + self.per_page] for i in range(0, len(ordered), self.per_page)] or [[]]


def vn_date(moment: datetime | date) -> str:
    return f"{moment.day:02d}/{moment.month:02d}/{moment.year}"


def _text_env(anchor: date) -> dict:
    """Helpers available inside article text, so deadlines and years stay right relative to the anchor."""
    return {
        "year": anchor.year,
        "last_year": anchor.year - 1,
        "in_days": lambda n: vn_date(anchor + timedelta(days=n)),
        "days_ago": lambda n: vn_date(anchor - timedelta(days=n)),
    }


def site_files() -> list[Path]:
    return sorted(SITES_DIR.glob("*.yaml"))


def _resolve_copy(entry: dict, by_key: dict[str, dict]) -> tuple[dict, list[str]]:
    """A republication: the original's fields under the entry's own, its text edited as the entry says."""
    original = by_key[entry["copy_of"]]
    body = {**original, **{k: v for k, v in entry.items() if k != "paragraphs"}}
    paragraphs = list(original["paragraphs"])
    for old, new in entry.get("replace", []):
        paragraphs = [p.replace(old, new) for p in paragraphs]
    paragraphs = paragraphs[: entry["keep"]] if "keep" in entry else paragraphs
    return body, paragraphs + entry.get("paragraphs", [])


def load_sites(anchor: date, bases: dict[str, str] | None = None) -> dict[str, Site]:
    """Every demo site with its articles dated relative to `anchor`; `bases` maps site name to base URL."""
    text_env = Environment(undefined=StrictUndefined, keep_trailing_newline=False)
    helpers = _text_env(anchor)

    def render(value: str | None) -> str | None:
        return text_env.from_string(value).render(helpers).strip() if value else value

    raw_sites = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in site_files()}
    sites: dict[str, Site] = {}
    for name, data in raw_sites.items():
        sites[name] = Site(name=name, title=data["title"], template=data["template"], urls=data["urls"],
                           per_page=data.get("per_page", 5), base=(bases or {}).get(name, ""))
    by_key: dict[str, dict] = {f"{n}/{a['key']}": a for n, d in raw_sites.items() for a in d["articles"]}
    for name, data in raw_sites.items():
        for seq, entry in enumerate(data["articles"], start=1):
            body, paragraphs = _resolve_copy(entry, by_key) if "copy_of" in entry else (entry, entry["paragraphs"])
            hh, mm, ss = (int(x) for x in str(entry["time"]).split(":"))
            day = anchor - timedelta(days=entry["days_ago"])
            published = datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=timeutil.VN)
            sites[name].articles.append(Article(
                site=sites[name], key=entry["key"], seq=entry.get("id", seq), title=render(body["title"]),
                lead=render(body.get("lead")), paragraphs=[render(p) for p in paragraphs],
                published=published, author=body.get("author"), credit=entry.get("credit"),
                relevant=body.get("relevant", True), expect=body.get("expect", {}),
                copy_of=entry.get("copy_of"),
            ))
    return sites


def _page_env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(SITES_DIR / "templates")), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["vn_date"] = vn_date
    env.filters["hhmm"] = lambda m: m.strftime("%H:%M")
    env.filters["hhmmss"] = lambda m: m.strftime("%H:%M:%S")
    env.filters["weekday"] = lambda m: WEEKDAYS[m.weekday()]
    env.filters["sa_ch"] = lambda m: f"{vn_date(m)} {m.strftime('%I:%M')} {'SA' if m.hour < 12 else 'CH'}"
    env.filters["rfc822"] = format_datetime
    env.filters["iso"] = lambda m: m.isoformat(timespec="seconds")
    return env


@dataclass
class Response:
    body: bytes
    content_type: str = "text/html; charset=utf-8"


_HREF = re.compile(r'<a\s[^>]*?href="(/[^"]*)"')


def build_routes(site: Site, visitors: int = 1_205_331) -> dict[str, Response]:
    """Every page of one site, rendered once: listing pages, articles, print views, feeds, robots."""
    env = _page_env()
    pages = site.pages
    routes: dict[str, Response] = {}
    newest = sorted(site.articles, key=lambda a: a.published, reverse=True)
    common = {"site": site, "visitors": visitors, "newest": newest[:5], "page_count": len(pages)}
    for number, items in enumerate(pages, start=1):
        html = env.get_template(f"{site.template}/listing.html").render(
            **common, items=items, page=number,
            page_paths={n: site.listing_path(n) for n in range(1, len(pages) + 1)})
        routes[site.listing_path(number)] = Response(html.encode("utf-8"))
    for article in site.articles:
        related = [a for a in newest if a is not article][:4]
        html = env.get_template(f"{site.template}/article.html").render(**common, article=article,
                                                                          related=related)
        routes[article.path] = Response(html.encode("utf-8"))
        if article.print_path:
            html = env.get_template(f"{site.template}/print.html").render(**common, article=article)
            routes[article.print_path] = Response(html.encode("utf-8"))
    linked = {unescape(h).split("#")[0] for r in list(routes.values()) for h in _HREF.findall(r.body.decode())}
    for path in sorted(p for p in linked if p and p.split("?")[0] not in routes and p not in routes):
        # menu entries (other sections, the home page) answer like a real portal: a category page
        html = env.get_template(f"{site.template}/listing.html").render(
            **{**common, "page_count": 1}, items=[], page=1, page_paths={1: path})
        routes[path.split("?")[0]] = Response(html.encode("utf-8"))
    if "rss" in site.urls:
        xml = env.get_template("rss.xml").render(**common, items=newest)
        routes[site.urls["rss"]] = Response(xml.encode("utf-8"), "application/rss+xml; charset=utf-8")
    if "sitemap" in site.urls:
        xml = env.get_template("sitemap.xml").render(**common, items=newest)
        routes[site.urls["sitemap"]] = Response(xml.encode("utf-8"), "application/xml; charset=utf-8")
    robots = "User-agent: *\nDisallow: /tim-kiem\nDisallow: /admin/\n"
    if "sitemap" in site.urls:
        robots += f"Sitemap: {site.base}{site.urls['sitemap']}\n"
    routes["/robots.txt"] = Response(robots.encode("utf-8"), "text/plain; charset=utf-8")
    return routes
