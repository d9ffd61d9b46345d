from __future__ import annotations

from decimal import Decimal

from django import template

from kizuna.web import formatting

register = template.Library()


@register.filter
def money(value: Decimal | int | str | None, currency: str | None = None) -> str:
    return formatting.money(value, currency)


@register.filter
def number(value: Decimal | int | str | None, digits: int = 0) -> str:
    return formatting.number(value, digits)


@register.filter
def percent(value: Decimal | str | None, digits: int = 1) -> str:
    return formatting.percent(value, digits)
