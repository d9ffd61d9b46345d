"""Numbers as people read them: money in the reporting currency per locale, rates as percent."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal, format_percent
from django.conf import settings
from django.utils.translation import get_language


def _locale() -> str:
    return "ja_JP" if (get_language() or settings.LANGUAGE_CODE).startswith("ja") else "en_US"


def money(amount: Decimal | int | str | None, currency: str | None = None) -> str:
    if amount is None:
        return "—"
    # Babel rounds to the currency's own minor unit (JPY: whole yen).
    return str(
        format_currency(Decimal(amount), currency or settings.KIZUNA_CURRENCY, locale=_locale())
    )


def number(value: Decimal | int | str | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return str(format_decimal(Decimal(value), format=pattern, locale=_locale()))


def percent(value: Decimal | float | str | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return str(format_percent(Decimal(value), format=pattern, locale=_locale()))
