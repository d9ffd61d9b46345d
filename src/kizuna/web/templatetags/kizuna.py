from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from kizuna.web import formatting
from kizuna.web.exports import EXPORT_PARAMETER, TABLE_PARAMETER
from kizuna.web.tables import Column, display
from kizuna.web.views_assets import plotly_version

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


@register.filter
def points(value: Decimal | str | None) -> str:
    """A change of a rate in percentage points, signed."""
    if value is None:
        return "—"
    hundred = Decimal(value) * 100
    return ("+" if hundred > 0 else "") + formatting.number(hundred, 1)


@register.filter
def signed_percent(value: Decimal | str | None) -> str:
    if value is None:
        return "—"
    return ("+" if Decimal(value) > 0 else "") + formatting.percent(value)


@register.filter
def signed_number(value: Decimal | str | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return ("+" if Decimal(value) > 0 else "") + formatting.number(value, digits)


@register.simple_tag
def cell(row: dict[str, Any], column: Column) -> SafeString:
    currency = row.get(column.currency) if column.currency else None
    text = display(row.get(column.key), column.kind, currency)
    url = row.get(column.link) if column.link else None
    if url:
        return format_html('<a href="{}">{}</a>', url, text)
    return format_html("{}", text)


@register.simple_tag
def query_with(request: HttpRequest, **changes: Any) -> str:
    """The current URL's query string with some parameters replaced (None/'' removes them)."""
    query = request.GET.copy()
    for name, value in changes.items():
        name = "from" if name == "from_" else name
        if value is None or value == "":
            query.pop(name, None)
        else:
            query[name] = str(value)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag
def plotly_js_url() -> str:
    return reverse("plotly_js", args=[plotly_version()])


@register.simple_tag
def export_url(request: HttpRequest, key: str) -> str:
    return query_with(request, **{EXPORT_PARAMETER: key, TABLE_PARAMETER: None, "page": None})
