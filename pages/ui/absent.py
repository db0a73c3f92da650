"""What a page draws in place of figures the model cannot give because the council has no extract
of a source they count from (data_model.read.sources): words, never a zero that looks like a
measurement."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages.ui.formats import plain

SEE_DATA_QUALITY = "**Data quality** lists the extracts the model has."


def stop_if_not_available(what: str, reason: str | None) -> None:
    """When `reason` is given ("not available: no <source> extract", from
    sources.not_available), say that `what` is not available and why, and draw nothing more."""
    if reason:
        st.info(f"{what} {plain(reason)}. {SEE_DATA_QUALITY}")
        st.stop()


def never_counted(intro: str, items: pd.DataFrame, title_column: str) -> None:
    """One line naming the plan's indicators or measures whose source is absent, each with why
    (sources.unavailable_indicators or unavailable_measures); nothing when there are none."""
    if items.empty:
        return
    st.markdown(
        f"{intro}: "
        + "; ".join(
            f"{plain(title)} ({plain(reason)})"
            for title, reason in zip(items[title_column], items["not_available_text"], strict=True)
        )
        + "."
    )
