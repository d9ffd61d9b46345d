"""Churn predictions over the store: health inputs in, model trained, predictions written.

A recompute as of day D reads the store as known on D, trains the model on every monthly
snapshot before D whose horizon has ended by D (so every label is known), and predicts for
every account in service on D. The new :class:`~kizuna.prediction.models.ChurnModel` and the
day's :class:`~kizuna.prediction.models.ChurnPrediction` rows are written in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kizuna.engine.backends import connect
from kizuna.engine.churn_evaluation import Rows, train
from kizuna.engine.churn_features import (
    DEFAULT_HORIZON_DAYS,
    FEATURES_BY_NAME,
    feature_names,
    feature_table,
    known_on,
    labelled_snapshots,
    measured_value,
)
from kizuna.engine.churn_model import ChurnModelError, Reason, predict, reasons
from kizuna.engine.health_calibration import data_period
from kizuna.prediction.models import ChurnModel, ChurnPrediction
from kizuna.sources.store_health import health_inputs_from_store

BATCH = 5000
"""Rows per INSERT."""
TOP_REASONS = 3


def horizon_days() -> int:
    """The ``KIZUNA_CHURN_HORIZON_DAYS`` setting (days after the as-of date), default 90."""
    value = int(getattr(settings, "KIZUNA_CHURN_HORIZON_DAYS", DEFAULT_HORIZON_DAYS))
    if value < 1:
        raise ValueError("KIZUNA_CHURN_HORIZON_DAYS must be at least 1")
    return value


@dataclass(frozen=True)
class ChurnRecompute:
    model: ChurnModel | None
    predictions: int
    skipped: str = ""
    """Why no model was trained (too little history), else empty."""


def recompute_churn(as_of: date, horizon: int | None = None) -> ChurnRecompute:
    """Train as of ``as_of`` and replace that day's predictions (see the module docstring).

    With too little history to train (no snapshot whose horizon has ended, or no churn in it)
    nothing is written and the reason is returned.
    """
    horizon = horizon or horizon_days()
    backend = connect("duckdb")
    inputs = known_on(health_inputs_from_store(backend), as_of)
    try:
        first, _ = data_period(inputs, backend)
    except ValueError as error:
        return ChurnRecompute(None, 0, str(error))
    dates = [day for day in labelled_snapshots(first, as_of, horizon) if day < as_of]
    if not dates:
        return ChurnRecompute(None, 0, f"less than {horizon} days of history")
    try:
        fitted = train(inputs, dates, backend, horizon)
    except ChurnModelError as error:
        return ChurnRecompute(None, 0, str(error))
    names = feature_names()
    rows = Rows.from_arrow(backend.to_pyarrow(feature_table(inputs, [as_of], horizon)), names)
    probabilities = predict(fitted, rows.values)
    explained = reasons(fitted, rows.values, TOP_REASONS)
    with transaction.atomic():
        model = ChurnModel.objects.create(
            trained_at=timezone.now(),
            as_of=as_of,
            horizon_days=horizon,
            training_rows=fitted.rows,
            training_churned=fitted.positives,
            parameters=fitted.to_dict(),
        )
        ChurnPrediction.objects.filter(as_of=as_of).delete()
        ChurnPrediction.objects.bulk_create(
            [
                ChurnPrediction(
                    account_id=int(customer_id),
                    as_of=as_of,
                    probability=float(probability),
                    reasons=[_reason(reason) for reason in why],
                    model=model,
                )
                for customer_id, probability, why in zip(
                    rows.customer_ids, probabilities, explained, strict=True
                )
            ],
            batch_size=BATCH,
        )
    return ChurnRecompute(model, len(rows.customer_ids))


def _reason(reason: Reason) -> dict[str, Any]:
    """A reason as stored: the feature, its value in the measure's unit, its contribution."""
    value = reason.value
    if value is not None:
        value = round(measured_value(FEATURES_BY_NAME[reason.feature], value), 4)
    return {
        "feature": reason.feature,
        "value": value,
        "contribution": round(reason.contribution, 4),
    }
