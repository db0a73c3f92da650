"""Times the ward profile against a built model, as the benchmark reports it: one ward's profile,
HTML and PDF together (what the Wards page's download makes), once the model is open."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from data_model.profile import pdf_unavailable_reason, profile_downloads
from data_model.read import open_model, query_row

REPEATS = 3


def time_profile(model: Path) -> dict[str, float]:
    """Seconds for one profile: `profile_first_s`, the first in this process (imports, the
    bundled fonts unpacked), and `profile_s`, the median of the next REPEATS. Empty where
    WeasyPrint cannot run here (no PDF to time)."""
    if pdf_unavailable_reason():
        return {}
    con = open_model(model)
    try:
        ward = query_row(con, "select min(ward_code) as ward_code from mart_ward")["ward_code"]
        seconds = []
        for _ in range(REPEATS + 1):
            started = time.perf_counter()
            made = profile_downloads(con, ward)
            seconds.append(time.perf_counter() - started)
            assert made.pdf, "WeasyPrint made no PDF"
    finally:
        con.close()
    return {"profile_first_s": seconds[0], "profile_s": statistics.median(seconds[1:])}
