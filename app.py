"""Families First Insight: the entry point.

Run with `streamlit run app.py`. The model file is FFI_MODEL, a council's model built with
`python -m data_model build`. Without FFI_MODEL the app serves the synthetic demo from
data/demo.duckdb, building it first (with progress) when it is not there; it never builds at a
configured FFI_MODEL path.

Who may see what is settled here, once per run, before st.navigation (pages/ui/access.py): the
synthetic demo opens without sign-in (with a "View as role" selector); a council's model opens
only behind the council's sign-in (st.login), and each page checks the role on its first line.
"""

from __future__ import annotations

import logging
import threading

import streamlit as st

from pages import registry
from pages.ui import access, layout, model, sign_in
from pages.ui.formats import fmt_int, plain

st.set_page_config(page_title="Families First Insight", layout="wide")
layout.page_style()


@st.cache_resource(show_spinner=False)
def _build_lock() -> threading.Lock:
    """One build at a time in this server: a second session waits, then finds the model."""
    return threading.Lock()


def missing_model_page() -> None:
    """FFI_MODEL names a file that is not there: say so; never build a demo in its place."""
    st.title("Families First Insight")
    st.error(
        f"There is no model at {plain(model.model_path())} (the FFI_MODEL setting). Build it "
        "from the council's extracts with `python -m data_model build --sources FOLDER --out "
        "MODEL`, MODEL being that path, or point FFI_MODEL at the model file."
    )
    st.stop()


def build_demo_model() -> None:
    """Build the synthetic district at the demo path, with a progress bar, then rerun."""
    from data_model.build import build_synthetic

    path = model.model_path()
    st.title("Families First Insight")
    st.info(
        f"There is no model at {plain(path)} yet, so the app is building the synthetic demo "
        f"district ({fmt_int(model.DEFAULT_HOUSEHOLDS)} households), once; it takes less than a "
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
                st.error(f"The synthetic district could not be built: {plain(error)}")
                st.stop()
    st.rerun()


def starting_page() -> None:
    """What the navigation holds while there is no model yet (the page itself never draws)."""


# Navigation first, even before a build, so Streamlit never falls back to listing pages/ itself.
if not model.model_exists():
    st.navigation([st.Page(starting_page, title="Families First Insight", default=True)],
                  position="hidden")  # fmt: skip
    if not model.is_demo():
        missing_model_page()  # ends the run
    build_demo_model()  # ends with a rerun

info = model.info(in_app=True)
visitor = access.resolve(info)  # who is looking: sign-in, role, timeouts (pages/ui/access.py)

if visitor.mode == "configure":
    # A council's model with no sign-in configured: how to configure it, and nothing else.
    st.navigation(
        [st.Page(sign_in.configure_page, title="Sign-in needed", url_path="sign-in-needed",
                 default=True)],
        position="hidden",
    ).run()  # fmt: skip
    st.stop()

# In place of the app's pages until the visitor may see them: sign in, a session that has ended,
# a user with no role. The help pages stay open beside it.
if visitor.mode == "signed_out":
    instead = st.Page(sign_in.sign_in_page, title="Sign in", url_path="sign-in", default=True)
elif visitor.mode == "ended":
    instead = st.Page(sign_in.session_ended_page, title="Sign in again", url_path="session-ended",
                      default=True)  # fmt: skip
elif visitor.role is None:
    instead = st.Page(sign_in.no_role_page, title="No role yet", url_path="no-role", default=True)
else:
    instead = None

# Every page is registered (a page the visitor may not open still refuses by URL, on its first
# line); the sidebar lists only those the visitor may open. URL paths differ from file names:
# pages/registry.py says why.
HOME_SUFFIX = "-home"  # the home page's reserved path, never in a link
allowed = [entry.key for entry in registry.PAGES if access.may_open(entry.key)]
home = instead
pages: dict[str, list] = {"Sign in": [instead]} if instead else {}
listed: dict[str, list] = {"Sign in": [instead]} if instead else {}
for section, entries in registry.sections().items():
    for entry in entries:
        is_home = not instead and entry.key == allowed[0]
        page_object = st.Page(
            entry.file,
            title=entry.title,
            # The home page is served at the root URL, and Streamlit would answer its own path
            # (/programme-overview, bookmarked or typed) with "Page not found" over the page:
            # that path goes to the same page, hidden, below; the home page's own is never shown.
            url_path=f"{entry.url_path}{HOME_SUFFIX}" if is_home else entry.url_path,
            default=is_home,
            visibility="visible" if entry.key in allowed else "hidden",
        )
        pages.setdefault(section, []).append(page_object)
        if is_home:
            pages[section].append(
                st.Page(entry.file, title=entry.title, url_path=entry.url_path,
                        visibility="hidden")
            )  # fmt: skip
        if entry.key in allowed:
            listed.setdefault(section, []).append(page_object)
            home = home or page_object
# Hidden: the sidebar links are ours (client.showSidebarNavigation is false in config.toml).
page = st.navigation(pages, position="hidden")
role_changed = access.role_just_changed()
if page not in [p for group in listed.values() for p in group] and (instead or role_changed):
    # Signed out, session ended, no role, or the demo's role just changed: to the page that says
    # what to do, rather than a refusal. (A signed-in role is refused, and the refusal audited.)
    st.switch_page(home)
layout.sidebar_navigation(listed)
access.sidebar(visitor)
layout.sidebar_details(info)
layout.synthetic_banner(info)
page.run()
