"""Data quality: what each source lost to its contract, how the sources link into persons, what the
last build's linkage did, and the pairs of records an analyst should decide on.

Every number comes from data_model.read.quality. The one thing this page writes is an analyst's
clerical decision, saved with data_model.state.decisions.record_decision in the application-state
database (with its audit event, attributed to the user); the model itself is read-only here, so a
decision takes effect at the next build.
Personal data stays on screen: nothing here logs a name, a date of birth or a record id.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data_model.linkage import decisions
from data_model.read import model_tables, quality, sources
from data_model.state import audit
from data_model.state import decisions as stored_decisions
from pages.ui import access, charts, model, state
from pages.ui.charts import Series
from pages.ui.formats import fmt_date, fmt_int, fmt_number, plain
from pages.ui.formats import fmt_share as percent
from pages.ui.metrics import Metric, metric_row
from pages.ui.tables import Col, fit_width, table

access.require("data_quality")  # first: who may open this page (data_model/access.yaml)

log = logging.getLogger(__name__)

ALL_SOURCES = "All sources"
# A value where it stands in its file: the columns of the rejected rows and the values set aside.
VALUE_IN_FILE = {
    "title": Col("Source"),
    "file": Col("File"),
    "line": Col("Line", "count", help="The line in the file; the header is line 1."),
    "column_name": Col("Column"),
    "value": Col("Value"),
    "reason": Col("Reason"),
}
SEX = {"M": "Male", "F": "Female", "U": "Not known"}
NOT_RECORDED = "Not recorded"
NO_NAME = "name not recorded"  # a record without a name (it loads on its system's own id)
DECIDED_LATER = "Decided — takes effect at the next build"
CHOICES = {
    "same": (decisions.ACCEPT, "the same person"),
    "different": (decisions.REJECT, "two people"),
}


def signed(weight: float | None) -> str:
    """A match weight with its sign, to one decimal place (+3.2, -1.0)."""
    return "–" if weight is None or pd.isna(weight) else f"{weight:+.1f}"


WORDS = """
- **Contract**: the columns, types and allowed values each extract must have. A **rejected** row
  broke it: it is kept aside with the reason and left out of every figure.
- **Set aside**: a value that could not be used (an unreadable date of birth, a placeholder
  postcode). The row is loaded and counted, with that value left blank.
- **Registration**: a person as one system knows them, under that system's own id. One child
  can have a registration in early help, another in the school census and a third with the
  police.
- **Person**: the registrations the matching decided are one human being.
- **Family**: people who live together or are recorded as related, grouped.
- **Candidate pair** (what linkage specialists call *blocking*): two records are only compared
  when they share something simple, such as a postcode and first initial or a date of birth;
  comparing every record with every other would take days.
- **Match weight**: the evidence a comparison gives, positive for one person, negative for two.
  The weights add up to a **match probability**.
- **Review band**: pairs scoring from the lower threshold up to the linking threshold go to an
  analyst rather than being linked or kept apart automatically.
- **Guards**: rules that keep two people apart however well they score, such as twins (the same
  date of birth and home, different first names) or one name with dates of birth years apart.
"""


def probability(share: float | None) -> str:
    """A match probability to one decimal place; one that would round up to 100% says it is
    over 99.9% (no scored pair is certain)."""
    if share is not None and not pd.isna(share) and 0.9995 <= share < 1:
        return "over 99.9%"
    return percent(share)


def why_offered(pair: pd.Series, link_threshold: float | None) -> str:
    """Why a pair is in the review queue, in words: the build's reason, and for a pair that
    scored above the linking threshold yet stayed apart, that a guard kept it apart."""
    reason = str(pair.get("review_reason") or "in the review band")
    scored_to_link = link_threshold is not None and pair["match_probability"] >= link_threshold
    if reason == "in the review band" and scored_to_link and not pair["linked_by_last_build"]:
        return (
            "it scored high enough to link, but one of the guards that keep two people apart "
            "held the records apart when persons were formed"
        )
    if reason == "in the review band":
        return f"it scored in the review band, below the {percent(link_threshold)} that links"
    return f"the records look like two people of one family ({reason})"


def fitted(spec: dict[str, Col], rows: pd.DataFrame) -> dict[str, Col]:
    """The value-in-file columns with the value and the reason as wide as their longest text, so
    neither is cut off."""
    return {
        **spec,
        "value": replace(spec["value"], width=fit_width(rows["value"], least=100, most=600)),
        "reason": replace(spec["reason"], width=fit_width(rows["reason"], least=240)),
    }


def shown(value: Any) -> str:
    """A record's detail as the reviewer sees it: 'Not recorded' when it is empty."""
    return NOT_RECORDED if value is None or pd.isna(value) or value == "" else str(value)


info = model.info()
st.title("Data quality")
st.markdown(
    "How complete and how well joined up the data behind every other page is: the rows each "
    "source lost because they broke its contract, how well people in one source are found in "
    "the others, and the pairs of records the matching could not decide on its own, for an "
    "analyst to decide."
)

tables = model.query(model_tables)
needed = {"mart_linkage_summary", "mart_linkage_by_source", "mart_linkage_review_queue"}
linkage_built = needed <= set(tables)

# The answer first, in a sentence filled in once its figures are worked out (at the end); the
# words this page uses; then the sections in tabs.
answer = st.container()
with st.expander("Words used on this page"):
    st.markdown(WORDS)
rows_tab, linkage_tab, review_tab = st.tabs(
    ["Rows loaded and rejected", "Linkage", "Clerical review"]
)

with rows_tab:
    # --- Rows loaded and rejected -----------------------------------------------------------------
    st.header("Rows loaded and rejected")
    st.markdown(
        "Every row of every extract is checked against its source's contract (the columns, "
        "types and allowed values the extract's documentation lists). A row that breaks it is "
        "kept aside with the reason, never dropped silently, and is left out of every figure. A "
        "row without a name is kept when its system's own person id (or an NHS number, a NINO) "
        "says who it is about; only a row with no name and no identifier is rejected. A source "
        "with many rejected rows undercounts what it describes: ask the system's owner to "
        "correct the extract."
    )
    counts = model.query(quality.load_counts)
    totals = model.query(quality.load_totals)
    read, rejected = totals["rows_read"], totals["rows_rejected"]
    metric_row(
        [
            Metric("Rows read", fmt_int(read)),
            Metric(
                "Rows loaded",
                fmt_int(totals["rows_loaded"]),
                "Rows that met their source's contract: the rows every page counts.",
            ),
            Metric(
                "Rows rejected",
                fmt_int(rejected),
                "Rows that broke their source's contract, kept aside with the reason.",
            ),
        ]
    )
    st.markdown(
        f"**{fmt_int(rejected)} of {fmt_int(read)} rows** "
        f"({percent(totals['rejected_share'])}) were rejected, from "
        f"{fmt_int(totals['sources_with_rejects'])} of "
        f"{fmt_int(totals['sources'])} sources."
    )
    table(
        counts,
        "Rows loaded and rejected by source",
        {
            "title": Col("Source"),
            "file": Col("File"),
            "rows_read": Col("Rows read", "count"),
            "rows_loaded": Col("Rows loaded", "count"),
            "rows_rejected": Col("Rows rejected", "count"),
            "rejected_share": Col("Share rejected", "share"),
            "read_as": Col("Read", help="How the file was read, when not as its contract says"),
        },
        title="Rows read, loaded and rejected for each source, most rejected first",
        notes=("Loaded + rejected = read for every source (the build checks it).",),
    )

    current = model.query(quality.currency)
    accepted = current[current["accepted_over_limit"].fillna(False).astype(bool)]
    if not accepted.empty:
        st.warning(
            "Built knowingly with more rows rejected, or more values set aside, than allowed "
            "(`build --accept-rejects`): "
            + ", ".join(accepted["title"])
            + ". Figures from these sources leave out the rejected rows, and their people link "
            "without the values set aside."
        )
    if not current.empty:
        st.subheader("How current each source is")
        st.markdown(
            "The day each source's data is current to, as the folder's `extracts.yaml` declares it "
            "or, when it does not, the latest date in the file (never later than the day of the "
            "build). The model's as-at date comes from these days, and a row dated well after its "
            "source's day is rejected rather than counted."
        )
        table(
            current,
            "How current each source is",
            {
                "title": Col("Source"),
                "data_current_as_of": Col("Current to", "date"),
                "basis_text": Col("How we know"),
                "system_name": Col("System"),
                "coverage": Col("Coverage"),
            },
            title="The day each source is current to and how that was found, oldest first",
        )

    absent = model.query(sources.absent_sources)
    if not absent.empty:
        st.subheader("Extracts the council has not sent")
        st.markdown(
            "Sources the model has no file for: declared not available in the folder's "
            "`extracts.yaml` (the council has no such extract), or optional and not sent. They are "
            "not the same as a file sent with no rows: whatever counts from them says *not "
            "available* rather than nought, and the outcomes plan's indicators and measures that "
            "read them never count (see **Outcomes plan**)."
        )
        table(
            absent,
            "Extracts not sent",
            {
                "title": Col("Source"),
                "absent_reason": Col("Why"),
                "not_available_text": Col("What needs it says"),
                "system_name": Col("System"),
                "coverage": Col("Coverage"),
            },
            title="The sources the model has no extract of, and why",
        )

    st.subheader("Rejected rows and why")
    st.markdown(
        "One line for each problem found: the file, its line number (the header is line 1), the "
        "column, the value as the file had it, and why it was rejected. A row with two problems "
        "has two lines."
    )
    with_rejects = counts[counts["rows_rejected"] > 0]
    titles = dict(zip(with_rejects["source"], with_rejects["title"], strict=True))
    source_labels = {
        None: ALL_SOURCES,
        **titles,
    }  # a dict's lookup, unlike a lambda, can be pickled
    source = st.selectbox(
        "Source",
        list(source_labels),
        format_func=source_labels.__getitem__,
        key="reject_source",
        help="Show the rejected rows of one source, or of all of them.",
    )
    rejects = model.query(quality.load_rejects, source)
    reject_totals = model.query(quality.load_reject_totals, source)
    st.caption(
        f"{fmt_int(reject_totals['problems'])} problems in "
        f"{fmt_int(reject_totals['rejected_rows'])} rejected rows "
        f"from {ALL_SOURCES.lower() if source is None else plain(titles.get(source, source))}."
    )
    table(
        rejects,
        "Rejected rows",
        fitted(VALUE_IN_FILE, rejects),
        title="Rows rejected by their source's contract, with the reason",
        notes=(f"Source: {ALL_SOURCES if source is None else titles.get(source, source)}.",),
        height=300,
    )

    # --- Values set aside -------------------------------------------------------------------------
    st.subheader("Values set aside")
    st.markdown(
        "A value that cannot be used but does not make its row useless is set aside: the row "
        "is loaded and counted, with that value left blank. Names, dates of birth, sex and "
        "postcodes are always set aside rather than rejecting the row (an unreadable or "
        'implausible value, or one that stands for "not known", such as a name recorded as BABY '
        "or UNKNOWN), so the person links on their other details; so is an optional date out of "
        "its plausible range. A date written month first (04/13/2016) in a file of day-first "
        "dates is read month first and listed here too. A column with more than its limit set "
        "aside stops the build."
    )
    aside_counts = model.query(quality.set_aside_counts)
    if aside_counts.empty:
        st.markdown("No values were set aside.")
    else:
        table(
            aside_counts,
            "Values set aside by source and column",
            {
                "title": Col("Source"),
                "column_name": Col("Column"),
                "values_set_aside": Col("Values set aside", "count"),
                "rows_loaded": Col("Rows loaded", "count"),
                "set_aside_share": Col("Share set aside", "share"),
                "top_reason": Col("Commonest reason"),
            },
            title="Values set aside for each source and column, largest share first",
        )
        aside_titles = dict(zip(aside_counts["source"], aside_counts["title"], strict=False))
        aside_labels = {None: ALL_SOURCES, **aside_titles}
        aside_source = st.selectbox(
            "Source",
            list(aside_labels),
            format_func=aside_labels.__getitem__,
            key="set_aside_source",
            help="Show the values set aside from one source, or from all of them.",
        )
        aside_values = model.query(quality.set_aside_values, aside_source).drop(columns="source")
        table(
            aside_values,
            "Values set aside",
            fitted({**VALUE_IN_FILE, "loaded_as": Col("Loaded as")}, aside_values),
            title="Values set aside, with the reason and what was loaded instead",
            notes=(f"Source: {aside_labels.get(aside_source, aside_source)}.",),
            height=300,
        )

if not linkage_built:
    answer.markdown(
        f"**{percent(totals['rejected_share'])} of rows were rejected** ({fmt_int(rejected)} of "
        f"{fmt_int(read)}). This model has no linkage to show."
    )
    for tab in (linkage_tab, review_tab):
        tab.info(
            "This model was built before person linkage was added, so there is nothing more to "
            "show here. Rebuild the model (see the README) to see linkage and the review queue."
        )
    st.stop()

with linkage_tab:
    # --- Linkage across sources -------------------------------------------------------------------
    st.header("Linkage across sources")
    st.markdown(
        "No two systems share one person number, so the model matches people across sources "
        "by name, date of birth, sex and address. A **registration** is a person as one system "
        "knows them (their id in that system); registrations that match make one **person**. "
        "The share below is how many of a source's registrations belong to a person some other "
        "source also knows. A low share means that source's people are rarely found elsewhere: "
        "either only that service knows them, or their details are recorded too differently to "
        "match, and families the programme should see may be missed."
    )
    by_source = model.query(quality.linkage_by_source)
    if by_source.empty:
        st.info("The last build linked no records.")
    else:
        shares = charts.by_category(
            by_source,
            "title",
            [
                Series(
                    "linked_elsewhere_share",
                    None,
                    charts.DARK_BLUE,
                    "%{y}: %{x:.1%} linked to another source<extra></extra>",
                    text=[percent(s) for s in by_source["linked_elsewhere_share"]],
                )
            ],
            title="Share of each source's registrations that belong to a person another source "
            "also knows",
            height=140 + 40 * len(by_source),
            value_axis={
                "title": "Registrations linked to another source",
                "tickformat": ".0%",
                "range": [0, 1.15],
            },
        )
        lowest = by_source.loc[by_source["linked_elsewhere_share"].idxmin()]
        charts.draw(
            shares,
            alt="Bar chart of the share of each source's registrations linked to a person another "
            f"source also knows; the lowest is {lowest['title']} at "
            f"{percent(lowest['linked_elsewhere_share'])}. The table below gives the figures.",
            key="chart_linked_share",
        )
    table(
        by_source,
        "Linkage by source",
        {
            "title": Col("Source"),
            "source_rows": Col("Rows", "count", help="Rows of the source that describe a person."),
            "registrations": Col(
                "Registrations",
                "count",
                help="Distinct people as the source's own system knows them.",
            ),
            "persons": Col("Persons", "count", help="The persons those registrations make."),
            "registrations_linked_elsewhere": Col(
                "Registrations linked to another source", "count"
            ),
            "linked_elsewhere_share": Col("Share linked to another source", "share"),
        },
        title="Registrations, persons and the share linked to another source, by source",
        notes=(
            "A registration is a person as one system knows them; matching registrations make one "
            "person.",
            "Services fed from a system the model also loads use that system's id, so they link to "
            "it without matching.",
        ),
    )

    # --- Linkage quality --------------------------------------------------------------------------
    summary = model.query(quality.linkage_summary)
    review_from = summary.get("review_from")
    link_threshold = summary.get("link_threshold")
    st.header("Linkage quality from the last build")
    st.markdown(
        "What the matching did when the model was last built "
        f"({fmt_date(info.get('built_at'))}). Every pair of records that share something "
        "simple (a postcode and first initial, a date of birth, ...) is compared on each detail; "
        f"pairs scoring a match probability of **{percent(link_threshold)}** or more are linked "
        f"automatically, and pairs from **{percent(review_from)}** up to that go to an analyst."
    )
    metric_row(
        [
            Metric(
                "Records compared",
                fmt_int(summary.get("records")),
                "Person records from every source (a registration seen at several addresses or "
                "with several names has a record for each).",
            ),
            Metric("Persons found", fmt_int(summary.get("persons"))),
            Metric(
                "Families found",
                fmt_int(summary.get("families")),
                "People who live together or are recorded as related, grouped.",
            ),
            Metric(
                "Pairs for review",
                fmt_int(summary.get("review_pairs")),
                "Pairs the last build left for an analyst to decide; see the review queue below.",
            ),
        ]
    )
    accepted = summary.get("decisions_accepted") or 0
    rejected_pairs = summary.get("decisions_rejected") or 0
    seconds = [summary.get(f"{stage}_seconds") for stage in ("train", "predict", "cluster")]
    lines = [
        f"**{fmt_int(summary.get('records'))} records** from "
        f"{fmt_int(len(by_source))} sources, "
        f"{fmt_int(summary.get('registrations'))} registrations, became "
        f"**{fmt_int(summary.get('persons'))} persons**.",
        f"**{fmt_int(summary.get('pairs_compared'))} candidate pairs** of records were "
        f"compared; {fmt_int(summary.get('pairs_scored'))} of them scored as possible matches.",
        f"{fmt_int(summary.get('records_joined'))} records were joined to at least one other "
        f"record: by a shared id, by an analyst's decision, or by scoring "
        f"{percent(link_threshold)} or more.",
        f"**{fmt_int(summary.get('review_pairs'))} pairs of people** scored from "
        f"{percent(review_from)} up to {percent(link_threshold)}, or look like twins, and wait for "
        "an analyst below.",
        f"The **twin guard** found {fmt_int(summary.get('twin_guard_pairs'))} pairs that "
        "look like twins, siblings or a parent and child of one name (the same date of birth and "
        "home with different first names, or a boy and a girl; or one name with dates of birth "
        "years apart) and kept "
        f"apart **{fmt_int(summary.get('twin_guard_blocked'))}** of them that scored high enough "
        "to be linked; each is offered for review below with its reason.",
        f"**{fmt_int(summary.get('families'))} families** were found, "
        f"{fmt_int(summary.get('families_of_two_or_more'))} of them of two or more people; "
        f"the largest has {fmt_int(summary.get('largest_family'))} people.",
        f"**{fmt_int(summary.get('communal_dwellings'))} communal addresses** (hostels, "
        "refuges, care homes, large blocks) were set aside: living at one does not make people a "
        "family.",
        f"**{fmt_int(summary.get('decisions_honoured', 0))} analysts' decisions** were honoured: "
        f"{fmt_int(accepted)} same person, {fmt_int(rejected_pairs)} different people.",
    ]
    if all(s is not None and not pd.isna(s) for s in seconds):
        lines.append(
            f"Matching took {fmt_number(summary['matching_seconds'])} seconds (learning the "
            f"weights {fmt_number(seconds[0])}, scoring {fmt_number(seconds[1])}, grouping "
            f"{fmt_number(seconds[2])})."
        )
    st.markdown("\n".join(f"- {line}" for line in lines))

    with st.expander("How the match weights work"):
        st.markdown(
            "Each detail of a pair (first name, last name, date of birth, address and postcode, "
            "sex) is compared and falls into one level, from exact to different. Each level has "
            "a **match weight**, learnt from the data: a **positive** weight is evidence that the "
            "two records are the **same person**, a **negative** weight is evidence that they are "
            "**different people**, and the bigger the number the stronger the evidence. A pair's "
            "weights are added to a starting weight (how rare a true match is among all pairs); "
            "each point doubles the odds, and the total gives the match probability. A common "
            "name that agrees counts a little less than the table says, a rare one a little more."
        )
        parameters = model.query(quality.linkage_parameters)
        table(
            parameters,
            "Match weights",
            {
                "comparison_label": Col("Comparison"),
                "label": Col("Level"),
                "match_weight": Col(
                    "Match weight", "decimal", help="Positive: evidence for the same person."
                ),
                "m_probability": Col(
                    "Share of true matches at this level", "share", help="Splink's m probability."
                ),
                "u_probability": Col(
                    "Share of other pairs at this level", "share", help="Splink's u probability."
                ),
            },
            title="What each level of each comparison is worth (match weight)",
            notes=(
                "Match weight = log2(m / u): positive is evidence for the same person, negative "
                "against.",
            ),
            height=400,
        )

with review_tab:
    # --- Clerical review --------------------------------------------------------------------------
    st.header("Clerical review")
    st.markdown(
        "Pairs the matching could not decide on its own: they scored in the review band, scored "
        "high enough to link but were kept apart by a guard, or look like twins or siblings. "
        "Each pair says why it is here. Look at both records and decide whether they are the "
        "same person. Your decision is saved at once, in your name, in the app's state database "
        "beside the model, and **takes effect at the next build**, which links or separates the "
        "two records and never asks about the pair again. Strongest pairs first."
    )
    queue = model.query(quality.linkage_review_queue)
    store = None
    try:  # read on every run: decisions change without a rebuild
        store = state.store(info)
        recorded = stored_decisions.read_decisions(store)
    except audit.StateStoreError as error:
        # One line with no personal data; the rest of the page keeps working.
        st.error(
            f"The clerical decisions cannot be read, so none can be saved now: {plain(error)}",
            icon=":material/error:",
        )
        recorded = []
    queue = quality.with_recorded_decisions(queue, recorded)
    undecided = queue[queue["decision"].isna()]
    awaiting = undecided[undecided["recorded_decision"].isna()]
    decided_since = undecided[undecided["recorded_decision"].notna()]

    metric_row(
        [
            Metric(
                "Pairs awaiting a decision",
                fmt_int(len(awaiting)),
                "Pairs in the queue with no decision in the model or in the decisions file.",
            ),
            Metric(
                "Decided since the last build",
                fmt_int(len(decided_since)),
                "Decisions saved after the model was built: they take effect at the next build.",
            ),
        ]
    )

    flash = st.session_state.pop("review_message", None)
    if flash:
        kind, text = flash
        (st.success if kind == "success" else st.error)(text)

    show_decided = st.toggle(
        "Include pairs decided since the last build",
        key="review_show_decided",
        help="To look at a decision again or change it; the latest decision on a pair counts.",
    )
    choices = undecided if show_decided else awaiting
    pair_ids = choices["pair_id"].tolist()
    by_id = choices.set_index("pair_id")
    rank = {pair_id: i + 1 for i, pair_id in enumerate(undecided["pair_id"])}

    def pair_label(pair_id: str) -> str:
        row = by_id.loc[pair_id]
        names = [
            f"{quality.record_name(row[f'first_name_{s}'], row[f'last_name_{s}']) or NO_NAME}"
            f" ({row[f'title_{s}']})"
            for s in ("l", "r")
        ]
        label = (
            f"{rank[pair_id]}. {probability(row['match_probability'])} · {names[0]} and {names[1]}"
        )
        if pd.notna(row["recorded_decision"]):
            label += f" · decided: {row['recorded_decision']}"
        return label

    pair_labels = {pair_id: pair_label(pair_id) for pair_id in pair_ids}

    def go_to(pair_id: str | None) -> None:
        if pair_id is not None:
            st.session_state["review_pair"] = pair_id

    def decide(row: dict[str, Any], choice: str, next_pair: str | None) -> None:
        """Save the decision (with its audit event, in the user's name), say so, and move on to the
        next pair."""
        decision, words = CHOICES[choice]
        who = access.actor(st.session_state.get("reviewer", ""))
        try:
            if store is None:
                raise audit.AuditWriteError("the state database could not be opened")
            stored_decisions.record_decision(
                store,
                row["registration_l"],
                row["registration_r"],
                decision,
                user=who.user,
                role=who.role,
                session=who.session,
                reason=who.reason,
            )
        except audit.AuditWriteError as error:
            # The reason only (never a record id or a name): nothing was saved.
            log.error("could not save a clerical decision: %s", error)
            st.session_state["review_message"] = (
                "error",
                f"The decision could not be saved, so nothing was: {plain(error)}. Ask whoever "
                "runs the dashboard to check the state database and the audit key.",
            )
            return
        log.info("clerical decision saved")
        st.session_state["review_message"] = (
            "success",
            f"Saved: the records of pair {rank.get(row['pair_id'], '')} are **{words}** "
            f"({decision}). {DECIDED_LATER}.",
        )
        go_to(next_pair)

    if not pair_ids:
        st.success(
            "No pair is waiting for a decision."
            + (
                " Turn on *Include pairs decided since the last build* to look at those again."
                if len(decided_since)
                else ""
            )
        )
    else:
        if st.session_state.get("review_pair") not in by_id.index:
            st.session_state["review_pair"] = pair_ids[0]
        picked = st.selectbox(
            "Pair to review (strongest first; type a name or a source to find a pair)",
            pair_ids,
            format_func=pair_labels.__getitem__,
            key="review_pair",
        )
        position = pair_ids.index(picked)
        previous_pair = pair_ids[position - 1] if position > 0 else None
        next_pair = pair_ids[position + 1] if position + 1 < len(pair_ids) else None
        with st.container(horizontal=True, gap="small"):
            for label, key, to_pair in (
                ("Previous pair", "review_previous", previous_pair),
                ("Next pair", "review_next", next_pair),
            ):
                st.button(label, key=key, on_click=go_to, args=(to_pair,), disabled=to_pair is None)

        pair = by_id.loc[picked]
        st.subheader(
            f"Pair {rank[picked]}: match probability {probability(pair['match_probability'])}"
        )
        if pd.notna(pair["recorded_decision"]):
            st.info(
                f"**Decided: {plain(pair['recorded_decision'])}** "
                f"({fmt_date(pd.Timestamp(pair['recorded_at']))}). "
                f"{DECIDED_LATER}. Choose again below to change it."
            )
        else:
            st.markdown("**Awaiting a decision.**")
        if pair["linked_by_last_build"]:
            standing = (
                "The last build **linked** these records: their first names differ as twins' do, "
                "but no system holds them as two people. Check they are one person."
            )
        else:
            standing = "The last build **kept these records apart**."
        if pair["registration_pairs"] > 1:
            standing += (
                f" This is the strongest of {fmt_int(pair['registration_pairs'])} pairs of "
                "records between these two people: one decision settles them all."
            )
        standing += f" Offered for review because {why_offered(pair, link_threshold)}."
        st.markdown(standing)

        location = signed(pair["weight_location"])
        comparison = pd.DataFrame(
            [
                ("Source", pair["title_l"], pair["title_r"], ""),
                ("Record id", pair["registration_l"], pair["registration_r"], ""),
                ("First name", shown(pair["first_name_l"]), shown(pair["first_name_r"]),
                 signed(pair["weight_first_name"])),
                ("Last name", shown(pair["last_name_l"]), shown(pair["last_name_r"]),
                 signed(pair["weight_last_name"])),
                ("Date of birth", fmt_date(pair["dob_l"]), fmt_date(pair["dob_r"]),
                 signed(pair["weight_dob"])),
                ("Sex", SEX.get(pair["sex_l"], shown(pair["sex_l"])),
                 SEX.get(pair["sex_r"], shown(pair["sex_r"])), signed(pair["weight_sex"])),
                ("Address", shown(pair["address_l"]), shown(pair["address_r"]),
                 f"{location} (with postcode)"),
                ("Postcode", shown(pair["postcode_l"]), shown(pair["postcode_r"]),
                 f"{location} (with address)"),
            ],
            columns=["Detail", "Record 1", "Record 2", "Match weight"],
        ).set_index("Detail")  # fmt: skip
        # Full width: in a column the long record ids would make the table scroll sideways.
        st.table(comparison.map(plain))  # st.table reads Markdown in its cells
        st.caption(
            f"Starting weight {signed(pair['prior_weight'])} plus the weight of each comparison "
            f"gives a match weight of {signed(pair['match_weight'])}: a match probability of "
            f"{probability(pair['match_probability'])}. Positive weights are evidence for the "
            "same person, negative against."
        )
        steps = [
            ("Starting weight", pair["prior_weight"]),
            ("First name", pair["weight_first_name"]),
            ("Last name", pair["weight_last_name"]),
            ("Date of birth", pair["weight_dob"]),
            ("Address and postcode", pair["weight_location"]),
            ("Sex", pair["weight_sex"]),
        ]
        weights = charts.figure("How this pair's match weight adds up", height=360)
        weights.add_trace(
            go.Waterfall(
                orientation="h",
                y=[name for name, _ in steps] + ["Match weight"],
                x=[0 if pd.isna(w) else float(w) for _, w in steps] + [0],
                measure=["relative"] * len(steps) + ["total"],
                increasing={"marker": {"color": charts.TURQUOISE}},
                decreasing={"marker": {"color": charts.DARK_PINK}},
                totals={"marker": {"color": charts.DARK_BLUE}},
                connector={"line": {"color": charts.DARK_GREY, "dash": "dot"}},
                text=[signed(w) for _, w in steps] + [signed(pair["match_weight"])],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}: %{text}<extra></extra>",
                showlegend=False,
            )
        )
        running = np.cumsum([0.0] + [0 if pd.isna(w) else float(w) for _, w in steps])
        span = max(running.max() - running.min(), 1.0)
        weights.update_yaxes(autorange="reversed", showgrid=False)
        weights.update_xaxes(range=[running.min() - 0.25 * span, running.max() + 0.3 * span])
        weights.update_xaxes(
            title="Match weight",
            showgrid=True,
            gridcolor=charts.GRID,
            zeroline=True,
            zerolinecolor=charts.TEXT,
        )
        charts.draw(
            weights,
            alt=f"Waterfall chart: the starting weight {signed(pair['prior_weight'])} and the "
            "weight of each comparison add up to the pair's match weight "
            f"{signed(pair['match_weight'])}; the table above gives each weight.",
            key="chart_pair_weights",
        )

        if access.current_mode() == "demo":  # signed in, a decision is saved in the user's name
            st.text_input(
                "Your initials (optional)",
                key="reviewer",
                max_chars=20,
                help="Saved with each decision, so a later reviewer can ask who made it.",
            )
        row = {
            "pair_id": picked,
            "registration_l": pair["registration_l"],
            "registration_r": pair["registration_r"],
        }
        with st.container(horizontal=True, gap="small"):
            st.button(
                "Same person",
                key="decide_same",
                type="primary",
                on_click=decide,
                args=(row, "same", next_pair),
                help="Save: these two records are one person. Takes effect at the next build.",
            )
            st.button(
                "Different people",
                key="decide_different",
                on_click=decide,
                args=(row, "different", next_pair),
                help="Save: these two records are two people. Takes effect at the next build.",
            )

    st.subheader("Pairs awaiting a decision")
    LISTED = ["pair_id", "match_probability", "title_l", "first_name_l", "last_name_l", "dob_l",
              "title_r", "first_name_r", "last_name_r", "dob_r"]  # fmt: skip
    table(
        awaiting[LISTED].assign(  # only what is shown
            rank=awaiting["pair_id"].map(rank),
            why=[why_offered(pair, link_threshold) for _, pair in awaiting.iterrows()],
        ),
        "Pairs awaiting review",
        {
            "rank": Col("Pair", "count"),
            "match_probability": Col("Match probability", "share"),
            "why": Col("Why it is offered", width="large"),
            "title_l": Col("Source 1"),
            "first_name_l": Col("First name 1"),
            "last_name_l": Col("Last name 1"),
            "dob_l": Col("Date of birth 1", "date"),
            "title_r": Col("Source 2"),
            "first_name_r": Col("First name 2"),
            "last_name_r": Col("Last name 2"),
            "dob_r": Col("Date of birth 2", "date"),
        },
        title="Pairs of records awaiting a clerical decision, strongest first",
        notes=(f"From the model built {fmt_date(info.get('built_at'))}.",),
        height=300,
        empty="No pair is waiting for a decision.",
    )

    problems = model.query(quality.decision_problems)
    if not problems.empty:
        st.subheader("Decisions the last build could not use")
        st.markdown(
            "Each is listed with why: a stored row that is not a decision, a record "
            "no longer in the extracts, or a decision that contradicts others. Contradictions are "
            'kept apart, as the "different people" decision says, until you settle them.'
        )
        table(
            problems,
            "Unusable clerical decisions",
            {
                "problem": Col("Why it was not used"),
                "line": Col("Line of the file, or decision number", "count"),
                "decision": Col("Decision"),
                "registration_l": Col("Record id 1"),
                "registration_r": Col("Record id 2"),
            },
            title="Clerical decisions the last build could not use, and why",
            notes=(f"From the model built {fmt_date(info.get('built_at'))}.",),
        )

    st.subheader("Decisions made")
    st.markdown(
        "Every decision saved, newest first (the latest decision on a pair counts), with who made "
        "it. Those saved since the model was built take effect at the next build."
    )
    made = quality.recorded_decisions(queue, recorded, info.get("built_at"))
    made["status"] = made["in_model"].map({True: "In the model", False: DECIDED_LATER})
    table(
        made,
        "Clerical decisions",
        {
            "decided_at": Col("Decided", "date"),
            "decision": Col("Decision"),
            "status": Col("Status"),
            "name_l": Col("Record 1"),
            "title_l": Col("Source 1"),
            "name_r": Col("Record 2"),
            "title_r": Col("Source 2"),
            "registration_l": Col("Record id 1"),
            "registration_r": Col("Record id 2"),
            "decided_by": Col("Decided by"),
        },
        title="Clerical linkage decisions, newest first",
        notes=("Read from the app's state database.",),
        empty="No decision has been saved yet.",
    )

# --- The answer, above the tabs ------------------------------------------------------------------
answer.markdown(
    f"**{percent(totals['rejected_share'])} of rows were rejected** ({fmt_int(rejected)} of "
    f"{fmt_int(read)}). Linking the sources found **{fmt_int(summary.get('persons'))} persons** in "
    f"{fmt_int(summary.get('registrations'))} registrations and "
    f"{fmt_int(summary.get('families'))} families; **{fmt_int(len(awaiting))} pairs of "
    "records wait for an analyst's decision** (the Clerical review tab)."
)
