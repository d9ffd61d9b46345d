"""Stage field values of a deal: reading what a person typed, and where each value lives.

Fields that are columns of the deal (plan, MRR, contract term, …) are set on the deal; every
other stage field (BANT, quote amount, approval status, …) lives in ``Deal.details`` as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django.db import models
from django.utils.translation import gettext

from kizuna.crm.actions import ActionError
from kizuna.crm.models import ChurnReason
from kizuna.pipeline.defaults import DEAL_FIELDS
from kizuna.pipeline.models import Deal, LostReason

# Stage fields stored as columns of the deal; every other stage field lives in ``details``.
DEAL_ATTRIBUTES: tuple[str, ...] = tuple(
    key for key in DEAL_FIELDS if key in {f.name for f in Deal._meta.concrete_fields}
)
REASON_CHOICES: dict[str, list[str]] = {
    "lost_reason": list(LostReason.values),
    "churn_reason": list(ChurnReason.values),
}
MAX_CONTRACT_MONTHS = 32_767


class InvalidDealValues(ActionError):
    """Some submitted field values could not be read; ``errors`` maps field key → message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{key}: {message}" for key, message in self.errors.items()))


def deal_values(deal: Deal) -> dict[str, Any]:
    """Every field of the deal by key, as the required-field rule reads them."""
    values: dict[str, Any] = {f.name: getattr(deal, f.attname) for f in Deal._meta.concrete_fields}
    return {**values, **deal.details}


def parse_value(key: str, raw: Any) -> Any:
    """A submitted value of stage field ``key`` in its type; None when left empty.

    Raises ``ValueError`` with a message for the person who typed it.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    known = DEAL_FIELDS.get(key)
    kind = known.kind if known is not None else "str"
    text = raw.strip() if isinstance(raw, str) else raw
    if kind == "date":
        if isinstance(text, date):
            return text
        try:
            return date.fromisoformat(str(text))
        except ValueError:
            raise ValueError(gettext("Enter a date as YYYY-MM-DD.")) from None
    if kind == "decimal":
        try:
            amount = Decimal(str(text).replace(",", ""))
        except InvalidOperation:
            raise ValueError(gettext("Enter a number.")) from None
        if not amount.is_finite() or amount < 0:
            raise ValueError(gettext("Enter a number of zero or more."))
        if amount != amount.quantize(Decimal("0.000001")):
            raise ValueError(gettext("Use at most six decimal places."))
        return amount
    if kind == "int":
        try:
            number = Decimal(str(text))
        except InvalidOperation:
            raise ValueError(gettext("Enter a whole number.")) from None
        if number != number.to_integral_value() or not 0 < number <= MAX_CONTRACT_MONTHS:
            raise ValueError(gettext("Enter a whole number of at least 1."))
        return int(number)
    value = str(text)
    if key in REASON_CHOICES and value not in REASON_CHOICES[key]:
        raise ValueError(
            gettext("Choose one of: %(choices)s") % {"choices": ", ".join(REASON_CHOICES[key])}
        )
    return value


def _empty_attribute(key: str) -> Any:
    internal = cast("models.Field[Any, Any]", Deal._meta.get_field(key)).get_internal_type()
    if internal == "DecimalField":
        return Decimal(0)
    if internal == "CharField":
        return ""
    return None


def apply_values(deal: Deal, values: Mapping[str, Any], allowed: set[str] | None = None) -> None:
    """Set stage fields on the (unsaved) deal: columns for deal attributes, else ``details``.

    Keys must be stage fields (:data:`DEAL_FIELDS`) or in ``allowed`` (fields a team added to
    a stage). Every unreadable value is reported at once (:class:`InvalidDealValues`).
    """
    errors: dict[str, str] = {}
    details = dict(deal.details)
    for key, raw in values.items():
        if key not in DEAL_FIELDS and key not in (allowed or set()):
            errors[key] = gettext("unknown deal field")
            continue
        try:
            value = parse_value(key, raw)
        except ValueError as error:
            errors[key] = str(error)
            continue
        if key in DEAL_ATTRIBUTES:
            setattr(deal, key, _empty_attribute(key) if value is None else value)
        elif value is None:
            details.pop(key, None)
        else:
            details[key] = value.isoformat() if isinstance(value, date) else str(value)
    if errors:
        raise InvalidDealValues(errors)
    deal.details = details
