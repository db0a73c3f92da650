"""Times each page's script against a built model, as the benchmark reports it.

Uses Streamlit's AppTest, which runs the real page scripts without a browser: the time is the
script's (queries and drawing calls), not the browser's rendering.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pages import registry  # the one declared exception: data_model may not import pages

ROOT = Path(__file__).resolve().parents[2]
# Every page of the app by its short key, from the app's own page list.
PAGES = {page.key: page.file for page in registry.PAGES}


def time_pages(model: Path, repeats: int = 3) -> dict[str, float]:
    """Seconds per page script once the model is open: `<page>` with no cached query results
    (the honest figure), `<page>_cached` for a repeat visit. Best of `repeats` runs each."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["FFI_MODEL"] = str(model)
    timings = {}
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()  # opens the model and imports everything once
    for name, page in PAGES.items():
        app.switch_page(page).run()
        if app.exception:
            raise RuntimeError(f"page {name} raised: {app.exception[0].message}")
        for label, clear in ((name, True), (f"{name}_cached", False)):
            runs = []
            for _ in range(repeats):
                if clear:
                    st.cache_data.clear()
                started = time.perf_counter()
                app.run()
                runs.append(time.perf_counter() - started)
            timings[label] = min(runs)
    return timings
