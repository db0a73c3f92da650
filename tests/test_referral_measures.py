"""Referral measures on a hand-made district whose right answers are known in advance.

Working days are checked against numpy's business-day counter with GOV.UK's bank holidays, an
implementation independent of the model's calendar.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from data_model.build import build_model
from data_model.read import open_model
from data_model.read import programme as read_programme
from data_model.read import referrals as read_referrals
from data_model.read.referrals import ReferralFilter
from loaders.contracts import BY_SOURCE
from tests.extract_files import WARDS, write_district
from tests.gov_uk import working_days_after


def referral(
    rid: int,
    received: str,
    cluster: str = "Keighley",
    source: str = "School",
    decision: str = "Accepted",
    decided: str | None = None,
) -> dict[str, str]:
    return {
        "referral_id": f"R{rid:07d}",
        "case_id": f"C{rid:06d}",
        "received_date": received,
        "referral_source": source,
        "decision": decision,
        "decision_date": decided or received,
        "cluster": cluster,
    }


def episode(
    rid: int,
    allocated: str,
    cluster: str = "Keighley",
    key_worker: str = "KW0001",
    attached: str = "",
    closed: str = "",
) -> dict[str, str]:
    return {
        "episode_id": f"E{rid:07d}",
        "referral_id": f"R{rid:07d}",
        "case_id": f"C{rid:06d}",
        "cluster": cluster,
        "team": f"{cluster} Team A",
        "key_worker": key_worker,
        "allocated_date": allocated,
        "attached_date": attached,
        "closure_date": closed,
    }


# Keighley referrals allocated in Jan-Mar 2020, with their receipt and allocation dates.
KEIGHLEY_Q1 = [
    (11, "2020-01-02", "2020-01-07"),
    (12, "2020-01-06", "2020-01-20"),
    (13, "2020-02-03", "2020-02-04"),
    (14, "2019-12-16", "2020-02-10"),
]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("district")
    referrals = [
        referral(1, "02/04/2015"),  # across Easter 2015
        *[referral(rid, received) for rid, received, _ in KEIGHLEY_Q1],
        referral(21, "2020-02-03", cluster="BD5", source="Police"),
        referral(31, "2020-03-02"),  # accepted, never allocated: waiting 21 working days at 31 Mar
        referral(32, "2020-03-10", source="Health"),  # accepted, waiting 15 working days
        {**referral(33, "2020-01-15"), "decision": "", "decision_date": ""},  # awaiting decision
        referral(34, "2020-01-15", decision="No further action"),  # not waiting: decided, closed
        referral(35, "2020-03-31", source="Police"),  # received on the as-at day: waiting 0 days
    ]
    episodes = [
        episode(1, "14/04/2015", attached="2015-05-20", closed="2015-12-01"),
        *[
            episode(rid, allocated, key_worker=f"KW000{rid - 9}", attached=allocated)
            for rid, _, allocated in KEIGHLEY_Q1
        ],
        episode(21, "2020-03-20", cluster="BD5", key_worker="KW0009"),
    ]
    programme = [
        {
            "programme_name": "Test programme",
            "start_date": "2014-09-01",
            "end_date": "2020-03-31",
            "target_families": "67",
        }
    ]
    # the two hand-made wards, and one in the BD5 cluster (a cluster must be one the wards
    # reference names)
    wards = [
        dict(zip(BY_SOURCE["ref_wards"].fields, ward, strict=True))
        for ward in [
            *WARDS,
            (
                "E05001350",
                "Great Horton",
                "Bradford South",
                "BD5",
                "17000",
                "4000",
                "53.77",
                "-1.78",
            ),
        ]
    ]
    write_district(
        folder,
        {
            "ehm_referrals": referrals,
            "ehm_episodes": episodes,
            "ref_programme": programme,
            "ref_wards": wards,
        },
    )
    out = folder / "model.duckdb"
    build_model(folder, out)
    con = open_model(out)
    yield con
    con.close()


def test_lag_across_easter_counts_working_days(model) -> None:
    row = model.execute(
        "select allocation_lag_working_days, allocation_lag_days from mart_referral"
        " where referral_id = 'R0000001'"
    ).fetchall()[0]
    # Fri 3 Apr and Mon 6 Apr 2015 were bank holidays: 12 calendar days, 6 working days.
    assert row == (6, 12)
    assert row[0] == working_days_after("2015-04-02", "2015-04-14")


def test_last_quarter_median_and_p90_lag_by_cluster(model) -> None:
    info = read_programme.model_info(model)
    assert info["as_at_date"] == date(2020, 3, 31)
    presets = read_referrals.period_presets(info["as_at_date"], info["programme_start"])
    label = next(k for k in presets if k.startswith("Last quarter"))
    assert label == "Last quarter (01 Jan 2020 to 31 Mar 2020)"
    start, end = presets[label]
    lag = read_referrals.allocation_lag_by_cluster(model, ReferralFilter(start, end))
    lags = sorted(working_days_after(r, a) for _, r, a in KEIGHLEY_Q1)
    keighley = lag.set_index("cluster").loc["Keighley"]
    assert keighley["allocated"] == 4
    assert keighley["median_working_days"] == pytest.approx(np.median(lags))
    assert keighley["p90_working_days"] == pytest.approx(np.percentile(lags, 90))
    bd5 = lag.set_index("cluster").loc["BD5"]
    assert bd5["median_working_days"] == working_days_after("2020-02-03", "2020-03-20")


def test_backlog_as_at_the_end_of_the_period(model) -> None:
    f = ReferralFilter(date(2020, 1, 1), date(2020, 3, 31))
    backlog = read_referrals.unallocated_backlog(model, f).set_index("referral_id")
    assert set(backlog.index) == {"R0000031", "R0000032", "R0000033", "R0000035"}
    assert backlog.loc["R0000031", "waiting_working_days"] == 21
    assert backlog.loc["R0000032", "waiting_working_days"] == 15
    assert backlog.loc["R0000035", "waiting_working_days"] == 0
    assert backlog.loc["R0000033", "status"] == "Awaiting decision"
    assert backlog["over_threshold"].sum() == 2  # R31 (21 days) and R33 (awaiting since January)

    # At the end of February, the BD5 referral (allocated 20 Mar) was still waiting.
    february = read_referrals.unallocated_backlog(model, ReferralFilter(f.start, date(2020, 2, 28)))
    assert "R0000021" in set(february["referral_id"])
    assert february.set_index("referral_id").loc["R0000021", "waiting_working_days"] == (
        working_days_after("2020-02-03", "2020-02-28")
    )


def test_filters_by_cluster_and_source(model) -> None:
    f = ReferralFilter(date(2020, 1, 1), date(2020, 3, 31), sources=("Police",))
    assert set(read_referrals.unallocated_backlog(model, f)["referral_id"]) == {"R0000035"}
    f = ReferralFilter(date(2020, 1, 1), date(2020, 3, 31), clusters=("BD5",))
    weekly = read_referrals.referrals_by_week(model, f)
    assert weekly["referrals"].sum() == 1
    assert weekly["referral_source"].tolist() == ["Police"]


def test_backlog_over_time_matches_the_backlog_on_each_friday(model) -> None:
    f = ReferralFilter(date(2020, 1, 1), date(2020, 3, 31))
    weekly = read_referrals.backlog_over_time(model, f).set_index("week_end")
    for friday in (date(2020, 1, 10), date(2020, 2, 28), date(2020, 3, 27)):
        at = read_referrals.unallocated_backlog(model, ReferralFilter(f.start, friday))
        row = weekly.loc[pd.Timestamp(friday)]
        assert row["awaiting_decision"] + row["awaiting_allocation"] == len(at)
        assert row["waiting_over_threshold"] == at["over_threshold"].sum()


def test_funnel_counts_each_step(model) -> None:
    f = ReferralFilter(date(2014, 9, 1), date(2020, 3, 31))
    steps = read_referrals.funnel(model, f).set_index("stage")["referrals"]
    assert steps["Referred"] == 11
    assert steps["Decided"] == 10  # R33 awaits a decision
    assert steps["Accepted"] == 9  # R34: no further action
    assert steps["Allocated"] == 6


def test_caseloads_count_open_episodes(model) -> None:
    loads = read_referrals.caseloads(model, ReferralFilter(date(2020, 1, 1), date(2020, 3, 31)))
    assert loads["open_cases"].sum() == 5  # the 2015 episode closed in December 2015
    assert "KW0001" not in set(loads["key_worker"])


def test_attachment_against_target_from_reference_file(model) -> None:
    summary = read_programme.programme_summary(model)
    assert summary["target"] == 67
    assert summary["families_attached"] == 5
    assert summary["families_referred"] == 11
    trajectory = read_programme.attachment_trajectory(model)
    assert trajectory["attached_cumulative"].iloc[-1] == 5
    assert trajectory["target_cumulative"].iloc[-1] == 67
    assert len(trajectory) == 67  # Sep 2014 to Mar 2020 inclusive


# --- What the page's headline numbers and charts are drawn from ----------------------------------

Q1_2020 = ReferralFilter(date(2020, 1, 1), date(2020, 3, 31))


def test_headline_counts_received_allocated_and_waiting(model) -> None:
    headline = read_referrals.headline(model, Q1_2020, 20)
    # Received in Q1: R11, R12, R13, R21 and R31-R35; allocated in Q1: R11-R14 and R21 (R14 was
    # received in December); waiting at 31 Mar: R31, R32, R33, R35, of them R31 (21 working days)
    # and R33 (awaiting a decision since 15 Jan) more than 20.
    assert headline == {
        "received": 9,
        "allocated": 5,
        "waiting": 4,
        "waiting_over_threshold": 2,
    }
    assert working_days_after("2020-03-02", "2020-03-31") == 21
    assert read_referrals.headline(model, Q1_2020, 21)["waiting_over_threshold"] == 1
    police = read_referrals.headline(
        model, ReferralFilter(Q1_2020.start, Q1_2020.end, (), ("Police",))
    )
    assert police == {"received": 2, "allocated": 1, "waiting": 1, "waiting_over_threshold": 0}
    nothing = read_referrals.headline(model, ReferralFilter(date(2016, 1, 1), date(2016, 1, 31)))
    assert nothing == {"received": 0, "allocated": 0, "waiting": 0, "waiting_over_threshold": 0}


BANDS = ["0–5", "6–10", "11–15", "16–20", "21–25", "26–30", "31–35", "36–40", "41–45", "46–50",
         "51–55", "56–60", "Over 60"]  # fmt: skip


def test_waiting_time_bands_count_every_band_in_order(model) -> None:
    r33 = working_days_after("2020-01-15", "2020-03-31")
    assert 50 < r33 <= 55
    bands = read_referrals.waiting_time_bands(model, Q1_2020, 20)
    assert bands.columns.tolist() == ["band", "referrals", "within"]
    assert bands["band"].tolist() == BANDS
    # R35 waited 0 working days, R32 15, R31 21 and R33 between 51 and 55.
    expected = dict.fromkeys(BANDS, 0) | {"0–5": 1, "11–15": 1, "21–25": 1, "51–55": 1}
    assert dict(zip(bands["band"], bands["referrals"], strict=True)) == expected
    assert bands["within"].tolist() == [True] * 4 + [False] * 9
    assert read_referrals.waiting_time_bands(model, Q1_2020, 3)["within"].sum() == 0
    assert read_referrals.waiting_time_bands(model, Q1_2020, 60)["within"].tolist() == (
        [True] * 12 + [False]
    )
    # Nobody waiting: every band, empty.
    empty = read_referrals.waiting_time_bands(
        model, ReferralFilter(date(2016, 1, 1), date(2016, 1, 31))
    )
    assert empty["band"].tolist() == BANDS and empty["referrals"].sum() == 0


def test_waiting_time_bands_follow_the_settings(model, monkeypatch: pytest.MonkeyPatch) -> None:
    from data_model.settings import settings

    changed = {**settings(), "referrals": {**settings()["referrals"]}}
    changed["referrals"].update(
        waiting_band_working_days=10, waiting_bands_last_edge_working_days=20
    )
    monkeypatch.setattr(read_referrals, "settings", lambda: changed)
    bands = read_referrals.waiting_time_bands(model, Q1_2020, 15)
    assert bands.to_dict("list") == {
        "band": ["0–10", "11–20", "Over 20"],
        "referrals": [1, 1, 2],  # R35; R32; R31 and R33
        "within": [True, False, False],
    }


def test_caseload_summary_counts_key_workers_and_the_median(model) -> None:
    loads = read_referrals.caseloads(model, Q1_2020)
    summary = read_referrals.caseload_summary(model, Q1_2020)
    assert summary == {"key_workers": 5, "median_open_cases": 1.0}
    assert summary["median_open_cases"] == np.median(loads["open_cases"])
    none = read_referrals.caseload_summary(
        model, ReferralFilter(date(2014, 9, 1), date(2014, 9, 30))
    )
    assert none["key_workers"] == 0


# Referrals received by source in two weeks of January 2020 (Monday 6 and Monday 13): eight
# sources with 8, 7, 6, 5, 4, 3, 3 and 1 referrals, so the chart shows the largest five and puts
# the other three together.
BY_SOURCE_AND_WEEK = {
    "School": (5, 3),
    "Police": (3, 4),
    "Health": (2, 4),
    "Housing": (5, 0),
    "Jobcentre Plus": (1, 3),
    "Other": (0, 3),
    "Self-referral": (2, 1),
    "Family member": (0, 1),
}
WEEKS = (date(2020, 1, 6), date(2020, 1, 13))


@pytest.fixture(scope="module")
def many_sources(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("sources")
    rows, rid = [], 100
    for source, counts in BY_SOURCE_AND_WEEK.items():
        for monday, count in zip(WEEKS, counts, strict=True):
            for day in range(count):
                rid += 1
                received = date(monday.year, monday.month, monday.day + day % 5)
                rows.append(referral(rid, received.isoformat(), source=source))
    write_district(folder, {"ehm_referrals": rows})  # no episodes extract
    out = folder / "model.duckdb"
    build_model(folder, out)
    con = open_model(out)
    yield con
    con.close()


def test_weekly_referrals_show_the_five_largest_sources_then_the_rest(many_sources) -> None:
    f = ReferralFilter(date(2020, 1, 1), date(2020, 1, 31))
    result = read_referrals.referrals_by_week_top_sources(many_sources, f)
    top = ["School", "Police", "Health", "Housing", "Jobcentre Plus"]
    assert result["sources"] == [*top, "All other sources"]
    expected = [
        (monday, source, counts[i])
        for i, monday in enumerate(WEEKS)
        for source, counts in sorted(BY_SOURCE_AND_WEEK.items())
        if source in top and counts[i]
    ]
    for i, monday in enumerate(WEEKS):
        rest = sum(c[i] for s, c in BY_SOURCE_AND_WEEK.items() if s not in top)
        expected.append((monday, "All other sources", rest))
    expected.sort(key=lambda row: (row[0], row[1]))
    by_week = result["by_week"]
    assert by_week.columns.tolist() == ["week_start", "source", "referrals"]
    got = [(w.date(), s, n) for w, s, n in by_week.itertuples(index=False)]
    assert got == expected
    # The table's weekly counts add up to the same totals.
    weekly = read_referrals.referrals_by_week(many_sources, f)
    assert by_week["referrals"].sum() == weekly["referrals"].sum() == 37


def test_six_sources_or_fewer_are_all_shown_largest_first(many_sources) -> None:
    six = ("Police", "Health", "Housing", "Jobcentre Plus", "Other", "Family member")
    f = ReferralFilter(date(2020, 1, 1), date(2020, 1, 31), sources=six)
    result = read_referrals.referrals_by_week_top_sources(many_sources, f)
    assert result["sources"] == list(six)  # 7, 6, 5, 4, 3 and 1 referrals
    assert "All other sources" not in set(result["by_week"]["source"])
    nothing = read_referrals.referrals_by_week_top_sources(
        many_sources, ReferralFilter(date(2019, 1, 1), date(2019, 1, 31))
    )
    assert nothing["sources"] == [] and nothing["by_week"].empty


def test_sources_with_equal_totals_are_shown_largest_first(many_sources) -> None:
    # The second week alone: seven sources, Police and Health 4 each, School, Jobcentre Plus and
    # Other 3 each, Self-referral and Family member 1 each.
    result = read_referrals.referrals_by_week_top_sources(
        many_sources, ReferralFilter(WEEKS[1], date(2020, 1, 17))
    )
    *top, rest = result["sources"]
    assert rest == "All other sources"
    assert set(top[:2]) == {"Police", "Health"}
    assert set(top[2:]) == {"School", "Jobcentre Plus", "Other"}
    totals = result["by_week"].groupby("source")["referrals"].sum()
    assert totals[rest] == 2 and totals[top].tolist() == [4, 4, 3, 3, 3]


def test_the_last_12_months_end_on_a_leap_day_without_error() -> None:
    """Data current to 29 Feb: the last 12 months are 01 Mar to 29 Feb, the year before having
    no 29 Feb; any other day goes back a year and a day."""
    presets = read_referrals.period_presets(date(2024, 2, 29), date(2015, 4, 1))
    last_12 = next(v for k, v in presets.items() if k.startswith("Last 12 months"))
    assert last_12 == (date(2023, 3, 1), date(2024, 2, 29))
    presets = read_referrals.period_presets(date(2024, 6, 30), date(2015, 4, 1))
    assert next(v for k, v in presets.items() if k.startswith("Last 12 months"))[0] == date(
        2023, 7, 1
    )
