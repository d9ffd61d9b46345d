"""Saved segments (SPEC G4): which accounts a segment definition selects, in one place.

A definition is a JSON object of criteria, all of which must hold; lists match any of their
values and ranges are ``{"min": x}`` (at least) and/or ``{"below": y}`` (strictly less), as
in playbook conditions::

    {"industry": ["Manufacturing"], "touch_tier": ["high"], "mrr": {"min": "100000"},
     "health_status": ["risk", "critical"], "days_since_last_use": {"min": 30}}

Attribute criteria read the account itself; behaviour criteria read the account's segment
row (:class:`kizuna.health.models.AccountSegment`, written by every health recompute), so an
account without one (never a customer, or no recompute yet) does not match them. The account
list and the playbook ``segment`` condition both select through :func:`segment_filter`, so a
segment means the same accounts everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

CHOICES = "choices"
RANGE = "range"


@dataclass(frozen=True)
class Criterion:
    name: str
    label: StrOrPromise
    kind: str
    """:data:`CHOICES` (a list of values) or :data:`RANGE` (``min``/``below``)."""
    select: Callable[[Any], Q]
    behaviour: bool = False
    """Read from the account's latest segment row rather than from the account."""


def _field_in(path: str) -> Callable[[Any], Q]:
    def select(values: Any) -> Q:
        return Q(**{f"{path}__in": list(values)})

    return select


def _field_range(path: str) -> Callable[[Any], Q]:
    def select(bounds: Any) -> Q:
        test = Q(**{f"{path}__isnull": False})
        if "min" in bounds:
            test &= Q(**{f"{path}__gte": Decimal(str(bounds["min"]))})
        if "below" in bounds:
            test &= Q(**{f"{path}__lt": Decimal(str(bounds["below"]))})
        return test

    return select


def _owners(usernames: Any) -> Q:
    names = list(usernames)
    return Q(owner__username__in=names) | Q(cs_owner__username__in=names)


CRITERIA: dict[str, Criterion] = {
    criterion.name: criterion
    for criterion in (
        Criterion("industry", gettext_lazy("Industry"), CHOICES, _field_in("industry")),
        Criterion("country", gettext_lazy("Country"), CHOICES, _field_in("country")),
        Criterion("plan", gettext_lazy("Plan"), CHOICES, _field_in("plan")),
        Criterion("touch_tier", gettext_lazy("Touch tier"), CHOICES, _field_in("touch_tier")),
        Criterion("status", gettext_lazy("Status"), CHOICES, _field_in("status")),
        Criterion(
            "lifecycle_stage",
            gettext_lazy("Lifecycle stage"),
            CHOICES,
            _field_in("lifecycle_stage"),
        ),
        Criterion("owner", gettext_lazy("Owner"), CHOICES, _owners),
        Criterion("employees", gettext_lazy("Employees"), RANGE, _field_range("employees")),
        Criterion(
            "health_status",
            gettext_lazy("Health band"),
            CHOICES,
            _field_in("segment__health_status"),
            behaviour=True,
        ),
        Criterion(
            "health_score",
            gettext_lazy("Health score"),
            RANGE,
            _field_range("segment__health_score"),
            behaviour=True,
        ),
        Criterion(
            "days_since_last_use",
            gettext_lazy("Days since last use"),
            RANGE,
            _field_range("segment__days_since_last_use"),
            behaviour=True,
        ),
        Criterion(
            "active_days",
            gettext_lazy("Active days (90 days)"),
            RANGE,
            _field_range("segment__active_days"),
            behaviour=True,
        ),
        Criterion(
            "mrr",
            gettext_lazy("Contracted MRR"),
            RANGE,
            _field_range("segment__mrr"),
            behaviour=True,
        ),
        Criterion(
            "products",
            gettext_lazy("Products"),
            RANGE,
            _field_range("segment__products"),
            behaviour=True,
        ),
    )
}
"""Every criterion a definition may use, by name; ``owner`` takes user names and matches the
sales or the CS owner; ``mrr`` is in the reporting currency."""


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _choice_problems(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return [_("must be a non-empty list of texts")]
    return []


def _range_problems(value: Any) -> list[str]:
    if not isinstance(value, dict) or not value or set(value) - {"min", "below"}:
        return [_('must be an object with "min" and/or "below"')]
    numbers = {key: _number(number) for key, number in value.items()}
    problems = [
        _("%(key)s must be a number") % {"key": key} for key, n in numbers.items() if n is None
    ]
    low, high = numbers.get("min"), numbers.get("below")
    if low is not None and high is not None and low >= high:
        problems.append(_('"min" must be less than "below"'))
    return problems


def definition_problems(definition: Any) -> list[str]:
    """What is wrong with ``definition``, each problem naming its criterion; empty when valid."""
    if not isinstance(definition, dict) or not definition:
        return [_("A segment needs at least one criterion.")]
    problems: list[str] = []
    for name, value in definition.items():
        criterion = CRITERIA.get(name)
        if criterion is None:
            problems.append(_("Unknown criterion %(name)s.") % {"name": name})
            continue
        check = _choice_problems if criterion.kind == CHOICES else _range_problems
        problems += [
            _("%(criterion)s: %(problem)s") % {"criterion": criterion.label, "problem": problem}
            for problem in check(value)
        ]
    return problems


def segment_filter(definition: Mapping[str, Any]) -> Q:
    """The accounts ``definition`` selects, as a filter on ``crm.Account`` (a valid definition:
    see :func:`definition_problems`)."""
    test = Q()
    for name, value in definition.items():
        test &= CRITERIA[name].select(value)
    return test


def any_of(definitions: Iterable[Mapping[str, Any]]) -> Q:
    """Accounts in at least one of ``definitions`` (none → no account)."""
    test = Q(pk__in=[])
    for definition in definitions:
        test |= segment_filter(definition)
    return test


def describe(
    definition: Mapping[str, Any], value_labels: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """A one-line reading of a definition for people, e.g. ``Plan: Pro · Employees: ≥ 50``,
    in the order of :data:`CRITERIA` (a stored JSON object may not keep its keys' order);
    ``value_labels`` names the values of choice criteria (``{"touch_tier": {"high": ...}}``)."""
    labels = value_labels or {}
    parts = []
    for name, criterion in CRITERIA.items():
        if name not in definition:
            continue
        value = definition[name]
        if criterion.kind == CHOICES:
            named = labels.get(name, {})
            shown = ", ".join(named.get(item, str(item)) for item in value)
        else:
            bounds = []
            if "min" in value:
                bounds.append(f"≥ {value['min']}")
            if "below" in value:
                bounds.append(f"< {value['below']}")
            shown = " ".join(bounds)
        parts.append(f"{criterion.label}: {shown}")
    return " · ".join(parts)
