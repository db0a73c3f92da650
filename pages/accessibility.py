"""Accessibility statement, in the style of the GOV.UK and DfE dashboard templates.

What it says is checked: tests/e2e/test_accessibility_e2e.py runs axe-core's WCAG 2.2 A and AA
rules and its best-practice rules on every page at 1,400 and 400 pixels wide, checks that no
chart's title or axis title is cut off at either width, and that the skip link reaches the main
content. When the statement changes, change TESTED and the known issues with it.
"""

from __future__ import annotations

import streamlit as st

from pages.ui import access
from pages.ui.formats import small_base_limit

access.require("accessibility")  # first: who may open this page (data_model/access.yaml)

PREPARED = "23 Nov 2026"
REVIEWED = "05 Dec 2026"  # sign-in, reason form, Wards map and profiles, family lookup, polish
TESTED = "05 Dec 2026"

st.title("Accessibility statement for Families First Insight")
st.markdown(
    """
This statement applies to the Families First Insight dashboard. It is run by the council's
Families First programme team. We want as many people as possible to be able to use it. For
example, that means you should be able to:

- change colours, contrast levels and fonts using browser or device settings
- zoom in up to 400% without the text spilling off the screen: at 400 pixels wide (a window
  1,600 pixels wide at 400%) text wraps, chart titles sit above their charts as text, and only
  wide tables scroll sideways
- navigate the dashboard using a keyboard: a *Skip to main content* link comes first on every
  page, and the control that has the keyboard's focus has a black and yellow outline
- listen to most of the dashboard using a screen reader (including the most recent versions of
  JAWS, NVDA and VoiceOver)
- get every figure shown in a chart or a map as a table, and download tables as CSV or Excel
  where your role may take them

We have also made the text as simple as possible to understand, we write dates one way
everywhere (for example 01 Jan 2020), and we give percentages to one decimal place.
"""
)

st.header("How accessible this dashboard is")
st.markdown(
    f"""
We aim to meet the Web Content Accessibility Guidelines (WCAG) version 2.2 to the AA standard.
We know some parts are not fully accessible:

- **Charts** (drawn with Plotly) cannot be explored point by point with a keyboard or a screen
  reader, and the figures that appear when you point at a line or a bar need a mouse. Each
  chart has its title as text above it, a short text description for screen readers, and a
  table next to it or below it with the same figures, which can be read, sorted and
  downloaded. Charts have no toolbar, so they add no tab stops of their own beyond the full
  screen button.
- **Tables** draw their cells on a canvas. Screen readers read the visible rows through a hidden
  accessible grid, and reading long tables can be slow; download a table (CSV or Excel) to read
  it in full. Each table has a search and a full screen button, which add two tab stops. At 400
  pixels wide, tables with many columns scroll sideways.
- **Symbols in tables**: **c** is a figure withheld to protect families, **x** not available
  and **z** not applicable (the Government Statistical Service's symbols); a note under each
  table says what its symbols mean there. A median or rate from fewer than
  {small_base_limit()} cases has a caution beside it, in words.
- **Colour**: chart colours come from the Government Analysis Function's accessible palette and
  have at least 3:1 contrast with the background and with each other, but lines and bars are
  also told apart by labels, line styles and the tables, not by colour alone.
- **The Wards map** is drawn on a canvas (deck.gl): it cannot be explored with a keyboard or a
  screen reader, and choosing a ward by clicking it needs a mouse. The ward list above the map
  chooses the same ward with a keyboard, the map has a text description naming what it shows,
  and the table below it ranks every ward with the same figures. Shades are told apart by the
  key beside the map and by the table, not by colour alone; a ward whose figure is withheld is
  grey and labelled c.
- **Ward profiles** (HTML and PDF) have headings, table headers and a text description of the
  map naming the highest and lowest wards; the PDF is tagged (PDF/UA-1) and states its language.
  The HTML passes the same automated checks as the pages; the PDF has not yet been checked with
  a screen reader.
- **The Family lookup** lists the people a search finds as rows, each ending in an *Open
  family* button, shows the family as a table with a header row, and opens each service's
  details with a keyboard (Enter or Space on its heading); its search form is submitted with
  Enter or its button. The printable family summary (HTML) has headings and table headers,
  passes the same automated checks as the pages, and is marked OFFICIAL-SENSITIVE in text, not
  by colour.
- **Quick wins** keeps its two lists, one family's detail, the marks and the model card in
  tabs reached with a keyboard (arrow keys move between tabs). A decision on a family is a
  standard form with a label for every field. The model card and transparency record download
  as HTML (with headings and table headers, passing the same automated checks as the pages) or
  as plain Markdown text.
- **Date pickers and multi-select lists** are provided by the Streamlit framework and may not
  announce every change to some screen readers.
- **Headings** each carry a small "link to heading" button from the framework, one more tab
  stop per heading.
- **Signing in** uses the council's own sign-in page, which the council's identity provider
  runs; its accessibility is covered by the council's statement for that service.
- **Reason for access**: before the first page that shows people's names, dates of birth or
  addresses, a short form asks why you need them (a list of reasons to choose from, and a text
  box for another reason). It is a standard form with a label for every field and can be
  completed with a keyboard or a screen reader. Your session ends after a time without activity
  (30 minutes unless the council has changed it); the page then clears itself and asks you to
  sign in again, which may interrupt someone who needs more time: tell us if it does.
- The dashboard sends nothing to other websites: charts and tables are drawn in your browser
  from this server only.
"""
)

st.header("Feedback and contact information")
st.markdown(
    """
If you need information on this dashboard in a different format, such as accessible PDF, large
print or plain text, or you find a problem not listed on this page, contact the Families First
performance and intelligence team through the council's service desk, saying which page and
chart or table you were using. We will consider your request and get back to you within
10 working days.
"""
)

st.header("Enforcement procedure")
st.markdown(
    """
The Equality and Human Rights Commission (EHRC) is responsible for enforcing the Public Sector
Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018 (the
'accessibility regulations'). If you're not happy with how we respond to your complaint, contact
the Equality Advisory and Support Service (EASS).
"""
)

st.header("Technical information about this dashboard's accessibility")
st.markdown(
    """
The council is committed to making its websites accessible, in accordance with the Public Sector
Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018.

This dashboard is **partially compliant** with the Web Content Accessibility Guidelines version
2.2 AA standard, due to the non-compliances listed above.
"""
)

st.header("What we're doing to improve accessibility")
st.markdown(
    """
Every release is checked in a browser (Chromium) at 1,400 and 400 pixels wide: the automated
checker axe-core runs its WCAG 2.2 A and AA rules and its best-practice rules (heading order
among them) on every page, including this one; no chart's title or axis title may be cut off
at either width; and the skip link must reach the main content. A release that fails any of
these is not released. We will add fuller keyboard access to charts as the framework allows,
and ask disabled users to test the dashboard.
"""
)

st.header("Preparation of this accessibility statement")
st.markdown(
    f"This statement was prepared on {PREPARED}. It was last reviewed on {REVIEWED}. "
    f"This dashboard was last tested on {TESTED} by the development team, with the automated "
    "checks above on every page in a headless browser. It has not yet been tested by disabled "
    "users, and automated checks cannot find every problem."
)
