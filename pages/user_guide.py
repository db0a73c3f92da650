"""User guide: what each page answers, how the filters work, the definitions, where data comes from,
and a technical appendix (settings, files and code terms) for analysts.

The guide's text is the "Users' guide" section of README.md, and the appendix its "Users' guide:
technical appendix", so the two never disagree. Each page has its own "### " section there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import streamlit as st

from data_model.read import lookup_family, programme
from pages.ui import access, model
from pages.ui.formats import fmt_date, fmt_quantity, plain

access.require("user_guide")  # first: who may open this page (data_model/access.yaml)

README = Path(__file__).resolve().parents[1] / "README.md"

FALLBACK = """
## Overview
Families referred and attached so far; the attachment trajectory against the target, with the
families a month needed against the recent rate; how current each source is.

## Referrals & allocation
Choose a period, clusters and referral sources at the top. Allocation lag is the number of
working days (weekends and bank holidays excluded) from the day a referral was received to the
day it was allocated to a lead practitioner, for referrals allocated in the period. Referrals
still waiting are counted in the waiting list at the end of the period.
"""


def ages_shown(rule: lookup_family.ServiceRule) -> str:
    """The ages a service is shown for, in words ('ages 4 to 20', 'from 18', 'all ages')."""
    if rule.age_from is not None and rule.age_to is not None:
        return f"ages {rule.age_from} to {rule.age_to}"
    if rule.age_from is not None:
        return f"from age {rule.age_from}"
    if rule.age_to is not None:
        return f"up to age {rule.age_to}"
    return "all ages"


def readme_section(heading: str, path: Path = README) -> str | None:
    """A "## " section of the README without its heading, or None when it is not there."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    return match.group(1).strip() if match else None


def readme_guide(path: Path = README) -> str:
    """The README's "Users' guide" section, without its heading and its pointer to this page."""
    section = readme_section("Users' guide", path)
    if section is None:
        return FALLBACK
    paragraphs = [p for p in section.split("\n\n") if "in the app" not in p]
    # The README's ### headings sit under this page's title: make them the page's second level.
    return re.sub(r"^### ", "## ", "\n\n".join(paragraphs), flags=re.M)


def readme_appendix(path: Path = README) -> str | None:
    """The README's technical appendix to the guide (its ### headings kept: they sit under the
    page's "Technical appendix"), without the sentence about the app."""
    section = readme_section("Users' guide: technical appendix", path)
    if section is None:
        return None
    return "\n\n".join(p for p in section.split("\n\n") if "The app shows" not in p)


def anchor(heading: str) -> str:
    """The id Streamlit gives a heading ('Referrals & allocation' → referrals-and-allocation)."""
    words = re.sub(r"[^a-z0-9 -]", "", heading.lower().replace("&", "and"))
    return re.sub(r"[ -]+", "-", words).strip("-")


info = model.info()
st.title("User guide")
st.markdown(
    "What each page answers and how its figures are counted. Where your role may take them, "
    "tables download as CSV (dates as YYYY-MM-DD, which any tool reads) or Excel (real dates "
    "shown as DD Mon YYYY, with a notes sheet saying what the table counts); councillors take "
    "figures with small numbers protected, never a list of people or families. Every chart has "
    "a table with the same figures next to it or below it."
)
guide = readme_guide()
# Contents first: the guide is long, and each page has its section (a link jumps to it).
appendix = readme_appendix()
sections = [*re.findall(r"^## (.+)$", guide, flags=re.M),
            "The services the family lookup searches", "How the filters work",
            "Where the data comes from", *(["Technical appendix"] if appendix else [])]  # fmt: skip
st.markdown(
    "**On this page:** " + " · ".join(f"[{plain(title)}](#{anchor(title)})" for title in sections)
)
st.markdown(guide)

st.header("The services the family lookup searches")
st.markdown(
    "The council's settings say each service, the system searched "
    "unless its extract names another, the ages it is shown for, and how far back its search "
    "looks at most (from the day its data is current to; never further back than its extract "
    "goes: the page says how far each one actually looked). *None found* means nothing in "
    "that window."
)
st.markdown(
    "| Service | System | Shown for | Search looks back |\n|---|---|---|---|\n"
    + "\n".join(
        f"| {plain(rule.name)} | {plain(rule.system)} | {plain(ages_shown(rule))} | "
        f"{fmt_quantity(rule.history_years, 'years')} |"
        for rule in lookup_family.lookup_settings().services
    )
)

st.header("How the filters work")
st.markdown(
    "- **Period**: one click on a named period (each shows its dates), or *Custom dates* for any "
    "range. Referrals *received*, *decided* and *allocated* are counted in the period; the "
    "waiting list and caseloads are counted on its last day.\n"
    "- **Clusters** and **Referral sources**: leave empty for all; pick one or more to narrow "
    "every table and chart on the page at once.\n"
    "- The line under the filters always says what is shown."
)

st.header("Where the data comes from")
st.markdown(
    f"The model holds the extracts below, current to the dates shown "
    f"(the model as a whole is current to **{fmt_date(info['as_at_date'])}**). "
    "Rows that break a source's contract are kept aside with the reason, never dropped silently; "
    "the Overview page shows rows read, loaded and rejected for each."
)
sources = model.query(programme.data_currency)
st.markdown(
    "\n".join(
        f"- **{plain(row.title)}** — from {plain(row.system)}; "
        + (
            f"current as of {fmt_date(row.data_current_as_of)}."
            if pd.notna(row.data_current_as_of)
            else "this extract carries no dates to say how current it is."
        )
        for row in sources.itertuples()
    )
)
if info.get("is_synthetic"):
    st.markdown(
        "This model was built from the **synthetic district**: made-up extracts with the dirt "
        "of real ones (typos, nicknames, swapped dates, duplicates). No real person is in it."
    )

if appendix:
    st.header("Technical appendix")
    st.markdown(
        "For analysts and whoever runs the dashboard: where each setting this guide mentions "
        "lives, and the terms the code uses."
    )
    with st.expander("Settings, files and the terms the code uses"):
        st.markdown(appendix)
