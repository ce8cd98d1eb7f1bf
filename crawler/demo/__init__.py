"""The bundled demo: five small portals of real CMS families on 127.0.0.1, crawled and mailed locally.

`portals` holds the content (sites, articles, rendered pages), `servers` the loopback HTTP and SMTP
servers, `run` what `dxwatch demo` does with them.
"""

from crawler.demo.portals import build_routes, load_sites, site_files
from crawler.demo.run import ANCHOR_FILE, demo_anchor, run_demo, serve_forever
from crawler.demo.servers import DemoError, serve_portals

__all__ = ["ANCHOR_FILE", "DemoError", "build_routes", "demo_anchor", "load_sites", "run_demo", "serve_forever",
           "serve_portals", "site_files"]
