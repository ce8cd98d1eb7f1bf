"""The demo's loopback servers: one HTTP server per demo portal, and an SMTP server that keeps mail as files."""

from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from crawler import timeutil
from crawler.config import Config
from crawler.demo.portals import Response, Site, build_routes, load_sites, site_files


class DemoError(Exception):
    """A demo problem phrased for the user (port taken, SMTP not local, crawl failed)."""


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

    smtp = config.require_smtp("the demo")
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
