"""Configuration: `sources.yaml` and `digests.yaml`, validated before anything runs.

Every problem becomes one `ConfigError` naming the file, the line and the key, so the CLI can
print it and exit with code 2 instead of a traceback.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

MAX_CONFIG_BYTES = 10_000_000  # a national config (4,000 portals) is about 1 MB
MAX_CONFIG_NODES = 1_000_000  # an alias bomb expands past this long before it hurts (4,000 sources: ~150k)
# libyaml's parser when PyYAML was built with it (about 10x faster on a 4,000-source file)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DEFAULT_SCHEDULE = "every 6h"
TIMEZONE = "Asia/Ho_Chi_Minh"


class ConfigError(Exception):
    """A config problem, already phrased for the admin: `file:line: key: what is wrong`."""

    def __init__(self, path: Path | str, line: int | None, key: str, message: str):
        self.path, self.line, self.key, self.message = str(path), line, key, message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


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


_INTERVAL = re.compile(r"^(?:every\s+)?(\d+)\s*(s|m|h|d|w)$")
_INTERVAL_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_schedule(value: str) -> tuple[str, Any]:
    """`("interval", seconds)` for "every 6h" / "30m", or `("cron", "0 8 * * mon")` for crontab text."""
    text = value.strip().lower()
    m = _INTERVAL.match(text)
    if m:
        seconds = int(m.group(1)) * _INTERVAL_SECONDS[m.group(2)]
        if seconds <= 0:
            raise ValueError("an interval must be longer than zero")
        return "interval", seconds
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value.strip(), timezone=TIMEZONE)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"not a schedule: {value!r} ({exc}); use a crontab line such as '0 8 * * mon' "
            "or an interval such as 'every 6h'"
        ) from None
    return "cron", value.strip()


def _check_schedule(value: str | None) -> str | None:
    if value is not None:
        parse_schedule(value)
    return value


_DURATION = re.compile(r"^(\d+)\s*(h|d|w)$")


def parse_duration_seconds(value: str) -> int:
    m = _DURATION.match(value.strip().lower())
    if not m:
        raise ValueError(f"not a duration: {value!r}; use e.g. '36h', '7d' or '2w'")
    return int(m.group(1)) * _INTERVAL_SECONDS[m.group(2)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
    _v_schedule = field_validator("schedule")(_check_schedule)

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
        from spiders.links import load_presets  # the presets are data shipped with the spiders

        known = load_presets()
        if v not in known:
            raise ValueError(f"unknown platform {v!r}; known: {', '.join(sorted(known))}")
        return v


class Source(SourceOptions):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    title: str = Field(min_length=1)
    level: Literal["national", "provincial"]
    province: str | None = None
    start_urls: list[str] = Field(default_factory=list)
    feeds: list[str] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)

    @field_validator("start_urls", "feeds", "sitemaps")
    @classmethod
    def _v_urls(cls, v: list[str]) -> list[str]:
        return [_check_url(u) for u in v]

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

    @property
    def effective_user_agent(self) -> str:
        return self.user_agent or f"dxwatch/0.1 (+{self.contact_url})"


class SourcesFile(Strict):
    settings: CrawlSettings = Field(default_factory=CrawlSettings)
    defaults: SourceOptions = Field(default_factory=SourceOptions)
    sources: list[Source]


# ---------------------------------------------------------------- digests.yaml

_EMAIL = re.compile(r"^[^@\s<>,;\"'\r\n]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$")


def _check_email(value: str) -> str:
    if not _EMAIL.match(value or ""):
        raise ValueError(f"not an email address: {value!r}")
    return value


class Filters(Strict):
    """What a digest, recipient or alert rule wants; empty means everything."""

    levels: list[Literal["national", "provincial"]] = Field(default_factory=list)
    provinces: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    document_types: list[str] = Field(default_factory=list)
    issuers: list[str] = Field(default_factory=list)


class Recipient(Filters):
    email: str
    name: str | None = None
    admin: bool = False  # admins also get the footer on broken and stale sources

    _v_email = field_validator("email")(_check_email)


class SMTPSettings(Strict):
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    sender: str
    sender_name: str = "dxwatch"
    timeout: float = Field(default=30, gt=0)
    rate_per_minute: int = Field(default=60, ge=1)
    unsubscribe: str | None = None
    retries: int = Field(default=3, ge=0, le=10)          # transient failures retried within one run
    retry_backoff: float = Field(default=2.0, ge=0)       # seconds before the first retry, doubled after

    _v_unsubscribe = field_validator("unsubscribe")(lambda v: _check_email(v) if v else v)

    _v_sender = field_validator("sender")(_check_email)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and "password" in data:
            raise ValueError(
                "put the password in an environment variable and name it with `password_env`, "
                "never inline in the config"
            )
        return data

    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


class Digest(Filters):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    title: str = "Bản tin chuyển đổi số"
    schedule: str = "0 8 * * mon"
    recipients: list[Recipient | str] = Field(min_length=1)
    max_age: str = "14d"
    when_empty: Literal["skip", "send"] = "skip"
    only_relevant: bool = True

    _v_schedule = field_validator("schedule")(_check_schedule)

    @field_validator("max_age")
    @classmethod
    def _v_age(cls, v: str) -> str:
        parse_duration_seconds(v)
        return v

    @field_validator("recipients")
    @classmethod
    def _v_recipients(cls, v: list) -> list[Recipient]:
        return [Recipient(email=_check_email(r)) if isinstance(r, str) else r for r in v]


class AlertRule(Filters):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    title: str | None = None  # the mail's heading and subject; default "Cảnh báo <name>"
    recipients: list[Recipient | str] = Field(min_length=1)
    items: list[Literal["articles", "figures", "directives"]] = Field(default_factory=lambda: ["directives"])
    max_age: str = "2d"  # a new rule or recipient is not flooded with older items
    only_relevant: bool = True

    _v_age = field_validator("max_age")(Digest._v_age.__func__)

    _v_recipients = field_validator("recipients")(Digest._v_recipients.__func__)


class DigestsFile(Strict):
    smtp: SMTPSettings
    archive_url: str | None = Field(default=None, pattern=r"^https?://\S+$")  # where data/digests/ is published
    digests: list[Digest] = Field(default_factory=list)
    alerts: list[AlertRule] = Field(default_factory=list)


# ---------------------------------------------------------------- loading with line numbers


def _read_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """Parse safely; return the data and a map from key path to 1-based line number."""
    if not path.is_file():
        raise ConfigError(path, None, "", "file not found; create it (see config/ in the dxwatch repository)")
    raw = path.read_bytes()
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(path, None, "", f"file is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
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
        lines = _key_lines(node, path)
        try:  # built from the nodes just read: the text is parsed once
            data = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as exc:
            raise ConfigError(path, None, "", f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    return data, lines


def _key_lines(node: yaml.Node | None, path: Path) -> dict[tuple, int]:
    """Map each key path to its 1-based line; refuse a document that expands to too many nodes."""
    lines: dict[tuple, int] = {}
    budget = MAX_CONFIG_NODES
    stack = [(node, ())] if node is not None else []
    while stack:  # iterative: a deeply nested document cannot exhaust the recursion limit
        n, at = stack.pop()
        budget -= 1
        if budget < 0:
            raise ConfigError(path, n.start_mark.line + 1, "", "the document expands to too many values (alias bomb?)")
        lines.setdefault(at, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else str(k)
                lines[(*at, key)] = k.start_mark.line + 1
                stack.append((v, (*at, key)))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend((v, (*at, i)) for i, v in enumerate(n.value))
    return lines


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _raise_validation(path: Path, exc: ValidationError, lines: dict[tuple, int], prefix: tuple = ()) -> None:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p in {"Recipient", "str"})))
    full = (*prefix, *loc)
    line = None
    for i in range(len(full), -1, -1):
        if full[:i] in lines:
            line = lines[full[:i]]
            break
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; see docs/configuration.md for the allowed keys)"
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif "input" in err and not isinstance(err["input"], (dict, list)) and err["type"] != "value_error":
        msg += f" (got {err['input']!r})"
        if isinstance(err["input"], bool) and err["type"] == "string_type":
            msg += "; YAML reads yes/no/on/off as true/false: put the value in quotes"
    raise ConfigError(path, line, _dotted(full), msg) from None


def _validate(model: type[BaseModel], data: Any, path: Path, lines: dict, prefix: tuple = ()) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        _raise_validation(path, exc, lines, prefix)


def load_sources(path: Path | str) -> SourcesFile:
    path = Path(path)
    data, lines = _read_yaml(path)
    if not isinstance(data, dict) or "sources" not in data:
        raise ConfigError(path, 1, "sources", "the file needs a top-level `sources:` list")
    if not isinstance(data.get("sources"), list):
        raise ConfigError(path, lines.get(("sources",)), "sources", "must be a list of sources")
    defaults = data.get("defaults") or {}
    _validate(SourceOptions, defaults, path, lines, ("defaults",))
    if not isinstance(defaults, dict):
        raise ConfigError(path, lines.get(("defaults",)), "defaults", "must be a mapping of keys")
    sources, seen = [], {}
    for i, entry in enumerate(data["sources"]):
        if not isinstance(entry, dict):
            raise ConfigError(path, lines.get(("sources", i)), f"sources[{i}]", "each source must be a mapping")
        merged = {**defaults, **entry}
        source = _validate(Source, merged, path, lines, ("sources", i))
        if source.name in seen:
            raise ConfigError(
                path, lines.get(("sources", i, "name")), f"sources[{i}].name",
                f"duplicate source name {source.name!r} (first used at line {seen[source.name]})",
            )
        seen[source.name] = lines.get(("sources", i, "name"))
        sources.append(source)
    rest = {k: v for k, v in data.items() if k not in {"sources", "defaults"}}
    top = _validate(SourcesFile, {**rest, "sources": []}, path, lines)
    top.sources = sources
    top.defaults = SourceOptions.model_validate(defaults)
    return top


def load_digests(path: Path | str) -> DigestsFile:
    path = Path(path)
    data, lines = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, 1, "smtp", "the file needs an `smtp:` block and a `digests:` list")
    result = _validate(DigestsFile, data, path, lines)
    for kind, items in (("digests", result.digests), ("alerts", result.alerts)):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.name in seen:
                raise ConfigError(path, lines.get((kind, i, "name")), f"{kind}[{i}].name", f"duplicate name {item.name!r}")
            seen.add(item.name)
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

    @cached_property
    def _by_name(self) -> dict[str, Source]:
        """Name -> source, so picking 4,000 sources by name is not 4,000 scans of the list."""
        return {s.name: s for s in self.sources}

    def source(self, name: str) -> Source:
        found = self._by_name.get(name)
        if found is not None:
            return found
        known = ", ".join(s.name for s in self.sources)
        raise ConfigError(self.directory / "sources.yaml", None, "", f"no source named {name!r}; known: {known}")

    def digest(self, name: str) -> Digest:
        digests = self.digests_file.digests if self.digests_file else []
        for d in digests:
            if d.name == name:
                return d
        known = ", ".join(d.name for d in digests) or "none"
        raise ConfigError(self.directory / "digests.yaml", None, "", f"no digest named {name!r}; known: {known}")


def load_config(directory: Path | str, need_digests: bool = False) -> Config:
    """Load `sources.yaml` and, when present (or required), `digests.yaml` from `directory`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(directory, None, "", "config directory not found; pass --config DIR or set DXWATCH_CONFIG")
    sources = load_sources(directory / "sources.yaml")
    digests_path = directory / "digests.yaml"
    digests = load_digests(digests_path) if (need_digests or digests_path.exists()) else None
    return Config(directory, sources, digests)
