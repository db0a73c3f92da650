"""The app's pages, in the order the sidebar lists them: the one list app.py registers with
st.navigation and the page benchmark and tests walk. Who may open each is in
data_model/access.yaml, by the page's key.

URL paths differ from the file names on purpose: Streamlit treats a folder called pages/ as an
old-style page list until st.navigation has run once in the process, and a URL matching a file
name there would run that page without app.py (no banner, no sidebar details).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageEntry:
    """One page: its script, sidebar title, heading, URL path, sidebar section and a short key."""

    key: str  # a short name for benchmarks and tests
    file: str  # relative to the project root
    title: str  # the sidebar link
    heading: str  # the page's st.title
    url_path: str
    section: str
    default: bool = False


PAGES: tuple[PageEntry, ...] = (
    PageEntry("overview", "pages/overview.py", "Overview", "Overview", "programme-overview",
              "Programme", default=True),
    PageEntry("referrals", "pages/referrals.py", "Referrals & allocation",
              "Referrals and allocation", "referrals-and-allocation", "Programme"),
    PageEntry("data_quality", "pages/data_quality.py", "Data quality", "Data quality",
              "data-quality", "Programme"),
    PageEntry("near_threshold", "pages/near_threshold.py", "Near threshold", "Near threshold",
              "near-threshold", "Programme"),
    PageEntry("claims", "pages/claims.py", "Claims & returns", "Claims and returns",
              "claims-and-returns", "Programme"),
    PageEntry("wards", "pages/wards.py", "Wards", "Wards", "ward-figures", "Programme"),
    PageEntry("quick_wins", "pages/quick_wins.py", "Quick wins", "Quick wins", "quick-wins",
              "Programme"),
    PageEntry("family_lookup", "pages/family_lookup.py", "Family lookup", "Family lookup",
              "family-lookup", "Families"),
    PageEntry("user_guide", "pages/user_guide.py", "User guide", "User guide", "user-guide",
              "Help"),
    PageEntry("outcomes_plan", "pages/outcomes_plan.py", "Outcomes plan", "Outcomes plan",
              "outcomes-plan", "Help"),
    PageEntry("accessibility", "pages/accessibility.py", "Accessibility statement",
              "Accessibility statement for Families First Insight", "accessibility-statement",
              "Help"),
    PageEntry("audit", "pages/audit.py", "Audit", "Audit", "audit-trail", "Administration"),
    PageEntry("access_settings", "pages/access_settings.py", "Access and roles",
              "Access and roles", "access-and-roles", "Administration"),
)  # fmt: skip

BY_KEY = {page.key: page for page in PAGES}


def sections() -> dict[str, list[PageEntry]]:
    """The pages grouped under their sidebar section, in order."""
    grouped: dict[str, list[PageEntry]] = {}
    for page in PAGES:
        grouped.setdefault(page.section, []).append(page)
    return grouped
