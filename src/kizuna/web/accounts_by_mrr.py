"""The account list's default order, by current MRR, read a page at a time without sorting
every account.

The list orders accounts by their MRR in the latest month of revenue results, highest first,
then by name and id; accounts without a row that month come last, by name and id. Joining
every matching account with its month row and sorting them all costs ≈ 270 ms of CPU at
100,000 accounts, for any page. The same order is two runs:

1. the accounts with a row that month, read by walking the month's rows down the
   ``CustomerMrr(month, mrr, account)`` index, so a page stops after its rows;
2. the others, read by walking the account name index.

A walk costs per row it visits, the sorted query per matching account. For a book or a
filter, a page is first looked for among the accounts with the month's ``REACH`` × (its last
row) highest MRRs, which needs no count. When they hold too few of them, the accounts with
MRR are counted and the walks serve the page if they are expected to visit fewer rows than
the sorted query sorts (assuming the matching accounts are spread evenly over the order),
else the sorted query does. Either way the page holds the same rows in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import (
    DecimalField,
    Exists,
    F,
    FilteredRelation,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.utils import timezone

from kizuna.billing.models import CustomerMrr
from kizuna.crm.models import Account
from kizuna.web.paged_accounts import PagedAccounts, Row

# A row visited by an index walk (a lookup of the account by id) costs about as much as two
# accounts in the sorted query (measured on the 100,000-account store).
WALK_COST = 2
# How far down the month's MRR rows a filtered page looks for its rows before counting.
REACH = 20


def mrr_order() -> tuple[Any, ...]:
    """The list's MRR order, for a query with the month's MRR as ``mrr`` (None without)."""
    return (F("mrr").desc(nulls_last=True), "name", "pk")


def latest_mrr_month() -> date | None:
    """The month whose MRR the pages call current: the latest with results, never past the
    current month (scheduled cancellations and renewals give the results future months that
    are not yet facts), as the executive pages' latest month."""
    current_month = timezone.localdate().replace(day=1)
    month: date | None = CustomerMrr.objects.filter(month__lte=current_month).aggregate(
        latest=Max("month")
    )["latest"]
    return month


def with_current_mrr(accounts: QuerySet[Account], month: date | None) -> QuerySet[Account]:
    """Each account with its MRR at ``month`` as ``mrr``, None when it has no row then."""
    if month is None:
        return accounts.annotate(mrr=Value(None, output_field=DecimalField()))
    return accounts.annotate(
        current=FilteredRelation("mrr_months", condition=Q(mrr_months__month=month)),
        mrr=F("current__mrr"),
    )


class AccountsByMrr(PagedAccounts):
    """``matching`` (``count`` accounts) in the list's MRR order as ``values`` rows, read
    slice by slice."""

    def __init__(
        self,
        matching: QuerySet[Account],
        month: date,
        values: Sequence[str],
        count: int,
    ) -> None:
        super().__init__(count)
        self._matching = matching
        self._month = month
        self._values = tuple(values)
        self._with_mrr: int | None = None

    def rows(self, start: int, stop: int) -> list[Row]:
        # A walk visits at least ``stop`` rows: for few accounts, sorting them is cheaper.
        if WALK_COST * stop > self._count:
            return list(self.sorted()[start:stop])
        if self._matching.query.has_filters():
            reach = REACH * stop
            if WALK_COST * reach <= self._count:
                rows = self.among_highest(start, stop, reach)
                if rows is not None:
                    return rows
        if WALK_COST * self._walked(start, stop) > self._count:
            return list(self.sorted()[start:stop])
        return self.walked(start, stop)

    def among_highest(self, start: int, stop: int, reach: int) -> list[Row] | None:
        """Rows ``start`` to ``stop`` if they are all among the accounts with the month's
        ``reach`` highest MRRs (found by a walk that stops there), else None.

        A book or a filter usually holds enough of them, and then the page needs no count of
        the matching accounts that have MRR (for a large book, a count costs more than the
        walk). Without a filter that count reads the month index alone.
        """
        lowest = (
            CustomerMrr.objects.filter(month=self._month)
            .order_by("-mrr")
            .values_list("mrr", flat=True)[reach - 1 : reach]
        )
        rows = list(self._ranked(lowest[0] if lowest else None)[start:stop])
        return rows if len(rows) == stop - start else None

    def walked(self, start: int, stop: int) -> list[Row]:
        """Rows ``start`` to ``stop`` read by the two walks."""
        with_mrr = self.with_mrr()
        rows: list[Row] = []
        if start < with_mrr:
            rows += self._ranked()[start : min(stop, with_mrr)]
        if stop > with_mrr:
            rows += self._unranked()[max(start - with_mrr, 0) : stop - with_mrr]
        return rows

    def with_mrr(self) -> int:
        """How many of the matching accounts have a row in the month."""
        if self._with_mrr is None:
            rows = CustomerMrr.objects.filter(month=self._month)
            if self._matching.query.has_filters():
                rows = rows.filter(account__in=self._matching)
            self._with_mrr = rows.count()
        return self._with_mrr

    def _walked(self, start: int, stop: int) -> float:
        """About how many rows the two walks visit to reach ``stop``."""
        with_mrr = self.with_mrr()
        visited = 0.0
        if start < with_mrr:
            month_rows = (
                CustomerMrr.objects.filter(month=self._month).count()
                if self._matching.query.has_filters()
                else with_mrr
            )
            visited += min(stop, with_mrr) * month_rows / with_mrr
        if stop > with_mrr:
            accounts = (
                Account.objects.count() if self._matching.query.has_filters() else self._count
            )
            visited += (stop - with_mrr) * accounts / (self._count - with_mrr)
        return visited

    def sorted(self) -> QuerySet[Account, Row]:
        """Every matching account joined with its month row, sorted in one query."""
        return (
            with_current_mrr(self._matching, self._month)
            .order_by(*mrr_order())
            .values(*self._values)
        )

    def _ranked(self, lowest: Decimal | None = None) -> QuerySet[Account, Row]:
        """The accounts with a row in the month (with an MRR of at least ``lowest``), by
        walking the month's MRR index."""
        month_row = Q(mrr_months__month=self._month)
        if lowest is not None:
            month_row &= Q(mrr_months__mrr__gte=lowest)
        return (
            self._matching.filter(month_row)
            .annotate(mrr=F("mrr_months__mrr"))
            .order_by(F("mrr").desc(), "name", "pk")
            .values(*self._values)
        )

    def _unranked(self) -> QuerySet[Account, Row]:
        """The accounts without a row in the month, by walking the name index."""
        month_row = CustomerMrr.objects.filter(account=OuterRef("pk"), month=self._month)
        return (
            self._matching.filter(~Exists(month_row))
            .annotate(mrr=Value(None, output_field=DecimalField()))
            .order_by("name", "pk")
            .values(*self._values)
        )
