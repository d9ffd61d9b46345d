"""A book of business read as a lookup list: the same accounts for every role, in whatever
order and with whatever filter the query adds."""

from __future__ import annotations

from datetime import date

import pytest
from web_pages import Company

from kizuna.crm.access import visible_accounts
from kizuna.crm.models import Account
from kizuna.web.books import book_as_lookup

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("csm", ["Acme KK", "Dojo KK"]),
        ("cs_manager", ["Acme KK", "Dojo KK"]),
        ("other_csm", ["Globex GK"]),
        ("sales", ["Acme KK"]),
        ("executive", ["Acme KK", "Dojo KK", "Globex GK"]),
    ],
)
def test_a_book_as_lookup_holds_the_same_accounts(
    company: Company, role: str, expected: list[str]
) -> None:
    Account.objects.create(
        name="Dojo KK",
        cs_owner=company.users["csm"],
        renewal_date=date(2024, 6, 1),
        created_at=company.acme.created_at,
    )
    book = visible_accounts(company.users[role])
    looked_up = book_as_lookup(book)
    assert [account.name for account in looked_up.order_by("name")] == expected
    renewing = looked_up.filter(renewal_date__lte=date(2024, 12, 31)).order_by("renewal_date")
    assert [account.name for account in renewing] == [
        name for name in expected if name == "Dojo KK"
    ]


def test_everyone_s_book_is_left_as_it_is(company: Company) -> None:
    book = visible_accounts(company.users["admin"])
    assert book_as_lookup(book) is book
