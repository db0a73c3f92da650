"""Quick wins: the eligible families nobody has referred (the referrals to make) and the attached
families a final push may help, ranked by the quick-wins model when one is trained, each with
its reasons; and a person's decision beside every family.

The page reads top to bottom as it draws: the advisory banner and what the ranking is; the
filters; the headline numbers; then tabs: the referrals to make, the families to push, one
family in detail (every reason, its evidence or what it needs, and the mark), the marks and how
often the ranking was followed, and the model card and transparency record.

Level (data_model/access.yaml): case. The lists name families by case and family id, with
where they live and the key worker, never a person's name, date of birth or address: an analyst
decides on a list, and opens a family's people in the Family lookup (which asks a reason). The
page's opening is audited, one family's detail is audited before it is drawn (family_viewed),
and every mark is saved with its own audit event (data_model.state.marks). Every figure comes
from data_model.read (quickwins_lists, quickwins_rank, quickwins, plan); the page only draws.
"""

from __future__ import annotations

import logging
import re

import pandas as pd
import streamlit as st

from data_model.read import plan as plan_read
from data_model.read import quickwins, quickwins_lists, quickwins_rank
from data_model.state import audit
from data_model.state import marks as stored_marks
from pages import registry
from pages.ui import access, model, profile, state
from pages.ui.filters import cluster_filter, pick, ward_filter
from pages.ui.formats import fmt_choices, fmt_date, fmt_int, fmt_share, plain
from pages.ui.layout import tabs_drawn_when_open
from pages.ui.metrics import Metric, metric_row
from pages.ui.tables import NOT_APPLICABLE, Col, Missing, table

access.require("quick_wins")  # first: who may open this page (data_model/access.yaml)

log = logging.getLogger(__name__)
HEADING = registry.BY_KEY["quick_wins"].heading
SHOWN_KEY = "quickwins_family_shown"  # the family detail last written to the audit trail
MESSAGE_KEY = "quickwins_message"
LIST_TITLES = {"unreferred": "Referrals to make", "attached": "Families to push"}

info = model.info()  # stops with a message when there is no model
plan = model.query(plan_read.active_plan)
if not plan:  # both lists are the outcomes plan's: its eligibility rule and its outcomes
    st.title(HEADING)
    st.info("This model was built before outcomes plans existed: build it again to see the lists.")
    st.stop()
ranking = model.query(quickwins_rank.ranking_state)
ranked = model.query(quickwins_rank.is_ranked)
as_at = fmt_date(plan.get("as_at_date"))
pays = bool(plan.get("results_payment"))
outcome = quickwins_lists.outcome_words(pays)  # no money on a plan without payments
k = int(ranking.get("team_capacity") or 0)

st.title(HEADING)
st.markdown(
    "Families who may be a quick win: **eligible families nobody has referred** (the referrals "
    "to make) and **attached families who may be close to " + outcome + "** and need a final "
    f"push. Data current to **{as_at}**; outcomes plan: *{plain(plan.get('plan_name', ''))}*."
)
synthetic = (
    " On synthetic data the model learns the generator's mechanism (how the made-up district "
    "was written), not how real families fare."
    if info.get("is_synthetic")
    else ""
)
st.info(
    "**The ranking is advisory: a practitioner decides.** It orders lists that exist without "
    "it, from how similar families fared before; it can be wrong about any family, and it "
    "knows nothing the records do not. Read each family's reasons, and record your decision "
    "beside it." + synthetic,
    icon=":material/info:",
)
if not ranked:
    why = plain(model.query(quickwins_rank.why_not_ranked))
    st.markdown(
        f"**The lists are not ranked.** {why} Every family is still listed, in the rule's "
        "order: the families to push nearest their threshold first, the referrals to make "
        "with the most problems first."
    )

# --- Filters -------------------------------------------------------------------------------------
places = model.query(quickwins_lists.list_places)
ward_names: dict[str, str] = places["wards"]
left, right = st.columns(2)
with left:
    clusters = cluster_filter(
        places["clusters"],
        key="quickwins_clusters",
        whose="The cluster of the family's attached episode, or for a family never referred the "
        "cluster its ward is served by.",
    )
with right:
    wards = ward_filter(ward_names, key="quickwins_wards")
where = " · ".join(
    [
        fmt_choices(clusters, "all clusters"),
        fmt_choices([ward_names[w] for w in wards], "all wards"),
    ]
)
st.caption(
    f"Showing {plain(where)}."
    + (f" Ranks are within these places; the top {k} is the whole list's." if ranked else "")
)

# --- The marks (application state: read on every run, they change without a rebuild) -----------
try:
    store = state.store(info)
    marks = stored_marks.latest_marks(store)
    history = stored_marks.mark_history(store)
except audit.StateStoreError as error:
    store = None
    marks = history = pd.DataFrame(columns=stored_marks.MARK_COLUMNS)
    st.warning(f"The marks cannot be read, so none can be saved now: {plain(error)}")

place_args = (tuple(clusters), tuple(wards))
to_push = quickwins_lists.with_marks(
    model.query(quickwins_lists.families_to_push, *place_args), marks, "attached"
)
to_refer = quickwins_lists.with_marks(
    model.query(quickwins_lists.referrals_to_make, *place_args), marks, "unreferred"
)


def problems_text(problems: object) -> str:
    return "; ".join(problems) if problems is not None and len(problems) else ""


def top_k_count(frame: pd.DataFrame) -> int:
    return int(frame["in_top_k"].fillna(False).astype(bool).sum()) if ranked else 0


metric_row(
    [
        Metric(
            "Referrals to make",
            fmt_int(len(to_refer)),
            "Families who meet the plan's eligibility rule on the as-at date and were never "
            "referred to early help nor attached.",
        ),
        Metric(
            "Families to push",
            fmt_int(len(to_push)),
            f"Attached families without {outcome} yet.",
        ),
        *(
            [
                Metric(
                    f"In the top {k}",
                    fmt_int(top_k_count(to_push) + top_k_count(to_refer)),
                    f"Families in the model's top {k} of either list (the team's capacity), "
                    "in these places.",
                )
            ]
            if ranked
            else []
        ),
        Metric(
            "Marked so far",
            fmt_int(
                int(to_push["mark_words"].notna().sum() + to_refer["mark_words"].notna().sum())
            ),
            "Families in these lists with a person's decision beside them.",
        ),
    ]
)


RANK_COLUMNS = {
    "rank": Col("Rank", "count", help="The model's order within the places chosen."),
    "probability": Col(
        "Chance",
        "share",
        help=f"The model's probability that a family like this reaches {outcome} within "
        f"{ranking.get('horizon_months') or 12} months of attachment.",
    ),
    "in_top_k": Col(f"Top {k}", "flag", help=f"In the model's top {k} of the whole list."),
}
REASON_COLUMNS = {
    "reason_1": Col("Reason 1", width="large"),
    "reason_2": Col("Reason 2", width="large"),
    "reason_3": Col("Reason 3", width="large"),
}
MARK_COLUMNS = {
    "mark_words": Col("Decision", help="A person's mark: referred or pushed, or not appropriate."),
    "mark_reason": Col("Why not appropriate"),
    "marked_by": Col("Marked by"),
}
FAMILY_ID = Col("Family id", help="The family's id in the model, for analysts.")
NOT_MARKED, NOT_KNOWN = "Not marked", "Not known"


def only(frame: pd.DataFrame, columns: dict[str, Col]) -> pd.DataFrame:
    """The columns a table shows, and no more (a long list's hidden columns cost time to send)."""
    return frame[[name for name in columns if name in frame.columns]]


def as_listed(frame: pd.DataFrame) -> pd.DataFrame:
    """A list as its table shows it: words, never an empty cell, where there is no mark or no
    known place."""
    return frame.assign(
        mark_words=frame["mark_words"].fillna(NOT_MARKED),
        mark_reason=frame["mark_reason"].fillna(""),
        marked_by=frame["marked_by"].fillna(""),
        cluster=frame["cluster"].fillna(NOT_KNOWN),
        ward_name=frame["ward_name"].fillna(NOT_KNOWN),
    )


ranked_only = RANK_COLUMNS if ranked else {}
reasons_if_ranked = REASON_COLUMNS if ranked else {}
notes = (f"Data as at {as_at}.", f"Filters: {where}.", "The ranking is advisory.")


# --- The referrals to make -----------------------------------------------------------------------
def refer_section() -> None:
    st.header("Referrals to make")
    st.markdown(
        "Families the data show meeting the plan's eligibility rule who have never been "
        "referred or attached, each with the problems found and the records behind them. "
        "**These families were never attached:** the model learnt from attached families, so "
        "its chance for them says how similar families fared once attached, not what would "
        "happen to these. The list itself is a rule; *A family in detail* shows a family's "
        "evidence."
    )
    refer_columns = {
        **ranked_only,
        # what the family is and where, before why the model ranks it where it does
        "problems": Col("Problems found", width="large"),
        "cluster": Col("Cluster"),
        "ward_name": Col("Ward"),
        **reasons_if_ranked,
        "problem_count": Col("Problems", "count"),
        "first_eligible_date": Col("Eligible since", "date"),
        "evidence_records": Col("Records behind them", "count"),
        "evidence_sources": Col("Sources"),
        "family_size": Col("People in the family", "count"),
        **MARK_COLUMNS,
        "family_key": FAMILY_ID,
    }
    table(
        only(as_listed(to_refer).assign(
            problems=to_refer["problems"].map(problems_text),
            evidence_sources=to_refer["evidence_sources"].map(problems_text),
        ), refer_columns),
        "Quick wins referrals to make",
        refer_columns,
        title=f"Eligible families nobody has referred on {as_at}",
        notes=notes,
        empty="No eligible family is unreferred in these places.",
    )  # fmt: skip


# --- The families to push ------------------------------------------------------------------------
def push_section() -> None:
    st.header("Families to push")
    st.markdown(
        f"Attached families without {outcome} yet. *What the family needs* is the Near "
        "threshold engine's: for the family's closest claim route, what would meet each "
        "measure in the way (sessions to attend, weeks to work, months without an incident)."
        + (" The reasons are the model's three largest parts of the family's score, each "
           "saying whether it raises or lowers the chance." if ranked else "")
    )  # fmt: skip
    push_columns = {
        "case_id": Col("Case"),
        **ranked_only,
        "needs": Col("What the family needs", width="large"),
        **reasons_if_ranked,
        "state": Col("Near threshold", help="Near: blocked by few measures, each near."),
        "blocking_measures": Col("Measures blocking", "count"),
        "cluster": Col("Cluster"),
        "key_worker": Col("Key worker"),
        "ward_name": Col("Ward"),
        "attached_date": Col("Attached", "date"),
        "problems_at_attachment": Col("Problems when attached"),
        **MARK_COLUMNS,
        "family_key": FAMILY_ID,
    }
    table(
        only(as_listed(to_push).assign(
            problems_at_attachment=to_push["problems_at_attachment"].map(problems_text),
            state=to_push["state"].map(lambda s: NOT_KNOWN if pd.isna(s) else s.capitalize()),
            needs=to_push["needs"].fillna("Nothing recorded"),
        ), push_columns),
        "Quick wins families to push",
        push_columns,
        title=f"Attached families without {outcome} on {as_at}",
        notes=notes,
        empty="No attached family is without the outcome in these places.",
    )  # fmt: skip


# --- One family in detail ------------------------------------------------------------------------
def save_mark(family_key: str, list_name: str, row: dict) -> None:
    """Save the mark in the form (with its audit event, in the user's name) and say so."""
    choice = st.session_state.get("quickwins_mark_choice")
    reason = st.session_state.get("quickwins_mark_reason") or ""
    who = access.actor()
    try:
        if store is None:
            raise audit.AuditWriteError("the state database could not be opened")
        rank = row.get("rank_in_whole_list")
        stored_marks.record_mark(
            store,
            family_key,
            list_name,
            choice or "",
            reason=reason if choice == stored_marks.NOT_APPROPRIATE else None,
            model_version=row.get("model_version") if ranked else None,
            rank=None if rank is None or pd.isna(rank) else int(rank),
            data_as_at=plan.get("as_at_date"),
            user=who.user,
            role=who.role,
            session=who.session,
            access_reason=who.reason,
        )
    except ValueError as problem:
        st.session_state[MESSAGE_KEY] = ("error", f"Not saved: {plain(problem)}.")
        return
    except audit.AuditWriteError as error:
        log.error("could not save a quick-wins mark: %s", error)  # the reason only, no family
        st.session_state[MESSAGE_KEY] = (
            "error",
            f"The decision could not be saved, so nothing was: {plain(error)}.",
        )
        return
    log.info("quick-wins mark saved")
    st.session_state[MESSAGE_KEY] = (
        "success",
        f"Saved: {stored_marks.MARKS[choice].lower()}, in your name.",
    )
    st.session_state.pop("quickwins_mark_reason", None)


def family_section() -> None:
    st.header("A family in detail")
    which = st.radio(
        "List",
        list(LIST_TITLES),
        format_func=LIST_TITLES.__getitem__,
        horizontal=True,
        key="quickwins_detail_list",
    )
    listed = to_refer if which == "unreferred" else to_push
    if listed.empty:
        st.markdown("No family is on this list in these places.")
    else:
        by_family = listed.set_index("family_key")

        def label(family_key: str, row: pd.Series) -> str:
            first = (f"{int(row['rank'])}. " if ranked and pd.notna(row.get("rank")) else "") + (
                f"Case {row['case_id']}" if which == "attached" else "Never referred"
            )
            return " · ".join(
                [first, str(row.get("cluster") or "cluster not known"),
                 str(row.get("ward_name") or "ward not known"), family_key]
            )  # fmt: skip

        labels = {key: label(key, row) for key, row in by_family.iterrows()}
        family = pick(
            "Family (type a case, cluster or ward to find one)", labels, key="quickwins_family"
        )
        row = by_family.loc[family].to_dict()
        # The family's detail is written to the audit trail before it is drawn, once per family.
        if st.session_state.get(SHOWN_KEY) != (which, family):
            access.audit_before_showing("family_viewed", family_id=family, page="quick_wins")
            st.session_state[SHOWN_KEY] = (which, family)
        name = f"case {row['case_id']}" if which == "attached" else f"family {family}"
        if ranked:
            top = row.get("in_top_k")
            in_top = f", in the top {k}" if pd.notna(top) and bool(top) else ""
            st.markdown(
                f"**Chance {fmt_share(row['probability'])}**, rank {fmt_int(row['rank'])} of "
                f"{fmt_int(len(listed))} in the places chosen (rank "
                f"{fmt_int(row['rank_in_whole_list'])} in the whole list{in_top}). Each "
                "feature's part in the score, largest first: the parts and the baseline add up "
                "to the score's log-odds, so these are the model's exact reasons."
            )
            reasons = model.query(quickwins_rank.family_reasons, family, which)
            table(
                reasons.assign(raises=reasons["contribution"] >= 0),
                "Quick wins family reasons",
                {
                    "reason": Col("Reason", width="large"),
                    "raises": Col("Raises the chance", "flag"),
                    "contribution": Col("Part in the score (log-odds)", "decimal"),
                    "feature_label": Col("Feature"),
                },
                title=f"Every reason behind {name}'s chance on {as_at}",
                notes=("Parts rounded to one decimal place.",),
                empty="The model holds no reasons for this family.",
            )
        if which == "attached":
            st.markdown(
                f"Case **{plain(row['case_id'])}**, attached {fmt_date(row['attached_date'])}; "
                f"key worker {plain(row.get('key_worker') or 'not known')}. What the family "
                f"needs: {plain(row.get('needs') or 'nothing recorded')}."
            )
            measures = model.query(plan_read.family_measures, family)
            table(
                measures.assign(status=measures["status"].map(lambda s: str(s).capitalize())),
                "Quick wins family measures",
                {
                    "measure_title": Col("Measure"),
                    "status": Col("Status"),
                    "needs": Col("What it needs", width="large"),
                    "progress": Col("Progress"),
                    "distance_to_threshold": Col("Distance to threshold", "decimal"),
                    "unit": Col("Unit"),
                },
                title=f"Every outcome measure of case {row['case_id']} on {as_at}",
                missing=Missing(NOT_APPLICABLE, "not applicable to this measure"),
                empty="No measure is recorded for this family.",
            )
        else:
            st.markdown(
                f"Eligible since {fmt_date(row['first_eligible_date'])}: "
                f"{plain(problems_text(row['problems']))}. The records behind each problem:"
            )
            evidence = model.query(quickwins.unreferred_evidence, family)
            table(
                evidence,
                "Quick wins family evidence",
                {
                    "problem_title": Col("Problem"),
                    "indicator_title": Col("Indicator"),
                    "evidence_date": Col("Date", "date"),
                    "value": Col("What the record says", width="large"),
                    "source": Col("Source"),
                    "source_record_id": Col("Source record"),
                    "person_key": Col("Person id"),
                },
                title=f"The evidence behind family {family}'s problems on {as_at}",
                empty="No record is listed for this family.",
            )

        st.subheader("Your decision")
        current = row.get("mark_words")
        st.markdown(
            "Mark what you decided about this family: it is saved at once, in your name, and "
            "shown beside the family in the lists."
            + (
                f" Now: **{plain(current)}** by {plain(row.get('marked_by'))}"
                + (
                    f" ({plain(row.get('mark_reason'))})"
                    if pd.notna(row.get("mark_reason"))
                    else ""
                )
                + "."
                if pd.notna(current)
                else " No decision is recorded yet."
            )
        )
        flash = st.session_state.pop(MESSAGE_KEY, None)
        if flash:
            (st.success if flash[0] == "success" else st.error)(flash[1])
        with st.form("quickwins_mark_form", border=True):
            st.radio(
                "Decision",
                list(stored_marks.MARKS),
                format_func=stored_marks.MARKS.__getitem__,
                key="quickwins_mark_choice",
                horizontal=True,
            )
            st.text_input(
                "If not appropriate, why",
                max_chars=stored_marks.REASON_MAX_CHARACTERS,
                key="quickwins_mark_reason",
                help="Recorded with the mark. Do not name anyone.",
            )
            st.form_submit_button(
                "Save the decision",
                type="primary",
                on_click=save_mark,
                args=(family, which, row),
            )


# --- The marks and how often the ranking was followed --------------------------------------------
def marks_section() -> None:
    st.header("Marks")
    followed = model.query(quickwins_lists.ranking_followed, marks)
    if ranked and not followed.empty:
        st.markdown(
            f"How often the ranking was followed: of the families in each list's top {k}, those "
            "marked referred or pushed."
        )
        table(
            followed.assign(list_name=followed["list_name"].map(
                {"attached": "Families to push", "unreferred": "Referrals to make"})),
            "Quick wins ranking followed",
            {
                "list_name": Col("List"),
                "in_top_k": Col(f"In the top {k}", "count"),
                "marked_pushed": Col("Referred or pushed", "count"),
                "marked_not_appropriate": Col("Not appropriate", "count"),
                "not_marked": Col("Not marked", "count"),
                "followed_share": Col("Followed", "share"),
            },
            title=f"How often the ranking (version {ranking.get('model_version')}) was followed",
        )  # fmt: skip
    else:
        st.markdown("No model ranks the lists, so there is no top k to follow.")
    st.subheader("Every decision")
    shown_history = history.assign(
        mark=history["mark"].map(stored_marks.MARKS),
        reason=history["reason"].fillna(""),
        model_version=history["model_version"].fillna("Not ranked"),
        list_name=history["list_name"].map(LIST_TITLES),
        marked_at=pd.to_datetime(history["marked_at"], utc=True).dt.tz_localize(None),
    )
    table(
        shown_history.iloc[::-1],
        "Quick wins marks",
        {
            "marked_at": Col("Marked", "date"),
            "list_name": Col("List"),
            "mark": Col("Decision"),
            "reason": Col("Why not appropriate"),
            "marked_by": Col("Marked by"),
            "rank": Col("Rank then", "count"),
            "model_version": Col("Ranking version"),
            "family_key": FAMILY_ID,
        },
        title="Every decision on the quick-wins lists, newest first",
        missing=Missing(NOT_APPLICABLE, "not ranked when marked"),
        empty="No decision has been recorded yet.",
    )


# --- The model card and the transparency record --------------------------------------------------
DOCUMENT_TITLES = {"model card": "Model card", "transparency record": "Transparency record"}


def shown_below_the_page_title(text: str) -> str:
    """A stored document's Markdown under this page's headings: its title and sections two
    levels down (the page has its own title)."""
    return re.sub(r"^(#{1,4}) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", text, flags=re.M)


def document_buttons(document: str) -> None:
    """The document as HTML and Markdown files, for roles that may download the page's tables
    (each download audited before the file is made)."""
    if not access.may_download():
        return
    with st.container(horizontal=True, gap="small"):
        for fmt, (mime, label) in {"html": ("text/html", "HTML"),
                                   "markdown": ("text/markdown", "Markdown")}.items():  # fmt: skip
            stored = model.query(quickwins_lists.model_document_followed, marks, document, fmt)
            audited = access.download_recorder(f"Quick wins {document}", 1)

            def made(stored: dict = stored, audited=audited) -> bytes:  # noqa: ANN001
                audited()
                return stored["text"].encode("utf-8")

            profile.document_file(
                f"{DOCUMENT_TITLES[document]} ({label})",
                data=made,
                file_name=stored["file_name"],
                mime=mime,
                key=f"quickwins_{document.replace(' ', '_')}_{fmt}",
            )


def card_section() -> None:
    st.header("Model card and transparency record")
    card = model.query(quickwins_lists.model_document_followed, marks, "model card", "markdown")
    if not card:
        st.markdown("This model was built before the ranking existed: it has no model card.")
    else:
        st.markdown(
            "What the ranking is, how it was trained and tested against a simple rule, how it "
            "does for each group, and how often it was followed (the model card); and the UK "
            "Algorithmic Transparency Recording Standard's record of it. Both are generated "
            "from the trained model at every build."
        )
        for document in DOCUMENT_TITLES:
            document_buttons(document)
        with st.expander(DOCUMENT_TITLES["model card"], expanded=True):
            st.markdown(shown_below_the_page_title(card["text"]))
        record = model.query(quickwins_rank.model_document, "transparency record", "markdown")
        with st.expander(DOCUMENT_TITLES["transparency record"]):
            st.markdown(shown_below_the_page_title(record["text"]))


# The tabs: only the open one is drawn (a family's detail, and its audit event, only when its
# tab is open), so the first screen is quick however long the lists.
SECTIONS = {
    "Referrals to make": refer_section,
    "Families to push": push_section,
    "A family in detail": family_section,
    "Marks": marks_section,
    "Model card": card_section,
}
TAB_KEY = "quickwins_tab"  # the open tab, kept in the session
tabs_drawn_when_open(SECTIONS, TAB_KEY)
