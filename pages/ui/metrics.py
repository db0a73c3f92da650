"""A row of headline numbers: each a bordered st.metric with its label, value and help."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import streamlit as st

from pages.ui.formats import plain


@dataclass(frozen=True)
class Metric:
    """One headline number: its label, the value as shown, and what it counts (help)."""

    label: str
    value: str
    help: str | None = None
    delta: str | None = None  # a change to show beside the value, in grey (not good or bad)
    caution: str | None = None  # beside the value, in grey, no arrow: "From 3 referrals only..."


def metric_row(metrics: Sequence[Metric], *, fill: bool = False) -> None:
    """Bordered metrics side by side: as wide as each label (the default), or sharing the page's
    width equally (`fill`)."""
    if fill:
        for column, item in zip(st.columns(len(metrics)), metrics, strict=True):
            column.metric(item.label, item.value, help=item.help, border=True, **_beside(item))
        return
    with st.container(horizontal=True, gap="small"):  # each box as wide as its label
        for item in metrics:
            st.metric(
                item.label, item.value, help=item.help, border=True, width="content",
                **_beside(item),
            )  # fmt: skip


def _beside(item: Metric) -> dict:
    """What st.metric shows under the value: the change (grey, with its arrow), else the caution
    (grey, no arrow), else nothing."""
    if item.delta is not None:
        return {"delta": item.delta, "delta_color": "off"}
    if item.caution is not None:
        return {"delta": item.caution, "delta_color": "off", "delta_arrow": "off"}
    return {}


NOT_AVAILABLE = "Not available"


def not_available(label: str, reason: str) -> Metric:
    """A headline figure the model cannot give because it lacks the source it counts from
    (`reason`: "not available: no <source> extract"): said in words, never shown as a zero."""
    return Metric(label, NOT_AVAILABLE, plain(reason[:1].upper() + reason[1:] + "."))
