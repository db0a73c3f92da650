"""Page furniture app.py draws around every page: the page style, the synthetic-data banner and
the sidebar's page links and model details."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

from pages.ui.formats import fmt_date, fmt_int, plain
from pages.ui.model import active_plan_name

# What Streamlit's own styles leave out, for keyboard users and for reading links as links
# (Streamlit gives every page a "Skip to main content" link of its own, first in the tab order).
PAGE_STYLE = """
<style>
/* Focus as GOV.UK draws it: a black ring inside a yellow one, visible on any background. */
*:focus-visible {
  outline: 3px solid #0b0c0c !important;
  outline-offset: 0 !important;
  box-shadow: 0 0 0 6px #ffdd00 !important;
}
/* A table's or chart's toolbar shows while focus is in it, not only under the mouse. */
[data-testid="stElementToolbar"]:focus-within { opacity: 1 !important; }
/* A table's own CSV button and column picker would bypass the audited, rounded downloads
   under it (and add two tab stops per table): hidden. Search and full screen stay. */
[data-testid="stElementToolbarButton"]:has(button[aria-label^="Download as CSV"]),
[data-testid="stElementToolbarButton"]:has(button[aria-label^="Show/hide columns"]) {
  display: none !important;
}
/* A small table of text (st.table: the clerical review's two records side by side) wraps its
   long values (record ids) rather than scrolling sideways on a narrow screen. */
[data-testid="stTable"] table {
  table-layout: fixed;
  width: 100% !important;
  min-width: 0 !important;
}
[data-testid="stTable"] td, [data-testid="stTable"] th {
  white-space: normal !important;
  overflow-wrap: anywhere;
  min-width: 0 !important;
}
/* A link to another page, in a page's text, looks like a link: blue and underlined. */
[data-testid="stMain"] [data-testid="stPageLink-NavLink"] {
  padding: 0 !important;
  background: none !important;
}
[data-testid="stMain"] [data-testid="stPageLink-NavLink"] p,
[data-testid="stMain"] [data-testid="stPageLink-NavLink"] span {
  color: #1d70b8 !important;
  text-decoration: underline !important;
  text-underline-offset: 0.15em;
}
[data-testid="stMain"] [data-testid="stPageLink-NavLink"]:hover p,
[data-testid="stMain"] [data-testid="stPageLink-NavLink"]:hover span {
  color: #003078 !important;
  text-decoration-thickness: 3px !important;
}
</style>
"""


def page_style() -> None:
    """The style above, on every page (a style alone takes no room on the page)."""
    st.html(PAGE_STYLE)


def synthetic_banner(model_info: Mapping[str, Any]) -> None:
    """A warning on every page while the model holds the made-up district."""
    if not model_info.get("is_synthetic"):
        return
    made = []
    if model_info.get("households"):
        made.append(f"{fmt_int(model_info['households'])} households")
    if model_info.get("seed") is not None:
        made.append(f"seed {plain(model_info['seed'])}")
    detail = f" ({', '.join(made)})" if made else ""
    st.warning(
        f"**Synthetic data.** This dashboard is showing a made-up district{detail}. "
        "No real family is in it: do not use these figures for decisions.",
    )


def sidebar_details(model_info: Mapping[str, Any]) -> None:
    """The programme, how current the data is, the outcomes plan and when the model was built."""
    with st.sidebar:
        st.markdown(f"**{plain(model_info.get('programme_name') or 'Families First')}**")
        as_at = model_info.get("as_at_date")
        st.markdown(
            f"Data current to **{fmt_date(as_at)}**"
            if as_at is not None
            else "How current the data is: not known (no extract carries a date)"
        )
        if model_info.get("is_synthetic"):
            st.markdown("Synthetic district (demo)")
        plan_name = active_plan_name()
        if plan_name:
            st.markdown(f"Outcomes plan: **{plain(plan_name)}**")
        if model_info.get("built_at") is not None:
            st.caption(f"Model built {fmt_date(model_info['built_at'])}")


def sidebar_navigation(sections: Mapping[str, list[Any]]) -> None:
    """The page links, grouped under their section names, at the top of the sidebar."""
    with st.sidebar:
        for section, section_pages in sections.items():
            st.markdown(f"**{section}**")
            for page in section_pages:
                st.page_link(page)


def tabs_drawn_when_open(sections: Mapping[str, Callable[[], None]], key: str) -> None:
    """Tabs of which only the open one is drawn (the others run when opened), so a long page's
    first screen is quick and a tab's audit events are written only when it is read. The open
    tab is kept in the session under `key`."""
    tabs = st.tabs(list(sections), key=key, on_change="rerun")
    for tab, draw_section in zip(tabs, sections.values(), strict=True):
        with tab:
            if tab.open:
                draw_section()
