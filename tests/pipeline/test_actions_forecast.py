"""The ``forecast`` recompute subject: the engine over the store, written to ForecastResult."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pipeline_people import People, aware, negotiating_deal

from kizuna.engine.pipeline import FORECAST_METRICS
from kizuna.pipeline.actions import lose_deal, win_deal
from kizuna.pipeline.models import ForecastResult
from kizuna.sources.csv_deals import DEALS_COLUMNS, HISTORY_COLUMNS
from kizuna.sources.recompute import RECOMPUTES, run_subject
from kizuna.sources.store_deals import FORECAST_KEYS, deals, stage_history


def test_every_forecast_metric_names_its_dimensions() -> None:
    assert set(FORECAST_KEYS) == set(FORECAST_METRICS)
    assert "forecast" in RECOMPUTES


@pytest.mark.django_db
def test_store_readers_have_the_csv_columns(people: People) -> None:
    negotiating_deal(people)
    table = deals()
    assert table.column_names == [column.name for column in DEALS_COLUMNS]
    row = table.to_pylist()[0]
    assert (row["pipeline"], row["stage"], row["owner"], row["lead_score"]) == (
        "new_business",
        "final_negotiation",
        "sato",
        70,
    )
    assert row["quote_amount"] == Decimal(120000)
    assert row["trial_start"] == date(2024, 2, 1)
    history = stage_history()
    assert history.column_names == [column.name for column in HISTORY_COLUMNS]
    assert history.to_pylist()[0]["stage"] == "final_negotiation"


@pytest.mark.django_db
def test_the_forecast_subject_writes_the_metrics_for_the_dashboard(people: People) -> None:
    negotiating_deal(people, Decimal(120000))
    won = negotiating_deal(people, Decimal(80000))
    win_deal(
        won,
        people.sales,
        {"plan": "Starter", "contract_months": "12", "effective_date": "2024-04-01"},
        at=aware(2024, 3, 20),
    )
    lost = negotiating_deal(people, Decimal(50000))
    lose_deal(lost, people.sales, "price", at=aware(2024, 3, 21))

    run = run_subject("forecast", date(2024, 3, 25))
    assert run.status == "done" and run.rows_written == ForecastResult.objects.count()

    weighted = ForecastResult.objects.get(metric="weighted_pipeline")
    assert weighted.as_of == date(2024, 3, 25)
    assert weighted.key == {
        "pipeline": "new_business",
        "stage": "final_negotiation",
        "position": 6,
        "probability": "0.7500",
        "owner": "sato",
        "close_month": "2024-03-01",
        "currency": "JPY",
    }
    assert weighted.values == {
        "deals": 1,
        "amount_mrr": "120000",
        "weighted_mrr": "90000",
        "one_off_amount": "0",
        "weighted_one_off": "0",
    }
    win_rate = ForecastResult.objects.get(metric="win_rate")
    assert win_rate.values == {
        "won": 1,
        "lost": 1,
        "won_mrr": "80000",
        "lost_mrr": "50000",
        "win_rate": 0.5,
    }
    reasons = ForecastResult.objects.get(metric="lost_reasons")
    assert reasons.key == {"pipeline": "new_business", "reason": "price", "currency": "JPY"}
    # Recomputing replaces the rows instead of adding to them.
    rows = ForecastResult.objects.count()
    run_subject("forecast", date(2024, 3, 25))
    assert ForecastResult.objects.count() == rows
