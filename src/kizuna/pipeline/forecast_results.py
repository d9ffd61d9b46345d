"""Reading the stored forecast (:class:`~kizuna.pipeline.models.ForecastResult`) for a person.

The ``forecast`` recompute stores company-wide rows. Two metrics carry the deal owner
(``weighted_pipeline`` and ``rep_performance``); the others (conversion, deal cycle, win
rate, lost reasons, lead sources, forecast vs actual) mix every owner's deals. So:

* executives and administrators read every row;
* everyone else (sales reps, CS managers, CSMs) reads only the rows of the owners whose
  figures they may see — their own, plus their team's for a CS manager — and none of the
  company-wide metrics, which would otherwise show other people's deals in aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from kizuna.crm.access import SEE_EVERYTHING, role_of
from kizuna.crm.models import Profile, Role
from kizuna.pipeline.models import ForecastResult

# Metrics whose rows name the deal owner: shown to each person for the owners they may see.
OWNER_METRICS = ("weighted_pipeline", "rep_performance")
# Metrics over every owner's deals: shown only to people who see the whole company.
COMPANY_METRICS = (
    "forecast_vs_actual",
    "stage_conversion",
    "days_in_stage",
    "trial_conversion",
    "lead_source_roi",
    "win_rate",
    "lost_reasons",
)

Row = dict[str, Any]


def visible_owners(user: AbstractBaseUser | AnonymousUser) -> frozenset[str] | None:
    """User names whose forecast rows ``user`` may read; None means everyone's (and the
    company-wide metrics)."""
    role = role_of(user)
    if role in SEE_EVERYTHING:
        return None
    if not user.is_authenticated:
        return frozenset()
    name = user.get_username()
    if role == Role.CS_MANAGER:
        user_model = get_user_model()
        team = Profile.objects.filter(user_id=user.pk, team__isnull=False).values("team_id")
        members = user_model.objects.filter(profile__team_id__in=team)
        return frozenset({name, *members.values_list(user_model.USERNAME_FIELD, flat=True)})
    return frozenset({name})


@dataclass(frozen=True)
class ForecastRows:
    """The stored rows one person may read, each row its dimensions and figures merged."""

    as_of: date | None
    owners: frozenset[str] | None
    rows: dict[str, list[Row]] = field(default_factory=dict)

    @property
    def company_wide(self) -> bool:
        return self.owners is None

    def metric(self, name: str) -> list[Row]:
        return self.rows.get(name, [])

    def currencies(self) -> list[str]:
        found = {
            row["currency"] for rows in self.rows.values() for row in rows if "currency" in row
        }
        return sorted(code for code in found if code)

    def row_owners(self) -> list[str]:
        found = {row.get("owner") or "" for name in OWNER_METRICS for row in self.metric(name)}
        return sorted(found)


def read_forecast(owners: frozenset[str] | None) -> ForecastRows:
    """One query: the rows of every metric ``owners`` allows, in the engine's order."""
    results = ForecastResult.objects.order_by("metric", "position")
    if owners is None:
        stored = results.all()
    else:
        stored = results.filter(metric__in=OWNER_METRICS, key__owner__in=sorted(owners))
    rows: dict[str, list[Row]] = {}
    as_of: date | None = None
    for metric, day, key, values in stored.values_list("metric", "as_of", "key", "values"):
        as_of = day
        rows.setdefault(metric, []).append({**key, **values})
    if as_of is None:
        as_of = ForecastResult.objects.values_list("as_of", flat=True).first()
    return ForecastRows(as_of=as_of, owners=owners, rows=rows)


def money(value: Any) -> Decimal:
    """A stored amount (an exact decimal string) as ``Decimal``; missing counts as zero."""
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def rate(value: Any) -> Decimal | None:
    """A stored ratio or day count (a JSON number) as ``Decimal``; empty stays None."""
    return None if value is None or value == "" else Decimal(str(value))
