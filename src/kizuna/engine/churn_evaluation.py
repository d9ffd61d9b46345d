"""Honest evaluation of the churn model on a time-based holdout, beside the rule health scores.

Snapshots are monthly, the latest ``horizon_days`` before the end of the data (so every label is
known). The last ``test_months`` snapshots are the test set and the first of them is the
*cutoff*. The model is trained on the inputs as known at the cutoff
(:func:`~kizuna.engine.churn_features.known_on`) over the snapshots whose whole horizon ends
by the cutoff, so no training feature or label looks past it. Each test row's features come
from the inputs as known on its own snapshot date; its label from the full data.

Reported on the test rows: ROC AUC, precision among the top 5 % and 10 % by predicted risk, and
a calibration table (predicted vs observed churn by decile of prediction); for each health
scorecard, the same AUC and precisions of its score (low score = high risk) on the test rows it
scores, with the model's figures on exactly those rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from kizuna.engine.churn_features import (
    DEFAULT_HORIZON_DAYS,
    FEATURES,
    ChurnFeature,
    feature_names,
    known_on,
    labelled_feature_table,
    labelled_snapshots,
)
from kizuna.engine.churn_model import DEFAULT_L2, ChurnModel, Matrix, fit, predict
from kizuna.engine.health import Scorecard, score_history
from kizuna.engine.health_calibration import data_period, roc_auc
from kizuna.engine.health_inputs import HealthInputs

DEFAULT_TEST_MONTHS = 6
"""Monthly snapshots held out for testing: half a year of the most recent labelled data."""
TOP_FRACTIONS = (0.05, 0.10)
CALIBRATION_GROUPS = 10


# --- metrics ----------------------------------------------------------------------------


def precision_at(scores: Sequence[float], churned: Sequence[bool], fraction: float) -> float | None:
    """Share of churned rows among the ``ceil(fraction × n)`` highest scores. Rows tied with the
    last one taken count by expectation (as if the tie were broken at random), so a coarse score
    is neither favoured nor penalised by the order of its rows. ``None`` without rows."""
    if len(scores) != len(churned):
        raise ValueError("scores and labels differ in length")
    if not scores:
        return None
    take = math.ceil(fraction * len(scores))
    ordered = sorted(scores, reverse=True)
    boundary = ordered[take - 1]
    above = [label for score, label in zip(scores, churned, strict=True) if score > boundary]
    tied = [label for score, label in zip(scores, churned, strict=True) if score == boundary]
    from_tie = take - len(above)
    hits = sum(above) + from_tie * sum(tied) / len(tied)
    return hits / take


@dataclass(frozen=True)
class Metrics:
    rows: int
    churned: int
    auc: float | None
    precision: tuple[tuple[float, float | None], ...]
    """(fraction, precision) for each of :data:`TOP_FRACTIONS`."""

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.rows if self.rows else None


def metrics(scores: Sequence[float], churned: Sequence[bool]) -> Metrics:
    """AUC and top-k precisions of a risk score (higher = more likely to churn)."""
    return Metrics(
        rows=len(scores),
        churned=sum(churned),
        auc=roc_auc(list(scores), list(churned)),
        precision=tuple(
            (fraction, precision_at(scores, churned, fraction)) for fraction in TOP_FRACTIONS
        ),
    )


@dataclass(frozen=True)
class CalibrationGroup:
    rows: int
    mean_predicted: float
    observed: float


def calibration_table(
    probabilities: Sequence[float], churned: Sequence[bool], groups: int = CALIBRATION_GROUPS
) -> list[CalibrationGroup]:
    """Rows sorted by predicted probability (stable), cut into ``groups`` groups of equal size
    (the first groups one row larger when it does not divide): mean prediction vs churn rate."""
    order = sorted(range(len(probabilities)), key=lambda index: probabilities[index])
    table = []
    for part in np.array_split(np.array(order, dtype=np.int64), groups):
        if len(part) == 0:
            continue
        table.append(
            CalibrationGroup(
                rows=len(part),
                mean_predicted=float(np.mean([probabilities[index] for index in part])),
                observed=float(np.mean([churned[index] for index in part])),
            )
        )
    return table


# --- rows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rows:
    """Snapshot rows as arrays: keys, feature values (NaN = missing) and labels."""

    customer_ids: list[str]
    dates: list[date]
    values: Matrix
    churned: Matrix

    @classmethod
    def from_arrow(cls, table: pa.Table, features: Sequence[str]) -> Rows:
        table = table.sort_by([("as_of", "ascending"), ("customer_id", "ascending")])
        columns = [
            table[name].to_numpy(zero_copy_only=False).astype(np.float64) for name in features
        ]
        values = np.column_stack(columns) if columns else np.zeros((table.num_rows, 0))
        churned = (
            table["churned"].to_numpy(zero_copy_only=False).astype(np.float64)
            if "churned" in table.column_names
            else np.zeros(table.num_rows)
        )
        return cls(
            customer_ids=table["customer_id"].to_pylist(),
            dates=table["as_of"].to_pylist(),
            values=np.asarray(values, dtype=np.float64),
            churned=churned,
        )


def train(
    inputs: HealthInputs,
    dates: Sequence[date],
    backend: Any,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    features: Sequence[ChurnFeature] = FEATURES,
    l2: float = DEFAULT_L2,
) -> ChurnModel:
    """Fit on every account in service on each of ``dates``, labelled by the inputs given."""
    table = backend.to_pyarrow(labelled_feature_table(inputs, dates, horizon_days, features))
    rows = Rows.from_arrow(table, feature_names(features))
    return fit(feature_names(features), rows.values, rows.churned, l2)


def holdout_rows(
    inputs: HealthInputs,
    dates: Sequence[date],
    backend: Any,
    horizon_days: int,
    features: Sequence[ChurnFeature] = FEATURES,
) -> Rows:
    """Labelled rows of ``dates`` (features read only what was known on each date)."""
    table = labelled_feature_table(inputs, dates, horizon_days, features)
    return Rows.from_arrow(backend.to_pyarrow(table), feature_names(features))


def health_scores(
    inputs: HealthInputs, scorecard: Scorecard, dates: Sequence[date], backend: Any
) -> dict[tuple[str, date], float]:
    """(customer_id, date) → score on each date, from the inputs as known that day."""
    scores: dict[tuple[str, date], float] = {}
    for day in dates:
        history = score_history(known_on(inputs, day), scorecard, [day])
        table = backend.to_pyarrow(history.select("customer_id", "as_of", "score"))
        for key, as_of, score in zip(
            table["customer_id"].to_pylist(),
            table["as_of"].to_pylist(),
            table["score"].to_pylist(),
            strict=True,
        ):
            if score is not None:
                scores[(key, as_of)] = score
    return scores


# --- report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """A health scorecard against the model on the test rows the scorecard scores."""

    scorecard: str
    health: Metrics
    model: Metrics


@dataclass(frozen=True)
class EvaluationReport:
    horizon_days: int
    cutoff: date
    train_snapshots: tuple[date, ...]
    test_snapshots: tuple[date, ...]
    trained: ChurnModel
    model: Metrics
    calibration: tuple[CalibrationGroup, ...]
    comparisons: tuple[Comparison, ...]


def split_snapshots(
    dates: Sequence[date], horizon_days: int, test_months: int, cutoff: date | None = None
) -> tuple[date, list[date], list[date]]:
    """``(cutoff, train dates, test dates)``: test = the snapshots on or after the cutoff (by
    default the last ``test_months``), train = those whose horizon ends by the cutoff."""
    ordered = sorted(dates)
    if cutoff is None:
        if test_months < 1:
            raise ValueError("at least one test month is needed")
        held = ordered[-test_months:]
        if not held:
            raise ValueError("no labelled snapshot: the data is shorter than the churn horizon")
        cutoff = held[0]
    test = [day for day in ordered if day >= cutoff]
    train = [day for day in ordered if day + timedelta(days=horizon_days) <= cutoff]
    if not test:
        raise ValueError(f"no labelled snapshot on or after the cutoff {cutoff}")
    if not train:
        raise ValueError(
            f"no training snapshot: nothing ends its {horizon_days}-day horizon by {cutoff}"
        )
    return cutoff, train, test


def evaluate(
    inputs: HealthInputs,
    backend: Any,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    test_months: int = DEFAULT_TEST_MONTHS,
    cutoff: date | None = None,
    scorecards: Mapping[str, Scorecard] | None = None,
    features: Sequence[ChurnFeature] = FEATURES,
    l2: float = DEFAULT_L2,
) -> EvaluationReport:
    """Train before the cutoff, test after it (see the module docstring)."""
    first, last = data_period(inputs, backend)
    snapshots = labelled_snapshots(first, last, horizon_days)
    cutoff, train_dates, test_dates = split_snapshots(snapshots, horizon_days, test_months, cutoff)
    model = train(known_on(inputs, cutoff), train_dates, backend, horizon_days, features, l2)
    rows = holdout_rows(inputs, test_dates, backend, horizon_days, features)
    probabilities = [float(value) for value in predict(model, rows.values)]
    churned = [bool(value) for value in rows.churned]
    keys = list(zip(rows.customer_ids, rows.dates, strict=True))
    comparisons = []
    for name, scorecard in (scorecards or {}).items():
        scores = health_scores(inputs, scorecard, test_dates, backend)
        scored = [index for index, key in enumerate(keys) if key in scores]
        labels = [churned[index] for index in scored]
        comparisons.append(
            Comparison(
                scorecard=name,
                health=metrics([-scores[keys[index]] for index in scored], labels),
                model=metrics([probabilities[index] for index in scored], labels),
            )
        )
    return EvaluationReport(
        horizon_days=horizon_days,
        cutoff=cutoff,
        train_snapshots=tuple(train_dates),
        test_snapshots=tuple(test_dates),
        trained=model,
        model=metrics(probabilities, churned),
        calibration=tuple(calibration_table(probabilities, churned)),
        comparisons=tuple(comparisons),
    )
