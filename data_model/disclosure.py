"""Disclosure control: the one place that decides which counts and rates the Wards page, the
councillor's Overview and the ward profile may publish, and how.

Two methods, chosen in data_model/wards.yaml (`disclosure`):

- **suppression** (the default, as the DfE publishes children in need statistics): a count from 1
  to the threshold (5, or 10) is shown as `c`; then *secondary suppression* within every additive
  group (the wards of a committee with the committee's total, the committees with the district),
  so that no suppressed value can be worked out from the totals and the figures beside it. Zeros
  are published (as the DfE does), so everyone knows a `c` stands for at least 1; a suppressed
  value must then still be uncertain by at least the threshold: its smallest and largest values
  consistent with every published cell are at least `threshold` apart. Secondary cells are
  chosen smallest first (ties by area code), so the same model always publishes the same table.
  Within a group whose total is published the check is exact arithmetic; once a total itself is
  suppressed, linear programming (scipy's HiGHS) finds each suppressed cell's interval, the audit
  tau-ARGUS runs.
- **perturbation**: the ONS cell key method (the `cell-key-perturbation` package): each family has
  a record key 0–255 (int_family_record_key: a keyed hash of its index child's first
  registration, with a secret each build passes on to the next, so stable across rebuilds);
  a cell's key is the sum of its families' keys modulo 256,
  and the perturbation table (`ptable`) gives the noise for the cell's count and key, so the same
  cell always gets the same value. Values under the threshold + 1 are not published. Totals are
  perturbed as cells of their own, so they need not add up. The package ships a table for a
  threshold of 10 (counts under 10 removed, the rest rounded to 5); a threshold of 5 uses this
  project's table (`make_ptable_threshold_5`, in the package's format, documented there).

Rates: a rate is published only when its count is, and, for a rate whose denominator is itself a
protected count (per 1,000 families known), only when that count is too; otherwise the rate would
give the suppressed figure back. A change between periods is published only where both sides are.

Who sees what: the councillor role always sees protected figures (here and on the Overview);
whether managers, analysts and administrators may see exact counts on screen is the setting
`exact_counts_on_screen` (exact figures are always labelled as such). The ward profile and its
command always use protected figures, whoever makes them: profiles go to public meetings.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import yaml
from scipy.optimize import linprog

WARDS_FILE = Path(__file__).with_name("wards.yaml")
SETTING = "data_model/wards.yaml, disclosure"
METHODS = ("suppression", "perturbation")
THRESHOLDS = (5, 10)
# The GSS symbol for a figure withheld to protect confidentiality.
SUPPRESSED = "c"
# The role that always sees protected figures, whatever the settings say.
ALWAYS_PROTECTED_ROLE = "councillor"
RECORD_KEY_SECRET_ENV = "FFI_RECORD_KEY_SECRET"
RECORD_KEY_SECRET_TABLE = "int_record_key_secret"
RECORD_KEY_RANGE = 256  # record and cell keys 0..255, as the package's tables expect


class DisclosureSettingsError(ValueError):
    """data_model/wards.yaml's disclosure block says something that cannot be used."""


@dataclass(frozen=True)
class DisclosureSettings:
    method: str
    threshold: int
    exact_counts_on_screen: tuple[str, ...]  # roles that may see exact counts on screen

    @property
    def note(self) -> str:
        """The disclosure note the page and the profile print, in plain words."""
        return disclosure_note(self.method, self.threshold)


def parse_disclosure_settings(raw: Mapping[str, Any]) -> DisclosureSettings:
    """The `disclosure` block as settings; DisclosureSettingsError names what is wrong."""
    method = raw.get("method", "suppression")
    threshold = raw.get("threshold", 5)
    roles = tuple(raw.get("exact_counts_on_screen") or ())
    if method not in METHODS:
        raise DisclosureSettingsError(
            f"{SETTING}: method is {method!r}; it must be one of {', '.join(METHODS)}"
        )
    if threshold not in THRESHOLDS:
        raise DisclosureSettingsError(f"{SETTING}: threshold is {threshold!r}; it must be 5 or 10")
    if ALWAYS_PROTECTED_ROLE in roles:
        raise DisclosureSettingsError(
            f"{SETTING}: exact_counts_on_screen lists {ALWAYS_PROTECTED_ROLE}; councillors always"
            " see protected figures"
        )
    return DisclosureSettings(method, int(threshold), roles)


@cache
def wards_settings() -> dict[str, Any]:
    """data_model/wards.yaml, read once."""
    with WARDS_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def disclosure_settings() -> DisclosureSettings:
    return parse_disclosure_settings(wards_settings().get("disclosure") or {})


def shows_exact_counts(role: str | None, settings: DisclosureSettings | None = None) -> bool:
    """Whether a user of `role` may see exact counts on screen (never a councillor, never
    without a role)."""
    chosen = settings or disclosure_settings()
    return (
        role is not None and role != ALWAYS_PROTECTED_ROLE and role in chosen.exact_counts_on_screen
    )


def disclosure_note(method: str, threshold: int) -> str:
    if method == "perturbation":
        return (
            "Figures are protected by cell key perturbation (the method of the 2021 Census): small"
            " changes are made to some counts, the same way every time, so no family can be"
            f" singled out; counts of {threshold} or fewer are shown as c. Totals need not add up"
            " to the figures they contain."
        )
    return (
        f"Counts from 1 to {threshold} are shown as c (confidential), and some other figures are"
        " too, so that they cannot be worked out from totals; a rate is shown as c where its count"
        " is. Zeros are shown as 0."
    )


# --- Record keys ----------------------------------------------------------------------------------


def record_key_secret(previous_model: Path | str | None) -> bytes:
    """The key the record keys are hashed with: FFI_RECORD_KEY_SECRET when set; else the one the
    model being replaced kept (int_record_key_secret), so that every family keeps its record key
    from build to build; else (a first build, or a model that cannot be read) a new random one."""
    given = os.environ.get(RECORD_KEY_SECRET_ENV)
    if given:
        return given.encode("utf-8")
    if previous_model is not None and Path(previous_model).is_file():
        try:
            with duckdb.connect(str(previous_model), read_only=True) as previous:
                rows = previous.execute(f"select secret from {RECORD_KEY_SECRET_TABLE}").fetchall()
            if rows and rows[0][0]:
                return str(rows[0][0]).encode("utf-8")
        except duckdb.Error:
            pass  # not a model, or one made before record keys: a new key
    return secrets.token_hex(32).encode("utf-8")


def record_keys(stable_ids: Iterable[str], secret: bytes) -> list[int]:
    """Each id's record key, 0–255: the first byte of HMAC-SHA256(secret, id)."""
    return [
        hmac.new(secret, stable_id.encode("utf-8"), hashlib.sha256).digest()[0]
        for stable_id in stable_ids
    ]


# --- Perturbation tables (ptables) ----------------------------------------------------------------

_PTABLE_MAX_PCV = 750  # the package's tables run to 750; larger counts reuse rows 501-750


@cache
def package_ptable_threshold_10() -> pd.DataFrame:
    """The package's own table (its ptable_10_5_rule.csv, generated by the package): counts under
    10 removed, the rest rounded to the nearest 5."""
    from cell_key_perturbation.utils.generate_test_ptable import generate_ptable_10_5_rule

    return generate_ptable_10_5_rule(max_pcv=_PTABLE_MAX_PCV, key_range=RECORD_KEY_RANGE - 1)


# This project's table for a threshold of 5, in the package's format (pcv 1-750 by ckey 0-255, with
# the pvalue to add). Counts of 1 to 5 are removed (pvalue -pcv). A larger count gets noise by its
# cell key: half the keys 0, 3/16 +1, 3/16 -1, 1/16 +2, 1/16 -2 (mean 0, variance 7/8), except
# that no count may land at 5 or below (a count of 6 or 7 keeps 0 where it would): a published
# 6 may be a true 6, 7 or 8, never a count that should have been removed.
_THRESHOLD_5_NOISE = ((128, 0), (48, 1), (48, -1), (16, 2), (16, -2))


@cache
def make_ptable_threshold_5() -> pd.DataFrame:
    """The project's perturbation table for a threshold of 5 (see the comment above it)."""
    threshold = 5
    noise = np.concatenate([np.full(keys, value) for keys, value in _THRESHOLD_5_NOISE])
    pcv = np.repeat(np.arange(1, _PTABLE_MAX_PCV + 1), RECORD_KEY_RANGE)
    ckey = np.tile(np.arange(RECORD_KEY_RANGE), _PTABLE_MAX_PCV)
    pvalue = np.tile(noise, _PTABLE_MAX_PCV)
    pvalue = np.where(pcv <= threshold, -pcv, np.where(pcv + pvalue <= threshold, 0, pvalue))
    return pd.DataFrame({"pcv": pcv, "ckey": ckey, "pvalue": pvalue})


def ptable_for(threshold: int) -> pd.DataFrame:
    """The perturbation table for a threshold: the package's for 10, the project's for 5."""
    if threshold == 10:
        return package_ptable_threshold_10()
    if threshold == 5:
        return make_ptable_threshold_5()
    raise DisclosureSettingsError(
        f"{SETTING}: no perturbation table for a threshold of {threshold}"
    )


@cache
def _ptable_lookup(threshold: int) -> np.ndarray:
    """pvalue by [pcv, ckey] (row 0: a count of 0, never perturbed)."""
    table = ptable_for(threshold)
    lookup = np.zeros((_PTABLE_MAX_PCV + 1, RECORD_KEY_RANGE), dtype=np.int64)
    lookup[table["pcv"].to_numpy(), table["ckey"].to_numpy()] = table["pvalue"].to_numpy()
    return lookup


def perturbation_cell_value(count: int) -> int:
    """The package's pcv: the count up to 750, then rows 501-750 again and again."""
    return count if count <= _PTABLE_MAX_PCV else (count - 1) % 250 + 501


def perturbed(count: int, cell_key: int, threshold: int) -> int | None:
    """A cell's published count under perturbation (None: not published, under threshold + 1)."""
    value = count + int(_ptable_lookup(threshold)[perturbation_cell_value(count), cell_key % 256])
    return value if value > threshold else None


def package_perturbed_table(
    microdata: pd.DataFrame, area_column: str, record_key_column: str, threshold: int
) -> pd.DataFrame:
    """The package's own create_perturbed_table on record-level data (one row per family counted),
    with the threshold meaning what it means here (counts of `threshold` or fewer not published):
    the reference the tests hold `perturbed` to."""
    from cell_key_perturbation.create_perturbed_table import create_perturbed_table

    with contextlib.redirect_stdout(io.StringIO()):  # it prints its progress
        return create_perturbed_table(
            data=microdata,
            ptable=ptable_for(threshold),
            geog=[area_column],
            tab_vars=[],
            record_key=record_key_column,
            threshold=threshold + 1,
        )


# --- Protecting one table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """An additive group: `total` is the sum of `parts` (cells named by their codes)."""

    total: str
    parts: tuple[str, ...]


def _leaves(groups: Sequence[Group], codes: Sequence[str]) -> dict[str, list[str]]:
    """Each cell as the leaf cells (cells that are no group's total) it adds up."""
    parts_of = {group.total: group.parts for group in groups}

    def expand(code: str) -> list[str]:
        if code not in parts_of:
            return [code]
        return [leaf for part in parts_of[code] for leaf in expand(part)]

    return {code: expand(code) for code in codes}


def _solve(objective, a_ub, b_ub, a_eq, b_eq, code: str) -> float:
    """The least value of objective · x; -inf where it has none (unbounded)."""
    result = linprog(
        objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs"
    )
    if result.status == 3:
        return -np.inf
    if result.status != 0:
        raise RuntimeError(f"the suppression audit could not solve cell {code}: {result.message}")
    return float(result.fun)


def suppression_intervals(
    counts: Mapping[str, int],
    suppressed: set[str],
    groups: Sequence[Group],
    cells: Iterable[str] | None = None,
    wide_enough: float | None = None,
) -> dict[str, tuple[float, float]]:
    """For each suppressed cell (or those of `cells`), its smallest and largest value consistent
    with every published cell of the table (exact), every suppressed one being at least 1 (zeros
    are published) and every cell at least 0: two linear programmes per cell. With
    `wide_enough`, a cell whose largest value is that far above its true value is not asked
    its smallest (the true value stands in for it)."""
    codes = list(counts)
    expansion = _leaves(groups, codes)
    leaves = sorted({leaf for cells in expansion.values() for leaf in cells})
    column = {leaf: i for i, leaf in enumerate(leaves)}

    def row(code: str) -> np.ndarray:
        vector = np.zeros(len(leaves))
        for leaf in expansion[code]:
            vector[column[leaf]] += 1
        return vector

    published = [code for code in codes if code not in suppressed]
    a_eq = np.array([row(code) for code in published]) if published else None
    b_eq = np.array([counts[code] for code in published], dtype=float) if published else None
    hidden = sorted(suppressed)
    a_ub = np.array([-row(code) for code in hidden]) if hidden else None
    b_ub = np.full(len(hidden), -1.0) if hidden else None
    intervals = {}
    for code in sorted(suppressed if cells is None else set(cells) & suppressed):
        objective = row(code)
        highest = -_solve(-objective, a_ub, b_ub, a_eq, b_eq, code)
        if wide_enough is not None and highest - counts[code] >= wide_enough:
            # the least value is at most the true one: the interval is wide enough already
            intervals[code] = (float(counts[code]), highest)
            continue
        intervals[code] = (_solve(objective, a_ub, b_ub, a_eq, b_eq, code), highest)
    return intervals


def two_level_intervals(
    counts: Mapping[str, int], suppressed: set[str], groups: Sequence[Group]
) -> dict[str, tuple[float, float]] | None:
    """The same intervals as suppression_intervals, worked out directly for the shape the Wards
    tables have (a top group whose parts are the other groups' totals, whose parts are leaves)
    and a suppression that has passed the group rule (no group with one suppressed cell alone):
    None for any other shape. tests/test_disclosure.py holds it to the linear programmes.

    With the top total published, the suppressed committees share what is left of it, R; each
    is at least L_j (its published wards plus one for each suppressed ward), so each lies in
    [L_j, L_j + R - sum(L)]. A suppressed ward lies in [1, top - P_j - (h_j - 1)] where `top` is
    its committee's largest value (its published total, or the above), P_j its committee's
    published wards and h_j the suppressed ones. With the top total suppressed, everything under
    a suppressed committee is unbounded above."""
    by_total = {group.total: group for group in groups}
    tops = [g for g in groups if all(part in by_total for part in g.parts)]
    if len(tops) != 1 or len(groups) != len(tops[0].parts) + 1:
        return None
    top = tops[0]
    committees = [by_total[part] for part in top.parts]
    if any(part in by_total for group in committees for part in group.parts):
        return None
    for group in groups:  # the group rule must hold: no suppressed cell alone in a group
        if sum(code in suppressed for code in (*group.parts, group.total)) == 1:
            return None
    published_wards = {
        g.total: sum(counts[w] for w in g.parts if w not in suppressed) for g in committees
    }
    hidden_wards = {g.total: sum(w in suppressed for w in g.parts) for g in committees}
    least = {
        g.total: max(1, published_wards[g.total] + hidden_wards[g.total])
        if g.total in suppressed
        else counts[g.total]
        for g in committees
    }
    greatest: dict[str, float] = {}
    if top.total in suppressed:
        for g in committees:
            greatest[g.total] = np.inf if g.total in suppressed else counts[g.total]
    else:
        left = counts[top.total] - sum(
            counts[g.total] for g in committees if g.total not in suppressed
        )
        slack = left - sum(least[g.total] for g in committees if g.total in suppressed)
        for g in committees:
            greatest[g.total] = least[g.total] + slack if g.total in suppressed else counts[g.total]
    intervals: dict[str, tuple[float, float]] = {}
    for g in committees:
        if g.total in suppressed:
            intervals[g.total] = (float(least[g.total]), float(greatest[g.total]))
        for ward in g.parts:
            if ward in suppressed:
                room = greatest[g.total] - published_wards[g.total] - (hidden_wards[g.total] - 1)
                intervals[ward] = (1.0, float(room))
    if top.total in suppressed:
        published_top = sum(counts[g.total] for g in committees if g.total not in suppressed)
        intervals[top.total] = (
            float(published_top + sum(least[g.total] for g in committees if g.total in suppressed)),
            np.inf,
        )
    return intervals


def _secondary_candidate(
    group: Group, counts: Mapping[str, int], suppressed: set[str]
) -> str | None:
    """The next cell to suppress in a group: its smallest published non-zero part (ties by code),
    else its total."""
    parts = sorted(
        (counts[part], part) for part in group.parts if part not in suppressed and counts[part] > 0
    )
    if parts:
        return parts[0][1]
    if group.total not in suppressed and counts[group.total] > 0:
        return group.total
    return None


def _group_rule_breach(
    group: Group, counts: Mapping[str, int], suppressed: set[str], threshold: int
) -> bool:
    """Whether a group, seen alone, lets a suppressed value be worked out or narrowed below the
    threshold: one suppressed cell alone, or (total published) suppressed parts adding to too
    little: k parts adding to S each lie in [1, S - k + 1], an interval S - k wide."""
    hidden_parts = [part for part in group.parts if part in suppressed]
    hidden = len(hidden_parts) + (group.total in suppressed)
    if hidden == 1:
        return True
    if hidden_parts and group.total not in suppressed:
        total_hidden = sum(counts[part] for part in hidden_parts)
        return total_hidden - len(hidden_parts) < threshold
    return False


def suppress(
    counts: Mapping[str, int],
    groups: Sequence[Group],
    threshold: int,
    forced: Iterable[str] = (),
) -> set[str]:
    """The cells to show as c: counts from 1 to the threshold (and any `forced`: suppressed to
    protect a figure another table publishes), then secondary cells until no suppressed value is
    narrower than the threshold given everything published."""
    # The same counts in the same groups always give the same cells (small districts repeat
    # tables of zeros and ones quarter after quarter): worked out once.
    return set(
        _suppress(tuple(sorted(counts.items())), tuple(groups), threshold, frozenset(forced))
    )


@lru_cache(maxsize=4096)
def _suppress(
    counts_items: tuple[tuple[str, int], ...],
    groups: tuple[Group, ...],
    threshold: int,
    forced: frozenset[str],
) -> frozenset[str]:
    counts = dict(counts_items)
    suppressed = {code for code, count in counts.items() if 1 <= count <= threshold} | forced
    totals = {group.total for group in groups}
    groups_of: dict[str, list[Group]] = {}
    for group in groups:
        for code in (*group.parts, group.total):
            groups_of.setdefault(code, []).append(group)
    while True:
        added = False
        for group in groups:
            if _group_rule_breach(group, counts, suppressed, threshold):
                candidate = _secondary_candidate(group, counts, suppressed)
                if candidate is not None:
                    suppressed.add(candidate)
                    added = True
        if added:
            continue
        if not suppressed & totals:
            return frozenset(suppressed)  # every total published: the group rule above is exact
        # Only cells some suppressed total bears on need the programme: a part of a group whose
        # total is published lies in [1, S - k + 1], which the group rule has checked.
        uncertain = {
            code
            for group in groups
            if group.total in suppressed
            for code in (*group.parts, group.total)
            if code in suppressed
        }
        intervals = two_level_intervals(counts, suppressed, groups)
        if intervals is None:  # not wards, committees and a district: the programme
            intervals = suppression_intervals(counts, suppressed, groups, uncertain, threshold)
        else:
            intervals = {code: intervals[code] for code in uncertain}
        narrow = sorted(code for code, (low, high) in intervals.items() if high - low < threshold)
        for code in narrow:
            # the groups it is a part of first (a committee within the district), then its own
            ordered = sorted(groups_of.get(code, []), key=lambda g: (g.total == code, g.total))
            candidate = next(
                (
                    found
                    for group in ordered
                    if (found := _secondary_candidate(group, counts, suppressed)) is not None
                ),
                None,
            )
            if candidate is not None:
                suppressed.add(candidate)
                added = True
                break
        if not added:
            return frozenset(suppressed)  # nothing left to suppress that would help


def protect(
    table: pd.DataFrame,
    groups: Sequence[Group],
    threshold: int,
    method: str,
    forced: Iterable[str] = (),
) -> pd.DataFrame:
    """Protect one table: `table` has one row per cell with `area_code` (unique), `count` (exact)
    and, for perturbation, `cell_key`; `groups` say which cells add up to which; `forced` cells
    are suppressed whatever their count (suppression only). Returns the table with `published`
    (the count shown; NA where suppressed) and `suppressed`."""
    counts = {
        code: int(count) for code, count in zip(table["area_code"], table["count"], strict=True)
    }
    if method == "suppression":
        hidden = suppress(counts, groups, threshold, forced)
        published = [None if code in hidden else counts[code] for code in table["area_code"]]
    elif method == "perturbation":
        published = [
            perturbed(counts[code], int(key), threshold)
            for code, key in zip(table["area_code"], table["cell_key"], strict=True)
        ]
    else:
        raise DisclosureSettingsError(f"{SETTING}: method is {method!r}")
    result = table.copy()
    result["published"] = pd.array(published, dtype="Int64")
    result["suppressed"] = result["published"].isna()
    return result
