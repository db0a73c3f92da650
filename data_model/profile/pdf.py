"""The profile as a tagged PDF (PDF/UA-1), made by WeasyPrint from the profile's HTML.

WeasyPrint needs Pango's system libraries (Debian: libpango-1.0-0 and libpangoft2-1.0-0; .ci/run
installs them). Where they are missing (a council's Windows laptop without the GTK runtime) the
PDF cannot be made here: `pdf_unavailable_reason()` says so and how to get the PDF from the HTML
instead, and `html_to_pdf` raises PdfUnavailableError with that sentence, never an obscure
library error.
"""

from __future__ import annotations

import threading
from functools import cache

HOW_TO_PRINT = (
    'open the profile\'s HTML file in Edge or Chrome, press Ctrl+P and choose "Save as PDF" '
    "(the HTML has the same page, with its fonts and map inside it)"
)


class PdfUnavailableError(RuntimeError):
    """WeasyPrint cannot run on this machine; the message says what to do instead."""


class FetchRefusedError(ValueError):
    """The profile asked for a resource outside itself: it must be self-contained."""


def _load_weasyprint() -> None:
    """Import WeasyPrint, which loads Pango: an OSError when its libraries are missing."""
    import weasyprint  # noqa: F401


@cache
def pdf_unavailable_reason() -> str | None:
    """None when WeasyPrint can make PDFs here; otherwise why not, and what to do instead."""
    try:
        _load_weasyprint()
    except ImportError:
        return f"WeasyPrint is not installed, so no PDF can be made here: {HOW_TO_PRINT}."
    except OSError as error:  # Pango or its fonts libraries missing (on Windows: no GTK)
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        return (
            f"WeasyPrint's system libraries (Pango) are not on this machine ({first_line}), so "
            f"no PDF can be made here: {HOW_TO_PRINT}."
        )
    return None


def offline_fetcher():
    """A WeasyPrint URL fetcher for data: URIs only: an http(s), file or any other address is
    refused, so a profile can never make a request or read a file while it is printed."""
    from weasyprint.urls import URLFetcher

    class OfflineFetcher(URLFetcher):
        def fetch(self, url: str, headers: dict | None = None):  # noqa: ANN202 (WeasyPrint's type)
            if not url.lower().startswith("data:"):
                raise FetchRefusedError(
                    f"the profile may not fetch {url[:80]}: it is made offline, from itself alone"
                )
            return super().fetch(url, headers)

    return OfflineFetcher(allowed_protocols={"data"}, allow_redirects=False)


@cache
def _font_configuration():  # noqa: ANN202 (WeasyPrint's FontConfiguration)
    """One font configuration per process: the bundled fonts are unpacked once, not per PDF (a
    third of the time a profile's PDF takes). Its faces are keyed by their @font-face rules, so
    reusing it adds nothing per PDF."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


# Pango and the shared font configuration are not made for threads (the app serves each session
# in one): one PDF at a time, a fraction of a second each.
_ONE_AT_A_TIME = threading.Lock()


def html_to_pdf(html: str) -> bytes:
    """The profile's HTML as a tagged PDF/UA-1 document (A4, as its print CSS says)."""
    reason = pdf_unavailable_reason()
    if reason:
        raise PdfUnavailableError(reason)
    from weasyprint import HTML

    with _ONE_AT_A_TIME:
        return HTML(string=html, url_fetcher=offline_fetcher()).write_pdf(
            pdf_variant="pdf/ua-1", font_config=_font_configuration()
        )
