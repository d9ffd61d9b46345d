"""Churn predictions: the probability each account churns within the model's horizon.

``kizuna recompute`` (its churn step) trains a model as of a day and stores one prediction per
account in service that day, replacing the day's earlier ones. Requests read those rows for
one day (the latest by default), limited to the accounts the caller may see, riskiest first.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from kizuna.api.errors import ERRORS
from kizuna.api.pagination import PageIn, PageOut
from kizuna.api.schemas import Id, Text
from kizuna.crm.access import visible_accounts
from kizuna.prediction.display import exact_probability, latest_prediction_day
from kizuna.prediction.models import ChurnPrediction

router = Router(tags=["prediction"])

# The days a recompute can be as of; any other day is refused as invalid rather than answered
# as a day without predictions.
EARLIEST_AS_OF = date(1971, 1, 1)
LATEST_AS_OF = date(2999, 12, 31)


class ChurnModelOut(Schema):
    version: int = Field(description="The model's number; each recompute trains a new one.")
    as_of: date = Field(description="The day it was trained as of.")
    trained_at: datetime
    horizon_days: int = Field(description="The probability is of churn within these days.")


class ChurnReasonOut(Schema):
    feature: str = Field(description="A feature of docs/prediction.md, e.g. login_change.")
    value: float | None = Field(description="Its value in the measure's unit; null: no data.")
    contribution: float = Field(description="What it adds to the log-odds of churn.")


class ChurnPredictionOut(Schema):
    account_id: int
    as_of: date
    probability: str = Field(
        examples=["0.2345"], description="Between 0 and 1, every stored digit, as a string."
    )
    model: ChurnModelOut
    reasons: list[ChurnReasonOut] = Field(
        description="Up to three features that raise the probability most, largest first."
    )


class ChurnPredictionFilters(Schema):
    as_of: date | None = Field(
        None,
        ge=EARLIEST_AS_OF,
        le=LATEST_AS_OF,
        description="A day a recompute stored predictions for (default: the latest such day).",
    )
    account_id: Id | None = None
    min_probability: float | None = Field(
        None, ge=0, le=1, description="Only probabilities at least this (0 to 1)."
    )
    owner: Text | None = Field(None, description="The account's sales owner (user name).")
    cs_owner: Text | None = Field(None, description="The account's CS owner (user name).")


def probability_text(probability: float) -> str:
    """The stored probability as a plain decimal string with the digits of its shortest
    representation (``0.1``, not the binary expansion; never an exponent)."""
    return format(exact_probability(probability), "f")


def _prediction_out(row: ChurnPrediction) -> ChurnPredictionOut:
    return ChurnPredictionOut(
        account_id=row.account_id,
        as_of=row.as_of,
        probability=probability_text(row.probability),
        model=ChurnModelOut(
            version=row.model_id,
            as_of=row.model.as_of,
            trained_at=row.model.trained_at,
            horizon_days=row.model.horizon_days,
        ),
        reasons=[ChurnReasonOut(**reason) for reason in row.reasons],
    )


@router.get("/churn-predictions", response={200: PageOut[ChurnPredictionOut], **ERRORS})
def list_churn_predictions(
    request: HttpRequest, page: Query[PageIn], filters: Query[ChurnPredictionFilters]
) -> dict[str, Any]:
    """The predictions a recompute stored for a day, on the accounts you may see, by
    probability, highest first. A day no recompute stored has none."""
    as_of = filters.as_of or latest_prediction_day()
    if as_of is None:
        return {"items": [], "count": 0}
    accounts = visible_accounts(request.user)
    if filters.account_id:
        accounts = accounts.filter(pk=filters.account_id)
    if filters.owner:
        accounts = accounts.filter(owner__username=filters.owner)
    if filters.cs_owner:
        accounts = accounts.filter(cs_owner__username=filters.cs_owner)
    rows = ChurnPrediction.objects.filter(as_of=as_of, account__in=accounts.values("pk"))
    if filters.min_probability is not None:
        rows = rows.filter(probability__gte=filters.min_probability)
    rows = rows.order_by("-probability", "account_id")
    window = rows.select_related("model")[page.offset : page.offset + page.limit]
    return {"items": [_prediction_out(row) for row in window], "count": rows.count()}
