"""`dxwatch demo`: bundled demo portals on 127.0.0.1, a crawl of them, a digest preview and delivery.

The portals mirror real CMS families (see `crawler/demo_sites/*.yaml`): each site is a YAML file of
articles written for the demo plus a template folder. Publication dates are days before an *anchor*
date, so the demo shows recent news on any day; the anchor is kept next to the database so a second
run on a later day sees the same URLs (nothing new, nothing sent twice).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import format_datetime
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from crawler import timeutil
from crawler.config import Config

SITES_DIR = Path(__file__).parent / "demo_sites"
ANCHOR_FILE = "demo-anchor.txt"
WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]


class DemoError(Exception):
    """A demo problem phrased for the user (port taken, SMTP not local, crawl failed)."""


# ---------------------------------------------------------------- site content


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


# ---------------------------------------------------------------- pages


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


# ---------------------------------------------------------------- serving


class PortalHandler(BaseHTTPRequestHandler):
    """Serves one site's pre-rendered routes; answers If-None-Match with 304 like a real CMS cache."""

    protocol_version = "HTTP/1.1"
    routes: dict[str, Response] = {}

    def log_message(self, *args) -> None:  # the crawl prints its own progress
        pass

    def _answer(self, send_body: bool) -> None:
        # Like a real CMS, extra query parameters (tracking, Liferay's redirect=) still find the page.
        found = self.routes.get(self.path) or self.routes.get(self.path.split("?")[0])
        if found is None:
            found, status = Response("<html><body><h1>404 - Không tìm thấy trang</h1></body></html>"
                                     .encode("utf-8")), 404
        else:
            status = 200
        etag = '"' + hashlib.sha1(found.body).hexdigest()[:16] + '"'
        if status == 200 and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(status)
        self.send_header("Content-Type", found.content_type)
        self.send_header("Content-Length", str(len(found.body)))
        if status == 200:
            self.send_header("ETag", etag)
        self.end_headers()
        if send_body:
            self.wfile.write(found.body)

    def do_GET(self) -> None:
        self._answer(True)

    def do_HEAD(self) -> None:
        self._answer(False)


def demo_bases(config: Config) -> dict[str, str]:
    """Base URL (scheme://127.0.0.1:port) of each configured source that is a demo site."""
    names = {p.stem for p in site_files()}
    bases = {}
    for source in config.sources:
        if source.name in names and source.urls:
            parts = urlsplit(source.urls[0])
            if parts.hostname not in {"127.0.0.1", "localhost"}:
                raise DemoError(f"demo source {source.name!r} must point at 127.0.0.1, not {parts.hostname}")
            bases[source.name] = f"{parts.scheme}://{parts.netloc}"
    if not bases:
        raise DemoError(f"no source in {config.directory / 'sources.yaml'} is a demo site "
                        f"(known: {', '.join(sorted(names))}); run the demo with --config config")
    return bases


@contextmanager
def serve_portals(config: Config, anchor: date) -> Iterator[dict[str, Site]]:
    """Start one HTTP server per demo site on the port its source URL names; stop them on exit."""
    bases = demo_bases(config)
    sites = {n: s for n, s in load_sites(anchor, bases).items() if n in bases}
    servers = []
    try:
        for name, site in sites.items():
            port = urlsplit(site.base).port or 80
            handler = type(f"Handler_{name}", (PortalHandler,), {"routes": build_routes(site)})
            try:
                httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
            except OSError as exc:
                raise DemoError(f"cannot serve demo portal {name} on 127.0.0.1:{port} ({exc.strerror}); "
                                "is another `dxwatch demo` running? Stop it or change the port in "
                                f"{config.directory / 'sources.yaml'}") from None
            httpd.daemon_threads = True
            servers.append(httpd)
            threading.Thread(target=httpd.serve_forever, daemon=True, name=f"demo-{name}").start()
        yield sites
    finally:
        for httpd in servers:
            httpd.shutdown()
            httpd.server_close()


# ---------------------------------------------------------------- outbox SMTP server


class OutboxHandler:
    """aiosmtpd handler that saves every accepted message as an .eml file."""

    def __init__(self, outbox: Path):
        self.outbox = outbox
        self.saved: list[Path] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        content = envelope.original_content or envelope.content
        digest = hashlib.sha1(content).hexdigest()[:12]
        stamp = datetime.now(timeutil.VN).strftime("%Y%m%d-%H%M%S")
        path = self.outbox / f"{stamp}-{len(self.saved) + 1:03d}-{digest}.eml"
        path.write_bytes(content)
        self.saved.append(path)
        return "250 OK: saved to outbox"


@contextmanager
def outbox_server(config: Config, outbox: Path) -> Iterator[OutboxHandler]:
    from aiosmtpd.controller import Controller

    smtp = config.digests_file.smtp
    if smtp.host not in {"127.0.0.1", "localhost"} or smtp.security != "none":
        raise DemoError(f"the demo delivers to its own local SMTP server: set smtp.host 127.0.0.1 and "
                        f"security none in {config.directory / 'digests.yaml'} (found {smtp.host}, {smtp.security})")
    outbox.mkdir(parents=True, exist_ok=True)
    handler = OutboxHandler(outbox)
    controller = Controller(handler, hostname="127.0.0.1", port=smtp.port)
    try:
        controller.start()
    except (OSError, RuntimeError) as exc:
        raise DemoError(f"cannot start the demo SMTP server on 127.0.0.1:{smtp.port} ({exc}); "
                        f"is another `dxwatch demo` running? Or change smtp.port in "
                        f"{config.directory / 'digests.yaml'}") from None
    try:
        yield handler
    finally:
        controller.stop()


# ---------------------------------------------------------------- the demo run


def demo_anchor(data_dir: Path, db_path: Path) -> date:
    """Today on a fresh database; the date of the first run while that database exists."""
    path = data_dir / ANCHOR_FILE
    if db_path.exists() and path.exists():
        try:
            return date.fromisoformat(path.read_text().strip())
        except ValueError:
            pass
    today = timeutil.now().date()
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(today.isoformat() + "\n")
    return today


def article_count(db_path: Path) -> int:
    from crawler.store import open_db

    return open_db(db_path).execute("SELECT count(*) FROM articles").fetchone()[0]


def crawl(config_dir: Path, db_path: Path) -> None:
    """The crawl runs in a child process: Scrapy's reactor cannot restart inside this one."""
    command = [sys.executable, "-m", "crawler", "--config", str(config_dir), "--db", str(db_path), "crawl"]
    result = subprocess.run(command)
    if result.returncode != 0:
        raise DemoError(f"the crawl failed (exit code {result.returncode}); see its output above")


def print_portals(sites: dict[str, Site], console) -> None:
    for site in sites.values():
        console.print(f"  {site.name:<14} {site.base}{site.listing_path(1)}  "
                      f"({site.template}, {len(site.articles)} articles)", highlight=False, soft_wrap=True)


def serve_forever(config: Config, db_path: Path, console) -> None:
    anchor = demo_anchor(db_path.parent, db_path)
    with serve_portals(config, anchor) as sites:
        console.print(f"Demo portals (articles dated in the days before {vn_date(anchor)}):")
        print_portals(sites, console)
        console.print("Serving; press Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("Stopped.")


def run_demo(config: Config, db_path: Path, console) -> dict:
    """Serve the portals, crawl (alert rules fire after it), preview and send every digest; return what happened."""
    from digests import runner

    data_dir = db_path.parent
    outbox = data_dir / "outbox"
    anchor = demo_anchor(data_dir, db_path)
    before = article_count(db_path)
    digests = config.digests_file.digests
    previews = {}
    with ExitStack() as stack:
        sink = stack.enter_context(outbox_server(config, outbox))
        sites = stack.enter_context(serve_portals(config, anchor))
        console.print("Demo portals:")
        print_portals(sites, console)
        crawl(config.directory, db_path)
        after = article_count(db_path)
        from crawler.store import open_db

        db = open_db(db_path)
        for i, digest in enumerate(digests):
            out = data_dir / ("digest-preview.html" if i == 0 else f"digest-preview-{digest.name}.html")
            previews[digest.name] = runner.preview_digest(config, db, digest.name, out)
            runner.send_digest(config, db, digest.name)
        sent = list(sink.saved)
    summary = {"new_articles": after - before, "articles": after, "previews": previews, "sent": sent,
               "outbox": outbox, "db": db_path}
    console.print(f"\nDatabase:        {db_path}  ({after} articles, {after - before} new in this run)",
                  highlight=False)
    if not digests:
        console.print(f"No digest in {config.directory / 'digests.yaml'}: nothing to preview or send.")
    for name, path in previews.items():
        console.print(f"Digest preview:  {path}  ({name})", highlight=False)
    if sent:
        console.print(f"Mail delivered:  {len(sent)} message(s) saved in {outbox}/", highlight=False)
        for path in sent:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            console.print(f"                 {path.name}  to {message['To']}: {message['Subject']}",
                          highlight=False, soft_wrap=True)
    elif digests:
        console.print(f"Mail delivered:  nothing new since the last run, no email sent "
                      f"(earlier messages are in {outbox}/)", highlight=False, soft_wrap=True)
    return summary
