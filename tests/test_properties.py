"""Property-based tests (hypothesis) for date parsing and URL canonicalisation: they never raise on
any input, and round-trip where meaningful. Number and document-number properties live beside their
extractors (test_figures.py, test_references.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.timeutil import VN
from crawler.urls import canonical_url, is_same_site
from pipelines.dates import date_from_url, date_line, parse_date_text

pytestmark = pytest.mark.fast  # in-process and quick: part of `make test-fast`

# publication dates lie in the past: a date after tomorrow is refused as implausible by design
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime.now() - timedelta(days=1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=VN))

WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]


def vietnamese_forms(m: datetime) -> list[tuple[str, bool]]:
    """The header formats portals print, each with whether it carries the time."""
    wd = WEEKDAYS[m.weekday()]
    return [
        (f"Ngày {m:%d/%m/%Y %H:%M:%S}", True),
        (f"Đăng lúc: {m:%d/%m/%Y %H:%M:%S} (GMT+7)", True),
        (f"{wd}, {m:%d/%m/%Y}, {m:%H:%M} [GMT+7]", True),
        (f"{wd} - {m.day}/{m.month}/{m.year} {m:%H:%M}", True),
        (f"{m:%d.%m.%Y} | {m:%H:%M}", True),
        (f"({m:%d/%m/%Y}, {m:%H:%M})", True),
        (f"{m:%H:%M} {m:%d/%m/%Y}", True),
        (f"ngày {m.day} tháng {m.month} năm {m.year}", False),
        (f"Ngày {m.day}/{m.month}/{m.year}", False),
    ]


@settings(max_examples=150, deadline=None)
@given(moments)
def test_vietnamese_date_headers_round_trip(moment):
    for text, has_time in vietnamese_forms(moment):
        found = parse_date_text(text)
        assert found is not None, text
        assert found.moment.date() == moment.date(), text
        if has_time:
            assert found.has_time and (found.moment.hour, found.moment.minute) == (moment.hour, moment.minute), text
            assert found.moment.utcoffset().total_seconds() == 7 * 3600


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_date_parsing_never_raises(text):
    for parse in (parse_date_text, date_line):
        found = parse(text)
        assert found is None or found.moment.tzinfo is not None
    date_from_url("http://x.gov.vn/" + text)


safe_segment = st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd"), max_codepoint=0x1EFF),
                       min_size=1, max_size=12)
identity_params = st.dictionaries(st.sampled_from(["nid", "id", "p", "docid", "page", "cat"]),
                                  st.integers(0, 10**6).map(str), max_size=3)
tracking = st.dictionaries(st.sampled_from(["utm_source", "utm_medium", "fbclid", "gclid", "zarsrc", "utm_campaign"]),
                           st.text(alphabet="abcdef0123456789", min_size=1, max_size=8), max_size=3)


@settings(max_examples=300, deadline=None)
@given(st.lists(safe_segment, min_size=1, max_size=4), identity_params, tracking,
       st.text(alphabet="abc:~=", max_size=10))
def test_canonical_url_drops_decoration_keeps_identity_and_is_idempotent(segments, ids, junk, fragment):
    path = "/" + "/".join(segments) + ".html"
    query = urlencode({**ids, **junk})
    url = f"https://www.thanhhoa.gov.vn{path}?{query}#{fragment}"
    canonical = canonical_url(url)
    assert canonical_url(canonical) == canonical
    kept = dict(parse_qsl(urlsplit(canonical).query))
    assert kept == ids
    assert "#" not in canonical
    assert is_same_site(canonical, {"thanhhoa.gov.vn"})
    # the path keeps its letters and their case (SharePoint and Liferay paths are case-sensitive)
    from urllib.parse import unquote
    assert unquote(urlsplit(canonical).path) == path


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_canonical_url_never_raises(text):
    for candidate in (text, "http://" + text, "https://x.gov.vn/" + text):
        try:
            canonical_url(candidate)
        except ValueError:
            pass  # urllib rejects some inputs (e.g. a bad IPv6 literal): a clear error, not a crash
