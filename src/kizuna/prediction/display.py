"""The churn prediction as the account page shows it: probability, horizon and reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Max
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kizuna.crm.models import Account
from kizuna.prediction.models import ChurnPrediction

FEATURE_LABELS: dict[str, tuple[Promise, Promise | str | None]] = {
    "login_frequency": (gettext_lazy("Login frequency"), gettext_lazy("days/week")),
    "login_change": (gettext_lazy("Change in login frequency"), gettext_lazy("days/week")),
    "active_user_rate": (gettext_lazy("Active-user rate"), "%"),
    "core_features": (gettext_lazy("Core features used"), None),
    "seat_growth": (gettext_lazy("Seat growth over 90 days"), "%"),
    "nps": (gettext_lazy("NPS (average score)"), None),
    "tickets": (gettext_lazy("Support tickets in 90 days"), None),
    "critical_bug": (gettext_lazy("Critical bug in 30 days"), None),
    "cs_meetings": (gettext_lazy("CS meetings in 90 days"), None),
    "renewal_due": (gettext_lazy("Renewal within the horizon"), None),
    "days_to_renewal": (gettext_lazy("Days to renewal"), None),
    "pricing_page_views": (gettext_lazy("Viewed pricing pages in 30 days"), None),
    "contracted_seats": (gettext_lazy("Contracted seats"), None),
    "tenure": (gettext_lazy("Customer for"), gettext_lazy("years")),
}
"""Feature → (label, unit) for people; every feature of the model has one."""

# Features that are 0/1 indicators, shown as yes / no.
YES_NO = frozenset({"critical_bug", "renewal_due", "pricing_page_views"})


def reason_text(reason: Mapping[str, Any]) -> str:
    """ "Label: value unit" for a stored reason; a missing value reads "no data"."""
    feature = str(reason["feature"])
    label, unit = FEATURE_LABELS.get(feature, (feature, None))
    value = reason.get("value")
    if value is None:
        shown = _("no data")
    elif feature in YES_NO:
        shown = _("yes") if value >= 0.5 else _("no")
    else:
        shown = number_format(round(float(value), 1), decimal_pos=1 if value % 1 else 0)
        if unit is not None:
            shown = f"{shown} {unit}"
    return f"{label}: {shown}"


@dataclass(frozen=True)
class ChurnRisk:
    as_of: date
    probability: float
    horizon_days: int
    reasons: tuple[str, ...]
    model: int

    @property
    def percent(self) -> int:
        return round(self.probability * 100)


def churn_risk(account: Account) -> ChurnRisk | None:
    """The account's latest churn prediction, or ``None`` before the first one."""
    prediction = (
        ChurnPrediction.objects.filter(account=account)
        .select_related("model")
        .order_by("-as_of")
        .first()
    )
    if prediction is None:
        return None
    return ChurnRisk(
        as_of=prediction.as_of,
        probability=prediction.probability,
        horizon_days=prediction.model.horizon_days,
        reasons=tuple(reason_text(reason) for reason in prediction.reasons),
        model=prediction.model_id,
    )


def latest_prediction_day() -> date | None:
    """The latest day a recompute stored churn predictions for; ``None`` before the first."""
    latest: date | None = ChurnPrediction.objects.aggregate(latest=Max("as_of"))["latest"]
    return latest


def exact_probability(probability: float) -> Decimal:
    """A stored probability as a decimal with the digits of its shortest representation
    (``0.1``, not the binary expansion of the float)."""
    return Decimal(repr(probability))
