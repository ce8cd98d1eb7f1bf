"""Configuration: `sources.yaml` and `digests.yaml`, validated before anything runs.

Config is written by people, so it accepts the forms people write ("Name <addr>" addresses, any
case for fixed values, one string where a list is expected, "every 6 hours" or "mỗi 6 giờ") and
refuses what cannot work (a filter naming a province or source that does not exist, a crawl every
minute), with a suggestion. Every problem of both files is collected into one `ConfigError`, one
`file:line: key: what is wrong` per problem, so the CLI prints them all and exits with code 2
instead of a traceback, and an admin fixes everything in one go.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      ValidationInfo, field_validator, model_validator)

from crawler import vocabulary

MAX_CONFIG_BYTES = 10_000_000  # a national config (4,000 portals) is about 1 MB
MAX_CONFIG_NODES = 1_000_000  # an alias bomb expands past this long before it hurts (4,000 sources: ~150k)
# libyaml's parser when PyYAML was built with it (about 10x faster on a 4,000-source file)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFAULT_SCHEDULE = "every 6h"
MIN_CRAWL_INTERVAL = 15 * 60  # a government portal is not crawled more often unless allow_fast_schedule
TIMEZONE = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """Config problems, already phrased for the admin: one `file:line: key: what is wrong` per line.

    `path`, `line`, `key` and `message` are the first problem's; `problems` holds them all.
    """

    def __init__(self, path: Path | str, line: int | None = None, key: str = "", message: str = "",
                 problems: list[Problem] | None = None):
        self.problems = problems or [Problem(str(path), line, key, message)]
        first = self.problems[0]
        self.path, self.line, self.key, self.message = first.path, first.line, first.key, first.message
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def of(cls, problems: list[Problem]) -> "ConfigError":
        return cls("", problems=problems)


# ---------------------------------------------------------------- value checks


def _check_url(url: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", url or ""):
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url


def _check_regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc}): {pattern!r}") from None
    return pattern


# One duration grammar for the whole project: schedules, max_age, --since, --digest-grace.
_DURATION = re.compile(r"^(?P<every>(?:every|each|mỗi|mọi)\s+)?(?P<n>\d+)?\s*(?P<unit>[^\d\s][^\d]*)$")
_UNITS = {
    **dict.fromkeys(("s", "sec", "second", "giây"), 1),
    **dict.fromkeys(("m", "min", "minute", "phút"), 60),
    **dict.fromkeys(("h", "hr", "hour", "giờ", "tiếng"), 3600),
    **dict.fromkeys(("d", "day", "ngày"), 86400),
    **dict.fromkeys(("w", "wk", "week", "tuần"), 604800),
}
_ADVERBS = {
    **dict.fromkeys(("hourly", "hàng giờ", "hằng giờ"), 3600),
    **dict.fromkeys(("daily", "hàng ngày", "hằng ngày"), 86400),
    **dict.fromkeys(("weekly", "hàng tuần", "hằng tuần"), 604800),
}
DURATION_EXAMPLES = "'36h', '30 minutes', '7 days', '2w', 'every 6 hours', 'mỗi 6 giờ', 'daily'"


def _duration(value: str) -> int | None:
    """Seconds, or None when the text is not written as a duration at all."""
    text = " ".join(str(value).strip().lower().split())
    if text in _ADVERBS:
        return _ADVERBS[text]
    m = _DURATION.match(text)
    if not m or (m["n"] is None and m["every"] is None):
        return None
    word = m["unit"].strip()
    unit = _UNITS.get(word) or (_UNITS.get(word[:-1]) if word.endswith("s") else None)
    if unit is None:
        return None
    seconds = int(m["n"] or 1) * unit
    if seconds <= 0:
        raise ValueError(f"{value!r}: a duration must be longer than zero")
    return seconds


def parse_duration_seconds(value: str) -> int:
    """Seconds in "6h", "30m", "7d", "2w", "6 hours", "every 6 hours", "mỗi 6 giờ", "every hour",
    "hourly", "daily"... (English or Vietnamese units, singular or plural, "every"/"mỗi" optional)."""
    seconds = _duration(value)
    if seconds is None:
        raise ValueError(f"not a duration: {value!r}; use e.g. {DURATION_EXAMPLES}")
    return seconds


def parse_schedule(value: str) -> tuple[str, Any]:
    """`("interval", seconds)` for any duration ("every 6 hours", "mỗi 6 giờ", "30m", "daily"),
    or `("cron", "0 8 * * mon")` for a crontab line (Asia/Ho_Chi_Minh)."""
    seconds = _duration(value)
    if seconds is not None:
        return "interval", seconds
    from apscheduler.triggers.cron import CronTrigger

    text = str(value).strip()
    try:
        CronTrigger.from_crontab(text, timezone=TIMEZONE)
    except (ValueError, TypeError) as exc:
        cron_hint = f" ({exc})" if len(text.split()) == 5 else ""
        raise ValueError(
            f"not a schedule: {value!r}{cron_hint}; write an interval such as {DURATION_EXAMPLES} "
            "or a crontab line such as '0 8 * * mon'"
        ) from None
    return "cron", text


@lru_cache(maxsize=1024)  # thousands of sources share a handful of schedules
def schedule_interval(value: str) -> float:
    """The shortest gap, in seconds, between two runs of a schedule (a crontab's over two weeks)."""
    kind, spec = parse_schedule(value)
    if kind == "interval":
        return spec
    from apscheduler.triggers.cron import CronTrigger
    from zoneinfo import ZoneInfo

    trigger = CronTrigger.from_crontab(spec, timezone=TIMEZONE)
    moment = datetime(2026, 1, 5, tzinfo=ZoneInfo(TIMEZONE))
    end, previous, shortest = moment + timedelta(days=14), None, float("inf")
    for _ in range(500):
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None or fire > end:
            break
        if previous is not None:
            shortest = min(shortest, (fire - previous).total_seconds())
        previous, moment = fire, fire + timedelta(seconds=1)
    return shortest


def _check_schedule(value: str | None) -> str | None:
    if value is not None:
        parse_schedule(value)
    return value


# ---------------------------------------------------------------- forms people write

_EMAIL = re.compile(r"^[^@\s<>,;\"'\r\n]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")


def _check_email(value: str) -> str:
    if not _EMAIL.match(value or ""):
        raise ValueError(f"not an email address: {value!r}; write 'a@example.vn' or 'Name <a@example.vn>'")
    return value


def split_address(value: str) -> tuple[str | None, str]:
    """("Bản tin CĐS", "bantin@example.vn") from "Bản tin CĐS <bantin@example.vn>"; (None, addr) from a
    bare address. The standard library's parser reads the name (quoted or not)."""
    text = str(value).strip()
    if "<" not in text:
        return None, _check_email(text)
    name, addr = parseaddr(text)
    if not addr or not text.endswith(">"):
        raise ValueError(f"not an email address: {value!r}; write 'a@example.vn' or 'Name <a@example.vn>'")
    return (name.strip() or None), _check_email(addr)


def _address_name(value: Any) -> str | None:
    """The name in "Name <addr>" (None when there is none, or when the address is malformed:
    the field's own check then reports it at its key)."""
    try:
        return split_address(value)[0] if isinstance(value, str) else None
    except ValueError:
        return None


def _choice(kind: str, *values: str, **aliases: str) -> BeforeValidator:
    """One of `values` in any case ("STARTTLS", "Send"), or refused with the closest one."""
    known = vocabulary.Vocabulary(kind, list(values), aliases={vocabulary.fold(k): v for k, v in aliases.items()})
    return BeforeValidator(lambda v: known.resolve(v) if isinstance(v, str) else v)


def _commas(value: Any) -> Any:
    """"Lai Châu, Điện Biên" as one string is two names (none of these names has a comma)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        return value
    return [part.strip() for item in items for part in (item.split(",") if isinstance(item, str) else [item])
            if not isinstance(part, str) or part.strip()]


def _level(value: Any) -> Any:
    return vocabulary.levels().resolve(value) if isinstance(value, str) else value


def _province(value: str, info: ValidationInfo) -> str:
    vocab = (info.context or {}).get("provinces") or vocabulary.provinces()
    return vocab.resolve(value)


def _source_name(value: str, info: ValidationInfo) -> str:
    vocab = (info.context or {}).get("sources")
    return vocab.resolve(value) if vocab is not None else value  # checked once sources.yaml is known


def _document_type(value: str) -> str:
    return vocabulary.document_types().resolve(value)


Level = Annotated[Literal["national", "provincial"], BeforeValidator(_level)]
Province = Annotated[str, AfterValidator(_province)]
SourceName = Annotated[str, AfterValidator(_source_name)]
DocumentType = Annotated[str, AfterValidator(_document_type)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
NAME_RULE = "use lower-case letters, digits, '-' and '_' (at most 64), starting with a letter or a digit"


@lru_cache(maxsize=None)  # per model class: thousands of sources are validated with one
def _list_keys(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(name for name, f in model.model_fields.items() if get_origin(f.annotation) is list)


class Strict(BaseModel):
    """Unknown keys are errors; one string is accepted where a list is expected."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _one_for_many(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        lists = _list_keys(cls)
        return {k: [v] if k in lists and isinstance(v, (str, dict)) else v for k, v in data.items()}


# ---------------------------------------------------------------- sources.yaml


class Selectors(Strict):
    """Optional CSS selectors that beat the generic extraction on one portal."""

    title: str | None = None
    date: str | None = None
    author: str | None = None
    body: str | None = None


class SourceOptions(Strict):
    """Keys a source may set, and the `defaults:` block may set for all sources."""

    platform: str | None = None
    article_pattern: str | None = None
    deny_patterns: list[str] = Field(default_factory=list)
    next_page: str | None = None
    max_pages: int = Field(default=5, ge=1, le=1000)
    max_articles: int = Field(default=300, ge=1, le=100_000)  # per crawl; a backfill goes on next time
    allow_fast_schedule: bool = False  # before `schedule`: its check reads this
    schedule: str | None = None
    enabled: bool = True
    allowed_domains: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    selectors: Selectors = Field(default_factory=Selectors)
    documents: list[str] = Field(default_factory=list)
    follow_attachments: bool = True
    tls_insecure: bool = False
    stale_after_days: int = Field(default=14, ge=1)

    _v_regex = field_validator("article_pattern")(lambda v: _check_regex(v) if v else v)

    @field_validator("schedule")
    @classmethod
    def _v_schedule(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        gap = schedule_interval(v)
        if gap < MIN_CRAWL_INTERVAL and not info.data.get("allow_fast_schedule"):
            raise ValueError(
                f"{v!r} crawls a government portal more often than every {MIN_CRAWL_INTERVAL // 60} minutes; "
                "choose a longer interval, or set `allow_fast_schedule: true` for a portal you run yourself"
            )
        return v

    @field_validator("deny_patterns")
    @classmethod
    def _v_deny(cls, v: list[str]) -> list[str]:
        return [_check_regex(p) for p in v]

    @field_validator("documents")
    @classmethod
    def _v_docs(cls, v: list[str]) -> list[str]:
        return [_check_url(u) for u in v]

    @field_validator("platform")
    @classmethod
    def _v_platform(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from spiders.presets import load_presets  # the presets are data shipped with the spiders

        known = load_presets()
        if v not in known:
            raise ValueError(f"unknown platform {v!r}; known: {', '.join(sorted(known))}")
        return v


class Source(SourceOptions):
    name: Name
    title: str = Field(min_length=1)
    level: Level
    province: str | None = None
    start_urls: list[str] = Field(default_factory=list)
    feeds: list[str] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)

    @field_validator("start_urls", "feeds", "sitemaps")
    @classmethod
    def _v_urls(cls, v: list[str]) -> list[str]:
        return [_check_url(u) for u in v]

    @field_validator("province")
    @classmethod
    def _v_province(cls, v: str | None) -> str | None:
        """One of the 34 units written another way ("Lai Chau", "tỉnh Lai Châu") is spelt as the list
        spells it, so filters match its articles; any other name (a test portal's) is kept as written."""
        return (vocabulary.provinces().known(v) or v) if v else v

    @model_validator(mode="after")
    def _v_source(self) -> "Source":
        if not (self.start_urls or self.feeds or self.sitemaps):
            raise ValueError("a source needs at least one of start_urls, feeds, sitemaps")
        if self.level == "provincial" and not self.province:
            raise ValueError("a provincial source needs `province`")
        return self

    @property
    def urls(self) -> list[str]:
        return [*self.start_urls, *self.feeds, *self.sitemaps, *self.documents]

    @property
    def effective_schedule(self) -> str:
        return self.schedule or DEFAULT_SCHEDULE


class CrawlSettings(Strict):
    """Crawl-wide politeness and limits (`settings:` in sources.yaml)."""

    contact_url: str = "https://github.com/dxwatch/dxwatch"
    user_agent: str | None = None
    concurrent_requests: int = Field(default=16, ge=1, le=256)
    per_domain_concurrency: int = Field(default=2, ge=1, le=2)
    download_delay: float = Field(default=0.5, ge=0)
    download_timeout: int = Field(default=30, ge=1, le=600)
    max_page_bytes: int = Field(default=5_000_000, ge=10_000)
    max_sitemap_bytes: int = Field(default=50_000_000, ge=10_000)  # the sitemap protocol's own limit
    max_document_bytes: int = Field(default=20_000_000, ge=10_000)  # attachments (PDF, DOCX) over this: too_large
    retry_times: int = Field(default=3, ge=0, le=10)
    retry_backoff: float = Field(default=2.0, ge=0, le=300)  # seconds before the first retry, doubled after
    obey_robots: bool = True
    crawl_time_limit: int = Field(default=1800, ge=10)
    max_parallel_crawls: int = Field(default=2, ge=1, le=16)
    crawl_processes: int = Field(default=0, ge=0, le=64)  # engines per big crawl; 0: one per core (crawler/workers.py)

    @property
    def effective_user_agent(self) -> str:
        return self.user_agent or f"dxwatch/0.1 (+{self.contact_url})"


class SourcesFile(Strict):
    settings: CrawlSettings = Field(default_factory=CrawlSettings)
    defaults: SourceOptions = Field(default_factory=SourceOptions)
    sources: list[Source]


# ---------------------------------------------------------------- digests.yaml


class Filters(Strict):
    """What a digest, recipient or alert rule wants; empty means everything.

    Each name is resolved against what exists (`crawler.vocabulary`): a filter that could never
    match is refused when the config loads instead of delivering nothing, forever.
    """

    levels: list[Level] = Field(default_factory=list)
    provinces: list[Province] = Field(default_factory=list)
    sources: list[SourceName] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    document_types: list[DocumentType] = Field(default_factory=list)
    issuers: list[str] = Field(default_factory=list)

    _v_names = field_validator("levels", "provinces", "sources", "document_types", mode="before")(_commas)


class Recipient(Filters):
    email: str
    name: str | None = None
    admin: bool = False  # admins also get the footer on broken and stale sources

    _v_email = field_validator("email")(lambda v: split_address(v)[1])

    @model_validator(mode="before")
    @classmethod
    def _v_address(cls, data: Any) -> Any:
        """`"Tên <a@example.vn>"`, alone or as `email:`, gives the address and (unless `name:` is set) the name."""
        if isinstance(data, str):
            data = {"email": data}
        if isinstance(data, dict) and not data.get("name") and (name := _address_name(data.get("email"))):
            data = {**data, "name": name}
        return data


class SMTPSettings(Strict):
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    # "ssl" is what mail clients call implicit TLS (port 465)
    security: Annotated[Literal["none", "starttls", "tls"],
                        _choice("security mode", "none", "starttls", "tls", ssl="tls")] = "none"
    username: str | None = None
    password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    sender: str
    sender_name: str = "dxwatch"
    timeout: float = Field(default=30, gt=0)
    rate_per_minute: int = Field(default=60, ge=1)
    unsubscribe: str | None = None
    retries: int = Field(default=3, ge=0, le=10)          # transient failures retried within one run
    retry_backoff: float = Field(default=2.0, ge=0)       # seconds before the first retry, doubled after

    _v_unsubscribe = field_validator("unsubscribe")(lambda v: split_address(v)[1] if v else v)
    _v_sender = field_validator("sender")(lambda v: split_address(v)[1])

    @model_validator(mode="before")
    @classmethod
    def _v_form(cls, data: Any) -> Any:
        """No inline password; `sender: "Bản tin CĐS <bantin@example.vn>"` sets `sender_name` too."""
        if not isinstance(data, dict):
            return data
        if "password" in data:
            raise ValueError(
                "put the password in an environment variable and name it with `password_env`, "
                "never inline in the config"
            )
        if name := _address_name(data.get("sender")):
            if data.get("sender_name") not in (None, name):
                raise ValueError(f"the sender's name is given twice ({name!r} in `sender`, "
                                 f"{data['sender_name']!r} in `sender_name`); keep one")
            data = {**data, "sender_name": name}
        return data

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


def _check_max_age(v: str) -> str:
    parse_duration_seconds(v)
    return v


class Digest(Filters):
    name: Name
    title: str = "Bản tin chuyển đổi số"
    schedule: str = "0 8 * * mon"
    recipients: list[Recipient] = Field(min_length=1)
    max_age: str = "14d"
    when_empty: Annotated[Literal["skip", "send"], _choice("when_empty value", "skip", "send")] = "skip"
    only_relevant: bool = True

    _v_schedule = field_validator("schedule")(_check_schedule)
    _v_age = field_validator("max_age")(_check_max_age)


class AlertRule(Filters):
    name: Name
    title: str | None = None  # the mail's heading and subject; default "Cảnh báo <name>"
    recipients: list[Recipient] = Field(min_length=1)
    items: list[Annotated[Literal["articles", "figures", "directives"],
                          _choice("item", "articles", "figures", "directives")]] = Field(
        default_factory=lambda: ["directives"])
    max_age: str = "2d"  # a new rule or recipient is not flooded with older items
    only_relevant: bool = True

    _v_age = field_validator("max_age")(_check_max_age)
    _v_items = field_validator("items", mode="before")(_commas)


class DigestsFile(Strict):
    smtp: SMTPSettings | None = None  # only the commands that send need it
    archive_url: str | None = Field(default=None, pattern=r"^https?://\S+$")  # where data/digests/ is published
    digests: list[Digest] = Field(default_factory=list)
    alerts: list[AlertRule] = Field(default_factory=list)


# ---------------------------------------------------------------- loading with line numbers


def _read_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """Parse safely; return the data and a map from key path to 1-based line number."""
    if not path.is_file():
        raise ConfigError(path, None, "", "file not found; create it (see config/ in the dxwatch repository)")
    try:
        raw = path.read_bytes()
    except OSError as exc:  # no permission, an I/O error: one line like any other config error
        raise ConfigError(path, None, "", f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(path, None, "", f"file is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")  # a BOM from a Windows editor is not an error
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, "", f"not UTF-8 text ({exc})") from None
    loader = _YAML_LOADER(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(path, line, "", f"YAML syntax error: {problem}") from None
        try:
            data, lines = _construct(node, loader, path) if node is not None else (None, {})
        except yaml.YAMLError as exc:
            raise ConfigError(path, None, "", f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    return data, lines


_STR_TAG = yaml.resolver.BaseResolver.DEFAULT_SCALAR_TAG
_PLAIN_TAGS = {_STR_TAG, yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
               yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG}


def _construct(root: yaml.Node, loader: Any, path: Path) -> tuple[Any, dict[tuple, int]]:
    """The document's data and a map from each key path to its 1-based line, in one walk over the
    composed nodes (the text is parsed once, by libyaml where installed).

    Strings, lists and mappings, which are most of a 4,000-source file, are built here; any other
    node (numbers, booleans, null, a mapping with a `<<` merge key, a tagged value) goes to PyYAML's
    safe constructor, so the data is what `yaml.safe_load` gives, at a third of its cost. Iterative,
    so a deeply nested document cannot exhaust the recursion limit; a document expanding to too
    many nodes (an alias bomb) is refused before it is built.
    """
    lines: dict[tuple, int] = {}
    budget = MAX_CONFIG_NODES
    top: list[Any] = [None]
    # (node, key path, container to fill or None when only lines are wanted, slot in it)
    stack: list[tuple[yaml.Node, tuple, Any, Any]] = [(root, (), top, 0)]
    while stack:
        node, at, into, slot = stack.pop()
        budget -= 1
        if budget < 0:
            raise ConfigError(path, node.start_mark.line + 1, "", "the document expands to too many values (alias bomb?)")
        lines.setdefault(at, node.start_mark.line + 1)
        plain = node.tag in _PLAIN_TAGS and not (
            isinstance(node, yaml.MappingNode) and any(k.tag == "tag:yaml.org,2002:merge" for k, _ in node.value))
        if into is not None:
            if not plain:
                into[slot] = loader.construct_object(node, deep=True)
                into = None  # its children are walked for their lines only
            elif isinstance(node, yaml.ScalarNode):
                into[slot] = node.value
            else:
                into[slot] = {} if isinstance(node, yaml.MappingNode) else [None] * len(node.value)
                into = into[slot]
        if isinstance(node, yaml.MappingNode):
            children = []
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
                lines[(*at, key)] = key_node.start_mark.line + 1
                if into is not None:
                    built = key if key_node.tag == _STR_TAG else loader.construct_object(key_node, deep=True)
                    try:
                        into[built] = None  # keys keep the document's order
                    except TypeError:
                        raise ConfigError(path, key_node.start_mark.line + 1, _dotted(at),
                                          "a key must be a plain value, not a list or mapping") from None
                    children.append((value_node, (*at, key), into, built))
                else:
                    children.append((value_node, (*at, key), None, None))
            stack.extend(reversed(children))  # in document order: a repeated key's last value wins
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed([(item, (*at, i), into, i) for i, item in enumerate(node.value)]))
    return top[0], lines


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _keys_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys the mapping at `loc` (inside `model`) may have: to suggest one for an unknown key."""
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        while get_origin(annotation) in (list, Union, UnionType, Annotated):
            annotation = next((a for a in get_args(annotation) if a is not type(None)), None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _problems(path: Path, exc: ValidationError, lines: dict[tuple, int], prefix: tuple = (),
              skip: set[str] = frozenset(), model: type[BaseModel] | None = None) -> list[Problem]:
    """One `Problem` per pydantic error, at the line of the deepest key that exists in the file.

    `skip`: first-level keys whose errors were already reported elsewhere (values from `defaults:`);
    `model`: what was validated, to suggest the key an unknown one was meant to be."""
    found = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p in {"Recipient", "str"})))
        if loc and loc[0] in skip:
            continue
        full = (*prefix, *loc)
        line = next((lines[full[:i]] for i in range(len(full), -1, -1) if full[:i] in lines), None)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), _keys_at(model, loc[:-1]) if model else [], n=1,
                                              cutoff=0.6)
            msg = (f"unknown key; did you mean {close[0]!r}?" if close else
                   "unknown key (check the spelling; docs/configuration.md lists the allowed keys)")
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "string_pattern_mismatch" and loc and loc[-1] == "name":
            msg = f"not a valid name: {err['input']!r}; {NAME_RULE}"
        elif err["type"] == "literal_error":
            msg += f" (got {err['input']!r})"
        elif "input" in err and not isinstance(err["input"], (dict, list)) and err["type"] != "value_error":
            msg += f" (got {err['input']!r})"
            if isinstance(err["input"], bool) and err["type"] == "string_type":
                msg += "; YAML reads yes/no/on/off as true/false: put the value in quotes"
        found.append(Problem(str(path), line, _dotted(full), msg))
    return found


def _validate(model: type[BaseModel], data: Any, path: Path, lines: dict, problems: list[Problem],
              prefix: tuple = (), context: dict | None = None, skip: set[str] = frozenset()) -> Any:
    """The validated model, or None with its problems appended to `problems`."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        problems.extend(_problems(path, exc, lines, prefix, skip, model))
        return None


def _duplicates(path: Path, lines: dict, kind: str, items: list, problems: list[Problem]) -> None:
    seen: dict[str, int | None] = {}
    for i, item in enumerate(items):
        if item is None:
            continue
        line = lines.get((kind, i, "name"))
        if item.name in seen:
            first = f" (first used at line {seen[item.name]})" if seen[item.name] else ""
            problems.append(Problem(str(path), line, f"{kind}[{i}].name", f"duplicate name {item.name!r}{first}"))
        else:
            seen[item.name] = line


def _read_into(path: Path, problems: list[Problem]) -> tuple[Any, dict] | None:
    """`_read_yaml`, with a file that cannot be read at all added to `problems` (the other file goes on)."""
    try:
        return _read_yaml(path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None


def _load_sources(path: Path, problems: list[Problem]) -> SourcesFile | None:
    if (read := _read_into(path, problems)) is None:
        return None
    data, lines = read
    if not isinstance(data, dict) or "sources" not in data:
        problems.append(Problem(str(path), 1, "sources", "the file needs a top-level `sources:` list"))
        return None
    if not isinstance(data.get("sources"), list):
        problems.append(Problem(str(path), lines.get(("sources",)), "sources", "must be a list of sources"))
        return None
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append(Problem(str(path), lines.get(("defaults",)), "defaults", "must be a mapping of keys"))
        defaults = {}
    before = len(problems)
    options = _validate(SourceOptions, defaults, path, lines, problems, ("defaults",))
    bad_defaults = {p.key.split(".", 1)[1].split("[")[0] for p in problems[before:] if "." in p.key}
    sources = []
    for i, entry in enumerate(data["sources"]):
        if not isinstance(entry, dict):
            problems.append(Problem(str(path), lines.get(("sources", i)), f"sources[{i}]",
                                    "each source must be a mapping"))
            continue
        inherited = {k for k in defaults if k not in entry}
        sources.append(_validate(Source, {**defaults, **entry}, path, lines, problems, ("sources", i),
                                 skip=inherited & bad_defaults))
    _duplicates(path, lines, "sources", sources, problems)
    rest = {k: v for k, v in data.items() if k not in {"sources", "defaults"}}
    top = _validate(SourcesFile, {**rest, "sources": []}, path, lines, problems)
    if top is None or options is None or any(s is None for s in sources):
        return None
    top.sources, top.defaults = sources, options
    return top


def load_sources(path: Path | str) -> SourcesFile:
    """`sources.yaml`, validated; every problem in one `ConfigError`."""
    problems: list[Problem] = []
    result = _load_sources(Path(path), problems)
    if problems:
        raise ConfigError.of(problems)
    return result


def _load_digests(path: Path, problems: list[Problem], sources: SourcesFile | None) -> DigestsFile | None:
    if (read := _read_into(path, problems)) is None:
        return None
    data, lines = read
    if data is None:
        data = {}  # empty, or only comments: nothing to send yet
    if not isinstance(data, dict):
        problems.append(Problem(str(path), 1, "", "the file needs an `smtp:` block and a `digests:` list"))
        return None
    context = None
    if sources is not None:
        context = {"sources": vocabulary.sources([s.name for s in sources.sources]),
                   "provinces": vocabulary.provinces(tuple(sorted({s.province for s in sources.sources
                                                                   if s.province})))}
    result = _validate(DigestsFile, data, path, lines, problems, context=context)
    if result is not None:
        _duplicates(path, lines, "digests", result.digests, problems)
        _duplicates(path, lines, "alerts", result.alerts, problems)
    return result


def load_digests(path: Path | str, sources: SourcesFile | None = None) -> DigestsFile:
    """`digests.yaml`, validated (filters naming sources are checked when `sources` is given)."""
    problems: list[Problem] = []
    result = _load_digests(Path(path), problems, sources)
    if problems:
        raise ConfigError.of(problems)
    return result


@dataclass
class Config:
    """Both files, loaded and validated; `directory` is where they came from."""

    directory: Path
    sources_file: SourcesFile
    digests_file: DigestsFile | None

    @property
    def sources(self) -> list[Source]:
        return self.sources_file.sources

    @property
    def settings(self) -> CrawlSettings:
        return self.sources_file.settings

    @property
    def smtp(self) -> SMTPSettings | None:
        return self.digests_file.smtp if self.digests_file else None

    def require_smtp(self, purpose: str) -> SMTPSettings:
        """The SMTP settings, or one line saying that `purpose` needs them and where they go."""
        if self.smtp is None:
            raise ConfigError(self.directory / "digests.yaml", None, "smtp",
                              f"{purpose} sends email: add an `smtp:` block (host, port, security, sender) "
                              "to digests.yaml; crawl, sources and digest preview work without it")
        return self.smtp

    @cached_property
    def _by_name(self) -> dict[str, Source]:
        """Name -> source, so picking 4,000 sources by name is not 4,000 scans of the list."""
        return {s.name: s for s in self.sources}

    def source(self, name: str) -> Source:
        found = self._by_name.get(name)
        if found is None:
            raise ConfigError(self.directory / "sources.yaml", None, "",
                              vocabulary.sources(list(self._by_name)).complaint(name))
        return found

    def digest(self, name: str) -> Digest:
        digests = self.digests_file.digests if self.digests_file else []
        found = next((d for d in digests if d.name == name), None)
        if found is None:
            raise ConfigError(self.directory / "digests.yaml", None, "",
                              vocabulary.Vocabulary("digest", [d.name for d in digests], exact=True).complaint(name))
        return found


def config_directory(path: Path | str) -> Path:
    """`--config` names the folder; a path to `sources.yaml` or `digests.yaml` means its folder."""
    path = Path(path)
    if not path.is_file():
        return path
    if path.name not in {"sources.yaml", "digests.yaml"}:
        raise ConfigError(path, None, "", "--config names the folder that holds sources.yaml and digests.yaml "
                          f"(or one of those two files); copy this file to {path.parent / 'sources.yaml'}")
    return path.parent


def load_config(directory: Path | str, need_digests: bool = False) -> Config:
    """Load `sources.yaml` and, when present (or required), `digests.yaml` from `directory` (or a file's folder).

    A missing `digests.yaml`, or one without `smtp:`, is fine for crawling and previews; the
    commands that send ask `Config.require_smtp`. All problems of both files come in one error.
    """
    directory = config_directory(directory)
    if not directory.is_dir():
        raise ConfigError(directory, None, "", "config directory not found; pass --config DIR or set DXWATCH_CONFIG")
    problems: list[Problem] = []
    sources = _load_sources(directory / "sources.yaml", problems)
    digests_path = directory / "digests.yaml"
    digests = _load_digests(digests_path, problems, sources) if (need_digests or digests_path.exists()) else None
    if problems:
        order = {str(directory / "sources.yaml"): 0}
        raise ConfigError.of(sorted(problems, key=lambda p: (order.get(p.path, 1), p.line or 0)))
    return Config(directory, sources, digests)
