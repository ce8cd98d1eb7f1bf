"""A source's first crawl checks the list it chose before following it.

Structure ranks a listing page's candidate lists (crawler/listing.py), but the best-ranked one can
be a decoy: a big "related topics" or "events" block whose links lead to more listings. Until a
source has a learned article template, a listing page's links are therefore held back: a few links
of the chosen list are fetched first, and only when one of them extracts as an article are the
rest of the list and the next page followed. When none does and extraction refused at least two
of them as listings, the next-best list of another URL template is probed the same way. When
every list fails, the best list is followed as before and, if nothing it holds extracts, the run
ends with the `unverified_listing` error that makes the source BROKEN and says what to configure.

Download errors and other refusals say nothing about a list (a flaky, hostile or broken page): a
probe round without two listings among its refusals releases its list. One `ListingProbe` per
`SourceCrawl`; the spider hands it the outcome of every article it fetched (item scraped, item
dropped with its reason, request failed) and, when the crawl idles, lets it release any round
still waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from crawler.listing import MIN_MAIN_SCORE, MAIN, Analysis, loose_shape
from spiders.links import HARD_REFUSALS

PROBE_LINKS = 3     # links of a list fetched before the rest of it
MAX_LISTS = 3       # lists of a page tried, best first


@dataclass
class Round:
    """One listing page waiting for its probes: the lists to try and how to follow the chosen one."""

    listing: str
    lists: list[tuple[str, list[dict]]]  # (what the list is, its candidate links), best first
    follow: Callable[[list[dict], str | None, int], Iterable]
    tried: int = 0
    asked: int = 0  # probe requests made for this page: new articles, whatever the rest holds
    pending: set[str] = field(default_factory=set)
    probes: int = 0  # links probed in the current list
    ok: int = 0
    listings: int = 0  # probed links extraction refused as listings


class ListingProbe:
    def __init__(self, crawl):
        self.crawl = crawl
        self.rounds: dict[str, Round] = {}  # probed URL -> its round

    def wanted(self, analysis: Analysis | None, page_no: int, learned: bool) -> bool:
        """Probe on a source's first crawl (no learned template), on the first page of a listing
        whose structure chose a list; a dry run (`sources test`) shows the choice instead."""
        return not learned and not self.crawl.dry_run and page_no == 1 and analysis is not None \
            and analysis.main is not None

    def start(self, response, analysis: Analysis, decisions, candidates: list[dict],
              follow: Callable[[list[dict], str | None, int], Iterable]) -> list:
        """The probe requests for this page's best list (its other links wait)."""
        lists = [("the page's main list", candidates)]
        by_url = {canonical: (raw, ok, why) for raw, canonical, ok, why in decisions}
        tried = {loose_shape(str(analysis.main.template))}  # a template with its literal sections
        for group in analysis.groups[1:]:
            if len(lists) >= MAX_LISTS:
                break
            shape = loose_shape(str(group.template)) if group.template else ""
            if group.zone != MAIN or group.score < MIN_MAIN_SCORE or len(group.urls) < 2 or shape in tried:
                continue
            links = [{"raw": by_url[u][0], "url": u, "reason": "in the next-best list (the best did not verify)"}
                     for u in group.urls if u in by_url and not by_url[u][2].startswith(HARD_REFUSALS)]
            if len(links) >= 2:
                tried.add(shape)
                lists.append((f"the next-best list ({len(group.urls)} links of {group.template})", links))
        return self._probe(Round(response.url, lists, follow))

    def _probe(self, round_: Round) -> list:
        what, links = round_.lists[round_.tried]
        self.crawl.listing_links.update(c["url"] for c in links)
        requests = self.crawl.probe_requests(links[:PROBE_LINKS], f"probe of {what} on {round_.listing}",
                                             round_.listing)
        round_.pending = {r.url for r in requests}
        round_.asked += len(requests)
        round_.probes = len(requests)
        round_.ok = round_.listings = 0
        if not round_.pending:  # nothing to fetch (stored, or asked for already): nothing to learn here
            return requests + self._release(round_)
        for url in round_.pending:
            self.rounds[url] = round_
        return requests

    def _release(self, round_: Round, failed: bool = False) -> list:
        """Follow the rest of this round's list (or, when every list failed, of the best one): its
        first links were asked for by the probe."""
        chosen = 0 if failed else round_.tried
        what, links = round_.lists[chosen]
        return list(round_.follow(links[PROBE_LINKS:], what if chosen else None, round_.asked))

    def resolved(self, urls: set[str], verdict: str) -> list:
        """An outcome for a fetched URL: `article`, `listing` (extraction refused it as a listing)
        or `other` (another refusal, a download error). Returns the requests to schedule when it
        settles its round."""
        url = next((u for u in urls if u in self.rounds), None)
        if url is None:
            return []
        round_ = self.rounds.pop(url)
        round_.pending.discard(url)
        round_.ok += verdict == "article"
        round_.listings += verdict == "listing"
        if round_.pending and not round_.ok:
            return []
        for other in round_.pending:  # one article is enough: the rest of the list follows now
            self.rounds.pop(other, None)
        round_.pending = set()
        return self._decide(round_)

    def _decide(self, round_: Round) -> list:
        # a decoy is a list whose links lead to listings (topics, categories, events); an article,
        # or refusals and errors of another kind (a hostile or broken page), keep this list
        if round_.ok or round_.listings < min(2, round_.probes):
            return self._release(round_)
        if round_.tried + 1 < len(round_.lists):
            round_.tried += 1
            return self._probe(round_)
        return self._release(round_, failed=True)

    def flush(self) -> list:
        """The crawl is idle: rounds still waiting (a probe that yielded no item) are decided on what came back."""
        waiting = {id(r): r for r in self.rounds.values()}
        self.rounds.clear()
        out = []
        for round_ in waiting.values():
            round_.pending = set()
            out.extend(self._decide(round_))
        return out
