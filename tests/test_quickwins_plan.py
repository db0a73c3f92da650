"""A plan without payments: the ranking's label is then the plan's sustained outcome (the route
that needs progress on every problem), not a results claim. Tested with a payment-free variant
of the shipped Bradford plan (payments nought) on a small district, trained with the minimums
lowered so that so few families suffice."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from data_model.build import SyntheticOrigin, build_model
from data_model.plan.loading import resolve_plan
from data_model.quickwins import config
from data_model.quickwins.train import train_ranking
from loaders.synthetic.generate import generate

pytestmark = pytest.mark.slow

HOUSEHOLDS, SEED = 1_000, 11


@pytest.fixture(scope="module")
def payment_free_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("payment-free")
    text = resolve_plan("bradford_2015").read_text(encoding="utf-8")
    text, changed = re.subn(
        r"payments:\n  attachment_fee: 1000\n  results_payment: 800\n",
        "payments:\n  attachment_fee: 0\n  results_payment: 0\n",
        text,
    )
    assert changed == 1
    plan = folder / "bradford_2015_no_payments.yaml"
    plan.write_text(text, encoding="utf-8")
    generate(HOUSEHOLDS, SEED, folder / "extracts")
    out = folder / "model.duckdb"
    build_model(folder / "extracts", out, plan=plan, synthetic=SyntheticOrigin(HOUSEHOLDS, SEED))
    return out


def test_a_plan_without_payments_trains_on_the_sustained_outcome(
    payment_free_model: Path, monkeypatch: pytest.MonkeyPatch
):
    settings = config.quickwins_settings()
    few = {**settings, "ranking": {**settings["ranking"], "minimum_families": 10,
                                   "minimum_outcomes": 1, "team_capacity": 10}}  # fmt: skip
    monkeypatch.setattr("data_model.quickwins.train.quickwins_settings", lambda: few)
    con = duckdb.connect(str(payment_free_model))
    try:
        run = train_ranking(con)
        assert run.status == "trained", run.status_reason
        version = con.execute(
            "select pays_results, label, fit_outcomes, test_outcomes from model_version "
            "where is_current"
        ).fetchone()
        assert version[0] is False
        assert version[1].startswith("the plan's sustained outcome")
        # the tests' own label: the every-problem route achieved within 12 months
        own = con.execute(
            """
            select attachment.family_key,
                   coalesce(bool_or(route.achieved_date
                                    <= attachment.attached_date + interval 12 month), false)::int
                       as label,
                   coalesce(bool_or(claim.claimable_date
                                    <= attachment.attached_date + interval 12 month), false)::int
                       as claim_label
            from int_plan_attachment as attachment
            left join int_plan_family_route as route
                on route.family_key = attachment.family_key and route.is_current
                and route.route_id in (select route_id from cfg_plan_route
                                       where requires = 'every_problem')
            left join mart_claim as claim
                on claim.family_key = attachment.family_key and claim.claim_type = 'results'
            group by attachment.family_key
            """
        ).df()
        stored = con.execute("select family_key, cohort, label from ranking_evaluation").df()
        money = con.execute(
            "select sum(amount) from mart_claim"
        ).fetchone()[0]  # fmt: skip
    finally:
        con.close()
    joined = stored.merge(own, on="family_key", suffixes=("", "_own"))
    assert len(joined) == len(stored) > 0
    assert (joined["label"] == joined["label_own"]).all()
    assert version[2] == joined.loc[joined["cohort"] == "fit", "label"].sum()
    assert version[3] == joined.loc[joined["cohort"] == "test", "label"].sum()
    # a family whose only claim came by the employment route has no sustained outcome
    employment_only = joined[(joined["claim_label"] == 1) & (joined["label_own"] == 0)]
    assert (employment_only["label"] == 0).all()
    assert money == 0
