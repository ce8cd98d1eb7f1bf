"""`dxwatch demo`: serve the portals, crawl them, preview and deliver every digest, say where it all is.

The anchor date is kept next to the database so a second run on a later day sees the same URLs
(nothing new, nothing sent twice).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from typing import Iterator

from crawler import timeutil
from crawler.config import Config
from crawler.db.dialect import exists, local_folder, shown
from crawler.demo.portals import Site, vn_date
from crawler.demo.servers import DemoError, outbox_server, serve_portals

ANCHOR_FILE = "demo-anchor.txt"


def demo_anchor(data_dir: Path, db_target: str) -> date:
    """Today on a fresh database; the date of the first run while that database exists."""
    path = data_dir / ANCHOR_FILE
    if exists(db_target) and path.exists():
        try:
            return date.fromisoformat(path.read_text().strip())
        except ValueError:
            pass
    today = timeutil.now().date()
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(today.isoformat() + "\n")
    return today


@contextmanager
def removed_if_start_fails(*paths: Path) -> Iterator[None]:
    """What a demo start creates (data folder, anchor file, outbox) is removed again when the start
    fails (a port is taken): a failed start leaves the folder as it found it."""
    fresh = [p for p in paths if not p.exists()]
    try:
        yield
    except DemoError:
        for path in reversed(fresh):  # the folder last: it only holds what this start wrote
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise


def article_count(db_target: str) -> int:
    from crawler.db import close, open_db
    from crawler.db.articles import count_articles

    db = open_db(db_target)
    try:
        return count_articles(db)
    finally:
        close(db)


def crawl(config_dir: Path, db_target: str) -> None:
    """The crawl runs in a child process: Scrapy's reactor cannot restart inside this one."""
    command = [sys.executable, "-m", "crawler", "--config", str(config_dir), "--db", str(db_target), "crawl"]
    result = subprocess.run(command)
    if result.returncode != 0:
        raise DemoError(f"the crawl failed (exit code {result.returncode}); see its output above")


def print_portals(sites: dict[str, Site], console) -> None:
    for site in sites.values():
        console.print(f"  {site.name:<14} {site.base}{site.listing_path(1)}  "
                      f"({site.template}, {len(site.articles)} articles)", highlight=False, markup=False,
                      soft_wrap=True)


def serve_forever(config: Config, db_target: str, console) -> None:
    data_dir = local_folder(db_target)
    with ExitStack() as stack:
        with removed_if_start_fails(data_dir, data_dir / ANCHOR_FILE):
            anchor = demo_anchor(data_dir, db_target)
            sites = stack.enter_context(serve_portals(config, anchor))
        console.print(f"Demo portals (articles dated in the days before {vn_date(anchor)}):")
        print_portals(sites, console)
        console.print("Serving; press Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("Stopped.")


def run_demo(config: Config, db_target: str, console) -> dict:
    """Serve the portals, crawl (alert rules fire after it), preview and send every digest; return what happened."""
    from digests import runner

    data_dir = local_folder(db_target)
    outbox = data_dir / "outbox"
    digests = config.digests_file.digests
    previews = {}
    with ExitStack() as stack:
        with removed_if_start_fails(data_dir, data_dir / ANCHOR_FILE, outbox):
            anchor = demo_anchor(data_dir, db_target)
            sink = stack.enter_context(outbox_server(config, outbox))
            sites = stack.enter_context(serve_portals(config, anchor))
        before = article_count(db_target)  # after the start: a failed start creates no database
        console.print("Demo portals:")
        print_portals(sites, console)
        crawl(config.directory, db_target)
        after = article_count(db_target)
        from crawler.db import open_db

        db = open_db(db_target)
        for i, digest in enumerate(digests):
            out = data_dir / ("digest-preview.html" if i == 0 else f"digest-preview-{digest.name}.html")
            previews[digest.name] = runner.preview_digest(config, db, digest.name, out)
            runner.send_digest(config, db, digest.name)
        sent = list(sink.saved)
    summary = {"new_articles": after - before, "articles": after, "previews": previews, "sent": sent,
               "outbox": outbox, "db": db_target}
    console.print(f"\nDatabase:        {shown(db_target)}  ({after} articles, {after - before} new in this run)",
                  highlight=False, markup=False)
    if not digests:
        console.print(f"No digest in {config.directory / 'digests.yaml'}: nothing to preview or send.", markup=False)
    for name, path in previews.items():
        console.print(f"Digest preview:  {path}  ({name})", highlight=False, markup=False)
    if sent:
        console.print(f"Mail delivered:  {len(sent)} message(s) saved in {outbox}/", highlight=False, markup=False)
        for path in sent:
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            console.print(f"                 {path.name}  to {message['To']}: {message['Subject']}",
                          highlight=False, markup=False, soft_wrap=True)
    elif digests:
        console.print(f"Mail delivered:  nothing new since the last run, no email sent "
                      f"(earlier messages are in {outbox}/)", highlight=False, markup=False, soft_wrap=True)
    return summary
