"""The family lookup's settings: data_model/lookup.yaml, read once."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

LOOKUP_FILE = Path(__file__).resolve().parents[1] / "lookup.yaml"


@cache
def lookup_settings() -> dict[str, Any]:
    with LOOKUP_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def search_settings() -> dict[str, Any]:
    """lookup.yaml's `search:` section."""
    return lookup_settings()["search"]
