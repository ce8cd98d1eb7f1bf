"""Platform presets (spiders/presets.yaml): link rules shared by portals built on one CMS.

A module of its own, importing nothing of the project, so the config can check a `platform`
name without importing the spiders' link rules (which import the config).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

PRESETS_FILE = Path(__file__).with_name("presets.yaml")


@lru_cache(maxsize=1)
def load_presets() -> dict[str, dict]:
    return yaml.safe_load(PRESETS_FILE.read_text(encoding="utf-8")) or {}
