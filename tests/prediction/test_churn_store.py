"""The recompute step trains on the store and writes a prediction per account in service."""

from __future__ import annotations

from datetime import date

import pytest
from django.db.models import Q
from prediction_support import AS_OF

from kizuna.billing.models import SubscriptionItem
from kizuna.engine.churn_features import feature_names
from kizuna.prediction.models import ChurnModel, ChurnPrediction
from kizuna.prediction.store import recompute_churn
from kizuna.sources.models import RunStatus
from kizuna.sources.recompute import RECOMPUTES, run_subject

pytestmark = pytest.mark.django_db


def _in_service(day: date) -> set[int]:
    items = SubscriptionItem.objects.filter(recurring=True, start_date__lte=day).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=day)
    )
    return set(items.values_list("subscription__account_id", flat=True))


def test_recompute_predicts_every_account_in_service(demo_store: None) -> None:
    outcome = recompute_churn(AS_OF)
    assert outcome.model is not None and outcome.skipped == ""
    predictions = list(ChurnPrediction.objects.filter(as_of=AS_OF))
    assert {row.account_id for row in predictions} == _in_service(AS_OF)
    assert outcome.predictions == len(predictions)
    assert all(0.0 < row.probability < 1.0 for row in predictions)
    assert all(row.model_id == outcome.model.pk for row in predictions)
    known = set(feature_names())
    for row in predictions:
        assert len(row.reasons) <= 3
        assert {reason["feature"] for reason in row.reasons} <= known
        shares = [reason["contribution"] for reason in row.reasons]
        assert shares == sorted(shares, reverse=True) and all(share > 0 for share in shares)
    model = outcome.model
    assert model.horizon_days == 90 and model.as_of == AS_OF
    assert 0 < model.training_churned < model.training_rows
    assert model.fitted().rows == model.training_rows


def test_recompute_replaces_the_day_and_runs_from_the_registry(demo_store: None) -> None:
    assert list(RECOMPUTES).index("churn") == list(RECOMPUTES).index("health") + 1
    recompute_churn(AS_OF)
    run = run_subject("churn", AS_OF)
    assert run.status == RunStatus.DONE
    assert run.rows_written == ChurnPrediction.objects.filter(as_of=AS_OF).count()
    # The second run replaced the first run's predictions; both models are kept.
    assert ChurnModel.objects.count() == 2
    latest = ChurnModel.objects.first()
    assert latest is not None
    assert set(ChurnPrediction.objects.values_list("model", flat=True)) == {latest.pk}


def test_an_empty_store_trains_nothing() -> None:
    outcome = recompute_churn(AS_OF)
    assert (outcome.model, outcome.predictions) == (None, 0)
    assert outcome.skipped == "the inputs hold no dated rows"
    assert not ChurnModel.objects.exists()
