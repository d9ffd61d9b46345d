"""Churn model: L2-regularised logistic regression fitted by Newton's method (IRLS) in numpy.

Design matrix: every feature, missing values replaced by the feature's training mean, plus a
0/1 "missing" indicator per feature; each column is standardised with the training mean and
standard deviation (a column constant in training gets scale 1, so it stays 0 there and its
coefficient 0). The intercept is not penalised. The fit is deterministic: Newton steps from
zero until no coefficient moves by more than :data:`TOLERANCE`.

A row's *reasons* are its features ranked by contribution to the log-odds, coefficient ×
standardised value, with a feature's missing indicator counted with the feature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float64]

DEFAULT_L2 = 1.0
"""Penalty on the squared standardised coefficients: small beside thousands of rows, enough to
keep the fit finite when a feature separates the classes."""
TOLERANCE = 1e-10
MAX_ITERATIONS = 100


class ChurnModelError(ValueError):
    """The training data cannot give a model (no rows, or one class only)."""


def sigmoid(values: Matrix) -> Matrix:
    # exp(−log(1 + e^−z)) is 1 / (1 + e^−z) without overflow for large |z|.
    result: Matrix = np.exp(-np.logaddexp(0.0, -values))
    return result


def fit_logistic(design: Matrix, labels: Matrix, l2: float) -> tuple[float, Matrix]:
    """Intercept and coefficients minimising the logistic loss + ``l2`` / 2 × ‖coefficients‖²."""
    if l2 <= 0:
        raise ChurnModelError("the L2 penalty must be positive")
    rows, columns = design.shape
    augmented = np.hstack([np.ones((rows, 1)), design])
    penalty = np.eye(columns + 1) * l2
    penalty[0, 0] = 0.0
    weights = np.zeros(columns + 1)
    for _ in range(MAX_ITERATIONS):
        probability = sigmoid(augmented @ weights)
        gradient = augmented.T @ (probability - labels) + penalty @ weights
        curvature = probability * (1.0 - probability)
        hessian = (augmented * curvature[:, None]).T @ augmented + penalty
        step = np.linalg.solve(hessian, gradient)
        weights = weights - step
        if np.max(np.abs(step)) < TOLERANCE:
            break
    else:
        raise ChurnModelError(f"the fit did not converge in {MAX_ITERATIONS} Newton steps")
    return float(weights[0]), weights[1:]


@dataclass(frozen=True)
class ChurnModel:
    """A fitted model: everything needed to score new rows, in plain floats (JSON-ready)."""

    features: tuple[str, ...]
    fill: tuple[float, ...]
    """Training mean of each feature, used for its missing values."""
    centres: tuple[float, ...]
    scales: tuple[float, ...]
    """Standardisation of the design columns: the features, then their missing indicators."""
    intercept: float
    coefficients: tuple[float, ...]
    l2: float
    rows: int
    positives: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "fill": list(self.fill),
            "centres": list(self.centres),
            "scales": list(self.scales),
            "intercept": self.intercept,
            "coefficients": list(self.coefficients),
            "l2": self.l2,
            "rows": self.rows,
            "positives": self.positives,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChurnModel:
        return cls(
            features=tuple(data["features"]),
            fill=tuple(float(value) for value in data["fill"]),
            centres=tuple(float(value) for value in data["centres"]),
            scales=tuple(float(value) for value in data["scales"]),
            intercept=float(data["intercept"]),
            coefficients=tuple(float(value) for value in data["coefficients"]),
            l2=float(data["l2"]),
            rows=int(data["rows"]),
            positives=int(data["positives"]),
        )


def _raw_design(values: Matrix, fill: Matrix) -> Matrix:
    missing = np.isnan(values)
    filled = np.where(missing, fill, values)
    return np.hstack([filled, missing.astype(np.float64)])


def fit(
    features: Sequence[str], values: Matrix, churned: Matrix, l2: float = DEFAULT_L2
) -> ChurnModel:
    """Fit on ``values`` (rows × features, NaN = missing) and 0/1 labels ``churned``."""
    values = np.asarray(values, dtype=np.float64)
    churned = np.asarray(churned, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(features):
        raise ChurnModelError(f"expected a matrix with {len(features)} feature columns")
    if values.shape[0] != churned.shape[0]:
        raise ChurnModelError("features and labels differ in length")
    positives = int(churned.sum())
    if values.shape[0] == 0 or positives in (0, values.shape[0]):
        raise ChurnModelError(
            "training needs both churned and retained accounts "
            f"({positives} churned of {values.shape[0]} rows)"
        )
    present = ~np.isnan(values)
    counts = present.sum(axis=0)
    sums = np.where(present, values, 0.0).sum(axis=0)
    fill = np.divide(sums, counts, out=np.zeros(len(features)), where=counts > 0)
    raw = _raw_design(values, fill)
    centres = raw.mean(axis=0)
    spread = raw.std(axis=0)
    scales = np.where(spread > 0, spread, 1.0)
    intercept, coefficients = fit_logistic((raw - centres) / scales, churned, l2)
    return ChurnModel(
        features=tuple(features),
        fill=tuple(float(value) for value in fill),
        centres=tuple(float(value) for value in centres),
        scales=tuple(float(value) for value in scales),
        intercept=intercept,
        coefficients=tuple(float(value) for value in coefficients),
        l2=l2,
        rows=int(values.shape[0]),
        positives=positives,
    )


def standardised(model: ChurnModel, values: Matrix) -> Matrix:
    values = np.asarray(values, dtype=np.float64).reshape(-1, len(model.features))
    raw = _raw_design(values, np.array(model.fill))
    result: Matrix = (raw - np.array(model.centres)) / np.array(model.scales)
    return result


def contributions(model: ChurnModel, values: Matrix) -> Matrix:
    """Rows × features: each feature's share of the log-odds (its value and its missing
    indicator), relative to the training average."""
    terms = standardised(model, values) * np.array(model.coefficients)
    count = len(model.features)
    result: Matrix = terms[:, :count] + terms[:, count:]
    return result


def predict(model: ChurnModel, values: Matrix) -> Matrix:
    """Churn probability of every row."""
    logits = model.intercept + standardised(model, values) @ np.array(model.coefficients)
    return sigmoid(logits)


@dataclass(frozen=True)
class Reason:
    """A feature that raises the row's churn risk: its value (``None`` = missing) and its
    contribution to the log-odds."""

    feature: str
    value: float | None
    contribution: float


def reasons(model: ChurnModel, values: Matrix, top: int = 3) -> list[list[Reason]]:
    """Per row, up to ``top`` features with the largest positive contribution, largest first
    (ties in feature order)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1, len(model.features))
    shares = contributions(model, values)
    result = []
    for row, share in zip(values, shares, strict=True):
        order = sorted(range(len(model.features)), key=lambda index: (-share[index], index))
        result.append(
            [
                Reason(
                    feature=model.features[index],
                    value=None if np.isnan(row[index]) else float(row[index]),
                    contribution=float(share[index]),
                )
                for index in order[:top]
                if share[index] > 0
            ]
        )
    return result
