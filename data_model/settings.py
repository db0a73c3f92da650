"""Settings that are data (data_model/settings.yaml), read once."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

SETTINGS_FILE = Path(__file__).with_name("settings.yaml")


@cache
def settings() -> dict[str, Any]:
    with SETTINGS_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)
