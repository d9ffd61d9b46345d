"""Model field factories shared by every app, so money and currency look the same everywhere."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from kizuna.core.money import (
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    UnknownCurrency,
    check_currency,
)


def validate_currency(value: str) -> None:
    try:
        check_currency(value)
    except UnknownCurrency as error:
        raise ValidationError(str(error)) from None


def money_field(verbose_name: Any, **options: Any) -> models.DecimalField:
    options.setdefault("default", 0)
    return models.DecimalField(
        verbose_name,
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        **options,
    )


def currency_field(**options: Any) -> models.CharField:
    options.setdefault("default", "JPY")
    return models.CharField(_("currency"), max_length=3, validators=[validate_currency], **options)


def external_id_field() -> models.CharField:
    """The id a record has in the system it came from (CSV, Stripe); upserts key on it."""
    return models.CharField(_("external id"), max_length=100, blank=True, default="", db_index=True)
