"""A list of account rows that reads only the slice a page asks for.

Django's paginator takes ``len()`` and a slice of its object list. An ordering that can find
a page's rows without sorting every matching account subclasses :class:`PagedAccounts` and
says how to read rows ``start`` to ``stop`` (:meth:`PagedAccounts.rows`) and the whole list in
one sorted query (:meth:`PagedAccounts.sorted`, for iteration and CSV exports).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, overload

from django.db.models import QuerySet

from kizuna.crm.models import Account

Row = dict[str, Any]


class PagedAccounts(Sequence[Row], ABC):
    """``count`` account rows, read slice by slice."""

    def __init__(self, count: int) -> None:
        self._count = count

    @abstractmethod
    def sorted(self) -> QuerySet[Account, Row]:
        """Every row, read and sorted in one query."""

    @abstractmethod
    def rows(self, start: int, stop: int) -> list[Row]:
        """Rows ``start`` to ``stop`` (``0 <= start < stop <= len(self)``)."""

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Row]:
        yield from self.sorted().iterator(chunk_size=2000)

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | Sequence[Row]:
        if isinstance(index, int):
            position = index + self._count if index < 0 else index
            if not 0 <= position < self._count:
                raise IndexError(index)
            return self.rows(position, position + 1)[0]
        start, stop, step = index.indices(self._count)
        if step != 1:
            return list(self)[index]
        return self.rows(start, stop) if start < stop else []
