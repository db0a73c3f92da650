"""Values that stand for "not known" in the identity fields, and one source written month first.

Real extracts rarely leave an unknown date of birth, sex or postcode blank: each system writes
its own stand-in, and the loaders set them aside (loaders/checks.yaml `placeholders`). Kinds,
drawn once per registration (so every row of it carries the value, as dirt.py's are):

- `dob_placeholder`: a date of birth written `NOT KNOWN`, `N/K`, `UNKNOWN`, `0`, `00/00/0000`,
  `0000-00-00`, `NULL`, `N/A`, `-`, or a sentinel date (01/01/1900, 01/01/1901).
- `dob_year_only`: 1 January of the person's true year, where only the year was known.
- `sex_placeholder`: `U`, `I`, `N`, `X`, `Not known`, `Indeterminate`, `Unknown`: only codes the
  column's contract does not allow, so the loader treats them as not known (a Gender column of
  Male/Female/Unknown keeps "Unknown", which dirt.py's `sex_unknown` already writes).
- `postcode_placeholder`: `NOT KNOWN`, `N/K`, or (health) an NHS pseudo-postcode `ZZ99 3VZ`.

Each applies only where the field is still the true value (no other dirt kind changed it), so one
field carries one kind. Every value used is one checks.yaml lists (or, for the dates, one it
treats as not known), so the loaders set each aside rather than load it, except `dob_year_only`,
which is a real date and loads as one.

The draws come from a stream of their own (generate.py), after every other stage has drawn, so
adding them moved nothing else; the values are written into the finished tables. A row that
row-level dirt already changed in that field (a contract violation, an Excel serial) keeps that.

`MONTH_FIRST`: the children's social care extract is written month first (02/13/2008), as an
export from a reporting server left on US regional settings would be. It is not declared in
extracts.yaml: the loader finds it from the dates (loaders/checks.yaml `date_order`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from loaders.synthetic.common import split_date
from loaders.synthetic.write import Col, Table

if TYPE_CHECKING:
    from loaders.synthetic.dirt import Registry
    from loaders.synthetic.sources import SourceResult

KINDS = ("dob_placeholder", "dob_year_only", "sex_placeholder", "postcode_placeholder")
FIELD_OF = {
    "dob_placeholder": "dob",
    "dob_year_only": "dob",
    "sex_placeholder": "sex",
    "postcode_placeholder": "postcode",
}

# Per registration the kind can apply to. Systems keyed from what people say (police, housing,
# early help) carry the most; national records (the census, DWP) hardly any.
RATES: dict[str, dict[str, float]] = {
    "school_census": {
        "dob_placeholder": 0.0, "dob_year_only": 0.0, "sex_placeholder": 0.001,
        "postcode_placeholder": 0.002,
    },
    "police_incidents": {
        "dob_placeholder": 0.01, "dob_year_only": 0.004, "sex_placeholder": 0.005,
        "postcode_placeholder": 0.01,
    },
    "dwp_spells": {"dob_placeholder": 0.001, "dob_year_only": 0.0, "postcode_placeholder": 0.003},
    "housing_tenancies": {
        "dob_placeholder": 0.015, "dob_year_only": 0.005, "postcode_placeholder": 0.005,
    },
    "health_events": {
        "dob_placeholder": 0.003, "dob_year_only": 0.003, "sex_placeholder": 0.005,
        "postcode_placeholder": 0.01,
    },
    "csc_episodes": {
        "dob_placeholder": 0.005, "dob_year_only": 0.003, "sex_placeholder": 0.005,
        "postcode_placeholder": 0.005,
    },
    "ehm_people": {
        "dob_placeholder": 0.01, "dob_year_only": 0.005, "sex_placeholder": 0.01,
        "postcode_placeholder": 0.005,
    },
    "service_involvement": {
        "dob_placeholder": 0.005, "dob_year_only": 0.003, "sex_placeholder": 0.005,
        "postcode_placeholder": 0.005,
    },
}  # fmt: skip

_1900, _1901 = np.datetime64("1900-01-01", "D"), np.datetime64("1901-01-01", "D")
# What each system writes for a date of birth it does not know: text as the cell holds it, or a
# sentinel date written as the column's dates are. Police datetimes would carry " 00:00" on a
# sentinel date, which the loader would read as a real date, so the police system writes words;
# the Parquet share's date column can only hold dates.
DOB_VALUES: dict[str, tuple[str | np.datetime64, ...]] = {
    "school_census": (),
    "police_incidents": ("NOT KNOWN", "N/K", "UNKNOWN"),
    "dwp_spells": ("0000-00-00", _1900),
    "housing_tenancies": ("NOT KNOWN", "N/K", "0", "01/01/1900"),
    "health_events": (_1900, _1901),
    "csc_episodes": ("NOT KNOWN", "N/A", "00/00/0000", _1900),
    "ehm_people": ("NOT KNOWN", "N/K", "UNKNOWN", "NULL", "00/00/0000", _1900, _1901),
    "service_involvement": ("NOT KNOWN", "N/K", "-", _1900),
}
SEX_VALUES: dict[str, tuple[str, ...]] = {
    "school_census": ("U", "Unknown"),  # M/F only
    "police_incidents": ("X", "N", "NOT KNOWN"),  # M/F/U
    "health_events": ("X", "I"),  # 1/2/9
    "csc_episodes": ("Not known", "U"),  # Male/Female/Unknown
    "ehm_people": ("Not known", "Indeterminate"),
    "service_involvement": ("Not known", "U", "X"),
}
POSTCODE_VALUES: dict[str, tuple[str, ...]] = {
    source: ("NOT KNOWN", "N/K") for source in RATES if source != "health_events"
} | {"health_events": ("ZZ99 3VZ", "ZZ99 3WZ")}  # no fixed abode; address not known

MONTH_FIRST = {"csc_episodes": "%m/%d/%Y"}  # source: the date format its extract is written in


@dataclass
class Plan:
    """The stand-ins one registry's registrations carry (None / NaT: none)."""

    dob_text: np.ndarray  # object: text written in the date of birth cell
    dob_date: np.ndarray  # datetime64[D]: a sentinel date or 1 January of the true year
    sex: np.ndarray  # object
    postcode: np.ndarray  # object
    records: list = field(default_factory=list)  # (reg, kind, field, true, recorded, detail)


def draw(
    rng: np.random.Generator,
    source: str,
    registry: Registry,
    true_dob: np.ndarray,
    true_sex: np.ndarray,
    true_postcode: np.ndarray,
    fields: tuple[str, ...],
) -> Plan:
    """Stand-ins for one registry's registrations. `true_*` are per registration; `fields` are
    the identity fields the source's file has. Adds the records to registry.records and the
    registrations each kind could apply to to registry.eligible (so dirt_rates.csv counts them).
    """
    regs = registry.regs
    n = len(regs)
    rates = RATES[source]
    plan = Plan(
        np.full(n, None, dtype=object),
        np.full(n, np.datetime64("NaT", "D")),
        np.full(n, None, dtype=object),
        np.full(n, None, dtype=object),
    )
    if "dob" in fields:
        dob = regs["dob"].to_numpy().astype("datetime64[D]")
        as_true = ~np.isnat(dob) & (dob == true_dob)
        values = DOB_VALUES[source]
        elig = as_true.copy()
        registry.eligible["dob_placeholder"] = elig
        hit = elig & (rng.random(n) < rates.get("dob_placeholder", 0.0))
        pick = rng.integers(0, max(len(values), 1), n)
        for i in np.flatnonzero(hit):
            value = values[pick[i]]
            if isinstance(value, str):
                plan.dob_text[i] = value
            else:
                plan.dob_date[i] = value
            record = (int(i), "dob_placeholder", "dob", _iso(true_dob[i]), _s(value), "")
            plan.records.append(record)
        _, m, d = split_date(true_dob)
        elig = as_true & ~hit & ~((m == 1) & (d == 1))
        registry.eligible["dob_year_only"] = elig
        year_hit = elig & (rng.random(n) < rates.get("dob_year_only", 0.0))
        year_start = true_dob.astype("datetime64[Y]").astype("datetime64[D]")
        plan.dob_date[year_hit] = year_start[year_hit]
        for i in np.flatnonzero(year_hit):
            plan.records.append(
                (int(i), "dob_year_only", "dob", _iso(true_dob[i]), _iso(year_start[i]), "")
            )
    if "sex" in fields:
        elig = regs["sex"].to_numpy() == true_sex  # not already written as unknown
        _choose(rng, plan, plan.sex, "sex_placeholder", elig, SEX_VALUES[source], true_sex, rates)
        registry.eligible["sex_placeholder"] = elig
    if "postcode" in fields:
        elig = (regs["postcode_dirt"].to_numpy() == "") & (true_postcode != None)  # noqa: E711
        _choose(
            rng, plan, plan.postcode, "postcode_placeholder", elig, POSTCODE_VALUES[source],
            true_postcode, rates,
        )  # fmt: skip
        registry.eligible["postcode_placeholder"] = elig
    if plan.records:
        extra = pd.DataFrame(plan.records, columns=registry.records.columns)
        registry.records = pd.concat([registry.records, extra], ignore_index=True)
        registry.records["reg"] = registry.records["reg"].astype(np.int64)
    return plan


def _choose(rng, plan: Plan, out: np.ndarray, kind: str, elig, values, true_values, rates):
    n = len(out)
    hit = elig & (rng.random(n) < rates.get(kind, 0.0))
    pick = rng.integers(0, len(values), n)
    for i in np.flatnonzero(hit):
        out[i] = values[pick[i]]
        plan.records.append((int(i), kind, FIELD_OF[kind], _s(true_values[i]), out[i], ""))


PERSON_SOURCES = (
    "school_census",
    "police_incidents",
    "dwp_spells",
    "housing_tenancies",
    "health_events",
    "csc_episodes",
    "ehm_people",
)
IDENTITY = ("dob", "sex", "postcode")
DIRT_COLUMNS = [
    "source", "source_person_id", "row_key", "dirt_kind", "field", "true_value",
    "recorded_value", "detail",
]  # fmt: skip


def draw_all(
    rng: np.random.Generator,
    persons: pd.DataFrame,
    results: dict[str, SourceResult],
    si: SourceResult,
    si_registries: dict[str, Registry],
) -> tuple[dict, pd.DataFrame]:
    """Stand-ins for every registry (the sources', then service involvement's own, in a fixed
    order), and the service involvement feed's records of them: its own registrations' and
    those its linked services' rows carry from their system (`inherited:<source>`)."""
    plans: dict = {}
    for source in PERSON_SOURCES:
        if source in results:
            res = results[source]
            plans[source] = _draw_for(rng, source, res.registry, res.table, res.row_reg, persons)
    services = si.table.cols["service"].row_values()
    frames = []
    for service, reg in si_registries.items():
        rows = np.flatnonzero(services == service)
        regs_of_rows = si.row_reg[rows]
        if reg.source == "service_involvement":
            plan = _draw_for(rng, reg.source, reg, si.table, regs_of_rows, persons, rows)
            plans[("service_involvement", service)] = plan
            detail = ""
        else:
            plan, detail = plans[reg.source], f"inherited:{reg.source}"
        on_rows = set(regs_of_rows.tolist())
        shown = [r for r in plan.records if r[0] in on_rows]
        if shown:
            spid = reg.regs["spid"].to_numpy()
            frames.append(
                pd.DataFrame(
                    [
                        ("service_involvement", spid[i], "", kind, fld, true, rec, detail)
                        for i, kind, fld, true, rec, _ in shown
                    ],
                    columns=DIRT_COLUMNS,
                )
            )
    si_records = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return plans, si_records


def write_all(
    plans: dict,
    results: dict[str, SourceResult],
    si: SourceResult,
    si_registries: dict[str, Registry],
) -> None:
    """Write the stand-ins into the finished tables (after row-level dirt)."""
    for source in PERSON_SOURCES:
        if source in plans:
            res = results[source]
            apply(res.table, np.arange(len(res.row_reg)), plans[source], res.row_reg)
    services = si.table.cols["service"].row_values()
    for service, reg in si_registries.items():
        rows = np.flatnonzero(services == service)
        own = reg.source == "service_involvement"
        plan = plans[("service_involvement", service) if own else reg.source]
        apply(si.table, rows, plan, si.row_reg[rows])


def _draw_for(
    rng: np.random.Generator,
    source: str,
    registry: Registry,
    table: Table,
    regs_of_rows: np.ndarray,
    persons: pd.DataFrame,
    rows: np.ndarray | None = None,
) -> Plan:
    pid = registry.regs["pid"].to_numpy()
    n = len(pid)
    rows = np.arange(len(regs_of_rows)) if rows is None else rows
    postcode = np.full(n, None, dtype=object)
    if "postcode" in table.cols and len(rows):
        first = np.unique(regs_of_rows, return_index=True)
        postcode[first[0]] = table.cols["postcode"].at(rows[first[1]])
    fields = tuple(c.field for c in table.contract.columns if c.field in IDENTITY)
    return draw(
        rng,
        source,
        registry,
        persons["dob"].to_numpy().astype("datetime64[D]")[pid],
        persons["sex"].to_numpy(dtype=object)[pid],
        postcode,
        fields,
    )


def apply(table: Table, rows: np.ndarray, plan: Plan, regs_of_rows: np.ndarray) -> None:
    """Write the plan's stand-ins into the table's rows (of one registry); cells that row-level
    dirt already changed in that field keep what it wrote."""
    touched: dict[str, set[int]] = {}
    for row, fld, _ in table.overrides:
        touched.setdefault(fld, set()).add(row)
    for row, fld in table.plain_serials:
        touched.setdefault(fld, set()).add(row)

    def free(fld: str, values: np.ndarray, has: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        taken = touched.get(fld, set())
        keep = has & np.array([int(r) not in taken for r in rows], dtype=bool)
        return rows[keep], values[keep]

    if "dob" in table.cols:
        text = plan.dob_text[regs_of_rows]
        for row, value in zip(*free("dob", text, text != None), strict=True):  # noqa: E711
            table.overrides.append((int(row), "dob", value))
        dates = plan.dob_date[regs_of_rows]
        _set_rows(table, "dob", *free("dob", dates, ~np.isnat(dates)))
    if "sex" in table.cols:
        sex = plan.sex[regs_of_rows]
        _set_rows(table, "sex", *free("sex", sex, sex != None))  # noqa: E711
    if "postcode" in table.cols:
        postcode = plan.postcode[regs_of_rows]
        at, values = free("postcode", postcode, postcode != None)  # noqa: E711
        if "address" in table.cols:
            _postcode_in_address(table, at, table.cols["postcode"].at(at), values)
        _set_rows(table, "postcode", at, values)


def _set_rows(table: Table, fld: str, rows: np.ndarray, values: np.ndarray) -> None:
    """Give the rows these values, keeping the column dictionary-coded where it is."""
    if not len(rows):
        return
    col = table.cols[fld]
    dated = col.values.dtype.kind == "M"
    base = col.values.astype("datetime64[D]") if dated else col.values
    values = values.astype("datetime64[D]") if dated else values.astype(object)
    if col.codes is None:
        new = base.copy()
        new[rows] = values
        table.cols[fld] = Col(new, None, col.blank)
        return
    inverse, distinct = pd.factorize(pd.Series(values))
    codes = col.codes.copy()
    codes[rows] = len(base) + inverse
    added = distinct.to_numpy().astype(base.dtype)
    table.cols[fld] = Col(np.concatenate([base, added]), codes, col.blank)


def _postcode_in_address(
    table: Table, rows: np.ndarray, old: np.ndarray, values: np.ndarray
) -> None:
    """An address written as lines ends with its postcode: that line shows the stand-in too."""
    text = table.cols["address"].at(rows)
    pairs = zip(text, old, strict=True)
    ends = np.array([isinstance(t, str) and t.rpartition("\n")[2] == o for t, o in pairs], bool)
    if ends.any():
        pairs = zip(text[ends], values[ends], strict=True)
        new = np.array([t.rpartition("\n")[0] + "\n" + v for t, v in pairs], dtype=object)
        _set_rows(table, "address", rows[ends], new)


def _iso(v: np.datetime64) -> str:
    return "" if np.isnat(v) else str(np.datetime64(v, "D"))


def _s(v) -> str:
    if isinstance(v, np.datetime64):
        return _iso(v)
    return "" if v is None else str(v)
