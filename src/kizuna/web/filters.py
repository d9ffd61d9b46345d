"""Filters that live in the URL, so a filtered page can be bookmarked, shared and exported."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kizuna.crm.models import Account, AccountStatus, LifecycleStage, TouchTier

# Dashboards open on two years of months: enough to see a trend and a year-on-year change.
DEFAULT_MONTHS = 24


def parse_month(text: str | None) -> date | None:
    """``YYYY-MM`` → the first day of that month; anything else → None."""
    if not text:
        return None
    try:
        year, month = (int(part) for part in text.split("-")[:2])
        return date(year, month, 1)
    except ValueError:
        return None


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class MonthRange:
    start: date | None
    end: date | None

    def params(self) -> dict[str, str]:
        return {
            "from": self.start.strftime("%Y-%m") if self.start else "",
            "to": self.end.strftime("%Y-%m") if self.end else "",
        }


def month_range(request: HttpRequest, latest: date | None) -> MonthRange:
    """The ``from``/``to`` months of the URL; by default the last 24 months up to ``latest``."""
    end = parse_month(request.GET.get("to")) or latest
    start = parse_month(request.GET.get("from"))
    if start is None and end is not None:
        start = add_months(end, -(DEFAULT_MONTHS - 1))
    if start and end and start > end:
        start, end = end, start
    return MonthRange(start, end)


def _blank(label: str) -> list[tuple[str, str]]:
    return [("", label)]


class AccountFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    owner = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)
    plan = forms.ChoiceField(label=_("Plan"), required=False)
    touch_tier = forms.ChoiceField(label=_("Touch tier"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    lifecycle_stage = forms.ChoiceField(label=_("Lifecycle stage"), required=False)

    def __init__(self, data: object, accounts: QuerySet[Account]) -> None:
        super().__init__(data)  # type: ignore[arg-type]
        everyone = str(_("All"))
        owner_ids = set(accounts.values_list("owner_id", flat=True).distinct())
        owner_ids |= set(accounts.values_list("cs_owner_id", flat=True).distinct())
        people = get_user_model().objects.filter(pk__in=owner_ids - {None}).order_by("username")
        owner_field = self.fields["owner"]
        assert isinstance(owner_field, forms.ChoiceField)
        owner_field.choices = _blank(everyone) + [
            (str(person.pk), person.get_full_name() or person.get_username()) for person in people
        ]
        plans = accounts.exclude(plan="").values_list("plan", flat=True).distinct().order_by("plan")
        choices: dict[str, list[tuple[str, str]]] = {
            "plan": [(plan, plan) for plan in plans],
            "touch_tier": [(value, str(label)) for value, label in TouchTier.choices],
            "status": [(value, str(label)) for value, label in AccountStatus.choices],
            "lifecycle_stage": [(value, str(label)) for value, label in LifecycleStage.choices],
        }
        for name, options in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = _blank(everyone) + options

    def apply(self, accounts: QuerySet[Account]) -> QuerySet[Account]:
        if not self.is_valid():
            return accounts
        data = self.cleaned_data
        if data.get("q"):
            text = data["q"].strip()
            accounts = accounts.filter(Q(name__icontains=text) | Q(external_id=text))
        if data.get("owner"):
            accounts = accounts.filter(Q(owner_id=data["owner"]) | Q(cs_owner_id=data["owner"]))
        for name in ("plan", "touch_tier", "status", "lifecycle_stage"):
            if data.get(name):
                accounts = accounts.filter(**{name: data[name]})
        return accounts
