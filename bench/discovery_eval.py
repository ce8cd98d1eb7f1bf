"""Discovery: which links of a listing page are articles, and which pages are listings, not articles.

1. Real listing pages (../shared/real-pages/, gold.jsonl: every main-list article link and a sample
   of menu, category, topic, event, tag and pager links): recall of the article links and false
   positives among the sampled non-article links, for the structural method the crawl uses
   (spiders/links.page_links) against the URL-shape rules alone (spiders/links.classify_link), in
   the same run; CPU milliseconds per listing page for parsing, the URL rules alone, the
   structural analysis alone (on the tree Scrapy already parsed), and analysis plus every link's
   decision (what the crawl runs now).
2. Listings are never articles: `extract_article_or_raise` on the real listing pages and on the
   WCXB development split's listing and collection pages (../shared/benchmarks/wcxb-dev/) must
   refuse them; on the real article pages, the WCXB article pages and the public
   article-extraction benchmark it must not refuse any as a listing (false refusals lose articles).
3. Listing layouts written for dxwatch after the method was built (tests/discovery_layouts.py:
   LAYOUTS last session, HELD_OUT this one): the same recall and false positives, reported apart.

Cost is CPU time of this process (the fastest of three runs, URL caches emptied), so other
processes' load on the shared machine stretches it less than wall time; WCXB pages are split by
a hash of their site into a tuning half and a held-out half.

Run: `.venv/bin/python bench/discovery_eval.py` (`--markdown` for the BENCHMARKS.md table,
`--quick` to score every 4th WCXB page). Sections whose data is absent are skipped.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from scrapy.http import HtmlResponse  # noqa: E402

from crawler import listing  # noqa: E402
from crawler.config import Source  # noqa: E402
from crawler.urls import canonical_url, is_same_site  # noqa: E402
from pipelines.extraction import NoArticle, extract_article_or_raise  # noqa: E402
from spiders.links import _canonical, classify_link, page_links, rules_for  # noqa: E402

SHARED = REPO.parent / "shared"
REAL = SHARED / "real-pages"
WCXB = SHARED / "benchmarks" / "wcxb-dev"
PUBLIC = SHARED / "benchmarks" / "article-extraction"


def source_for(url: str) -> Source:
    return Source(name="eval", title="eval", level="national", start_urls=[url])


REPEATS = 3  # each stage timed this many times, the fastest kept: the machine is shared


def _cpu_ms(run) -> float:
    """The fastest of REPEATS runs, in CPU milliseconds of this process (other processes' load
    stretches wall time, not this), every URL cache emptied first so each run starts cold."""
    best = float("inf")
    for _ in range(REPEATS):
        for cached in (_canonical, listing.url_parts, listing.url_shape, listing.loose_shape):
            cached.cache_clear()
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best * 1000


def score_listing(url: str, html: bytes, articles: list[str], others: list[str]) -> dict:
    """Recall and false positives of both methods on one listing page, and what each stage costs:
    parsing (lxml, as Scrapy does once per page), the URL rules alone as the crawl ran them before
    (every link canonicalised and classified), the structural analysis alone, and the whole
    decision the crawl makes now (analysis plus every link's decision)."""
    rules = rules_for(source_for(url))
    fresh = lambda: HtmlResponse(url=url, body=html, encoding="utf-8")  # noqa: E731
    parse_ms = _cpu_ms(lambda: fresh().selector.root)
    response = fresh()
    root = response.selector.root

    def by_rules():  # what deciding by URL rules alone cost: every link canonicalised and classified
        for anchor in response.css("a[href]"):
            classify_link(canonical_url(response.urljoin(anchor.attrib["href"])), rules)

    rules_ms = _cpu_ms(by_rules)
    analysis_ms = _cpu_ms(lambda: listing.analyse(root, url, is_article_url=lambda u: classify_link(u, rules)[0],
                                                  same_site=lambda u: is_same_site(u, rules.hosts),
                                                  normalize=_canonical))
    ms = _cpu_ms(lambda: page_links(response, rules))
    decisions, _analysis = page_links(response, rules)
    generic = {c for _raw, c, ok, _why in decisions if ok}
    by_rules_taken = {c for _raw, c, _ok, _why in decisions if classify_link(c, rules)[0]}
    gold = {canonical_url(urldefrag(urljoin(url, u))[0]) for u in articles}
    wrong = {canonical_url(urldefrag(urljoin(url, u))[0]) for u in others}
    return {"articles": len(gold), "others": len(wrong), "ms": ms, "analysis_ms": analysis_ms,
            "rules_ms": rules_ms, "parse_ms": parse_ms, "links": len(root.xpath("//a[@href]")),
            "kb": len(html) // 1024,
            "generic_found": len(gold & generic), "generic_fp": len(wrong & generic),
            "rules_found": len(gold & by_rules_taken), "rules_fp": len(wrong & by_rules_taken),
            "generic_taken": len(generic), "rules_taken": len(by_rules_taken)}


def real_listings() -> list[dict]:
    rows = []
    for line in (REAL / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        gold = json.loads(line)
        if gold.get("kind") != "listing":
            continue
        page = next(p for p in (REAL / "pages").glob("*-2.html") if p.stem.split("-")[0] in gold["url"])
        rows.append({"page": page.stem, **score_listing(gold["url"], page.read_bytes(), gold["article_links"],
                                                         gold["non_article_links_sample"])})
    return rows


def own_layouts(held_out: bool = False) -> list[dict]:
    from discovery_layouts import HELD_OUT, LAYOUTS, listing_page

    rows = []
    for layout in HELD_OUT if held_out else LAYOUTS:
        url = "http://portal.example.gov.vn" + layout.listing_path
        html, articles, others = listing_page(layout)
        rows.append({"page": layout.name, **score_listing(url, html.encode("utf-8"), articles, others)})
    return rows


def refusal(html, url: str | None) -> str:
    """Extraction's verdict on one page: `article`, or the NoArticle reason."""
    try:
        extract_article_or_raise(html, url)
    except NoArticle as exc:
        return exc.reason
    return "article"


def wcxb_half(url: str | None) -> str:
    """WCXB pages split by a hash of their site: the listing check was tuned on one half only."""
    host = (urlsplit(url or "").hostname or "").removeprefix("www.")
    return "tuning" if hashlib.sha1(host.encode()).digest()[0] % 2 == 0 else "held-out"


def refusals(step: int) -> dict[str, list[str]]:
    """Extraction's verdict on every page, by kind: listing pages, and article pages."""
    out: dict[str, list[str]] = {}
    if (REAL / "pages").is_dir():
        for page in sorted((REAL / "pages").glob("*.html")):
            kind = "real listing" if page.stem.endswith("-2") else "real article"
            out.setdefault(kind, []).append(refusal(page.read_bytes(), None))
    if WCXB.is_dir():
        for truth in sorted((WCXB / "ground-truth").glob("*.json"))[::step]:
            meta = json.loads(truth.read_text(encoding="utf-8"))
            kind = meta["_internal"]["page_type"]["primary"]
            html = gzip.decompress((WCXB / "html" / f"{truth.stem}.html.gz").read_bytes())
            verdict = refusal(html, meta.get("url"))
            out.setdefault(f"wcxb {kind} ({wcxb_half(meta.get('url'))})", []).append(verdict)
            if kind == "article" and verdict == "listing":
                out.setdefault("wcxb articles refused as listings", []).append(truth.stem)
    if PUBLIC.is_dir():
        for page in sorted((PUBLIC / "html").glob("*.html.gz"))[::step]:
            out.setdefault("public article", []).append(refusal(gzip.decompress(page.read_bytes()), None))
    return dict(sorted(out.items()))


def totals(rows: list[dict]) -> dict:
    articles = sum(r["articles"] for r in rows) or 1
    median = lambda key: statistics.median(r[key] for r in rows)  # noqa: E731
    return {"pages": len(rows), "articles": articles, "others": sum(r["others"] for r in rows),
            "generic_recall": sum(r["generic_found"] for r in rows) / articles,
            "rules_recall": sum(r["rules_found"] for r in rows) / articles,
            "generic_fp": sum(r["generic_fp"] for r in rows), "rules_fp": sum(r["rules_fp"] for r in rows),
            "ms_median": median("ms"), "ms_max": max(r["ms"] for r in rows),
            "analysis_median": median("analysis_ms"), "analysis_max": max(r["analysis_ms"] for r in rows),
            "parse_median": median("parse_ms"), "rules_median": median("rules_ms"),
            "vs_rules": sum(r["ms"] for r in rows) / (sum(r["rules_ms"] for r in rows) or 1),
            "analysis_vs_parse": sum(r["analysis_ms"] for r in rows) / (sum(r["parse_ms"] for r in rows) or 1),
            "worst_page_recall": min(r["generic_found"] / (r["articles"] or 1) for r in rows),
            "worst_page_rules": min(r["rules_found"] / (r["articles"] or 1) for r in rows)}


def print_listing_rows(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(f"{'page':<14}{'KB':>5}{'links':>6}{'gold':>5}{'other':>6}{'generic':>8}{'fp':>4}{'rules':>6}{'fp':>4}"
          f"{'parse':>7}{'rules':>7}{'analyse':>8}{'links':>7}  (CPU ms)")
    for r in rows:
        print(f"{r['page']:<14}{r['kb']:>5}{r['links']:>6}{r['articles']:>5}{r['others']:>6}{r['generic_found']:>8}"
              f"{r['generic_fp']:>4}{r['rules_found']:>6}{r['rules_fp']:>4}{r['parse_ms']:>7.1f}{r['rules_ms']:>7.1f}"
              f"{r['analysis_ms']:>8.1f}{r['ms']:>7.1f}")
    t = totals(rows)
    print(f"recall generic {t['generic_recall']:.3f} (worst page {t['worst_page_recall']:.2f}) vs URL rules "
          f"{t['rules_recall']:.3f} (worst page {t['worst_page_rules']:.2f}); false positives generic "
          f"{t['generic_fp']}/{t['others']} vs URL rules {t['rules_fp']}/{t['others']}; analysis "
          f"{t['analysis_median']:.1f} ms median ({t['analysis_max']:.1f} max), {t['analysis_vs_parse']:.1f}x parsing; "
          f"analysis and every link's decision {t['ms_median']:.1f} ms median, {t['vs_rules']:.2f}x the URL rules alone")


def markdown(real: list[dict], own: list[dict], held: list[dict], verdicts: dict[str, list[str]]) -> None:
    print("| listing pages | article links | sampled non-article links | recall: structure / URL rules | "
          "worst page: structure / URL rules | false positives: structure / URL rules | CPU ms per page, median: "
          "parse / URL rules / analysis / analysis + decisions | analysis + decisions vs URL rules |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in (("real-pages, 7 national sites (tuning data)", real),
                       ("dxwatch's own layouts (tests/discovery_layouts.py; tuned on since their first run)", own),
                       ("held-out layouts (written after this session's method; first run below)", held)):
        if rows:
            t = totals(rows)
            print(f"| {name} | {t['articles']} | {t['others']} | {t['generic_recall']:.2f} / {t['rules_recall']:.2f} | "
                  f"{t['worst_page_recall']:.2f} / {t['worst_page_rules']:.2f} | {t['generic_fp']} / {t['rules_fp']} | "
                  f"{t['parse_median']:.1f} / {t['rules_median']:.1f} / {t['analysis_median']:.1f} / "
                  f"{t['ms_median']:.1f} | {t['vs_rules']:.2f}x |")
    print()
    print("| pages | count | refused as listing | other refusals | stored as article |")
    print("|---|---|---|---|---|")
    for kind, reasons in verdicts.items():
        if kind.endswith("refused as listings"):
            continue
        n = len(reasons)
        refused = reasons.count("listing")
        stored = reasons.count("article")
        print(f"| {kind} | {n} | {refused} ({refused / n:.0%}) | {n - refused - stored} | {stored} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--quick", action="store_true", help="score every 4th WCXB / public page")
    args = parser.parse_args()
    real = real_listings() if (REAL / "gold.jsonl").exists() else []
    own, held = own_layouts(), own_layouts(held_out=True)
    verdicts = refusals(4 if args.quick else 1)
    if args.markdown:
        markdown(real, own, held, verdicts)
        return
    if real:
        print_listing_rows("Real listing pages (../shared/real-pages; the method was tuned on them)", real)
    print_listing_rows("dxwatch's own listing layouts (written after the method; first run in BENCHMARKS.md)", own)
    print_listing_rows("Held-out listing layouts (written after this session's method; first run in BENCHMARKS.md)", held)
    print("\nExtraction's verdict (a listing must be refused as 'listing'; an article never):")
    for kind, reasons in verdicts.items():
        if kind.endswith("refused as listings"):
            print(f"  {kind}: {', '.join(reasons)}")
            continue
        counts = {r: reasons.count(r) for r in sorted(set(reasons))}
        print(f"  {kind:<16} {len(reasons):>4} pages: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
