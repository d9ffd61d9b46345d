"""``kizuna churn-model``: the holdout report over the store, and clear errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from prediction_support import AS_OF

from kizuna.engine.churn_features import feature_names
from kizuna.prediction.models import ChurnPrediction

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("churn-model", *args, stdout=out)
    return out.getvalue()


def test_evaluate_reports_the_model_beside_presets_a_and_b(demo_store: None) -> None:
    report = json.loads(_run("evaluate", "--test-months=3"))
    assert report["horizon_days"] == 90
    assert len(report["test"]["snapshots"]) == 3
    assert report["cutoff"] == report["test"]["snapshots"][0]
    assert [item["scorecard"] for item in report["health_scores"]] == ["A", "B"]
    model = report["model"]
    assert set(model) == {
        "rows",
        "churned",
        "churn_rate",
        "auc",
        "precision_at_5pct",
        "precision_at_10pct",
    }
    assert sum(group["rows"] for group in report["calibration"]) == model["rows"]
    assert len(report["calibration"]) == 10
    assert list(report["coefficients"]) == feature_names()
    assert list(report["missing_coefficients"]) == feature_names()


def test_text_format_and_recompute(demo_store: None) -> None:
    text = _run("evaluate", "--format=text", "--test-months=3")
    assert "Churn within 90 days: time-based holdout" in text
    assert "Health score B" in text
    message = _run("recompute", f"--as-of={AS_OF.isoformat()}")
    assert message.startswith(f"{ChurnPrediction.objects.filter(as_of=AS_OF).count()} churn")


def test_errors_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not a folder"):
        _run("evaluate", f"--input={tmp_path / 'missing'}")
    with pytest.raises(CommandError, match="--horizon-days must be at least 1"):
        _run("evaluate", "--horizon-days=-3")
    with pytest.raises(CommandError, match="no churn model trained"):
        _run("recompute", "--as-of=2025-06-30")
