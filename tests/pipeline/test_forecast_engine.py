"""Forecast figures on the hand-made deal set in ``data/small`` (walked through in
``docs/pipelines.md``), each value computed by hand from the CSV files."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.engine.backends import connect
from kizuna.engine.pipeline import FORECAST_METRICS, ForecastInputs, divide_money
from kizuna.pipeline.defaults import DEFAULT_PIPELINES, stages_table
from kizuna.sources.csv_deals import read_pipeline_files

DATA = Path(__file__).parent / "data" / "small"
AS_OF = date(2024, 6, 30)


def rows(metric: str, as_of: date = AS_OF, keep: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    files = read_pipeline_files(DATA)
    inputs = ForecastInputs(
        deals=ibis.memtable(files.deals),
        stage_history=ibis.memtable(files.stage_history),
        stages=ibis.memtable(stages_table(DEFAULT_PIPELINES.values())),
        spend=ibis.memtable(files.spend),
        as_of=as_of,
    )
    result = connect("duckdb").to_pyarrow(FORECAST_METRICS[metric](inputs)).to_pylist()
    if keep:
        return [{name: row[name] for name in keep} for row in result]
    return result


def test_every_metric_is_registered_under_its_function_name() -> None:
    assert {name: metric.__name__ for name, metric in FORECAST_METRICS.items()} == {
        name: name for name in FORECAST_METRICS
    }


def test_weighted_pipeline_by_stage_owner_and_close_month() -> None:
    keep = ("pipeline", "stage", "owner", "close_month", "deals", "amount_mrr", "weighted_mrr")
    assert rows("weighted_pipeline", keep=keep) == [
        # D4: 40,000 × 20 %
        {
            "pipeline": "new_business",
            "stage": "sql",
            "owner": "bob",
            "close_month": date(2024, 8, 1),
            "deals": 1,
            "amount_mrr": Decimal("40000"),
            "weighted_mrr": Decimal("8000"),
        },
        # D3 and D6 (won only on 10 July, after the as-of date): (80,000 + 70,000) × 55 %
        {
            "pipeline": "new_business",
            "stage": "proposal",
            "owner": "alice",
            "close_month": date(2024, 7, 1),
            "deals": 2,
            "amount_mrr": Decimal("150000"),
            "weighted_mrr": Decimal("82500"),
        },
        # D7, no history: in its current stage since it was created. 20,000 × 50 %
        {
            "pipeline": "upsell",
            "stage": "proposal",
            "owner": "carol",
            "close_month": date(2024, 7, 1),
            "deals": 1,
            "amount_mrr": Decimal("20000"),
            "weighted_mrr": Decimal("10000"),
        },
    ]


def test_weighted_pipeline_as_of_an_earlier_day_uses_the_stages_of_that_day() -> None:
    keep = ("pipeline", "stage", "owner", "close_month", "weighted_mrr")
    assert rows("weighted_pipeline", as_of=date(2024, 5, 15), keep=keep) == [
        {
            "pipeline": "new_business",
            "stage": "lead",
            "owner": "alice",
            "close_month": date(2024, 7, 1),
            "weighted_mrr": Decimal("3500"),
        },
        {
            "pipeline": "new_business",
            "stage": "sql",
            "owner": "alice",
            "close_month": date(2024, 7, 1),
            "weighted_mrr": Decimal("16000"),
        },
        {
            "pipeline": "new_business",
            "stage": "demo_trial",
            "owner": "bob",
            "close_month": date(2024, 5, 1),
            "weighted_mrr": Decimal("17500"),
        },
        {
            "pipeline": "new_business",
            "stage": "proposal",
            "owner": "bob",
            "close_month": date(2024, 6, 1),
            "weighted_mrr": Decimal("33000"),
        },
        {
            "pipeline": "new_business",
            "stage": "final_negotiation",
            "owner": "alice",
            "close_month": date(2024, 5, 1),
            "weighted_mrr": Decimal("75000"),
        },
        {
            "pipeline": "renewal",
            "stage": "negotiation",
            "owner": "carol",
            "close_month": date(2024, 6, 1),
            "weighted_mrr": Decimal("27000"),
        },
    ]


def test_forecast_vs_actual_from_the_as_of_month_on() -> None:
    keep = (
        "pipeline",
        "month",
        "won_by_as_of_mrr",
        "weighted_open_mrr",
        "forecast_mrr",
        "actual_mrr",
        "variance",
    )
    assert rows("forecast_vs_actual", keep=keep) == [
        {
            "pipeline": "new_business",
            "month": date(2024, 6, 1),
            "won_by_as_of_mrr": Decimal("60000"),
            "weighted_open_mrr": Decimal("0"),
            "forecast_mrr": Decimal("60000"),
            "actual_mrr": Decimal("60000"),
            "variance": Decimal("0"),
        },
        {
            "pipeline": "new_business",
            "month": date(2024, 7, 1),
            "won_by_as_of_mrr": Decimal("0"),
            "weighted_open_mrr": Decimal("82500"),
            "forecast_mrr": Decimal("82500"),
            "actual_mrr": Decimal("70000"),
            "variance": Decimal("-12500"),
        },
        {
            "pipeline": "new_business",
            "month": date(2024, 8, 1),
            "won_by_as_of_mrr": Decimal("0"),
            "weighted_open_mrr": Decimal("8000"),
            "forecast_mrr": Decimal("8000"),
            "actual_mrr": Decimal("0"),
            "variance": Decimal("-8000"),
        },
        {
            "pipeline": "upsell",
            "month": date(2024, 7, 1),
            "won_by_as_of_mrr": Decimal("0"),
            "weighted_open_mrr": Decimal("10000"),
            "forecast_mrr": Decimal("10000"),
            "actual_mrr": Decimal("0"),
            "variance": Decimal("-10000"),
        },
    ]


def test_stage_conversion_counts_deals_that_reached_any_later_stage() -> None:
    keep = ("pipeline", "stage", "entered", "advanced", "lost", "still_open", "conversion_rate")
    assert rows("stage_conversion", keep=keep) == [
        {
            "pipeline": "new_business",
            "stage": "lead",
            "entered": 6,
            "advanced": 6,
            "lost": 0,
            "still_open": 0,
            "conversion_rate": 1.0,
        },
        # D4 skipped MQL, so it is not counted there
        {
            "pipeline": "new_business",
            "stage": "mql",
            "entered": 5,
            "advanced": 5,
            "lost": 0,
            "still_open": 0,
            "conversion_rate": 1.0,
        },
        {
            "pipeline": "new_business",
            "stage": "sql",
            "entered": 6,
            "advanced": 5,
            "lost": 0,
            "still_open": 1,
            "conversion_rate": 5 / 6,
        },
        # D2 was lost from the demo
        {
            "pipeline": "new_business",
            "stage": "demo_trial",
            "entered": 5,
            "advanced": 4,
            "lost": 1,
            "still_open": 0,
            "conversion_rate": 0.8,
        },
        # D6 won only after the as-of date: still open then
        {
            "pipeline": "new_business",
            "stage": "proposal",
            "entered": 4,
            "advanced": 2,
            "lost": 0,
            "still_open": 2,
            "conversion_rate": 0.5,
        },
        {
            "pipeline": "new_business",
            "stage": "final_negotiation",
            "entered": 2,
            "advanced": 2,
            "lost": 0,
            "still_open": 0,
            "conversion_rate": 1.0,
        },
        {
            "pipeline": "renewal",
            "stage": "renewal_prep",
            "entered": 1,
            "advanced": 1,
            "lost": 0,
            "still_open": 0,
            "conversion_rate": 1.0,
        },
        {
            "pipeline": "renewal",
            "stage": "renewal_proposal",
            "entered": 1,
            "advanced": 1,
            "lost": 0,
            "still_open": 0,
            "conversion_rate": 1.0,
        },
        {
            "pipeline": "renewal",
            "stage": "negotiation",
            "entered": 1,
            "advanced": 0,
            "lost": 1,
            "still_open": 0,
            "conversion_rate": 0.0,
        },
        {
            "pipeline": "upsell",
            "stage": "proposal",
            "entered": 1,
            "advanced": 0,
            "lost": 0,
            "still_open": 1,
            "conversion_rate": 0.0,
        },
    ]


def test_days_in_stage_counts_completed_stays_only() -> None:
    keep = ("stage", "stays", "average_days", "median_days", "in_stage_now")
    new_business = [
        {name: row[name] for name in keep}
        for row in rows("days_in_stage")
        if row["pipeline"] == "new_business"
    ]
    assert new_business == [
        # stays of 4, 5, 2, 11, 10, 5 days
        {
            "stage": "lead",
            "stays": 6,
            "average_days": 37 / 6,
            "median_days": 5.0,
            "in_stage_now": 0,
        },
        # 5, 10, 7, 10, 5
        {"stage": "mql", "stays": 5, "average_days": 7.4, "median_days": 7.0, "in_stage_now": 0},
        # 5, 13, 10, 11, 7; D4 is still there
        {"stage": "sql", "stays": 5, "average_days": 9.2, "median_days": 10.0, "in_stage_now": 1},
        # 16, 24, 21, 30, 19
        {
            "stage": "demo_trial",
            "stays": 5,
            "average_days": 22.0,
            "median_days": 21.0,
            "in_stage_now": 0,
        },
        # 9, 31; D3 and D6 are still there
        {
            "stage": "proposal",
            "stays": 2,
            "average_days": 20.0,
            "median_days": 20.0,
            "in_stage_now": 2,
        },
        # 10, and 14.5 (D5 was won at noon)
        {
            "stage": "final_negotiation",
            "stays": 2,
            "average_days": 12.25,
            "median_days": 12.25,
            "in_stage_now": 0,
        },
    ]


def test_trial_conversion_by_week_of_trial_start() -> None:
    assert rows("trial_conversion") == [
        # D5 entered the demo stage on Monday 1 April and was won
        {
            "pipeline": "new_business",
            "week": date(2024, 4, 1),
            "trials": 1,
            "paid": 1,
            "conversion_rate": 1.0,
        },
        {
            "pipeline": "new_business",
            "week": date(2024, 4, 15),
            "trials": 1,
            "paid": 1,
            "conversion_rate": 1.0,
        },
        # D2 started on Wednesday 1 May: the week of Monday 29 April
        {
            "pipeline": "new_business",
            "week": date(2024, 4, 29),
            "trials": 1,
            "paid": 0,
            "conversion_rate": 0.0,
        },
        # D3's trial_start (27 May) wins over its demo-stage entry; D6 started Saturday 1 June
        {
            "pipeline": "new_business",
            "week": date(2024, 5, 27),
            "trials": 2,
            "paid": 0,
            "conversion_rate": 0.0,
        },
    ]


def test_rep_performance_counts_won_deals_and_new_mrr_by_close_month() -> None:
    keep = ("owner", "pipeline", "close_month", "won_deals", "won_mrr")
    assert rows("rep_performance", keep=keep) == [
        {
            "owner": "alice",
            "pipeline": "new_business",
            "close_month": date(2024, 3, 1),
            "won_deals": 1,
            "won_mrr": Decimal("45000"),
        },
        {
            "owner": "alice",
            "pipeline": "new_business",
            "close_month": date(2024, 5, 1),
            "won_deals": 1,
            "won_mrr": Decimal("100000"),
        },
        {
            "owner": "bob",
            "pipeline": "new_business",
            "close_month": date(2024, 6, 1),
            "won_deals": 1,
            "won_mrr": Decimal("60000"),
        },
    ]


def test_lead_source_roi_with_cac_per_channel() -> None:
    assert rows("lead_source_roi") == [
        # spend 100,000 + 80,001 + 70,000 (July's 999,999 is after the as-of month) ÷ 2 customers
        {
            "channel": "ads",
            "currency": "JPY",
            "deals": 4,
            "won": 2,
            "won_customers": 2,
            "new_mrr": Decimal("105000"),
            "spend": Decimal("250001"),
            "conversion_rate": 0.5,
            "cac": Decimal("125000.5"),
        },
        # spend without any deal: no conversion, no CAC
        {
            "channel": "referral",
            "currency": "JPY",
            "deals": 0,
            "won": 0,
            "won_customers": 0,
            "new_mrr": Decimal("0"),
            "spend": Decimal("10000"),
            "conversion_rate": None,
            "cac": None,
        },
        {
            "channel": "webinar",
            "currency": "JPY",
            "deals": 3,
            "won": 1,
            "won_customers": 1,
            "new_mrr": Decimal("100000"),
            "spend": Decimal("300000"),
            "conversion_rate": 1 / 3,
            "cac": Decimal("300000"),
        },
    ]


def test_win_rate_per_pipeline() -> None:
    assert rows("win_rate") == [
        {
            "pipeline": "new_business",
            "currency": "JPY",
            "won": 3,
            "lost": 1,
            "won_mrr": Decimal("205000"),
            "lost_mrr": Decimal("50000"),
            "win_rate": 0.75,
        },
        {
            "pipeline": "renewal",
            "currency": "JPY",
            "won": 0,
            "lost": 1,
            "won_mrr": Decimal("0"),
            "lost_mrr": Decimal("30000"),
            "win_rate": 0.0,
        },
    ]


def test_lost_reasons_include_renewal_churn_reasons() -> None:
    assert rows("lost_reasons") == [
        {
            "pipeline": "new_business",
            "reason": "price",
            "currency": "JPY",
            "deals": 1,
            "lost_mrr": Decimal("50000"),
            "share": 1.0,
        },
        {
            "pipeline": "renewal",
            "reason": "cost",
            "currency": "JPY",
            "deals": 1,
            "lost_mrr": Decimal("30000"),
            "share": 1.0,
        },
    ]


@pytest.mark.parametrize(
    ("amount", "count", "quotient"),
    [
        ("1000", 3, "333.333333"),
        ("2", 3, "0.666667"),
        ("0.000001", 2, "0.000001"),
        ("4000000000000", 7, "571428571428.571429"),
        ("4000000000000", 1, "4000000000000"),
        ("0", 5, "0"),
    ],
)
def test_divide_money_is_exact_and_rounds_half_up(amount: str, count: int, quotient: str) -> None:
    table = ibis.memtable({"amount": [Decimal(amount)], "count": [count]}).cast(
        {"amount": "decimal(38, 6)", "count": "int64"}
    )
    expression = table.select(quotient=divide_money(table.amount, table["count"]))
    assert connect("duckdb").to_pyarrow(expression).to_pylist() == [{"quotient": Decimal(quotient)}]


def test_divide_money_by_zero_is_null() -> None:
    table = ibis.memtable({"amount": [Decimal("5")], "count": [0]}).cast(
        {"amount": "decimal(38, 6)", "count": "int64"}
    )
    expression = table.select(quotient=divide_money(table.amount, table["count"]))
    assert connect("duckdb").to_pyarrow(expression).to_pylist() == [{"quotient": None}]


@settings(max_examples=60, deadline=None)
@given(
    micro_amount=st.integers(min_value=0, max_value=4_500_000_000_000_000_000),
    count=st.integers(min_value=1, max_value=10_000_000),
)
def test_divide_money_matches_decimal_division(micro_amount: int, count: int) -> None:
    amount = Decimal(micro_amount).scaleb(-6)
    expected = (amount / count).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    table = ibis.memtable({"amount": [amount], "count": [count]}).cast(
        {"amount": "decimal(38, 6)", "count": "int64"}
    )
    expression = table.select(quotient=divide_money(table.amount, table["count"]))
    assert connect("duckdb").to_pyarrow(expression).to_pylist() == [{"quotient": expected}]


@pytest.mark.postgres
@pytest.mark.parametrize("metric", sorted(FORECAST_METRICS))
def test_postgres_gives_the_same_figures_as_duckdb(metric: str, postgres_url: str) -> None:
    files = read_pipeline_files(DATA)
    inputs = ForecastInputs(
        deals=ibis.memtable(files.deals),
        stage_history=ibis.memtable(files.stage_history),
        stages=ibis.memtable(stages_table(DEFAULT_PIPELINES.values())),
        spend=ibis.memtable(files.spend),
        as_of=AS_OF,
    )
    expression = FORECAST_METRICS[metric](inputs)
    on_postgres = connect("postgres", url=postgres_url).to_pyarrow(expression).to_pylist()
    assert on_postgres == connect("duckdb").to_pyarrow(expression).to_pylist()
