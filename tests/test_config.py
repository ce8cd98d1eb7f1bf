"""Config validation: every problem is one message naming the file, the line and the key."""

import textwrap

import pytest

from helpers import dxwatch

from crawler.config import ConfigError, load_config, load_sources, parse_schedule

GOOD_SOURCES = """\
settings:
  contact_url: https://example.org/dxwatch
defaults:
  max_pages: 3
sources:
  - name: national-news
    title: Báo Chính phủ
    level: national
    feeds: [http://127.0.0.1:9/rss]
  - name: thanh-hoa
    title: Cổng TTĐT Thanh Hóa
    level: provincial
    province: Thanh Hóa
    start_urls: [http://127.0.0.1:9/tin-tuc]
    max_pages: 7
"""

GOOD_DIGESTS = """\
smtp:
  host: 127.0.0.1
  port: 2525
  sender: dxwatch@example.org
digests:
  - name: weekly
    schedule: "0 8 * * mon"
    recipients: [officer@example.org, {email: th@example.org, provinces: [Thanh Hóa]}]
"""


def write(tmp_path, sources=GOOD_SOURCES, digests=GOOD_DIGESTS):
    (tmp_path / "sources.yaml").write_text(sources, encoding="utf-8")
    if digests is not None:
        (tmp_path / "digests.yaml").write_text(digests, encoding="utf-8")
    return tmp_path


def error_for(tmp_path, sources=GOOD_SOURCES, digests=GOOD_DIGESTS) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, sources, digests))
    return info.value


def test_good_config_loads_with_defaults_applied(tmp_path):
    cfg = load_config(write(tmp_path))
    assert [s.name for s in cfg.sources] == ["national-news", "thanh-hoa"]
    assert cfg.source("national-news").max_pages == 3      # from defaults
    assert cfg.source("thanh-hoa").max_pages == 7          # own value wins
    assert cfg.settings.effective_user_agent == "dxwatch/0.1 (+https://example.org/dxwatch)"
    recipients = cfg.digest("weekly").recipients
    assert recipients[0].email == "officer@example.org" and recipients[1].provinces == ["Thanh Hóa"]


def test_unknown_key_names_file_line_and_key(tmp_path):
    err = error_for(tmp_path, GOOD_SOURCES.replace("    max_pages: 7", "    max_pagez: 7"))
    assert err.path.endswith("sources.yaml")
    assert err.line == 15
    assert err.key == "sources[1].max_pagez"
    assert "unknown key" in str(err)


def test_bad_value_and_wrong_type(tmp_path):
    err = error_for(tmp_path, GOOD_SOURCES.replace("level: provincial", "level: provincal"))
    assert (err.line, err.key) == (12, "sources[1].level")
    err = error_for(tmp_path, GOOD_SOURCES.replace("max_pages: 7", "max_pages: many"))
    assert (err.line, err.key) == (15, "sources[1].max_pages")


def test_duplicate_source_name(tmp_path):
    err = error_for(tmp_path, GOOD_SOURCES.replace("name: thanh-hoa", "name: national-news"))
    assert err.key == "sources[1].name" and "duplicate" in err.message and err.line == 10


def test_yaml_syntax_error_has_line(tmp_path):
    err = error_for(tmp_path, GOOD_SOURCES.replace("    level: national", "    level: [national"))
    assert err.line is not None and "YAML syntax error" in err.message


def test_missing_entry_points_and_province(tmp_path):
    err = error_for(tmp_path, GOOD_SOURCES.replace("    feeds: [http://127.0.0.1:9/rss]\n", ""))
    assert "at least one of start_urls" in err.message and err.key == "sources[0]"
    err = error_for(tmp_path, GOOD_SOURCES.replace("    province: Thanh Hóa\n", ""))
    assert "province" in err.message


def test_bad_url_regex_schedule_email(tmp_path):
    assert "not an http(s) URL" in error_for(tmp_path, GOOD_SOURCES.replace("http://127.0.0.1:9/rss", "ftp://x")).message
    bad_re = GOOD_SOURCES.replace("    max_pages: 7", "    article_pattern: '([a-z'")
    assert "regular expression" in error_for(tmp_path, bad_re).message
    bad_cron = GOOD_DIGESTS.replace('"0 8 * * mon"', '"61 8 * * mon"')
    err = error_for(tmp_path, digests=bad_cron)
    assert err.key == "digests[0].schedule" and err.line == 7
    bad_mail = GOOD_DIGESTS.replace("officer@example.org", "officer-at-example.org")
    assert "email" in error_for(tmp_path, digests=bad_mail).message


def test_inline_password_is_refused(tmp_path):
    err = error_for(tmp_path, digests=GOOD_DIGESTS.replace("  port: 2525\n", "  port: 2525\n  password: hunter2\n"))
    assert "password_env" in err.message and "hunter2" not in str(err)


def test_alias_bomb_is_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        bomb += f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    bomb += "sources: *j\n"
    with pytest.raises(ConfigError) as info:
        load_sources(write(tmp_path, bomb) / "sources.yaml")
    assert "too many values" in info.value.message


@pytest.mark.parametrize("document", [
    "a: 1\nb: [1, 2.5, yes, null, ~, '3', \"x\"]\nc: {d: e}\n",
    "base: &b {x: 1, y: [a, b]}\nother:\n  <<: *b\n  y: 2\n",     # a merge key
    "a: 1\na: 2\n",                                                  # a repeated key: the last wins
    "- 1\n- - 2\n  - {3: 4, '5': six}\n- 2024-01-01\n",
    "k: !!str 12\nj: !!int '7'\nx: &a [1, 2]\ny: *a\n",
    "just a string\n",
])
def test_config_values_are_those_yaml_safe_load_gives(tmp_path, document):
    """The loader builds plain strings, lists and mappings itself (for speed) and leaves the rest
    to PyYAML: the result must not differ from safe_load's."""
    import yaml

    from crawler.config import _read_yaml
    (tmp_path / "x.yaml").write_text(document, encoding="utf-8")
    assert _read_yaml(tmp_path / "x.yaml")[0] == yaml.safe_load(document)


def test_a_mapping_used_as_a_key_is_one_line(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_sources(write(tmp_path, "sources:\n  - ? {a: 1}\n    : x\n") / "sources.yaml")
    assert info.value.line == 2 and "plain value" in info.value.message


@pytest.mark.parametrize("text,kind,value", [("every 6h", "interval", 21600), ("30m", "interval", 1800),
                                             ("0 8 * * mon", "cron", "0 8 * * mon")])
def test_parse_schedule(text, kind, value):
    assert parse_schedule(text) == (kind, value)


def test_cli_exits_2_with_one_clear_line(tmp_path):
    write(tmp_path, GOOD_SOURCES.replace("level: national", "level: nationwide"))
    proc = dxwatch("--config", tmp_path, "sources", "list")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "sources.yaml:8: sources[0].level" in proc.stderr.replace("\n", "")


def test_yaml_boolean_words_get_a_hint_to_quote(tmp_path):
    err = error_for(tmp_path, GOOD_SOURCES.replace("name: thanh-hoa", "name: off"))
    assert err.key == "sources[1].name" and "quotes" in err.message
