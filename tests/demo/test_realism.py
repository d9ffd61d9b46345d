"""Behaviour foreshadows outcomes: churners fade before they leave, expanders fill their seats."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from demo_support import (
    SMALL_DEMO,
    base_items,
    daily_usage_with_zero_days,
    seat_increases,
    window_mean,
)

from kizuna.demo.tables import DemoTables

PRE_CHURN_DAYS = 90
PRE_EXPANSION_DAYS = 60


def _churns_in_window(tables: DemoTables, usage: pd.DataFrame) -> pd.DataFrame:
    churns = tables.churns.to_pandas()
    churns["churned_on"] = pd.to_datetime(churns["churned_on"])
    first_day = usage["date"].min()
    return churns[churns["churned_on"] - timedelta(days=PRE_CHURN_DAYS) >= first_day]


def _retained(tables: DemoTables) -> set[str]:
    churned = set(tables.churns.column("customer_id").to_pylist())
    items = base_items(tables)
    paying_now = items[items["end_date"].isna() & (items["plan"] != "Free")]
    return set(paying_now["customer_id"]) - churned


def test_churners_use_the_product_less_in_their_last_90_days(small_demo: DemoTables) -> None:
    usage = daily_usage_with_zero_days(small_demo, SMALL_DEMO)
    churns = _churns_in_window(small_demo, usage)
    assert len(churns) >= 8, "too few churns in the usage window to compare"
    retained = usage[usage["customer_id"].isin(_retained(small_demo))]
    churner_rates, retained_rates, churner_logins, retained_logins = [], [], [], []
    for churn in churns.itertuples():
        start = churn.churned_on - timedelta(days=PRE_CHURN_DAYS)
        own = usage[usage["customer_id"] == churn.customer_id]
        churner_rates.append(window_mean(own, "active_rate", start, churn.churned_on))
        retained_rates.append(window_mean(retained, "active_rate", start, churn.churned_on))
        churner_logins.append(window_mean(own, "logins_per_seat", start, churn.churned_on))
        retained_logins.append(window_mean(retained, "logins_per_seat", start, churn.churned_on))
    churner_rate = sum(churner_rates) / len(churner_rates)
    retained_rate = sum(retained_rates) / len(retained_rates)
    # Same calendar windows: churners' active-user rate is at most 70 % of retained accounts'.
    assert churner_rate < 0.7 * retained_rate, (churner_rate, retained_rate)
    assert sum(churner_logins) < 0.7 * sum(retained_logins)


def test_churners_answer_nps_as_detractors_before_leaving(small_demo: DemoTables) -> None:
    nps = small_demo.nps.to_pandas()
    nps["responded_on"] = pd.to_datetime(nps["responded_on"])
    churns = small_demo.churns.to_pandas()
    churns["churned_on"] = pd.to_datetime(churns["churned_on"])
    retained = nps[nps["customer_id"].isin(_retained(small_demo))]
    churner_scores: list[float] = []
    retained_scores: list[float] = []
    for churn in churns.itertuples():
        start = churn.churned_on - timedelta(days=PRE_CHURN_DAYS)
        in_window = (nps["responded_on"] >= start) & (nps["responded_on"] < churn.churned_on)
        churner_scores += nps[in_window & (nps["customer_id"] == churn.customer_id)][
            "score"
        ].tolist()
        same_window = (retained["responded_on"] >= start) & (
            retained["responded_on"] < churn.churned_on
        )
        retained_scores += retained[same_window]["score"].tolist()
    assert len(churner_scores) >= 10
    churner_mean = sum(churner_scores) / len(churner_scores)
    retained_mean = sum(retained_scores) / len(retained_scores)
    assert churner_mean <= retained_mean - 1.5, (churner_mean, retained_mean)
    assert churner_mean < 7, "churners should be detractors on average"


def test_expanders_fill_their_seats_and_look_at_pricing_first(small_demo: DemoTables) -> None:
    usage = daily_usage_with_zero_days(small_demo, SMALL_DEMO)
    increases = seat_increases(small_demo)
    increases = increases[
        increases["on"] - timedelta(days=PRE_EXPANSION_DAYS) >= usage["date"].min()
    ]
    assert len(increases) >= 8, "too few seat purchases in the usage window"
    others = usage[~usage["customer_id"].isin(set(increases["customer_id"]))]
    expander_use, other_use, expander_pricing, other_pricing = [], [], [], []
    for increase in increases.itertuples():
        start = increase.on - timedelta(days=PRE_EXPANSION_DAYS)
        own = usage[usage["customer_id"] == increase.customer_id]
        expander_use.append(window_mean(own, "utilisation", start, increase.on))
        other_use.append(window_mean(others, "utilisation", start, increase.on))
        expander_pricing.append(window_mean(own, "pricing_page_views", start, increase.on))
        other_pricing.append(window_mean(others, "pricing_page_views", start, increase.on))
    expander_utilisation = sum(expander_use) / len(expander_use)
    other_utilisation = sum(other_use) / len(other_use)
    assert expander_utilisation > 0.9, expander_utilisation
    assert expander_utilisation > other_utilisation + 0.1, (expander_utilisation, other_utilisation)
    assert sum(expander_pricing) > 2 * sum(other_pricing)
