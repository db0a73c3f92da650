"""What the Wards page and the ward profile show: each measure ward by ward, by area committee and
for the district, quarter by quarter, with ranks, direction of travel and "at a glance" sentences,
and the postcode box's lookup.

Counts come from mart_ward_measure (exact, one row per measure, quarter and ward); committees and
the district are the sums of their wards. Every figure a user may not see exactly goes through
data_model.disclosure (`protected=True`): the councillor role always, the ward profile and its
command always, managers and analysts unless wards.yaml lets them see exact counts (then the
tables say `exact`). A protected table never holds an exact count that is not published.

A family counts in the ward it lived in on the day that matters: the quarter's last day for the
families known, eligible and with each problem; the day it was attached for the families engaged
and results claims (mart_ward_measure).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from data_model.disclosure import (
    SUPPRESSED,
    DisclosureSettings,
    Group,
    disclosure_settings,
    protect,
    suppression_intervals,
    two_level_intervals,
    wards_settings,
)
from data_model.read.connection import query_frame, query_row

LEVELS = ("ward", "committee", "district")
DISTRICT_CODE = "district"
UNITS = {
    "children_0_15": "per 1,000 children aged 0–15",
    "families_known": "per 1,000 families known",
}
DENOMINATOR_WORDS = {
    "children_0_15": "children aged 0–15 living in the area (mid-year estimate)",
    "families_known": "families known in the area on the quarter's last day",
}
POLARITIES = ("higher_is_better", "higher_is_worse", "none")
DIRECTIONS = ("improving", "worsening", "increasing", "decreasing", "no change", "not published")
NOT_APPLICABLE = "z"  # GSS: not applicable (a rate with no denominator)


# --- Measures and quarters ------------------------------------------------------------------------


def _measure_settings(measure_id: str, problem_title: str | None) -> dict[str, str]:
    measures = wards_settings()["measures"]
    if problem_title is not None:
        template = measures["problem"]
        return {
            key: str(value).replace("{problem}", problem_title) for key, value in template.items()
        }
    return {key: str(value) for key, value in measures[measure_id].items()}


# The caches below hold one model's figures (a page's sessions run in threads: writes are locked,
# and a reader keeps what it found even if another thread replaces the cache).
_CACHE_LOCK = threading.Lock()
_MEASURES: dict[str, pd.DataFrame] = {}


def ward_measures(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The measures, in the page's order: measure_id, label, unit (words, e.g. "per 1,000
    children aged 0–15"), unit_key (children_0_15 or families_known), polarity and definition
    (plain words, numerator and denominator stated)."""
    stamp = _model_stamp(con)
    measures = _MEASURES.get(stamp)
    if measures is None:
        measures = _read_measures(con)
        with _CACHE_LOCK:
            _MEASURES.clear()
            _MEASURES[stamp] = measures
    return measures.copy()


def _read_measures(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    measures = query_frame(
        con,
        """
        select distinct measure.measure_id, measure.measure_order, problem.title as problem_title
        from mart_ward_measure as measure
        left join cfg_plan_problem as problem
            on measure.measure_id = 'problem_' || problem.problem_id
        order by measure.measure_order, measure.measure_id
        """,
    )
    rows = []
    for measure_id, problem_title in zip(
        measures["measure_id"], measures["problem_title"], strict=True
    ):
        title = None if pd.isna(problem_title) else str(problem_title)
        chosen = _measure_settings(measure_id, title)
        rows.append(
            {
                "measure_id": measure_id,
                "label": chosen["label"],
                "unit": UNITS[chosen["unit"]],
                "unit_key": chosen["unit"],
                "polarity": chosen["polarity"],
                "definition": chosen["definition"],
            }
        )
    return pd.DataFrame(
        rows, columns=["measure_id", "label", "unit", "unit_key", "polarity", "definition"]
    )


def _measure(con: duckdb.DuckDBPyConnection, measure_id: str) -> dict[str, Any]:
    measures = ward_measures(con)
    found = measures[measures["measure_id"] == measure_id]
    if found.empty:
        raise LookupError(f"no ward measure {measure_id!r}")
    return found.iloc[0].to_dict()


def ward_quarters(con: duckdb.DuckDBPyConnection) -> list[date]:
    """The quarter-end dates with figures, latest last (complete quarters up to the as-at date)."""
    rows = con.execute(
        "select distinct quarter_end from mart_ward_measure order by quarter_end"
    ).fetchall()
    return [row[0] for row in rows]


def quarter_label(quarter_end: date) -> str:
    """ "Jan to Mar 2020 (quarter ending 31 Mar 2020)"."""
    start_month = quarter_end.month - 2
    start = date(quarter_end.year, start_month, 1)
    return f"{start:%b} to {quarter_end:%b %Y} (quarter ending {quarter_end:%d %b %Y})"


def ward_areas(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every area the page can choose: level, area_code, area_name, area_committee (wards by
    name, then the committees, then the district)."""
    wards = query_frame(
        con,
        "select ward_code, ward_name, area_committee from mart_ward order by ward_name",
    )
    rows = [
        {"level": "ward", "area_code": code, "area_name": name, "area_committee": committee}
        for code, name, committee in zip(
            wards["ward_code"], wards["ward_name"], wards["area_committee"], strict=True
        )
    ]
    rows += [
        {"level": "committee", "area_code": committee, "area_name": committee,
         "area_committee": committee}
        for committee in sorted(wards["area_committee"].unique())
    ]  # fmt: skip
    rows.append(
        {"level": "district", "area_code": DISTRICT_CODE, "area_name": district_name(),
         "area_committee": None}
    )  # fmt: skip
    return pd.DataFrame(rows, columns=["level", "area_code", "area_name", "area_committee"])


def district_name() -> str:
    return str(wards_settings().get("district_name") or "District")


# --- Cells: exact and protected -------------------------------------------------------------------


def _model_stamp(con: duckdb.DuckDBPyConnection) -> str:
    """Which model a cache entry belongs to (a rebuild makes a new one)."""
    info = query_row(con, "select built_at, households, seed from mart_model_info")
    return repr(sorted(info.items()))


_CELLS: dict[str, dict[str, pd.DataFrame]] = {}


def _all_cells(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Every measure's exact cells, read once per model: a few thousand rows whatever the
    district's size (measures × quarters × areas), so every page view after the first filters
    them in memory."""
    stamp = _model_stamp(con)
    found = _CELLS.get(stamp)
    if found is None:
        cells = query_frame(
            con,
            f"""
            with cells as (
                select measure.measure_id, measure.quarter_end, measure.ward_code,
                       ward.ward_name, ward.area_committee, measure.families, measure.cell_key,
                       measure.families_known, measure.population_0_15
                from mart_ward_measure as measure
                inner join mart_ward as ward using (ward_code)
            )
            select measure_id, 'ward' as level, ward_code as area_code, ward_name as area_name,
                   area_committee, quarter_end, families as count, cell_key, families_known,
                   population_0_15
            from cells
            union all
            select measure_id, 'committee', area_committee, area_committee, area_committee,
                   quarter_end, sum(families), sum(cell_key) % 256, sum(families_known),
                   sum(population_0_15)
            from cells group by measure_id, area_committee, quarter_end
            union all
            select measure_id, 'district', '{DISTRICT_CODE}', ?, null, quarter_end,
                   sum(families), sum(cell_key) % 256, sum(families_known), sum(population_0_15)
            from cells group by measure_id, quarter_end
            order by measure_id, quarter_end, level, area_code
            """,
            [district_name()],
        )
        cells["quarter_end"] = pd.to_datetime(cells["quarter_end"]).dt.date
        found = {
            measure_id: frame.drop(columns="measure_id").reset_index(drop=True)
            for measure_id, frame in cells.groupby("measure_id", sort=False)
        }
        with _CACHE_LOCK:
            _CELLS.clear()
            _CELLS[stamp] = found
    return found


def _exact_cells(
    con: duckdb.DuckDBPyConnection, measure_id: str, quarters: Sequence[date] | None = None
) -> pd.DataFrame:
    """Every area's exact count, cell key and denominators for one measure, every quarter (or
    the quarters given)."""
    cells = _all_cells(con).get(measure_id)
    if cells is None:
        raise LookupError(f"no ward measure {measure_id!r}")
    if quarters is not None:
        cells = cells[cells["quarter_end"].isin(list(quarters))]
    return cells.copy()


def _groups(cells: pd.DataFrame) -> list[Group]:
    """The additive groups: each committee's wards with its total; the committees with the
    district."""
    wards = cells[cells["level"] == "ward"]
    groups = [
        Group(committee, tuple(sorted(members["area_code"])))
        for committee, members in wards.groupby("area_committee", sort=True)
    ]
    groups.append(Group(DISTRICT_CODE, tuple(group.total for group in groups)))
    return groups


_PROTECTED: dict[tuple, dict[str, int | None]] = {}
_PROTECTED_KEPT = 2048  # tables kept (a table is ~36 numbers); the oldest go first


def _protected_quarter(
    stamp: str, measure_id: str, quarter_end: date, settings: DisclosureSettings,
    table: pd.DataFrame,
) -> dict[str, int | None]:  # fmt: skip
    """One quarter's published counts by area_code (None: shown as c), protected once per model,
    measure, quarter and setting: the same model always publishes the same table."""
    key = (stamp, measure_id, quarter_end, settings.method, settings.threshold)
    found = _PROTECTED.get(key)
    if found is None:
        protected = protect(table, _groups(table), settings.threshold, settings.method)
        found = {
            code: None if pd.isna(value) else int(value)
            for code, value in zip(protected["area_code"], protected["published"], strict=True)
        }
        _remember(key, found)
    return found


def _remember(key: tuple, value: Any) -> None:
    with _CACHE_LOCK:
        _PROTECTED[key] = value
        while len(_PROTECTED) > _PROTECTED_KEPT:
            del _PROTECTED[next(iter(_PROTECTED))]


# The councillor's Overview publishes district totals (data_model.read.programme's
# protected_overview) that bound Wards figures, each a cap on the district's figure: (the
# Overview's count, the measure, which quarters): "each" caps every quarter's figure on its own
# (every family engaged on a quarter's last day is among the families attached by the as-at
# date), "as_at" the quarter ending on the as-at date alone, "all" the quarters' figures added
# up (the results claims of every quarter are among all the claims).
OVERVIEW_CAPS = (
    ("families_attached", "families_engaged", "each"),
    ("families_ever_eligible", "families_eligible", "each"),
    ("families_eligible", "families_eligible", "as_at"),
    ("results_claims", "results_claims", "all"),
)


def overview_caps(
    con: duckdb.DuckDBPyConnection, measure_id: str, quarters: Sequence[date]
) -> list[tuple[tuple[date, ...], int]]:
    """The caps the Overview's published totals put on a measure's district figures: (the
    quarters added up, the total), for the totals the Overview publishes (not withheld)."""
    wanted = [(name, how) for name, measure, how in OVERVIEW_CAPS if measure == measure_id]
    if not wanted:
        return []
    from data_model.read.programme import protected_overview

    published = protected_overview(con)
    as_at = query_row(con, "select as_at_date from mart_model_info")["as_at_date"]
    caps: list[tuple[tuple[date, ...], int]] = []
    for name, how in wanted:
        total = published.get(name)
        if total is None:
            continue
        if how == "each":
            caps += [((quarter,), total) for quarter in quarters]
        elif how == "as_at":
            caps += [((quarter,), total) for quarter in quarters if quarter == as_at]
        else:
            caps.append((tuple(quarters), total))
    return caps


def _least_district(table: pd.DataFrame, published: dict[str, int | None]) -> float:
    """The least the district's figure of one quarter can be, given the quarter's published
    table: its figure where published; 0 where every cell is withheld (zeros too); else what its
    published and suppressed cells (each at least 1) add up to at least."""
    if published[DISTRICT_CODE] is not None:
        return float(published[DISTRICT_CODE])
    if all(value is None for value in published.values()):
        return 0.0
    counts = dict(zip(table["area_code"], table["count"].astype(int), strict=True))
    hidden = {code for code, value in published.items() if value is None}
    groups = _groups(table)
    intervals = two_level_intervals(counts, hidden, groups) or suppression_intervals(
        counts, hidden, groups, [DISTRICT_CODE]
    )
    return intervals[DISTRICT_CODE][0]


def _capped(
    con: duckdb.DuckDBPyConnection, measure_id: str, settings: DisclosureSettings
) -> dict[date, dict[str, int | None]]:
    """Every quarter of a measure the Overview's totals cap, protected so that no suppressed
    district figure (nor what it holds) is narrowed below the threshold by a cap: within a cap,
    the suppressed district figures are known to lie between their least values and those plus
    what the cap leaves over (the slack), so the slack must be at least the threshold. Else the
    smallest published district figure under the cap is suppressed too (its quarter protected
    again); where none is left, the quarter whose district is known to be largest is withheld
    whole (every cell c, zeros too, so it is known only to be at least 0)."""
    stamp = _model_stamp(con)
    key = (stamp, measure_id, "capped", settings.method, settings.threshold)
    found = _PROTECTED.get(key)
    if found is not None:
        return found  # type: ignore[return-value]
    cells = _exact_cells(con, measure_id)
    tables = {quarter: table for quarter, table in cells.groupby("quarter_end", sort=True)}
    published = {
        quarter: _protected_quarter(stamp, measure_id, quarter, settings, table)
        for quarter, table in tables.items()
    }
    district = {
        quarter: int(table.loc[table["level"] == "district", "count"].iloc[0])
        for quarter, table in tables.items()
    }
    caps = overview_caps(con, measure_id, list(tables))
    while True:
        breach = None
        for quarters, total in caps:
            hidden = [q for q in quarters if published[q][DISTRICT_CODE] is None]
            if not hidden:
                continue
            shown = sum(district[q] for q in quarters if q not in hidden)
            slack = total - shown - sum(_least_district(tables[q], published[q]) for q in hidden)
            if slack < settings.threshold:
                breach = (quarters, hidden)
                break
        if breach is None:
            break
        quarters, hidden = breach
        candidates = sorted(
            (district[q], q) for q in quarters if q not in hidden and district[q] > 0
        )
        if candidates:
            quarter = candidates[0][1]
            table = tables[quarter]
            protected = protect(
                table, _groups(table), settings.threshold, settings.method, forced={DISTRICT_CODE}
            )
            published[quarter] = {
                code: None if pd.isna(value) else int(value)
                for code, value in zip(protected["area_code"], protected["published"], strict=True)
            }
            continue
        whole = sorted(
            ((-_least_district(tables[q], published[q]), q) for q in hidden
             if any(value is not None for value in published[q].values())),
        )  # fmt: skip
        if not whole:
            break  # every quarter under the cap is withheld whole: nothing is known but >= 0
        quarter = whole[0][1]
        published[quarter] = dict.fromkeys(published[quarter])
    _remember(key, published)
    return published


def _protected_counts(
    con: duckdb.DuckDBPyConnection, measure_id: str, settings: DisclosureSettings,
    quarters: Sequence[date] | None = None, cells: pd.DataFrame | None = None,
) -> dict[tuple[date, str], int | None]:  # fmt: skip
    """Each (quarter_end, area_code)'s published count for one measure (None: shown as c);
    `cells`: the measure's exact cells when the caller has them already."""
    published: dict[tuple[date, str], int | None] = {}
    if settings.method == "suppression" and any(m == measure_id for _, m, _ in OVERVIEW_CAPS):
        for quarter_end, table in _capped(con, measure_id, settings).items():
            if quarters is None or quarter_end in quarters:
                for code, value in table.items():
                    published[(quarter_end, code)] = value
        return published
    if cells is None:
        cells = _exact_cells(con, measure_id, quarters)
    stamp = _model_stamp(con)
    for quarter_end, table in cells.groupby("quarter_end", sort=True):
        for code, value in _protected_quarter(
            stamp, measure_id, quarter_end, settings, table
        ).items():
            published[(quarter_end, code)] = value
    return published


def _figures(
    con: duckdb.DuckDBPyConnection, measure_id: str, protected: bool,
    quarters: Sequence[date] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Every area and quarter of one measure: level, area_code, area_name, area_committee,
    quarter_end, count, denominator, rate, suppressed, exact — the counts and rates a user may
    see (protected: None where suppressed; no exact count that is not published)."""
    measure = _measure(con, measure_id)
    cells = _exact_cells(con, measure_id, quarters)
    settings = disclosure_settings()
    unit = measure["unit_key"]
    if protected:
        counts = _protected_counts(con, measure_id, settings, quarters, cells)
        cells["count"] = [
            counts[(quarter, code)]
            for quarter, code in zip(cells["quarter_end"], cells["area_code"], strict=True)
        ]
        if unit == "families_known":
            known = (
                counts
                if measure_id == "families_known"
                else _protected_counts(con, "families_known", settings, quarters)
            )
            cells["denominator"] = [
                known[(quarter, code)]
                for quarter, code in zip(cells["quarter_end"], cells["area_code"], strict=True)
            ]
        else:
            cells["denominator"] = cells["population_0_15"]
    else:
        cells["denominator"] = cells[
            "families_known" if unit == "families_known" else "population_0_15"
        ]
    cells["count"] = pd.array(cells["count"], dtype="Int64")
    cells["denominator"] = pd.array(cells["denominator"], dtype="Int64")
    cells["suppressed"] = cells["count"].isna().to_numpy(dtype=bool)
    # a rate is published where its count and its denominator are (and the denominator is not 0)
    usable = (
        ~cells["count"].isna() & ~cells["denominator"].isna() & (cells["denominator"].fillna(0) > 0)
    )
    # unrounded for ranking (from published figures only), rounded to one place for showing
    cells["rate_unrounded"] = [
        float(count) * 1000 / float(denominator) if ok else None
        for count, denominator, ok in zip(cells["count"], cells["denominator"], usable, strict=True)
    ]
    cells["rate"] = [None if r is None else round(r, 1) for r in cells["rate_unrounded"]]
    cells["rate_withheld"] = cells["suppressed"] | cells["denominator"].isna()
    cells["exact"] = not protected
    return cells.drop(columns=["cell_key", "families_known", "population_0_15"])


# --- Display --------------------------------------------------------------------------------------


def count_text(count: Any) -> str:
    return SUPPRESSED if count is None or pd.isna(count) else f"{int(count):,}"


def rate_text(rate: Any, withheld: bool) -> str:
    if withheld:
        return SUPPRESSED
    if rate is None or pd.isna(rate):
        return NOT_APPLICABLE
    return f"{float(rate):,.1f}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _ranked(table: pd.DataFrame) -> pd.DataFrame:
    """Rank the wards by rate, 1 = highest (equal rates share a rank), among the wards whose rate
    is published; committees, the district and suppressed wards have no rank."""
    table = table.copy()
    is_ranked = (table["level"] == "ward") & table["rate_unrounded"].notna()
    ranks = table.loc[is_ranked, "rate_unrounded"].astype(float).rank(method="min", ascending=False)
    table["rank"] = pd.array([pd.NA] * len(table), dtype="Int64")
    table.loc[is_ranked, "rank"] = ranks.astype(int).to_numpy()
    of = int(is_ranked.sum())
    shared = table.loc[is_ranked, "rank"].value_counts()
    table["rank_text"] = [
        ""
        if pd.isna(rank)
        else f"{'joint ' if shared.get(rank, 0) > 1 else ''}{ordinal(int(rank))} of {of}"
        for rank in table["rank"]
    ]
    table["rank_shared"] = [not pd.isna(rank) and shared.get(rank, 0) > 1 for rank in table["rank"]]
    return table


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    level_order = {level: i for i, level in enumerate(LEVELS)}
    return (
        table.assign(level_order=table["level"].map(level_order))
        .sort_values(["level_order", "area_name"], kind="stable")
        .drop(columns="level_order")
        .reset_index(drop=True)
    )


_TABLE_COLUMNS = [
    "level", "area_code", "area_name", "area_committee", "count", "denominator", "rate",
    "count_text", "rate_text", "suppressed", "rank", "rank_text", "rank_shared", "exact",
]  # fmt: skip


def _tables(
    con: duckdb.DuckDBPyConnection, measure_id: str, quarters: Sequence[date], protected: bool
) -> dict[date, pd.DataFrame]:
    """ward_table for several quarters of one measure, read at once."""
    wanted = [pd.Timestamp(quarter).date() for quarter in quarters]
    figures = _figures(con, measure_id, protected, wanted)
    tables = {}
    for quarter in wanted:
        table = figures[figures["quarter_end"] == quarter]
        if table.empty:
            raise LookupError(f"no figures for the quarter ending {quarter:%d %b %Y}")
        table = _ranked(table)
        table["count_text"] = [count_text(count) for count in table["count"]]
        table["rate_text"] = [
            rate_text(rate, withheld)
            for rate, withheld in zip(table["rate"], table["rate_withheld"], strict=True)
        ]
        tables[quarter] = _ordered(table)[_TABLE_COLUMNS]
    return tables


def ward_table(
    con: duckdb.DuckDBPyConnection, measure_id: str, quarter_end: date, *, protected: bool
) -> pd.DataFrame:
    """One quarter of one measure: a row per ward, per area committee and for the district
    (level), with count, denominator, rate, their display texts (c where suppressed), suppressed,
    the ward's rank (1 = highest rate) and rank_text ("2nd of 30"), and exact (figures shown
    unprotected)."""
    return _tables(con, measure_id, [quarter_end], protected)[pd.Timestamp(quarter_end).date()]


def ward_trend(con: duckdb.DuckDBPyConnection, measure_id: str, *, protected: bool) -> pd.DataFrame:
    """Every quarter of one measure for every area: level, area_code, area_name, quarter_end,
    count, rate, rate_text, suppressed."""
    figures = _figures(con, measure_id, protected)
    figures["rate_text"] = [
        rate_text(rate, withheld)
        for rate, withheld in zip(figures["rate"], figures["rate_withheld"], strict=True)
    ]
    columns = ["level", "area_code", "area_name", "quarter_end", "count", "rate", "rate_text",
               "suppressed"]  # fmt: skip
    return (
        _ordered(figures)
        .sort_values(["quarter_end"], kind="stable")[columns]
        .reset_index(drop=True)
    )


# --- Direction of travel --------------------------------------------------------------------------


def direction(earlier: float | None, latest: float | None, polarity: str) -> tuple[str, str]:
    """(words, tone) for a change in rate: improving/worsening where the measure has a polarity,
    increasing/decreasing where it has none; "no change" within wards.yaml's tolerance; "not
    published" where either rate is not (a change is never published where a side is not)."""
    if earlier is None or latest is None or pd.isna(earlier) or pd.isna(latest):
        return "not published", "neutral"
    tolerance = float(wards_settings()["direction"]["no_change_within_percent"]) / 100
    change = float(latest) - float(earlier)
    if abs(change) <= tolerance * abs(float(earlier)) or change == 0:
        return "no change", "neutral"
    rising = change > 0
    if polarity == "higher_is_better":
        return ("improving", "good") if rising else ("worsening", "bad")
    if polarity == "higher_is_worse":
        return ("worsening", "bad") if rising else ("improving", "good")
    return ("increasing" if rising else "decreasing"), "neutral"


# --- The profile ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureSummary:
    measure_id: str
    label: str
    unit: str
    polarity: str
    definition: str
    value_text: str  # the area's rate ("14.2" or "c")
    count_text: str  # the area's count ("23" or "c")
    district_text: str  # the district's rate
    difference_text: str  # "6.1 higher", "2.0 lower", "the same", or "c"
    rank_text: str  # "2nd of 30" (wards only; "" for a committee or where not published)
    direction_words: str
    direction_tone: str  # good, bad or neutral
    glance: str  # one sentence, "" where the area's rate is not published
    value: float | None = None  # the area's published rate
    district_value: float | None = None
    rank: int | None = None
    ranked_wards: int = 0
    rank_shared: bool = False  # another ward has the same rate


@dataclass(frozen=True)
class WardProfile:
    area_code: str
    area_name: str
    level: str  # ward or committee
    area_committee: str | None
    as_at: date  # the quarter's last day
    quarter_label: str
    plan_name: str
    data_current_to: date  # the model's as-at date
    boundary_year: int | None
    boundary_name: str | None
    attribution: str
    is_synthetic: bool
    protected: bool
    measures: list[MeasureSummary]
    glance: list[str]
    disclosure_note: str
    sources: list[str]
    map_measure_label: str
    highest_ward: str | None  # of the map's measure, for the map's alt text
    lowest_ward: str | None
    committee_wards: list[str] = field(default_factory=list)  # a committee's wards


def _find_area(con: duckdb.DuckDBPyConnection, wanted: str) -> dict[str, Any]:
    areas = ward_areas(con)
    areas = areas[areas["level"] != "district"]
    text = wanted.strip().casefold()
    for column in ("area_code", "area_name"):
        found = areas[areas[column].str.casefold() == text]
        if not found.empty:
            return found.iloc[0].to_dict()
    raise LookupError(
        f"no ward or area committee called {wanted!r}: give a ward's name or code (E05…) or a"
        " committee's name"
    )


def _difference_text(value: float | None, district: float | None) -> str:
    if value is None or district is None:
        return SUPPRESSED
    difference = round(value - district, 1)
    if difference == 0:
        return "the same"
    return f"{abs(difference):,.1f} {'higher' if difference > 0 else 'lower'}"


def _rate_of(label: str) -> str:
    return label[:1].lower() + label[1:]


def _glance_sentence(
    area_name: str, level: str, label: str, unit: str, value: float | None,
    district: float | None, rank: int | None, ranked: int, rank_shared: bool = False,
) -> str:  # fmt: skip
    if value is None:
        return ""
    against = (
        f"{value:,.1f} {unit} against {district:,.1f} across the district"
        if district is not None
        else f"{value:,.1f} {unit}"
    )
    if level != "ward" or rank is None or ranked < 2 or rank_shared:
        return f"{area_name}: {_rate_of(label)}, {against}."
    from_top = rank
    from_bottom = ranked - rank + 1
    if from_top <= from_bottom:
        place = "the highest" if from_top == 1 else f"the {ordinal(from_top)} highest"
    else:
        place = "the lowest" if from_bottom == 1 else f"the {ordinal(from_bottom)} lowest"
    return f"{area_name} has {place} rate of {_rate_of(label)} of {ranked} wards: {against}."


def _summary(
    con: duckdb.DuckDBPyConnection, measure: dict[str, Any], area: dict[str, Any],
    quarter_end: date, quarters: Sequence[date], protected: bool,
) -> tuple[MeasureSummary, pd.DataFrame]:  # fmt: skip
    back = int(wards_settings()["direction"]["quarters_back"])
    position = list(quarters).index(quarter_end)
    earlier_quarter = quarters[position - back] if position >= back else None
    wanted = [quarter_end] + ([earlier_quarter] if earlier_quarter is not None else [])
    tables = _tables(con, measure["measure_id"], wanted, protected)
    table = tables[quarter_end]
    chosen = (table["level"] == area["level"]) & (table["area_code"] == area["area_code"])
    row = table[chosen].iloc[0]
    district = table[table["level"] == "district"].iloc[0]
    value = None if pd.isna(row["rate"]) else float(row["rate"])
    district_value = None if pd.isna(district["rate"]) else float(district["rate"])
    rank = None if pd.isna(row["rank"]) else int(row["rank"])
    ranked = int(table["rank"].notna().sum())
    earlier_value = None
    if earlier_quarter is not None:
        earlier_table = tables[earlier_quarter]
        earlier = earlier_table[
            (earlier_table["level"] == area["level"])
            & (earlier_table["area_code"] == area["area_code"])
        ].iloc[0]
        earlier_value = None if pd.isna(earlier["rate"]) else float(earlier["rate"])
    words, tone = direction(earlier_value, value, measure["polarity"])
    summary = MeasureSummary(
        measure_id=measure["measure_id"],
        label=measure["label"],
        unit=measure["unit"],
        polarity=measure["polarity"],
        definition=measure["definition"],
        value_text=row["rate_text"],
        count_text=row["count_text"],
        district_text=district["rate_text"],
        difference_text=_difference_text(value, district_value),
        rank_text=row["rank_text"],
        direction_words=words,
        direction_tone=tone,
        glance=_glance_sentence(
            area["area_name"],
            area["level"],
            measure["label"],
            measure["unit"],
            value,
            district_value,
            rank,
            ranked,
            bool(row["rank_shared"]),
        ),
        value=value,
        district_value=district_value,
        rank=rank,
        ranked_wards=ranked,
        rank_shared=bool(row["rank_shared"]),
    )
    return summary, table


def _sources(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        """
        select title, data_current_as_of from mart_data_currency
        where data_current_as_of is not null order by title
        """
    ).fetchall()
    listed = [f"{title} (current to {current:%d %b %Y})" for title, current in rows]
    listed.append("Wards reference: wards, area committees and mid-year population estimates")
    listed.append("Postcode to ward lookup")
    return listed


def _boundaries(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    # The boundary set is W2's (data_model.geography); a model built before it has none.
    try:
        from data_model.geography import boundary_set

        return boundary_set(con)
    except (ImportError, duckdb.Error):
        return {"boundary_year": None, "set_name": None, "attribution": ""}


def ward_profile(
    con: duckdb.DuckDBPyConnection,
    area_code_or_committee: str,
    quarter_end: date | None = None,
    *,
    protected: bool,
) -> WardProfile:
    """Everything one ward's (or one area committee's) profile says, for the latest quarter unless
    given. The profile and its command always ask with protected=True."""
    area = _find_area(con, area_code_or_committee)
    quarters = ward_quarters(con)
    if not quarters:
        raise LookupError("the model has no ward figures (no complete quarter)")
    chosen = quarters[-1] if quarter_end is None else pd.Timestamp(quarter_end).date()
    if chosen not in quarters:
        raise LookupError(f"no figures for the quarter ending {chosen:%d %b %Y}")
    measures = ward_measures(con)
    map_measure = str(wards_settings().get("profile", {}).get("map_measure", "families_eligible"))
    summaries = []
    highest = lowest = None
    map_label = ""
    for measure in measures.to_dict("records"):
        summary, table = _summary(con, measure, area, chosen, quarters, protected)
        summaries.append(summary)
        if measure["measure_id"] == map_measure:
            map_label = f"{measure['label']} ({measure['unit']})"
            ranked = table[table["rank"].notna()].sort_values(["rank", "area_name"])
            if not ranked.empty:
                highest = str(ranked.iloc[0]["area_name"])
                lowest = str(ranked.iloc[-1]["area_name"])
    info = query_row(con, "select is_synthetic, as_at_date from mart_model_info")
    plan = query_row(con, "select plan_name from cfg_plan")
    boundaries = _boundaries(con)
    settings = disclosure_settings()
    extreme = sorted(
        (s for s in summaries if s.glance and s.rank is not None and not s.rank_shared),
        key=lambda s: min(s.rank, s.ranked_wards - s.rank + 1),
    )
    glance = [s.glance for s in extreme[:4]] or [s.glance for s in summaries if s.glance][:3]
    wards = ward_areas(con)
    return WardProfile(
        area_code=area["area_code"],
        area_name=area["area_name"],
        level=area["level"],
        area_committee=area["area_committee"],
        as_at=chosen,
        quarter_label=quarter_label(chosen),
        plan_name=str(plan.get("plan_name") or ""),
        data_current_to=info["as_at_date"],
        boundary_year=boundaries.get("boundary_year"),
        boundary_name=boundaries.get("set_name"),
        attribution=str(boundaries.get("attribution") or ""),
        is_synthetic=bool(info["is_synthetic"]),
        protected=protected,
        measures=summaries,
        glance=glance,
        disclosure_note=(
            settings.note
            if protected
            else "Exact figures: not protected against disclosure; not for publication."
        ),
        sources=_sources(con),
        map_measure_label=map_label,
        highest_ward=highest,
        lowest_ward=lowest,
        committee_wards=(
            sorted(
                wards.loc[
                    (wards["level"] == "ward") & (wards["area_committee"] == area["area_code"]),
                    "area_name",
                ]
            )
            if area["level"] == "committee"
            else []
        ),
    )


# --- The postcode box -----------------------------------------------------------------------------


def ward_of_postcode(con: duckdb.DuckDBPyConnection, postcode: str) -> tuple[str, str] | None:
    """The ward (code, name) a postcode is in, from the postcode lookup, whatever its case and
    spacing; None when the lookup does not have it."""
    compact = "".join(postcode.split()).upper()
    if not compact:
        return None
    row = query_row(
        con,
        """
        select lookup.ward_code, ward.ward_name
        from stg_postcode_ward as lookup
        inner join mart_ward as ward using (ward_code)
        where replace(lookup.postcode, ' ', '') = ?
        limit 1
        """,
        [compact],
    )
    return (row["ward_code"], row["ward_name"]) if row else None
