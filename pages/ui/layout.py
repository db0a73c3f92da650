"""Page furniture app.py draws around every page: the synthetic-data banner and the sidebar's
page links and model details."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from pages.ui.formats import fmt_date, fmt_int, plain
from pages.ui.model import active_plan_name


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
        st.markdown(f"Data current to **{fmt_date(model_info.get('as_at_date'))}**")
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
