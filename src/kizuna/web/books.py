"""Rows of other tables limited to a person's book of business (the accounts they may see).

``visible_accounts`` gives executives and admins every account. Filtering rows by
``account__in=<every account>`` changes nothing but costs a subquery over the whole account
table in each query (SQLite builds a temporary index for it), so it is left out then.
"""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, QuerySet

from kizuna.crm.models import Account

RowModel = TypeVar("RowModel", bound=Model)


def within_book(
    rows: QuerySet[RowModel], accounts: QuerySet[Account], field: str = "account"
) -> QuerySet[RowModel]:
    """``rows`` whose ``field`` is one of ``accounts``."""
    if not accounts.query.has_filters():
        return rows
    return rows.filter(**{f"{field}__in": accounts})
