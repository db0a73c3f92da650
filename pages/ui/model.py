"""The model the pages read: its path, one read-only connection per model version, cached
`query()` calls into data_model.read, the model's info, and the guard that hands a page opened
alone over to app.py."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import streamlit as st

from data_model import geography, profile
from data_model.read import (
    connection,
    forecast,
    lag_cost,
    lookup_family,
    lookup_search,
    open_model,
    plan,
    programme,
    quality,
    quickwins,
    quickwins_lists,
    quickwins_rank,
    referrals,
    sources,
    wards,
)
from pages.ui.formats import plain

# The synthetic demo has a path of its own, so a demo build can never land on a council's model.
DEMO_MODEL = Path("data/demo.duckdb")
DEFAULT_HOUSEHOLDS = 10_000


def is_demo() -> bool:
    """No production model is configured (FFI_MODEL unset): the app serves the synthetic demo."""
    return not os.environ.get("FFI_MODEL")


def model_path() -> Path:
    """The model file: FFI_MODEL (a council's model), else the demo's, data/demo.duckdb (relative
    to the working directory)."""
    return Path(os.environ.get("FFI_MODEL") or DEMO_MODEL)


@dataclass(frozen=True)
class ModelKey:
    """Which model file, and which version of it: a rebuilt file is a new inode, newly modified."""

    path: str
    inode: int
    mtime_ns: int


def model_key() -> ModelKey:
    """The current model file's key: the cache of query results is kept per key."""
    path = model_path().resolve()
    stat = path.stat()
    return ModelKey(str(path), stat.st_ino, stat.st_mtime_ns)


@st.cache_resource(max_entries=2, show_spinner=False)
def _database(key: ModelKey) -> duckdb.DuckDBPyConnection:
    """One read-only database per model version, shared by every session.

    A replaced file gives a new cache entry, so a rebuilt model is picked up on the next run
    while runs in progress finish on the old one.
    """
    return open_model(key.path)


def _cursor(key: ModelKey) -> duckdb.DuckDBPyConnection:
    """A connection of our own to the shared database (DuckDB connections are not thread-safe)."""
    cursor = _database(key).cursor()
    cursor.execute("use model")
    return cursor


# The modules whose functions a page may call through query(): looked up by name, never imported
# from what a cache key says.
_QUERY_MODULES = {
    module.__name__: module
    for module in (
        connection,
        forecast,
        geography,
        lag_cost,
        lookup_family,
        lookup_search,
        plan,
        profile,
        programme,
        quality,
        quickwins,
        quickwins_lists,
        quickwins_rank,
        referrals,
        sources,
        wards,
    )
}


@st.cache_data(max_entries=512, show_spinner=False)
def _query(
    key: ModelKey, module: str, name: str, args: tuple, keywords: tuple[tuple[str, Any], ...] = ()
) -> Any:
    cursor = _cursor(key)
    try:
        return getattr(_QUERY_MODULES[module], name)(cursor, *args, **dict(keywords))
    finally:
        cursor.close()


def query(function: Callable[..., Any], *args: Any, **keywords: Any) -> Any:
    """Call a `data_model.read` function on the current model; results are cached per model."""
    named = tuple(sorted(keywords.items()))
    return _query(model_key(), function.__module__, function.__name__, args, named)


def active_plan_name() -> str | None:
    """The name of the outcomes plan the model was built with (none for a model built before
    plans existed)."""
    if "mart_plan" not in query(connection.model_tables):
        return None
    return query(plan.active_plan).get("plan_name")


def model_exists() -> bool:
    """Whether the model file is there (app.py builds the synthetic district when it is not)."""
    return model_path().exists()


def hand_over_to_app_if_run_alone() -> None:
    """A page opened by its file name on a fresh server's first request runs without app.py.

    Because our pages live in a folder called pages/, Streamlit runs such a request in its old
    pages-folder mode until app.py has called st.navigation once in the process. Send that run
    to app.py, which wraps every page (banner, navigation, the first-start build).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        st.switch_page("app.py")


APP = Path(__file__).resolve().parents[2] / "app.py"


def run_app_instead() -> None:
    """For the stand-ins pages/<url path>.py: on a fresh server's first request Streamlit is in
    its old pages-folder mode, where a page's address (/programme-overview, a bookmark) names no
    file and would open under a "Page not found" notice. Its stand-in is found instead, and runs
    app.py in its place: app.py's navigation then opens the page the address names."""
    import runpy

    runpy.run_path(str(APP), run_name="__main__")
    st.stop()


def info(*, in_app: bool = False) -> dict:
    """model_info() of the current model; a page without a model stops with a message. app.py
    passes in_app (it is the app, and runs this before st.navigation)."""
    if not in_app:
        hand_over_to_app_if_run_alone()
    if not model_exists():
        st.error(
            f"There is no model at {plain(model_path())}. Start the app with "
            "`streamlit run app.py` to build the synthetic district, or build one from extracts "
            "(see the README)."
        )
        st.stop()
    return query(programme.model_info)
