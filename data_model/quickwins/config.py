"""The ranking's settings (data_model/quickwins.yaml), read once."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "quickwins.yaml"


@cache
def quickwins_settings() -> dict[str, Any]:
    """The whole settings file as a dict."""
    with SETTINGS_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)
