"""Storage alone: 1, 2 and 4 processes storing articles into one PostgreSQL database at once.

The scale-out bench (scaleout_bench.py) measures whole crawls, where on a small machine the
crawl's own CPU hides what writers do to each other. Here each process only calls
`pipelines.storage.save_article` (the store's one write path: row, URLs, story, search index) on
articles whose bodies, signatures and keys were made before the clock starts, so what is timed is
the database path: with one lock for every write, storage cannot go faster than one writer however
many run; with keyed locks, writers of different articles run at once.

Bodies are distinct generated Vietnamese text (no two share a band: no story matching waits) or,
with `--copies K`, each article is stored by K processes under K portals' URLs, a line of their
own added, to measure writers that do wait for each other (the copies of one story).
A throwaway PostgreSQL server (tests/postgres.py: loopback, fsync off), a fresh database per
writer count. Reported: articles/s, the speed-up against one writer measured in the same run, and
duplicates (stored articles minus distinct URLs) and stories per article group, which must be
exactly one.
Usage: python bench/store_bench.py [--articles 3000] [--writers 1,2,4] [--copies 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the test PostgreSQL server (tests/postgres.py)

SYLLABLES = ("chuyển đổi số dữ liệu người dân doanh nghiệp tỉnh xã huyện cổng thông tin điện tử dịch vụ "
             "công trực tuyến hồ sơ hạ tầng mạng băng rộng nền tảng ứng dụng thanh toán không dùng tiền "
             "mặt chính quyền số kinh tế xã hội học sinh giáo viên bệnh viện y tế nông sản thương mại "
             "sàn kỹ năng tập huấn cán bộ công chức an toàn bảo mật camera giám sát đô thị thông minh").split()


def body(article: int) -> str:
    """About 400 syllables of text of its own for each article (seeded by its number)."""
    pick = random.Random(article)
    sentences = [" ".join(pick.choice(SYLLABLES) for _ in range(20)).capitalize() + "." for _ in range(20)]
    return "\n\n".join(" ".join(sentences[i:i + 5]) for i in range(0, 20, 5))


def item(article: int, copy: int) -> dict:
    portal = f"tinh-{copy}"
    return {"url": f"https://{portal}.gov.vn/tin/{article}", "source": portal, "level": "provincial",
            "title": f"Bản tin số {article}", "relevant": True, "keywords": ["chuyển đổi số"],
            "published": "2026-12-01T08:00:00+07:00",
            "text": body(article) + (f"\n\nĐăng lại từ {portal}." if copy else "")}


def writer(url: str, items: list[dict], start, done) -> None:
    from crawler.db import close, open_db
    from pipelines.storage import save_article
    from pipelines.stories import item_signature

    for prepared in items:
        item_signature(prepared)  # StoryPipeline's work, before storage in a crawl: not timed
    db = open_db(url)
    start.wait()
    for prepared in items:
        save_article(db, prepared)
    close(db)
    done.put(time.perf_counter())


def run(server, writers: int, articles: int, copies: int) -> dict:
    import psycopg

    from crawler.db import close, open_db

    url = server.new_database()
    close(open_db(url))  # migrated before the clock
    work = [item(a, c) for a in range(articles) for c in range(copies)]
    shares = [work[w::writers] for w in range(writers)]  # copies of one article go to different writers
    context = multiprocessing.get_context("fork")
    start, done = context.Barrier(writers + 1), context.Queue()
    processes = [context.Process(target=writer, args=(url, share, start, done)) for share in shares]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    ended = max(done.get(timeout=3600) for _ in processes)
    for process in processes:
        process.join()
    with psycopg.connect(url) as conn:
        stored, distinct = conn.execute("SELECT count(*), count(DISTINCT url) FROM articles").fetchone()
        stories = conn.execute("SELECT count(DISTINCT story_id) FROM articles").fetchone()[0]
    server.drop_database(url)
    wall = ended - began
    return {"writers": writers, "stored": stored, "expected": len(work), "duplicates": stored - distinct,
            "stories": stories, "expected_stories": articles, "wall_s": round(wall, 2),
            "articles_per_s": round(stored / wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--writers", default="1,2,4")
    parser.add_argument("--copies", type=int, default=1, help="portals storing each article (the same story)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from postgres import PostgresServer, unavailable
    from scaleout_bench import report

    reason = unavailable()
    if reason:
        raise SystemExit(f"no PostgreSQL here: {reason}")
    machine = {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 1) for x in os.getloadavg()]}
    print(f"machine: {machine}", flush=True)
    server = PostgresServer().start()
    results = []
    try:
        for count in (int(n) for n in args.writers.split(",")):
            result = run(server, count, args.articles, args.copies)
            results.append(result)
            print(f"  {count} writer(s): {result}", flush=True)
    finally:
        server.stop()
    report(machine, {"articles": args.articles, "copies": args.copies}, results, args.json)
    bad = [r["writers"] for r in results
           if r["duplicates"] or r["stored"] != r["expected"] or r["stories"] != r["expected_stories"]]
    if bad:
        raise SystemExit(f"duplicates, missing articles or split stories with {bad} writer(s)")


if __name__ == "__main__":
    main()
