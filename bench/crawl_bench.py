"""Crawl benchmark: `dxwatch crawl` against a plain Scrapy + trafilatura spider on the same site.

A generated multi-portal site (PORTALS portals on 127.0.0.2.., ARTICLES article pages each, listing
pages of 20 with "Trang sau" pagination, LATENCY seconds per response, ETags on listing pages) is
served on loopback. Measured in one run, so the machine's load affects both sides alike:
  1. the baseline spider (same politeness: robots.txt, 2 requests per domain, no delay) that
     extracts with trafilatura and inserts into SQLite: articles per second, before dxwatch and
     again after it (the load of a shared machine moves; dxwatch is compared with their mean);
  2. dxwatch first crawl: articles stored per second of wall time (process start included), and
     CPU per article (the crawl's processes, against the baseline's);
  3. dxwatch re-crawl of the unchanged site: requests made, as a share of the first crawl's;
  4. the crawler core alone (spider + extraction + storage, without relevance/facts/stories);
  5. first, the CPU each stage costs per article, its functions called directly (`stage_costs`).
Usage: python bench/crawl_bench.py [--portals 8] [--articles 250] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PER_PAGE = 20
WORDS = ("chuyển đổi số chính quyền điện tử dịch vụ công trực tuyến dữ liệu nền tảng hạ tầng "
         "người dân doanh nghiệp kinh tế số xã hội số tỉnh huyện xã phường ủy ban nhân dân sở ngành "
         "triển khai kế hoạch nhiệm vụ giải pháp năm quý tháng tăng trưởng tỷ lệ hồ sơ thanh toán "
         "không dùng tiền mặt định danh điện tử tài khoản cấp độ ứng dụng phần mềm an toàn thông tin "
         "mạng lưới cáp quang trạm phát sóng hội nghị sơ kết tổng kết đánh giá chỉ đạo yêu cầu "
         "đẩy mạnh hoàn thành đúng hạn kết quả nổi bật hạn chế khó khăn vướng mắc đề xuất kiến nghị "
         "cán bộ công chức viên chức đào tạo kỹ năng số tổ công nghệ cộng đồng hướng dẫn").split()


# ---------------------------------------------------------------- the generated site


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(12, 24))]
    return " ".join(words).capitalize() + f" {rng.randint(2, 99_999)}."


def article_page(portal: int, i: int) -> bytes:
    rng = random.Random(portal * 100_003 + i)
    title = " ".join(rng.choice(WORDS) for _ in range(9)).capitalize() + f" số {i}"
    paras = "".join(f"<p>{escape(' '.join(sentence(rng) for _ in range(4)))}</p>" for _ in range(5))
    html = (f"<!DOCTYPE html><html lang='vi'><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
            "<body><nav><a href='/'>Trang chủ</a> <a href='/tin-tuc/'>Tin tức</a> <a href='/lien-he'>Liên hệ</a></nav>"
            f"<article><h1>{escape(title)}</h1><div class='date'>{1 + i % 28:02d}/10/2025 {8 + i % 10:02d}:15</div>"
            f"{paras}<p>Tác giả: Phóng viên {portal}</p></article>"
            "<aside><h3>Tin liên quan</h3><ul><li><a href='/tin-tuc/'>Tin khác</a></li></ul></aside>"
            "<footer>Cổng thông tin điện tử. Lượt truy cập: 987654</footer></body></html>")
    return html.encode("utf-8")


def article_url_path(i: int) -> str:
    return f"/tin-tuc/chuyen-doi-so/bai-viet-ve-chuyen-doi-so-dia-phuong-{i}-{100_000 + i}.html"


def listing_page(n: int, articles: int) -> bytes:
    ids = range((n - 1) * PER_PAGE, min(n * PER_PAGE, articles))
    links = "".join(f"<li><a href='{article_url_path(i)}'>Bài viết {i}</a></li>" for i in ids)
    pages = (articles + PER_PAGE - 1) // PER_PAGE
    pager = f"<a href='/tin-tuc/?trang={n + 1}'>Trang sau</a>" if n < pages else ""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Tin tức</title></head><body>"
            f"<nav><a href='/'>Trang chủ</a><a href='/tag/cds'>CĐS</a></nav><ul>{links}</ul>{pager}</body></html>").encode()


class Portal:
    """One generated portal on its own loopback address (so each gets its own per-domain slot)."""

    def __init__(self, index: int, articles: int, latency: float):
        self.index, self.articles, self.latency = index, articles, latency
        self.requests = 0
        self.lock = threading.Lock()
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with portal.lock:
                    portal.requests += 1
                time.sleep(portal.latency)
                status, body, etag = portal.answer(self.path)
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if self.path == "/robots.txt" else "text/html; charset=utf-8")
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((f"127.0.0.{index + 2}", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.{index + 2}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, path: str) -> tuple[int, bytes, str | None]:
        if path == "/robots.txt":
            return 200, b"User-agent: *\nAllow: /\n", None
        if path == "/tin-tuc/" or path.startswith("/tin-tuc/?trang="):
            n = int(path.split("=")[1]) if "=" in path else 1
            body = listing_page(n, self.articles)
            return 200, body, '"' + hashlib.md5(body).hexdigest() + '"'
        for i in range(self.articles) if path.startswith("/tin-tuc/chuyen-doi-so/") else ():
            if path == article_url_path(i):
                return 200, article_page(self.index, i), None
        return 404, "<html><body>Không tìm thấy</body></html>".encode(), None


# ---------------------------------------------------------------- the baseline spider (run in a child)


def baseline_worker(start_urls: list[str], db_file: str, download_delay: float = 0) -> None:
    """A plain Scrapy spider: follow the pager, fetch article links, trafilatura, one SQLite insert each."""
    import scrapy
    import trafilatura
    from scrapy.crawler import CrawlerProcess

    conn = sqlite3.connect(db_file)
    conn.execute("CREATE TABLE IF NOT EXISTS articles (url TEXT PRIMARY KEY, title TEXT, text TEXT)")

    class Baseline(scrapy.Spider):
        name = "baseline"

        async def start(self):
            for url in start_urls:
                yield scrapy.Request(url, callback=self.parse)

        def parse(self, response):
            for href in response.css("ul a::attr(href)").getall():
                yield response.follow(href, callback=self.parse_article)
            for a in response.css("a"):
                if a.css("::text").get() == "Trang sau":
                    yield response.follow(a.attrib["href"], callback=self.parse)

        def parse_article(self, response):
            text = trafilatura.extract(response.text, url=response.url, include_comments=False)
            if text:
                with conn:
                    conn.execute("INSERT OR IGNORE INTO articles VALUES (?, ?, ?)",
                                 (response.url, response.css("h1::text").get(), text))

    process = CrawlerProcess({"ROBOTSTXT_OBEY": True, "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
                              "DOWNLOAD_DELAY": download_delay, "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False,
                              "USER_AGENT": "baseline-bench"})
    process.crawl(Baseline)
    process.start()


# ---------------------------------------------------------------- measuring

# The same `dxwatch crawl` with only extraction and storage: what the crawler itself costs,
# apart from the relevance, facts and story stages.
CORE_ONLY = """
import sys
from crawler import settings
settings.PIPELINE_ORDER = {{k: v for k, v in settings.PIPELINE_ORDER.items()
                           if k.endswith(("ExtractionPipeline", "StoragePipeline"))}}
from crawler.cli import main
sys.argv = ["dxwatch", "--config", {config!r}, "--db", {db!r}, "crawl"]
main()
"""


def stage_costs(pages: int = 200) -> dict:
    """CPU milliseconds per article of each stage, called directly on the generated pages (one
    process, no network): listing analysis (per article: a listing page holds PER_PAGE links),
    extraction, relevance, facts, stories (MinHash signature), storage (batches of 10 in one
    transaction, as the crawl stores them), and the baseline's `trafilatura.extract` on the same pages."""
    import trafilatura
    from scrapy.http import HtmlResponse

    from crawler import timeutil
    from crawler.config import Source
    from crawler.db import open_db, write_transaction
    from crawler.frontier import Frontier
    from crawler.items import ArticleItem
    from pipelines.extraction import extract_article_or_raise
    from pipelines.facts import article_facts
    from pipelines.relevance import score_relevance
    from pipelines.stories import signature
    from pipelines.storage import store_article
    from spiders.links import page_links, rules_for

    base = "http://127.0.0.2:8000"
    rules = rules_for(Source(name="p", title="P", level="provincial", province="Lào Cai", start_urls=[base + "/tin-tuc/"]))
    listings = [HtmlResponse(f"{base}/tin-tuc/?trang={n}", body=listing_page(n, pages), encoding="utf-8")
                for n in range(1, (pages + PER_PAGE - 1) // PER_PAGE + 1)]
    articles = [(base + article_url_path(i), article_page(i % 8, i).decode("utf-8")) for i in range(pages)]
    spent = dict.fromkeys(("listing analysis", "extraction", "relevance", "facts", "stories", "storage",
                           "baseline trafilatura.extract"), 0.0)

    def clock(stage: str, call):
        started = time.process_time()
        result = call()
        spent[stage] += time.process_time() - started
        return result

    first_url, first_html = articles[0]  # compiled patterns and lazy imports are not a per-article cost
    first = extract_article_or_raise(first_html, first_url)
    score_relevance(first["title"], first["text"], first_url)
    article_facts(first["title"], first["text"], "Lào Cai")
    signature(first["text"], first["content_hash"])
    trafilatura.extract(first_html, url=first_url, include_comments=False)
    page_links(listings[0], rules)
    for response in listings:
        clock("listing analysis", lambda: page_links(response, rules))
    items = []
    for url, html in articles:
        item = ArticleItem(source="p", level="provincial", province="Lào Cai", url=url, html=html,
                           fetched_at=timeutil.iso())
        item.update(clock("extraction", lambda: extract_article_or_raise(html, url)))
        relevant = clock("relevance", lambda: score_relevance(item["title"], item["text"], url))
        item["relevant"], item["relevance_score"], item["keywords"] = relevant
        item.update(clock("facts", lambda: article_facts(item["title"], item["text"], item["province"])))
        item["story_signature"] = clock("stories", lambda: signature(item["text"], item["content_hash"]))
        items.append(item)
        clock("baseline trafilatura.extract", lambda: trafilatura.extract(html, url=url, include_comments=False))
    with tempfile.TemporaryDirectory() as work:
        db = open_db(Path(work) / "stages.db")

        def store(batch):
            with write_transaction(db):
                for item in batch:
                    store_article(db, item)
            Frontier(db, "p").settle([item["url"] for item in batch])

        for k in range(0, len(items), 10):
            clock("storage", lambda: store(items[k:k + 10]))
        db.conn.close()
    per_article = {stage: round(seconds * 1000 / pages, 2) for stage, seconds in spent.items()}
    ours = sum(v for k, v in per_article.items() if not k.startswith("baseline"))
    return {"ms_per_article": per_article, "all_stages_ms": round(ours, 2),
            "ratio_to_baseline_extract": round(ours / per_article["baseline trafilatura.extract"], 2)}


def timed(cmd: list[str]) -> dict:
    """Run one side as a fresh process: its wall time, its CPU (the process and its children), and
    the machine's load average (1 min) at its start and end, since other work shares the cores."""
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0,):
        sys.exit(f"{cmd[2:]} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {"seconds": round(elapsed, 1), "cpu_s": round(cpu, 1),
            "load": [round(load_before, 1), round(os.getloadavg()[0], 1)]}


def count(db_file: Path, sql: str = "SELECT count(*) FROM articles") -> int:
    with sqlite3.connect(db_file) as conn:
        return conn.execute(sql).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--portals", type=int, default=8)
    parser.add_argument("--articles", type=int, default=250)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--stage-pages", type=int, default=200, help="articles for the per-stage costs")
    parser.add_argument("--baseline-worker", nargs=2, metavar=("URLS_JSON", "DB"))
    args = parser.parse_args()
    if args.baseline_worker:
        baseline_worker(json.loads(args.baseline_worker[0]), args.baseline_worker[1])
        return
    stages = stage_costs(args.stage_pages)
    print(f"per-stage CPU per article: {json.dumps(stages, ensure_ascii=False)}", flush=True)

    import yaml

    portals = [Portal(i, args.articles, args.latency) for i in range(args.portals)]
    total = args.portals * args.articles
    work = Path(tempfile.mkdtemp(prefix="crawl-bench-"))
    config = work / "config"
    config.mkdir()
    sources = [{"name": f"portal-{p.index}", "title": f"Cổng {p.index}", "level": "provincial", "province": "Lào Cai",
                "start_urls": [p.base + "/tin-tuc/"], "max_pages": 1000} for p in portals]
    settings = {"download_delay": 0, "per_domain_concurrency": 2, "concurrent_requests": 16, "crawl_time_limit": 3600}
    (config / "sources.yaml").write_text(yaml.safe_dump({"settings": settings, "sources": sources}, allow_unicode=True),
                                         encoding="utf-8")
    dx_db, base_db = work / "dxwatch.db", work / "baseline.db"
    crawl_cmd = [sys.executable, "-m", "crawler", "--config", str(config), "--db", str(dx_db), "crawl"]

    print(f"site: {args.portals} portals x {args.articles} articles, {args.latency * 1000:.0f} ms per response", flush=True)
    def baseline_run(db: Path) -> dict:
        run = timed([sys.executable, str(Path(__file__).resolve()), "--baseline-worker",
                     json.dumps([p.base + "/tin-tuc/" for p in portals]), str(db)])
        return {**run, "articles": count(db)}

    # the baseline before and after dxwatch: the machine's load moves, so dxwatch is compared with
    # the mean of the two rates measured around it
    reset = lambda: [setattr(p, "requests", 0) for p in portals]  # noqa: E731
    base = baseline_run(base_db)
    reset()
    dx = {**timed(crawl_cmd), "articles": count(dx_db)}
    first_requests = sum(p.requests for p in portals)
    reset()
    again = timed(crawl_cmd)
    re_requests = sum(p.requests for p in portals)
    re_new = count(dx_db) - dx["articles"]
    base_after = baseline_run(work / "baseline-after.db")
    core_db = work / "core.db"
    core = {**timed([sys.executable, "-c", CORE_ONLY.format(config=str(config), db=str(core_db))]),
            "articles": count(core_db)}

    for side in (base, base_after, dx, core):
        side["articles_per_s"] = round(side["articles"] / side["seconds"], 1)
        side["cpu_ms_per_article"] = round(side["cpu_s"] * 1000 / side["articles"], 1)
    base_rate = (base["articles_per_s"] + base_after["articles_per_s"]) / 2
    base_cpu = (base["cpu_ms_per_article"] + base_after["cpu_ms_per_article"]) / 2
    result = {
        "articles_in_site": total,
        "baseline": base,
        "baseline_after": base_after,
        "dxwatch": {**dx, "requests": first_requests},
        "throughput_ratio": round(dx["articles_per_s"] / base_rate, 3),
        "cpu_per_article_ratio": round(dx["cpu_ms_per_article"] / base_cpu, 2),
        "crawler_core": {**core, "ratio_to_baseline": round(core["articles_per_s"] / base_rate, 3)},
        "stages": stages,
        "recrawl": {"requests": re_requests, **again, "new_articles": re_new,
                    "share_of_first_crawl": round(re_requests / first_requests, 4)},
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    ok = all(side["articles"] == total for side in (base, base_after, dx, core)) and re_new == 0
    if not ok:
        sys.exit("the crawls did not store every article exactly once; the figures above are not comparable")


if __name__ == "__main__":
    main()
