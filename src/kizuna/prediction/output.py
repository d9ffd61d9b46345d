"""The churn model's evaluation as a JSON-ready dictionary and as text (for the CLI)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from kizuna.engine.churn_evaluation import EvaluationReport, Metrics
from kizuna.engine.churn_model import ChurnModel


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def metrics_to_dict(metrics: Metrics) -> dict[str, Any]:
    return {
        "rows": metrics.rows,
        "churned": metrics.churned,
        "churn_rate": _rounded(metrics.churn_rate),
        "auc": _rounded(metrics.auc),
        **{
            f"precision_at_{round(fraction * 100)}pct": _rounded(precision)
            for fraction, precision in metrics.precision
        },
    }


def report_to_dict(report: EvaluationReport) -> dict[str, Any]:
    model = report.trained
    return {
        "horizon_days": report.horizon_days,
        "cutoff": report.cutoff.isoformat(),
        "train": {
            "snapshots": [day.isoformat() for day in report.train_snapshots],
            "rows": model.rows,
            "churned": model.positives,
        },
        "test": {"snapshots": [day.isoformat() for day in report.test_snapshots]},
        "model": metrics_to_dict(report.model),
        "calibration": [
            {
                "rows": group.rows,
                "mean_predicted": _rounded(group.mean_predicted),
                "observed": _rounded(group.observed),
            }
            for group in report.calibration
        ],
        "health_scores": [
            {
                "scorecard": comparison.scorecard,
                "health": metrics_to_dict(comparison.health),
                "model_on_same_rows": metrics_to_dict(comparison.model),
            }
            for comparison in report.comparisons
        ],
        "coefficients": dict(zip(model.features, _coefficients(model, 0), strict=True)),
        "missing_coefficients": dict(
            zip(model.features, _coefficients(model, len(model.features)), strict=True)
        ),
    }


def _coefficients(model: ChurnModel, start: int) -> list[float]:
    """The standardised coefficients of the features (``start`` 0) or of their missing
    indicators (``start`` = the number of features)."""
    return [round(value, 4) for value in model.coefficients[start : start + len(model.features)]]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _metrics_line(name: str, metrics: Metrics) -> str:
    at_5, at_10 = (precision for _, precision in metrics.precision)
    return f"  {name:<28} {_number(metrics.auc):>7} {_percent(at_5):>9} {_percent(at_10):>9}"


def report_to_text(report: EvaluationReport) -> str:
    model = report.trained
    lines = [
        _("Churn within %(days)s days: time-based holdout") % {"days": report.horizon_days},
        _(
            "Cutoff %(cutoff)s; trained on %(snapshots)s snapshots "
            "(%(rows)s rows, %(churned)s churned)"
        )
        % {
            "cutoff": report.cutoff.isoformat(),
            "snapshots": len(report.train_snapshots),
            "rows": model.rows,
            "churned": model.positives,
        },
        _("Tested on %(first)s – %(last)s (%(rows)s rows, %(churned)s churned)")
        % {
            "first": report.test_snapshots[0].isoformat(),
            "last": report.test_snapshots[-1].isoformat(),
            "rows": report.model.rows,
            "churned": report.model.churned,
        },
        "",
        f"  {'':<28} {'ROC AUC':>7} {'top 5 %':>9} {'top 10 %':>9}",
        _metrics_line(_("Churn model"), report.model),
    ]
    for comparison in report.comparisons:
        lines.append(
            _metrics_line(
                _("Health score %(name)s") % {"name": comparison.scorecard}, comparison.health
            )
        )
        if comparison.health.rows != report.model.rows:
            lines.append(
                _metrics_line(
                    _("  model on the same %(rows)s rows") % {"rows": comparison.health.rows},
                    comparison.model,
                )
            )
    lines += ["", _("Calibration (deciles of predicted probability):")]
    lines.append(f"  {_('rows'):>6} {_('predicted'):>10} {_('observed'):>10}")
    for group in report.calibration:
        lines.append(
            f"  {group.rows:>6} {_percent(group.mean_predicted):>10} {_percent(group.observed):>10}"
        )
    return "\n".join(lines) + "\n"
