"""Tables shown on pages: one description serves the HTML table, the chart's data table and CSV.

A page builds :class:`Table` objects; the ``kizuna/includes/table.html`` template renders them
and :func:`kizuna.web.exports.export_response` writes the same rows as CSV, so what people see
and what they export cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, overload

from django.db.models import QuerySet
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
    # Row key holding a money cell's ISO currency code (default: the reporting currency).
    currency: str = ""
    # Short values (a month, a label) kept on one line beside a column of long text.
    nowrap: bool = False

    @property
    def numeric(self) -> bool:
        return self.kind in {"money", "number", "percent", "points"}

    @property
    def css_class(self) -> str:
        return " ".join(name for name, on in (("num", self.numeric), ("nowrap", self.nowrap)) if on)


class QueryRows(Sequence[Row]):
    """A long list's rows, read from its query only as far as they are used.

    The page shows the first ``limit`` rows: one query fetches them (plus one row, to know
    whether there are more) and a count runs only when there are. The CSV iterates over every
    row in chunks. ``make_rows`` turns a chunk of fetched objects into rows and may read what
    the rows need for the whole chunk at once. The query must have a total order, so chunks
    and pages never overlap.
    """

    CHUNK = 2000

    def __init__(
        self,
        query: QuerySet[Any],
        make_rows: Callable[[Sequence[Any]], list[Row]],
        count_query: QuerySet[Any] | None = None,
    ) -> None:
        self._query = query
        self._make_rows = make_rows
        # The same rows without the joins the displayed columns need: cheaper to count.
        self._count_query = query if count_query is None else count_query
        self._count: int | None = None
        self._head: list[Row] = []
        self._head_size = 0

    def __len__(self) -> int:
        if self._count is None:
            self._count = self._count_query.count()
        return self._count

    def head(self, size: int) -> list[Row]:
        """The first ``size`` rows (read once: a shorter head is a slice of a longer one)."""
        if size > self._head_size:
            fetched = list(self._query[: size + 1])
            if len(fetched) <= size:
                self._count = len(fetched)
            self._head = self._make_rows(fetched[:size])
            self._head_size = size
        return self._head[:size]

    def __iter__(self) -> Iterator[Row]:
        chunk: list[Any] = []
        for item in self._query.iterator(chunk_size=self.CHUNK):
            chunk.append(item)
            if len(chunk) == self.CHUNK:
                yield from self._make_rows(chunk)
                chunk = []
        if chunk:
            yield from self._make_rows(chunk)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | Sequence[Row]:
        if isinstance(index, slice):
            first_rows = index.start in (None, 0) and index.step in (None, 1)
            if first_rows and index.stop is not None and index.stop >= 0:
                return self.head(index.stop)
            return list(self)[index]
        if index >= 0 and index < len(rows := self.head(index + 1)):
            return rows[index]
        return list(self)[index]


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


def display(value: Any, kind: Kind, currency: str | None = None) -> str:
    """A value as a person reads it in the current language (money in ``currency``)."""
    if value is None or value == "":
        return "—" if kind != "text" else ""
    if kind == "money":
        return formatting.money(value, currency)
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
