"""Families First Insight: the entry point.

Run with `streamlit run app.py`. The model file is FFI_MODEL (default data/model.duckdb); when it
does not exist, the app builds the synthetic demo district first, showing progress.
"""

from __future__ import annotations

import logging
import threading

import streamlit as st

from pages import common

st.set_page_config(page_title="Families First Insight", layout="wide")


@st.cache_resource(show_spinner=False)
def _build_lock() -> threading.Lock:
    """One build at a time in this server: a second session waits, then finds the model."""
    return threading.Lock()


def build_demo_model() -> None:
    """Build the synthetic district into the model path, with a progress bar, then rerun."""
    from data_model.build import build_synthetic

    path = common.model_path()
    st.title("Families First Insight")
    st.info(
        f"There is no model at {path} yet, so the app is building the synthetic demo district "
        f"({common.fmt_int(common.DEFAULT_HOUSEHOLDS)} households), once; it takes less than a "
        "minute."
    )
    bar = st.progress(0.0, text="Starting")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

    with _build_lock():
        if not path.exists():  # another session may have built it while we waited
            try:
                build_synthetic(path, households=common.DEFAULT_HOUSEHOLDS, progress=progress)
            except Exception as error:  # the message for the user, the traceback for the log
                logging.getLogger(__name__).exception("building the synthetic district failed")
                st.error(f"The synthetic district could not be built: {error}")
                st.stop()
    st.rerun()


# URL paths differ from the file names on purpose: Streamlit treats a folder called pages/ as an
# old-style page list until st.navigation has run once in the process, and a URL matching a file
# name there would run that page without this script (no banner, no sidebar details).
pages = {
    "Programme": [
        st.Page("pages/overview.py", title="Overview", url_path="programme-overview", default=True),
        st.Page(
            "pages/referrals.py",
            title="Referrals & allocation",
            url_path="referrals-and-allocation",
        ),
        st.Page("pages/data_quality.py", title="Data quality", url_path="data-quality"),
        st.Page("pages/near_threshold.py", title="Near threshold", url_path="near-threshold"),
        st.Page("pages/claims.py", title="Claims & returns", url_path="claims-and-returns"),
    ],
    "Help": [
        st.Page("pages/user_guide.py", title="User guide", url_path="user-guide"),
        st.Page("pages/outcomes_plan.py", title="Outcomes plan", url_path="outcomes-plan"),
        st.Page(
            "pages/accessibility.py",
            title="Accessibility statement",
            url_path="accessibility-statement",
        ),
    ],
}
# Navigation first, even before a build, so Streamlit never falls back to listing pages/ itself.
# It is hidden: the sidebar links are ours (client.showSidebarNavigation is false in config.toml).
page = st.navigation(pages, position="hidden")
if not common.model_exists():
    build_demo_model()  # ends with a rerun

info = common.info()
common.sidebar_navigation(pages)
common.sidebar_details(info)
common.synthetic_banner(info)
page.run()
