"""The digest in a real browser: headless Chromium at desktop and phone widths, no horizontal overflow,
and document numbers never broken across lines.

Skips where Debian's `chromium` is not installed. `DXWATCH_UPDATE_SCREENSHOT=1` also writes the
screenshots shown in the README (docs/digest-screenshot.png, docs/digest-screenshot-phone.png).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from crawler.config import load_config
from crawler.db import open_db
from pipelines.storage import save_article
from digests.runner import preview_digest
from helpers import WEEKLY, danang_article, national_article, thanhhoa_article, write_digest_config

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DOCS = Path(__file__).resolve().parents[1] / "docs"
# Headless Chromium will not make a window narrower than 500px, so the digest is measured inside an
# iframe of the width under test.
HOST = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="mail" width="{width}" height="1500" style="border:0" srcdoc="{srcdoc}"></iframe>
<script>
const frame = document.getElementById("mail");
frame.addEventListener("load", () => {{
  const doc = frame.contentDocument;
  document.body.setAttribute("data-overflow", String(doc.documentElement.scrollWidth - frame.contentWindow.innerWidth));
  document.body.setAttribute("data-viewport", String(frame.contentWindow.innerWidth));
}});
</script></body></html>"""


def host_page(preview: Path, width: int) -> Path:
    host = preview.with_name(f"host-{width}.html")
    srcdoc = html.escape(preview.read_text(encoding="utf-8"), quote=True)
    host.write_text(HOST.format(width=width, srcdoc=srcdoc), encoding="utf-8")
    return host


pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


def chromium(*args: str, cwd: Path) -> str:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               "--disable-dev-shm-usage", f"--user-data-dir={cwd / 'profile'}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture
def week(tmp_path):
    """A config and a database with a week of stories, figures and directives."""
    config = load_config(write_digest_config(tmp_path / "config", 2525, WEEKLY))
    db = open_db(tmp_path / "dxwatch.db")
    save_article(db, national_article())
    save_article(db, national_article(2, source="thanhhoa", level="provincial", province="Thanh Hóa"))
    save_article(db, danang_article())
    save_article(db, thanhhoa_article(4))
    return config, db


@pytest.mark.parametrize("width", [1200, 390])
def test_no_horizontal_overflow(week, tmp_path, width):
    config, db = week
    long_one = thanhhoa_article(3, title="Hệ thống " + "Thanhhoadientuchinhquyenso" * 4 + " vận hành")
    long_one["url"] = "https://thanhhoa.example.vn/tin/" + "a" * 300 + ".html"
    save_article(db, long_one)  # one unbreakable word and a very long link
    preview = preview_digest(config, db, "weekly", tmp_path / "preview.html")
    dom = chromium("--window-size=1400,1000", "--dump-dom", host_page(preview, width).as_uri(), cwd=tmp_path)
    viewport = int(re.search(r'data-viewport="(\d+)"', dom).group(1))
    overflow = int(re.search(r'data-overflow="(-?\d+)"', dom).group(1))
    assert viewport == width
    assert overflow <= 0, f"{overflow}px wider than a {width}px screen"


@pytest.mark.parametrize("name, frame_width", [("digest-screenshot.png", None),
                                               ("digest-screenshot-phone.png", 390)])
def test_screenshots_at_desktop_and_phone_width(week, tmp_path, name, frame_width):
    preview = preview_digest(*week, "weekly", tmp_path / "preview.html")
    page, window = (preview, 760) if frame_width is None else (host_page(preview, frame_width), 500)
    shot = tmp_path / name
    chromium(f"--window-size={window},1500", f"--screenshot={shot}", page.as_uri(), cwd=tmp_path)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (window, 1500) and len(data) > 20_000  # a rendered page, not a blank one
    if os.environ.get("DXWATCH_UPDATE_SCREENSHOT"):
        shutil.copy(shot, DOCS / name)


def test_dark_mode_switches_the_palette(week, tmp_path):
    """With the reader's system in dark mode, the sheet turns dark and the text light."""
    preview = preview_digest(*week, "weekly", tmp_path / "preview.html")
    probe = ("<script>const s = getComputedStyle(document.querySelector('.sheet'));"
             "const t = getComputedStyle(document.querySelector('.ex'));"
             "document.body.setAttribute('data-colors', s.backgroundColor + '|' + t.color);</script></body>")
    page = tmp_path / "probe.html"
    page.write_text(preview.read_text(encoding="utf-8").replace("</body>", probe), encoding="utf-8")

    def colors(*flags: str) -> tuple[str, str]:
        dom = chromium(*flags, "--dump-dom", page.as_uri(), cwd=tmp_path)
        return tuple(re.search(r'data-colors="([^"]*)"', dom).group(1).split("|"))

    light_sheet, light_text = colors()
    dark_sheet, dark_text = colors("--force-dark-mode", "--blink-settings=preferredColorScheme=0")
    assert light_sheet == "rgb(255, 255, 255)" and dark_sheet == "rgb(27, 35, 44)"
    assert dark_text == "rgb(230, 235, 240)" and light_text != dark_text


@pytest.mark.parametrize("width", [1200, 390])
def test_document_numbers_never_break(week, tmp_path, width):
    """"13/202|3/NĐ-CP" on a phone: every document number is laid out on one line."""
    config, db = week
    article = thanhhoa_article(5, title="Triển khai Nghị định số 13/2023/NĐ-CP và Quyết định số 2971/QĐ-UBND "
                                        "về bảo vệ dữ liệu cá nhân trong cơ quan nhà nước tỉnh Thanh Hóa")
    article["text"] = ("Thực hiện Nghị định số 13/2023/NĐ-CP, Kế hoạch số 3120/KH-UBND và Công văn số "
                       "4878/BTTTT-CĐSQG, tỉnh rà soát các hệ thống thông tin có xử lý dữ liệu cá nhân, chuyển đổi số.")
    article["directives"] = [{"key": "13/2023/NĐ-CP", "number": "13/2023/NĐ-CP", "type": "Nghị định",
                              "issuer": "Chính phủ", "year": 2023, "date": None,
                              "title": "bảo vệ dữ liệu cá nhân, thay thế Nghị định số 52/2013/NĐ-CP",
                              "raw": "Nghị định số 13/2023/NĐ-CP", "context": "Nghị định số 13/2023/NĐ-CP"}]
    save_article(db, article)
    preview = preview_digest(config, db, "weekly", tmp_path / "preview.html")
    probe = ("<script>"
             "const numbers = [...frame.contentDocument.querySelectorAll('.nw, .docno')];"
             "const broken = numbers.filter(e => e.getClientRects().length > 1).length;"
             "document.body.setAttribute('data-broken', broken + '/' + numbers.length);</script>")
    host = host_page(preview, width)
    host.write_text(host.read_text(encoding="utf-8").replace(
        'document.body.setAttribute("data-overflow"', probe.removeprefix("<script>").removesuffix("</script>")
        + 'document.body.setAttribute("data-overflow"'), encoding="utf-8")
    dom = chromium("--window-size=1400,1000", "--dump-dom", host.as_uri(), cwd=tmp_path)
    broken, total = map(int, re.search(r'data-broken="(\d+)/(\d+)"', dom).group(1, 2))
    assert total >= 4 and broken == 0
