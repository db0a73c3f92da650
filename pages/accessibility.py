"""Accessibility statement, in the style of the GOV.UK and DfE dashboard templates."""

from __future__ import annotations

import streamlit as st

from pages.ui import access

access.require("accessibility")  # first: who may open this page (data_model/access.yaml)

PREPARED = "23 Nov 2026"
REVIEWED = "04 Dec 2026"  # sign-in, the reason form, the Wards map and profiles, family lookup

st.title("Accessibility statement for Families First Insight")
st.markdown(
    """
This statement applies to the Families First Insight dashboard. It is run by the council's
Families First programme team. We want as many people as possible to be able to use it. For
example, that means you should be able to:

- change colours, contrast levels and fonts using browser or device settings
- zoom in up to 400% without the text spilling off the screen
- navigate most of the dashboard using a keyboard or speech recognition software
- listen to most of the dashboard using a screen reader (including the most recent versions of
  JAWS, NVDA and VoiceOver)
- get every figure shown in a chart or a map as a table, and download tables as CSV or Excel
  where your role may take them

We have also made the text as simple as possible to understand, and we write dates one way
everywhere (for example 01 Jan 2020).

### How accessible this dashboard is

We aim to meet the Web Content Accessibility Guidelines (WCAG) version 2.2 to the AA standard.
We know some parts are not fully accessible:

- **Charts**: the interactive charts (Plotly) cannot be fully explored with a keyboard or a
  screen reader; hover details need a mouse. Each chart has a short text description and a table
  next to it or below it with the same figures, which can be read, sorted and downloaded.
- **Tables**: the interactive tables draw their cells on a canvas. Screen readers read the
  visible rows through a hidden accessible grid, and reading long tables can be slow; download a
  table (CSV or Excel) to read it in full.
- **Colour**: chart colours come from the Government Analysis Function's accessible palette and
  have at least 3:1 contrast with the background and with each other, but lines and bars are
  also told apart by labels, line styles and the tables, not by colour alone.
- **Automated checks** with axe-core find no WCAG 2.2 AA failures on any page; automated
  checks cannot find every problem, and the dashboard has not yet been tested by disabled users.
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
- **Date pickers and multi-select lists** are provided by the Streamlit framework and may not
  announce every change to some screen readers.
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

### Feedback and contact information

If you need information on this dashboard in a different format, such as accessible PDF, large
print or plain text, or you find a problem not listed on this page, contact the Families First
performance and intelligence team through the council's service desk, saying which page and
chart or table you were using. We will consider your request and get back to you within
10 working days.

### Enforcement procedure

The Equality and Human Rights Commission (EHRC) is responsible for enforcing the Public Sector
Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018 (the
'accessibility regulations'). If you're not happy with how we respond to your complaint, contact
the Equality Advisory and Support Service (EASS).

### Technical information about this dashboard's accessibility

The council is committed to making its websites accessible, in accordance with the Public Sector
Bodies (Websites and Mobile Applications) (No. 2) Accessibility Regulations 2018.

This dashboard is **partially compliant** with the Web Content Accessibility Guidelines version
2.2 AA standard, due to the non-compliances listed above.

### What we're doing to improve accessibility

We check each release with automated tests (including an automated accessibility checker where
available) and will add fuller keyboard access to charts as the framework allows.
"""
)
st.header("Preparation of this accessibility statement")
st.markdown(
    f"This statement was prepared on {PREPARED}. It was last reviewed on {REVIEWED}. "
    "This dashboard was last tested on the same date by the development team, with automated "
    "checks of every page in a headless browser."
)
