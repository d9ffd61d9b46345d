"""Health results as JSON-ready dictionaries and CSV rows (for the CLI and exports)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from kizuna.engine.health import AccountHealth, Scorecard
from kizuna.engine.health_calibration import CalibrationReport


def account_to_dict(account: AccountHealth) -> dict[str, Any]:
    return {
        "customer_id": account.customer_id,
        "as_of": account.as_of.isoformat(),
        "score": account.score,
        "status": account.status,
        "coverage": account.coverage,
        "missing": account.missing,
        "components": [
            {
                "name": component.name,
                "measure": component.measure,
                "value": component.value,
                "points": component.points,
                "weight": component.weight,
                "missing": component.missing,
            }
            for component in account.components
        ],
        "trend": [
            {
                "days": change.days,
                "direction": change.direction,
                "score_delta": change.score_delta,
                "component_deltas": change.component_deltas,
            }
            for change in account.changes
        ],
    }


def accounts_to_csv(scorecard: Scorecard, accounts: Sequence[AccountHealth]) -> str:
    """One row per account; each component as ``<name>_value``, ``_points``, ``_missing``."""
    header = ["customer_id", "as_of", "score", "status", "coverage", "missing"]
    for component in scorecard.components:
        header += [f"{component.name}_{part}" for part in ("value", "points", "weight", "missing")]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for account in accounts:
        row: list[Any] = [
            account.customer_id,
            account.as_of.isoformat(),
            "" if account.score is None else account.score,
            account.status,
            account.coverage,
            ";".join(account.missing),
        ]
        for result in account.components:
            row += [
                "" if result.value is None else result.value,
                "" if result.points is None else result.points,
                result.weight,
                "true" if result.missing else "false",
            ]
        writer.writerow(row)
    return buffer.getvalue()


def calibration_to_dict(report: CalibrationReport) -> dict[str, Any]:
    return {
        "scorecard": report.scorecard,
        "snapshots": [day.isoformat() for day in report.snapshots],
        "horizon_days": report.horizon_days,
        "churned": report.churned,
        "retained": report.retained,
        "score_auc": _rounded(report.score_auc),
        "components": [
            {
                "name": item.name,
                "observations": item.observations,
                "mean_points_churned": _rounded(item.mean_points_churned),
                "mean_points_retained": _rounded(item.mean_points_retained),
                "difference": _rounded(item.difference),
                "auc": _rounded(item.auc),
                "current_weight": item.current_weight,
                "proposed_weight": item.proposed_weight,
            }
            for item in report.components
        ],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
