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


def caution_below_cases() -> int:
    """A median, a percentile or a rate from fewer cases than this carries a caution beside it,
    on every page (settings.yaml display.caution_below_cases)."""
    return int(settings()["display"]["caution_below_cases"])
