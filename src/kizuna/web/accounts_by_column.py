"""The account list in name or renewal order for a book or a filter, read a page at a time.

For a book (a CS manager's team, a CSM's accounts), SQLite reads the book through its owner
indexes and sorts all of it for every page: 34,000 accounts of a 100,000-account store cost
≈ 150 ms of CPU. Walking the order's index (name, renewal date) and keeping the accounts of
the book stops after a page's rows instead (≈ 3 accounts walked per row shown for such a
book). The book is then a list of account ids the walk looks each account up in
(:func:`kizuna.web.books.book_as_lookup`). When few accounts match (a walk would visit many
for each one kept) or the page is deep, the sorted query is cheaper and serves the page.
Either way the page holds the same rows in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet

from kizuna.crm.models import Account
from kizuna.web.accounts_by_mrr import WALK_COST
from kizuna.web.books import book_as_lookup
from kizuna.web.paged_accounts import PagedAccounts, Row


class AccountsByColumn(PagedAccounts):
    """``matching`` (``count`` accounts) ordered by ``order`` as ``values`` rows, read slice by
    slice; ``shown(accounts)`` turns accounts into the rows' query (the list's columns)."""

    def __init__(
        self,
        matching: QuerySet[Account],
        shown: Callable[[QuerySet[Account]], QuerySet[Account]],
        order: Sequence[Any],
        values: Sequence[str],
        count: int,
    ) -> None:
        super().__init__(count)
        self._matching = matching
        self._shown = shown
        self._order = tuple(order)
        self._values = tuple(values)

    def rows(self, start: int, stop: int) -> list[Row]:
        if self._walk_pays(stop):
            return list(self.walked()[start:stop])
        return list(self.sorted()[start:stop])

    def _walk_pays(self, stop: int) -> bool:
        """Whether walking the order's index to row ``stop`` (about ``stop`` × all accounts
        / matching accounts visited) costs less than sorting the matching accounts."""
        if not self._matching.query.has_filters() or not self._count:
            return False
        visited = stop * Account.objects.count() / self._count
        return WALK_COST * visited <= self._count

    def sorted(self) -> QuerySet[Account, Row]:
        """The matching accounts, read and sorted in one query."""
        return self._shown(self._matching).order_by(*self._order).values(*self._values)

    def walked(self) -> QuerySet[Account, Row]:
        """Every account in the order's index, kept when it is one of the matching ones."""
        accounts = book_as_lookup(self._matching)
        return self._shown(accounts).order_by(*self._order).values(*self._values)
