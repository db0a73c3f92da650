"""The ward profile's download buttons: the one-page profile of a ward or an area committee, as
self-contained HTML and as a tagged PDF (data_model.profile), made only when a button is pressed,
after the download is written to the audit trail. Profiles always carry protected figures,
whoever makes them: they go to public meetings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import streamlit as st

from data_model import profile
from pages.ui import access, model
from pages.ui.formats import plain, slug

LEVEL = "aggregate"  # a profile holds district and ward figures, protected


def profile_buttons(area: str, title: str, quarter_end: date, *, key: str) -> None:
    """HTML and PDF downloads of the profile of `area` (a ward's code or a committee's name),
    called `title` ("Manningham ward"), for the quarter ending `quarter_end`; for roles that may
    download district figures. Where WeasyPrint cannot run, says how to print the HTML to PDF."""
    if not access.may_download(LEVEL):
        return
    audited = access.download_recorder(f"Ward profile: {title}", 1, LEVEL)
    stem = slug(f"{title} profile {quarter_end:%d %b %Y}")

    def made() -> profile.ProfileDownloads:
        audited()  # before the file leaves; an exception stops it
        return model.query(profile.profile_downloads, area, quarter_end)

    def html() -> bytes:
        return made().html

    def pdf() -> bytes:
        return made().pdf or b""

    reason = profile.pdf_unavailable_reason()
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            f"Profile of {plain(title)} (HTML)",
            data=html,
            file_name=f"{stem}.html",
            mime="text/html",
            key=f"profile_html_{key}",
            on_click="ignore",
            icon=":material/description:",
            help=f"One A4 page for {plain(title)} with protected figures, to open in Edge or "
            "Chrome and print.",
        )
        if reason is None:
            st.download_button(
                f"Profile of {plain(title)} (PDF)",
                data=pdf,
                file_name=f"{stem}.pdf",
                mime="application/pdf",
                key=f"profile_pdf_{key}",
                on_click="ignore",
                icon=":material/picture_as_pdf:",
                help=f"The same page for {plain(title)} as an accessible (tagged) PDF.",
            )
    if reason is not None:
        st.caption(f"No PDF here: {plain(reason)}")


def printable_page(
    label: str, *, data: Callable[[], bytes], file_name: str, key: str, help: str
) -> None:
    """A one-page HTML document to open and print (the family lookup's summary): offered as a
    download, made only when clicked (`data` a function), and recorded by `data`'s caller."""
    document_file(
        label, data=data, file_name=file_name, mime="text/html", key=key, help=help,
        icon=":material/print:",
    )  # fmt: skip


def document_file(
    label: str,
    *,
    data: Callable[[], bytes],
    file_name: str,
    mime: str,
    key: str,
    help: str | None = None,
    icon: str = ":material/description:",
) -> None:
    """A document offered as a download (the quick-wins model card, a family summary), made only
    when clicked (`data` a function, which records the download in the audit trail first)."""
    st.download_button(
        label,
        data=data,
        file_name=file_name,
        mime=mime,
        key=key,
        on_click="ignore",
        icon=icon,
        help=help,
    )
