"""Not a page: the stand-in for /quick-wins on a fresh server's first request, when
Streamlit reads pages/ as a list of pages by file name (pages/ui/model.py, run_app_instead)."""

from pages.ui.model import run_app_instead

run_app_instead()
