"""The logistic fit: known maximum-likelihood answers, the L2 optimum, imputation and reasons."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kizuna.engine.churn_model import (
    ChurnModel,
    ChurnModelError,
    contributions,
    fit,
    fit_logistic,
    predict,
    reasons,
    sigmoid,
)

NAN = float("nan")
# Essentially no penalty: the fit is the maximum-likelihood one.
TINY = 1e-9

# x = 0: one churn in four; x = 1: three churns in four.
X = [[0.0]] * 4 + [[1.0]] * 4
CHURNED = [1, 0, 0, 0, 1, 1, 1, 0]


def test_one_binary_feature_reproduces_the_group_churn_rates() -> None:
    model = fit(["x"], np.array(X), np.array(CHURNED), l2=TINY)
    # Standardised x is −1 / +1 (mean ½, sd ½), so logit = b ± w with b − w = ln ⅓, b + w = ln 3.
    assert model.intercept == pytest.approx(0.0, abs=1e-7)
    assert model.coefficients[0] == pytest.approx(math.log(3), abs=1e-7)
    # The missing indicator never varies: scale 1, coefficient 0.
    assert model.coefficients[1] == pytest.approx(0.0, abs=1e-12)
    assert (model.rows, model.positives) == (8, 4)
    assert predict(model, np.array([[0.0], [1.0]])) == pytest.approx([0.25, 0.75], abs=1e-7)


def test_the_l2_penalty_shrinks_to_its_hand_derived_optimum() -> None:
    # With b = 0 by symmetry, the gradient in w is 4(σ(w) − ¾) − 4(σ(−w) − ¼) + λw
    # = 8σ(w) − 6 + λw, which is zero at the optimum.
    design = np.array([[-1.0]] * 4 + [[1.0]] * 4)
    intercept, (weight,) = fit_logistic(design, np.array(CHURNED, dtype=float), l2=2.0)
    assert intercept == pytest.approx(0.0, abs=1e-12)
    assert 8 * sigmoid(np.array(weight)) - 6 + 2.0 * weight == pytest.approx(0.0, abs=1e-12)
    assert 0 < weight < math.log(3)


def test_missing_values_get_the_training_mean_and_their_own_indicator() -> None:
    # Missing: one churn in two; 0: one in four; 1: three in four (three groups, three parameters).
    values = np.array([[NAN], [NAN], *X])
    churned = np.array([1, 0, *CHURNED])
    model = fit(["x"], values, churned, l2=TINY)
    assert model.fill == (0.5,)
    assert predict(model, np.array([[NAN], [0.0], [1.0]])) == pytest.approx(
        [0.5, 0.25, 0.75], abs=1e-6
    )


def test_reasons_are_the_features_raising_the_log_odds() -> None:
    model = fit(["x", "flat"], np.array([[x, 3.0] for (x,) in X]), np.array(CHURNED), l2=TINY)
    shares = contributions(model, np.array([[1.0, 3.0], [0.0, 3.0]]))
    assert shares[:, 0] == pytest.approx([math.log(3), -math.log(3)], abs=1e-6)
    assert shares[:, 1] == pytest.approx([0.0, 0.0], abs=1e-12)
    high, low = reasons(model, np.array([[1.0, 3.0], [0.0, NAN]]))
    assert [(reason.feature, reason.value) for reason in high] == [("x", 1.0)]
    assert high[0].contribution == pytest.approx(math.log(3), abs=1e-6)
    assert low == []


def test_the_fit_is_deterministic_and_round_trips_as_json_data() -> None:
    values = np.array([[x, float(index % 3)] for index, (x,) in enumerate(X)])
    first = fit(["x", "y"], values, np.array(CHURNED))
    assert fit(["x", "y"], values, np.array(CHURNED)) == first
    assert ChurnModel.from_dict(first.to_dict()) == first


def test_one_class_only_cannot_train() -> None:
    with pytest.raises(ChurnModelError, match=r"retained accounts \(0 churned of 8 rows\)"):
        fit(["x"], np.array(X), np.zeros(8))
