"""Filters: the period, cluster and referral-source choices of the Referrals page, and a select
box over labelled choices."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import streamlit as st

from data_model.read import referrals
from data_model.read.referrals import ReferralFilter
from pages.ui.formats import fmt_choices, fmt_date
from pages.ui.model import query

# Which cluster a family of the outcomes plan counts in, as the plan pages' filters say.
ATTACHED_CLUSTER = "The cluster of the family's attached episode."
CUSTOM = "Custom dates"
DEFAULT_PERIOD = "Last quarter"  # the managers' question: the last quarter, by cluster


def period_label(f: ReferralFilter) -> str:
    """The chosen period in words: 01 Jan 2020 to 31 Mar 2020."""
    return f"{fmt_date(f.start)} to {fmt_date(f.end)}"


def describe_filter(f: ReferralFilter) -> str:
    """Everything chosen, in one line: the period, the clusters and the referral sources."""
    clusters = fmt_choices(f.clusters, "all clusters")
    sources = fmt_choices(f.sources, "all referral sources")
    return f"{period_label(f)} · {clusters} · {sources}"


def referral_filter(model_info: Mapping[str, Any]) -> ReferralFilter:
    """The period, cluster and referral-source choices at the top of the Referrals page."""
    as_at: date = model_info["as_at_date"]
    presets = referrals.period_presets(as_at, model_info.get("programme_start"))
    options = query(referrals.filter_options)
    labels = [*presets, CUSTOM]
    default = next((i for i, label in enumerate(labels) if label.startswith(DEFAULT_PERIOD)), 0)
    choice = st.radio(
        "Period",
        labels,
        index=default,
        horizontal=True,
        key="period",
        help="Referrals received, decided and allocated in these dates; waiting lists and "
        "caseloads are counted on the last day.",
    )
    picked: Any = presets.get(choice)
    if choice == CUSTOM:
        left, middle, right = st.columns([2, 3, 3])
        first = options.get("first_date") or model_info.get("programme_start") or as_at
        start_default, end_default = next(iter(presets.values()))
        with left:
            picked = st.date_input(
                "From and to",
                value=(start_default, end_default),
                min_value=min(first, start_default),
                max_value=as_at,
                format="DD/MM/YYYY",
                key="custom_period",
            )
    else:
        middle, right = st.columns(2)
    with middle:
        clusters = cluster_filter(options["clusters"], key="clusters")
    with right:
        sources = any_of(
            "Referral sources",
            options["referral_sources"],
            key="sources",
            placeholder="All referral sources",
            help="Leave empty for every source.",
        )
    if not isinstance(picked, tuple | list) or len(picked) < 2:
        st.info("Choose the last date of the period as well as the first.")
        st.stop()
    start, end = picked[0], picked[1]
    return ReferralFilter(start, end, tuple(clusters), tuple(sources))


def pick(label: str, labels: Mapping[str, str], key: str, help: str | None = None) -> Any:
    """A select box over the keys of `labels`, each shown by its label (type to find one). A
    choice no longer listed (a filter changed) falls back to the first. `labels` must be a dict,
    so the widget's state pickles."""
    options = list(labels)
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
    return st.selectbox(label, options, format_func=labels.__getitem__, key=key, help=help)


def any_of(
    label: str,
    options: list[Any],
    *,
    key: str,
    placeholder: str,
    help: str,
    format_func: Callable[[Any], str] = str,
) -> list[Any]:
    """A multi-select filter where choosing nothing means everything (the placeholder says so)."""
    return st.multiselect(
        label, options, format_func=format_func, key=key, placeholder=placeholder, help=help
    )


def cluster_filter(clusters: list[str], *, key: str, whose: str = "") -> list[str]:
    """The clusters to show, none for all; `whose` says which cluster counts, before the help's
    'Leave empty for every cluster.'"""
    return any_of(
        "Clusters",
        clusters,
        key=key,
        placeholder="All clusters",
        help=f"{whose} Leave empty for every cluster.".strip(),
    )


def ward_filter(ward_names: Mapping[str, str], *, key: str) -> list[str]:
    """The wards to show by code (shown by name), none for all: a family's ward is that of its
    latest address."""
    return any_of(
        "Wards",
        list(ward_names),
        format_func=ward_names.__getitem__,
        key=key,
        placeholder="All wards",
        help="The ward of the family's latest address. Leave empty for every ward.",
    )
