"""Families First Insight: the entry point.

Run with `streamlit run app.py`. The model file is FFI_MODEL, a council's model built with
`python -m data_model build`. Without FFI_MODEL the app serves the synthetic demo from
data/demo.duckdb, building it first (with progress) when it is not there; it never builds at a
configured FFI_MODEL path.
"""

from __future__ import annotations

import logging
import threading

import streamlit as st

from pages import registry
from pages.ui import layout, model
from pages.ui.formats import fmt_int

st.set_page_config(page_title="Families First Insight", layout="wide")


@st.cache_resource(show_spinner=False)
def _build_lock() -> threading.Lock:
    """One build at a time in this server: a second session waits, then finds the model."""
    return threading.Lock()


def missing_model_page() -> None:
    """FFI_MODEL names a file that is not there: say so; never build a demo in its place."""
    st.title("Families First Insight")
    st.error(
        f"There is no model at {model.model_path()} (the FFI_MODEL setting). Build it from the "
        "council's extracts with `python -m data_model build --sources FOLDER --out "
        f"{model.model_path()}`, or point FFI_MODEL at the model file."
    )
    st.stop()


def build_demo_model() -> None:
    """Build the synthetic district at the demo path, with a progress bar, then rerun."""
    from data_model.build import build_synthetic

    path = model.model_path()
    st.title("Families First Insight")
    st.info(
        f"There is no model at {path} yet, so the app is building the synthetic demo district "
        f"({fmt_int(model.DEFAULT_HOUSEHOLDS)} households), once; it takes less than a "
        "minute."
    )
    bar = st.progress(0.0, text="Starting")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

    with _build_lock():
        if not path.exists():  # another session may have built it while we waited
            try:
                build_synthetic(path, households=model.DEFAULT_HOUSEHOLDS, progress=progress)
            except Exception as error:  # the message for the user, the traceback for the log
                logging.getLogger(__name__).exception("building the synthetic district failed")
                st.error(f"The synthetic district could not be built: {error}")
                st.stop()
    st.rerun()


# The pages, grouped by sidebar section, from the one page list (pages/registry.py, which says
# why URL paths differ from file names).
pages = {
    section: [
        st.Page(entry.file, title=entry.title, url_path=entry.url_path, default=entry.default)
        for entry in entries
    ]
    for section, entries in registry.sections().items()
}
# Navigation first, even before a build, so Streamlit never falls back to listing pages/ itself.
# It is hidden: the sidebar links are ours (client.showSidebarNavigation is false in config.toml).
page = st.navigation(pages, position="hidden")
if not model.model_exists():
    if not model.is_demo():
        missing_model_page()  # ends the run
    build_demo_model()  # ends with a rerun

info = model.info()
layout.sidebar_navigation(pages)
layout.sidebar_details(info)
layout.synthetic_banner(info)
page.run()
