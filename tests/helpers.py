"""Builders and runners shared by the test modules: loopback portal pages, configs, crawls, digest worlds.

Every page and article here is written for dxwatch's tests. `dxwatch(...)` runs the command line in
this process, or in a warm child for the commands that start a Scrapy engine (see "running dxwatch").
"""

from __future__ import annotations

import importlib.util
import io
import os
import random
import re
import socket
import subprocess
import sys
import textwrap
import time
from html import escape
from pathlib import Path

import sqlite_utils
import yaml

from servers import Page, free_port

REPO = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------- portals and crawls

PLACES = ["Lào Cai", "Thanh Hóa", "Quảng Ninh", "Đắk Lắk", "Hải Phòng", "Cần Thơ", "Lai Châu", "Huế",
          "Nghệ An", "Đồng Nai", "Vĩnh Long", "Phú Thọ"]
SENTENCES = [
    "Ủy ban nhân dân tỉnh {place} vừa tổ chức hội nghị sơ kết công tác chuyển đổi số quý {q} năm 2025.",
    "Theo báo cáo, tỷ lệ hồ sơ thủ tục hành chính được xử lý trực tuyến toàn trình đạt {pct},{d}%.",
    "Toàn tỉnh đã có {n} tổ công nghệ số cộng đồng được thành lập tại các xã, phường.",
    "Sở Khoa học và Công nghệ được giao chủ trì triển khai nền tảng dữ liệu dùng chung trước ngày {day}/12.",
    "Lãnh đạo tỉnh yêu cầu các sở, ngành đẩy mạnh thanh toán không dùng tiền mặt trong dịch vụ công.",
    "Kinh tế số ước đóng góp khoảng {pct} phần trăm vào tăng trưởng của địa phương trong năm nay.",
    "Hội nghị cũng đánh giá việc triển khai Đề án 06 về ứng dụng dữ liệu dân cư và định danh điện tử.",
    "Đến nay đã có {n} người dân kích hoạt tài khoản định danh điện tử mức độ 2 trên địa bàn.",
]


def article_body(i: int) -> list[str]:
    """Distinct Vietnamese paragraphs for article number i (numbers and places vary with i)."""
    place = PLACES[i % len(PLACES)]
    values = {"place": place, "q": i % 4 + 1, "pct": 40 + i % 50, "d": i % 10, "n": 1000 + 37 * i,
              "day": 1 + i % 28}
    first = [s.format(**values) for s in SENTENCES[: 4]]
    second = [s.format(**values) for s in SENTENCES[4:]]
    return [" ".join(first), " ".join(second), f"Bài số {i} tổng hợp từ {place}, mã tin {i * 7919}."]


def article_html(i: int, title: str | None = None, canonical: str | None = None, charset: str = "utf-8") -> str:
    title = title or f"{PLACES[i % len(PLACES)]} đẩy mạnh chuyển đổi số, bản tin số {i}"
    head = f'<meta charset="{charset}">' if charset else ""
    if canonical:
        head += f'<link rel="canonical" href="{escape(canonical)}">'
    paras = "".join(f"<p>{escape(p)}</p>" for p in article_body(i))
    return (f"<!DOCTYPE html><html lang='vi'><head>{head}<title>{escape(title)}</title></head><body>"
            "<nav><a href='/'>Trang chủ</a> <a href='/tin-tuc/chuyen-doi-so.html'>Chuyển đổi số</a></nav>"
            f"<article><h1>{escape(title)}</h1><div class='date'>Ngày đăng: {1 + i % 28:02d}/10/2025 08:{i % 60:02d}</div>"
            f"<div class='content'>{paras}<p class='author'>Tác giả: Minh Anh</p></div></article>"
            "<footer>Bản quyền thuộc Cổng thông tin điện tử tỉnh. Số lượt truy cập: 123456</footer></body></html>")


def listing_html(links: list[str], next_href: str | None = None, next_text: str = "Trang sau",
                 extra: str = "") -> str:
    items = "".join(f"<li><a href='{escape(h)}'>Tin bài {n}: chuyển đổi số ở cơ sở</a></li>"
                    for n, h in enumerate(links))
    pager = f"<div class='pager'><a href='{escape(next_href)}'>{escape(next_text)}</a></div>" if next_href else ""
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Chuyển đổi số</title></head><body>"
            "<nav><a href='/'>Trang chủ</a> <a href='/gioi-thieu'>Giới thiệu</a> "
            "<a href='/tag/cds'>Thẻ CĐS</a> <a href='/lien-he'>Liên hệ</a></nav>"
            f"<ul class='news'>{items}</ul>{pager}{extra}</body></html>")


def article_path(i: int) -> str:
    return f"/tin-tuc/chuyen-doi-so/tinh-day-manh-chuyen-doi-so-ban-tin-{i}-{1000 + i}.html"


def load_script(path: Path, name: str | None = None):
    """A script that is not in a package (a bench evaluation, a corpus builder) as a module."""
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_config(directory: Path, sources: list[dict], **settings) -> Path:
    """A sources.yaml for loopback tests: no delay, short timeouts and backoff."""
    directory.mkdir(parents=True, exist_ok=True)
    base = {"download_delay": 0, "download_timeout": 5, "retry_backoff": 0.2, "retry_times": 2,
            "crawl_time_limit": 120}
    full = []
    for s in sources:
        entry = {"title": s["name"].upper(), "level": "provincial", "province": "Lào Cai", **s}
        full.append(entry)
    data = {"settings": {**base, **settings}, "sources": full}
    (directory / "sources.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return directory


# ---------------------------------------------------------------- running dxwatch
#
# `dxwatch(...)` runs the command line the way a shell does (crawler.cli.main: its exit codes and
# one-line errors) without paying a fresh interpreter's imports for each run:
# - in this process, for every command that neither starts a Scrapy engine nor installs signal
#   handlers: stdin, stdout, stderr, os.environ, cwd and argv are swapped for the run, and the log
#   handler the CLI puts on the `dxwatch` logger is taken off again;
# - in a warm child for `crawl`, `sources test`, `demo` and `schedule run`: Twisted's reactor starts
#   once per process, and the scheduler installs signal handlers. The child is forked from a
#   server process that has already imported the crawl stack and holds no threads and no database
#   connection (multiprocessing's forkserver, one per test process), so a crawl costs its own work
#   only. Its stdout and stderr are files at the descriptor level, as a child process's pipes are.
# Tests about the process itself (signals, kill -9, exit on a crash, descriptors, the
# `python -m crawler` entry point) start a real `python -m crawler` (`start_dxwatch`).

CHILD_COMMANDS = {("crawl",), ("demo",), ("sources", "test"), ("schedule", "run"), ("worker",)}
_GLOBAL_OPTIONS_WITH_VALUE = {"--config", "--db"}
_forkserver = None


def command_of(args) -> tuple[str, ...]:
    """The command words of a `dxwatch` argument list, global options skipped: ("sources", "test")."""
    words, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in _GLOBAL_OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            words.append(arg)
    return tuple(words[:2])


def needs_child(args) -> bool:
    if "--help" in args:
        return False
    words = command_of(args)
    return words[:1] in CHILD_COMMANDS or words in CHILD_COMMANDS


def dxwatch(*args: str, env: dict | None = None, cwd: Path | str = REPO, input: str | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess:
    """`dxwatch ARGS` as `python -m crawler ARGS` would run it, in this process or in a warm child
    (see above); `env` adds to (or, with None values, removes from) the environment for the run."""
    args = tuple(str(a) for a in args)
    if needs_child(args):
        assert input is None, "a child run reads no stdin"
        return _run_in_child(args, env, cwd, timeout)
    return _run_here(args, env, cwd, input)


def run_dxwatch(config_dir: Path, db_path: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return dxwatch("--config", config_dir, "--db", db_path, *args, timeout=timeout)


def crawl(config_dir: Path, db_path: Path, *args: str) -> subprocess.CompletedProcess:
    result = run_dxwatch(config_dir, db_path, "crawl", *args)
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return result


def _environ(env: dict | None) -> dict:
    merged = {**os.environ, **(env or {})}
    return {k: v for k, v in merged.items() if v is not None}


def _text(data: bytes) -> str:
    """Bytes as `subprocess.run(..., text=True)` gives them: UTF-8, universal newlines."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace", newline=None).read()


def _run_here(args, env, cwd, input) -> subprocess.CompletedProcess:
    import logging
    import traceback

    from crawler import cli

    out, err = io.BytesIO(), io.BytesIO()
    stdin = io.TextIOWrapper(io.BytesIO((input or "").encode()), encoding="utf-8")
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True)
    streams = sys.stdin, sys.stdout, sys.stderr
    saved_env, saved_cwd, saved_argv, saved_hook = dict(os.environ), os.getcwd(), sys.argv, sys.excepthook
    log = logging.getLogger("dxwatch")
    saved_log = log.handlers[:], log.level, log.propagate
    sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
    os.environ.clear()
    os.environ.update(_environ(env))
    if "TZ" in os.environ or "TZ" in saved_env:
        time.tzset()
    os.chdir(cwd)
    sys.argv = ["dxwatch", *args]
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    except Exception:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        code = 1
    finally:
        sys.stdin, sys.stdout, sys.stderr = streams
        stdout.flush()
        stderr.flush()
        os.environ.clear()
        os.environ.update(saved_env)
        if "TZ" in saved_env or "TZ" in (env or {}):
            time.tzset()
        os.chdir(saved_cwd)
        sys.argv, sys.excepthook = saved_argv, saved_hook
        log.handlers[:], log.level, log.propagate = saved_log
    result = subprocess.CompletedProcess(["dxwatch", *args], code, _text(out.getvalue()), _text(err.getvalue()))
    for stream in (stdin, stdout, stderr):
        stream.detach()  # the captured bytes stay readable; nothing closes the test's own streams
    return result


def _warm():
    global _forkserver
    if _forkserver is None:
        import multiprocessing

        from crawler.settings import PIPELINE_ORDER

        stages = [path.rsplit(".", 1)[0] for path in PIPELINE_ORDER]
        _forkserver = multiprocessing.get_context("forkserver")
        _forkserver.set_forkserver_preload(["crawler.cli", "crawler.crawl", "scrapy.crawler", "spiders.portal",
                                            "digests.alerts", *stages, "helpers"])
    return _forkserver


def _child_main(args, env, cwd, out_path, err_path) -> None:
    """In the forked child: the descriptors and streams of a fresh process, then the entry point."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, out_path), (2, err_path)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    sys.stdin = open(0, encoding="utf-8", closefd=False)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    os.chdir(cwd)
    sys.argv = ["dxwatch", *args]
    from crawler.cli import main

    main()


def _run_in_child(args, env, cwd, timeout) -> subprocess.CompletedProcess:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dxwatch-run-") as tmp:
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        child = _warm().Process(target=_child_main, args=(args, _environ(env), str(cwd), str(out_path),
                                                           str(err_path)))
        child.start()
        child.join(timeout)
        timed_out = child.exitcode is None
        if timed_out:
            child.kill()
            child.join()
        out = _text(out_path.read_bytes()) if out_path.exists() else ""
        err = _text(err_path.read_bytes()) if err_path.exists() else ""
    if timed_out:
        raise subprocess.TimeoutExpired(["dxwatch", *args], timeout, out, err)
    # -N when killed by signal N, as subprocess says it
    return subprocess.CompletedProcess(["dxwatch", *args], child.exitcode, out, err)


def start_dxwatch(cfg: Path, db: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """`python -m crawler` as a child process the test can signal (kill -9, SIGTERM) while it works."""
    return subprocess.Popen([sys.executable, "-m", "crawler", "--config", str(cfg), "--db", str(db), *args],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def count(db_path: Path, sql: str) -> int:
    """A count from a database a child process may still be creating (0 until its tables exist)."""
    if not db_path.exists():
        return 0
    try:
        return sqlite_utils.Database(db_path).execute(sql).fetchone()[0]
    except Exception:  # table not created yet
        return 0


def last_runs(db_path: Path) -> dict[str, dict]:
    db = sqlite_utils.Database(db_path)
    return {r["source"]: r for r in db.query("SELECT * FROM crawl_runs ORDER BY id")}


def stored_urls(db_path: Path) -> list[str]:
    return [r["url"] for r in sqlite_utils.Database(db_path).query("SELECT url FROM articles ORDER BY id")]


def paged_site(portal, count: int = 6, per_page: int = 3, prefix: str = "/tin-tuc/chuyen-doi-so.html") -> None:
    """Listing pages of `per_page` articles, newest first, linked by "Trang sau"."""
    pages = [list(range(count))[i: i + per_page] for i in range(0, count, per_page)]
    for n, ids in enumerate(pages, start=1):
        path = prefix if n == 1 else f"{prefix}?page={n}"
        nxt = f"{prefix}?page={n + 1}" if n < len(pages) else None
        portal.routes[path] = Page(listing_html([article_path(i) for i in ids], nxt))
    for i in range(count):
        portal.routes[article_path(i)] = Page(article_html(i))


# ---------------------------------------------------------------- digests

SOURCES_YAML = """\
sources:
  - name: chinhphu
    title: Cổng TTĐT Chính phủ
    level: national
    start_urls: ["https://chinhphu.example.vn/tin"]
  - name: danang
    title: Cổng TTĐT TP Đà Nẵng
    level: provincial
    province: Đà Nẵng
    start_urls: ["https://danang.example.vn/tin"]
  - name: thanhhoa
    title: Cổng TTĐT tỉnh Thanh Hóa
    level: provincial
    province: Thanh Hóa
    start_urls: ["https://thanhhoa.example.vn/tin"]
"""

NATIONAL_TEXT = (
    "Chiều 20/11, Thủ tướng chủ trì phiên họp của Ủy ban Quốc gia về chuyển đổi số, đánh giá kết quả "
    "triển khai kinh tế số trong năm.\n\nTheo báo cáo, tỷ trọng kinh tế số ước đạt 18,3% GDP. "
    "Thủ tướng yêu cầu các bộ, ngành hoàn thành việc kết nối cơ sở dữ liệu dân cư trước ngày 31/12/2026."
)


def national_article(n: int = 1, source: str = "chinhphu", level: str = "national", province: str | None = None):
    """A national story; the same text under another source is a republication (same story)."""
    return {
        "url": f"https://{source}.example.vn/tin/phien-hop-uy-ban-quoc-gia-{n}.html",
        "source": source, "level": level, "province": province,
        "title": "Thủ tướng chủ trì phiên họp Ủy ban Quốc gia về chuyển đổi số",
        "published": "2026-11-20T15:30:00+07:00",
        "text": NATIONAL_TEXT,
        "relevant": True, "keywords": ["chuyển đổi số", "kinh tế số"],
        "content_hash": "hash-national",
        "figures": [{"key": "kinh-te-so-gdp-2026", "kind": "percent", "value": 18.3, "unit": "%",
                     "subject": "tỷ trọng kinh tế số trong GDP", "period": "năm 2026", "raw": "18,3%",
                     "context": "Theo báo cáo, tỷ trọng kinh tế số ước đạt 18,3% GDP."}],
        "directives": [{"key": "1131/QĐ-TTg", "number": "1131/QĐ-TTg", "type": "Quyết định",
                        "issuer": "Thủ tướng Chính phủ", "year": 2026, "date": "2026-11-12",
                        "title": "ban hành Chương trình chuyển đổi số quốc gia giai đoạn mới",
                        "raw": "Quyết định số 1131/QĐ-TTg", "context": "Quyết định số 1131/QĐ-TTg ngày 12/11/2026"}],
        "instructions": [{"key": "ttg-ket-noi-csdl-dan-cu", "director": "Thủ tướng", "verb": "yêu cầu",
                          "directed": "các bộ, ngành", "action": "hoàn thành việc kết nối cơ sở dữ liệu dân cư",
                          "deadline": "31/12/2026", "context": "Thủ tướng yêu cầu các bộ, ngành ..."}],
    }


def danang_article():
    return {
        "url": "https://danang.example.vn/tin/nen-tang-cong-dan-so.html",
        "source": "danang", "level": "provincial", "province": "Đà Nẵng",
        "title": "Đà Nẵng đưa nền tảng công dân số vào vận hành",
        "published": "2026-11-19T09:00:00+07:00",
        "text": ("Sáng 19/11, UBND thành phố Đà Nẵng đưa nền tảng công dân số vào vận hành chính thức.\n\n"
                 "Đến nay thành phố có 712.400 tài khoản định danh điện tử mức 2 được kích hoạt. "
                 "Kế hoạch số 215/KH-UBND đặt mục tiêu phủ sóng dịch vụ công trực tuyến toàn trình."),
        "relevant": True, "keywords": ["công dân số"],
        "content_hash": "hash-danang",
        "figures": [{"key": "danang-dinh-danh-muc-2", "kind": "count", "value": 712400, "unit": "tài khoản",
                     "subject": "tài khoản định danh điện tử mức 2", "period": "tháng 11/2026",
                     "raw": "712.400 tài khoản",
                     "context": "Đến nay thành phố có 712.400 tài khoản định danh điện tử mức 2 được kích hoạt."}],
        "directives": [{"key": "215/KH-UBND", "number": "215/KH-UBND", "type": "Kế hoạch",
                        "issuer": "UBND thành phố Đà Nẵng", "year": 2026, "date": None, "title": None,
                        "raw": "Kế hoạch số 215/KH-UBND", "context": "Kế hoạch số 215/KH-UBND đặt mục tiêu ..."}],
    }


def thanhhoa_irrelevant():
    return {
        "url": "https://thanhhoa.example.vn/tin/le-hoi-bien.html",
        "source": "thanhhoa", "level": "provincial", "province": "Thanh Hóa",
        "title": "Thanh Hóa khai mạc lễ hội du lịch biển",
        "published": "2026-11-18T08:00:00+07:00",
        "text": "Tối 18/11, tỉnh Thanh Hóa khai mạc lễ hội du lịch biển với nhiều hoạt động văn hóa.",
        "relevant": False, "keywords": [], "content_hash": "hash-lehoi",
    }


def thanhhoa_article(n: int, title: str = "Thanh Hóa số hóa hồ sơ thủ tục hành chính"):
    return {
        "url": f"https://thanhhoa.example.vn/tin/so-hoa-ho-so-{n}.html",
        "source": "thanhhoa", "level": "provincial", "province": "Thanh Hóa",
        "title": title, "published": "2026-11-21T10:00:00+07:00",
        "text": f"Tỉnh Thanh Hóa đã số hóa thêm hồ sơ thủ tục hành chính trong đợt {n}, phục vụ chuyển đổi số.",
        "relevant": True, "keywords": ["chuyển đổi số"], "content_hash": f"hash-thanhhoa-{n}",
    }


def write_digest_config(directory: Path, smtp_port: int, digests: str, smtp_extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    smtp = (f"smtp:\n  host: 127.0.0.1\n  port: {smtp_port}\n  sender: bantin@dxwatch.example.vn\n"
            f"  unsubscribe: huy-dang-ky@dxwatch.example.vn\n  retry_backoff: 0.01\n  rate_per_minute: 6000\n"
            + textwrap.indent(textwrap.dedent(smtp_extra), "  "))
    (directory / "digests.yaml").write_text(smtp + textwrap.dedent(digests), encoding="utf-8")
    return directory


WEEKLY = """\
digests:
  - name: weekly
    recipients:
      - email: lanh.dao@example.vn
        name: Anh Lãnh Đạo
        admin: true
      - email: danang@example.vn
        levels: [national]
        provinces: [Đà Nẵng]
"""


def bodies(message):
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def by_recipient(smtp) -> dict[str, list]:
    out: dict[str, list] = {}
    for envelope, message in zip(smtp.envelopes, smtp.messages, strict=True):
        for rcpt in envelope.rcpt_tos:
            out.setdefault(rcpt, []).append(message)
    return out


# ---------------------------------------------------------------- stories

ANNOUNCEMENT = [
    "Sáng 14/10, Ủy ban nhân dân tỉnh tổ chức hội nghị sơ kết chín tháng triển khai kế hoạch chuyển đổi số "
    "và Đề án 06 trên địa bàn.",
    "Theo báo cáo của Sở Khoa học và Công nghệ, tỷ lệ hồ sơ thủ tục hành chính được tiếp nhận trực tuyến đạt "
    "71,4%, tăng hơn 15 điểm phần trăm so với cùng kỳ; 100% văn bản đi, đến được ký số và luân chuyển trên môi "
    "trường mạng.",
    "Toàn tỉnh đã thành lập 1.268 tổ công nghệ số cộng đồng với hơn 6.000 thành viên, hỗ trợ người dân cài đặt "
    "và kích hoạt tài khoản định danh điện tử mức độ 2.",
    "Phát biểu kết luận, Phó Chủ tịch thường trực yêu cầu các sở, ngành rà soát, cắt giảm thành phần hồ sơ, "
    "hoàn thành số hóa kết quả giải quyết thủ tục hành chính còn tồn đọng trước ngày 31/12.",
    "Các địa phương cần bố trí kinh phí duy trì hạ tầng số, bảo đảm an toàn thông tin cho hệ thống một cửa "
    "điện tử và Trung tâm điều hành thông minh của tỉnh.",
]

OTHER_STORY = [
    "Chiều 20/10, Sở Y tế tổ chức tập huấn triển khai bệnh án điện tử cho các bệnh viện tuyến huyện.",
    "Bệnh án điện tử giúp rút ngắn thời gian chờ khám, giảm chi phí in phim chụp và lưu trữ hồ sơ giấy.",
    "Đến nay đã có 12 bệnh viện hoàn thành triển khai, 9 đơn vị khác đang chạy thử và dự kiến nghiệm thu "
    "trong quý IV.",
    "Giám đốc Sở Y tế đề nghị các bệnh viện phân công cán bộ chuyên trách, tăng cường bảo mật dữ liệu người bệnh.",
]


# ---------------------------------------------------------------- the demo

def demo_config(tmp_path: Path) -> Path:
    """The shipped demo config with every port moved to a free one of as many digits, so tests never
    clash and printed tables keep their widths (`demo_ports` maps them back)."""
    out = tmp_path / "config"
    out.mkdir()
    ports: dict[str, str] = {}

    def move(m: re.Match) -> str:
        while m.group(2) not in ports:  # distinct: two portals of one config must not draw the same port
            port = str(free_port_of_width(len(m.group(2))))
            if port not in ports.values():
                ports[m.group(2)] = port
        return m.group(1) + ports[m.group(2)]

    for name in ("sources.yaml", "digests.yaml"):
        text = (REPO / "config" / name).read_text(encoding="utf-8")
        text = re.sub(r"(127\.0\.0\.1:)(\d+)", move, text)
        text = re.sub(r"(\n\s*port:\s*)(\d+)", move, text)
        (out / name).write_text(text, encoding="utf-8")
    return out


def demo_ports(config_dir: Path) -> dict[str, str]:
    """Each port of a `demo_config` directory -> the shipped config's port it stands for."""
    pattern = re.compile(r"127\.0\.0\.1:(\d+)|\n\s*port:\s*(\d+)")
    pairs = {}
    for name in ("sources.yaml", "digests.yaml"):
        shipped = pattern.findall((REPO / "config" / name).read_text(encoding="utf-8"))
        moved = pattern.findall((config_dir / name).read_text(encoding="utf-8"))
        pairs.update({"".join(new): "".join(old) for new, old in zip(moved, shipped)})
    return pairs


def free_port_of_width(digits: int) -> int:
    """A free loopback port with this many digits (4 for the demo's 8701-8725).

    The port is only checked, not held: the demo binds it later. Each pytest-xdist worker draws from
    its own slice of the range, so two workers building demos at once cannot pick the same port
    between one's check and its bind (ports the kernel picks, 32768-60999 by default, have 5 digits)."""
    low, high = max(1024, 10 ** (digits - 1)), min(65535, 10 ** digits - 1)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    width = (high - low + 1) // workers
    low, high = low + worker * width, low + (worker + 1) * width - 1
    for _ in range(200):
        port = random.randint(low, high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    return free_port()


# ---------------------------------------------------------------- charsets

def to_cp1258(text: str) -> bytes:
    """windows-1258 bytes for Vietnamese text: precomposed base letters plus combining tone marks."""
    import unicodedata

    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = []
    for ch in text:
        try:
            out.append(ch.encode("cp1258"))
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
            out.append(base.encode("cp1258") + "".join(c for c in parts if c in tones).encode("cp1258"))
    return b"".join(out)
