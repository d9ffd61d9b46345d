"""Tables shown on pages: one description serves the HTML table, the chart's data table and CSV.

A page builds :class:`Table` objects; the ``kizuna/includes/table.html`` template renders them
and :func:`kizuna.web.exports.export_response` writes the same rows as CSV, so what people see
and what they export cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.utils import timezone
from django.utils.functional import Promise

from kizuna.web import formatting

Kind = Literal["text", "money", "number", "percent", "date", "datetime", "points"]
Row = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    kind: Kind = "text"
    # Row key holding a URL: the cell becomes a link to it.
    link: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind in {"money", "number", "percent", "points"}


@dataclass(frozen=True)
class Table:
    key: str
    title: str | Promise
    columns: Sequence[Column]
    rows: Sequence[Row]
    # Shown when there are no rows.
    empty: str | Promise = ""
    # How many rows the page shows; CSV always has them all.
    limit: int | None = None
    caption_extra: str | Promise = ""
    row_classes: Mapping[int, str] = field(default_factory=dict)

    @property
    def shown_rows(self) -> Sequence[Row]:
        return self.rows if self.limit is None else self.rows[: self.limit]

    @property
    def truncated(self) -> bool:
        return self.limit is not None and len(self.rows) > self.limit


def display(value: Any, kind: Kind) -> str:
    """A value as a person reads it in the current language."""
    if value is None or value == "":
        return "—" if kind != "text" else ""
    if kind == "money":
        return formatting.money(value)
    if kind == "number":
        return formatting.number(value, 0 if _is_whole(value) else 1)
    if kind == "percent":
        return formatting.percent(value)
    if kind == "points":
        return formatting.number(Decimal(value) * 100, 1)
    if kind == "datetime" and isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if kind in {"date", "datetime"} and isinstance(value, date):
        return value.isoformat()
    return str(value)


def raw(value: Any) -> str:
    """A value as CSV carries it: exact decimals, ISO dates, rates as plain fractions."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        return (
            timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _is_whole(value: Any) -> bool:
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return True
    return number == number.to_integral_value()
