"""Weight calibration (SPEC H6): how well each component, and the whole score, foretold churn.

On a series of past snapshot dates T, every account in service at T is labelled *churned* when
it has no recurring subscription item in service at T + ``horizon_days`` (90 by default), and
*retained* otherwise. Only snapshots whose horizon is inside the data are used. For each
component the mean points of both groups, their difference and the ROC AUC are reported; the
proposed weights are proportional to each component's lift over chance (AUC − 0.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import ibis

from kizuna.engine.health import Scorecard, effective_weight, score_history
from kizuna.engine.health_inputs import HealthInputs, as_of_grid

DEFAULT_HORIZON_DAYS = 90


def roc_auc(values: Sequence[float], positives: Sequence[bool]) -> float | None:
    """Exact ROC AUC by ranks (Mann–Whitney): the probability that a random positive has a
    higher value than a random negative, ties counting one half. ``None`` when a class is empty."""
    if len(values) != len(positives):
        raise ValueError("values and labels differ in length")
    order = sorted(range(len(values)), key=lambda index: values[index])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        # Tied values share the mean of the ranks they occupy (ranks count from 1).
        shared = (start + end) / 2 + 1
        for position in range(start, end + 1):
            ranks[order[position]] = shared
        start = end + 1
    n_positive = sum(1 for positive in positives if positive)
    n_negative = len(values) - n_positive
    if n_positive == 0 or n_negative == 0:
        return None
    rank_sum = sum(rank for rank, positive in zip(ranks, positives, strict=True) if positive)
    return (rank_sum - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative)


@dataclass(frozen=True)
class ComponentCalibration:
    name: str
    observations: int
    mean_points_churned: float | None
    mean_points_retained: float | None
    auc: float | None
    """AUC of the component's points as a predictor of *retention* (0.5 = no information)."""
    current_weight: float
    proposed_weight: float | None

    @property
    def difference(self) -> float | None:
        if self.mean_points_churned is None or self.mean_points_retained is None:
            return None
        return self.mean_points_retained - self.mean_points_churned


@dataclass(frozen=True)
class CalibrationReport:
    scorecard: str
    snapshots: tuple[date, ...]
    horizon_days: int
    churned: int
    retained: int
    components: tuple[ComponentCalibration, ...]
    score_auc: float | None


def snapshot_dates(first: date, last: date, every_days: int, horizon_days: int) -> list[date]:
    """Snapshots every ``every_days`` from ``first`` whose churn horizon ends by ``last``."""
    dates = []
    current = first
    while current + timedelta(days=horizon_days) <= last:
        dates.append(current)
        current += timedelta(days=every_days)
    return dates


# Feeds whose dates bound the period the data covers: (input, date column).
_DATED_FEEDS = (
    ("usage_daily", "date"),
    ("feature_usage", "date"),
    ("nps", "responded_on"),
    ("tickets", "opened_at"),
    ("activities", "occurred_at"),
)


def data_period(inputs: HealthInputs, backend: Any) -> tuple[date, date]:
    """First and last dates of the activity feeds (subscription starts when there are none)."""
    bounds = []
    for name, column in _DATED_FEEDS:
        table = inputs.table(name)
        if table is not None:
            day = table[column].cast("date")
            bounds.append(table.aggregate(first=day.min(), last=day.max()))
    if not bounds and inputs.subscriptions is not None:
        start = inputs.subscriptions.start_date
        bounds.append(inputs.subscriptions.aggregate(first=start.min(), last=start.max()))
    if not bounds:
        raise ValueError("no dated input")
    combined = ibis.union(*bounds)
    row = backend.to_pyarrow(
        combined.aggregate(first=combined.first.min(), last=combined.last.max())
    )
    first, last = row.column("first")[0].as_py(), row.column("last")[0].as_py()
    if first is None or last is None:
        raise ValueError("the inputs hold no dated rows")
    return first, last


def churn_labels(inputs: HealthInputs, dates: Sequence[date], horizon_days: int) -> Any:
    """``customer_id, as_of, churned`` for every account in service on each date."""
    now = as_of_grid(inputs, dates).table
    later = as_of_grid(inputs, [day + timedelta(days=horizon_days) for day in dates]).table
    later = later.select(
        "customer_id", as_of=(later.as_of - ibis.interval(days=horizon_days)).cast("date")
    )
    later = later.mutate(still=ibis.literal(True))
    joined = now.left_join(later, ["customer_id", "as_of"])
    return joined.select(
        customer_id=now.customer_id, as_of=now.as_of, churned=joined.still.isnull()
    )


def calibrate(
    inputs: HealthInputs,
    scorecard: Scorecard,
    dates: Sequence[date],
    backend: Any,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> CalibrationReport:
    if not dates:
        raise ValueError("no snapshot date leaves room for the churn horizon inside the data")
    history = score_history(inputs, scorecard, dates)
    labels = churn_labels(inputs, dates, horizon_days)
    labelled = history.join(labels, ["customer_id", "as_of"])
    rows = backend.to_pyarrow(labelled).to_pylist()
    churned = [bool(row["churned"]) for row in rows]
    components = []
    lifts: dict[str, float] = {}
    for component in scorecard.components:
        points = [row[f"{component.name}__points"] for row in rows]
        present = [
            (value, label)
            for value, label, missing in zip(
                points, churned, (row[f"{component.name}__missing"] for row in rows), strict=True
            )
            if value is not None and not missing
        ]
        values = [value for value, _ in present]
        labels_present = [label for _, label in present]
        auc = roc_auc(values, [not label for label in labels_present])
        lifts[component.name] = max((auc or 0.5) - 0.5, 0.0)
        components.append(
            ComponentCalibration(
                name=component.name,
                observations=len(present),
                mean_points_churned=_mean([v for v, label in present if label]),
                mean_points_retained=_mean([v for v, label in present if not label]),
                auc=auc,
                current_weight=effective_weight(scorecard, component),
                proposed_weight=None,
            )
        )
    proposed = _proposed_weights(scorecard, lifts)
    components = [
        ComponentCalibration(**{**item.__dict__, "proposed_weight": proposed.get(item.name)})
        for item in components
    ]
    scored = [(row["score"], label) for row, label in zip(rows, churned, strict=True)]
    scored = [(score, label) for score, label in scored if score is not None]
    score_auc = roc_auc([score for score, _ in scored], [not label for _, label in scored])
    return CalibrationReport(
        scorecard=scorecard.name,
        snapshots=tuple(dates),
        horizon_days=horizon_days,
        churned=sum(churned),
        retained=len(churned) - sum(churned),
        components=tuple(components),
        score_auc=score_auc,
    )


def _proposed_weights(scorecard: Scorecard, lifts: dict[str, float]) -> dict[str, float]:
    """Weights proportional to lift over chance, summing to the scorecard's current total
    (100 points for preset A, 1.0 for preset B); empty when no component beats chance."""
    total_lift = sum(lifts.values())
    if total_lift <= 0:
        return {}
    total_weight = sum(effective_weight(scorecard, c) for c in scorecard.components)
    # Points are whole numbers in practice; fractional weights keep two decimals.
    digits = 0 if scorecard.method == "points" else 2
    return {name: round(total_weight * lift / total_lift, digits) for name, lift in lifts.items()}


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None
