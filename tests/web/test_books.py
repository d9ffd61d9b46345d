"""A book of business read as a lookup list, and other rows kept within a book (each row
checked, or against the book's list): the same accounts for every role, in whatever order
and with whatever filter the query adds."""

from __future__ import annotations

from datetime import date

import pytest
from web_pages import Company

from kizuna.crm.access import visible_accounts
from kizuna.crm.models import Account, ChurnReason, ChurnRecord
from kizuna.web.books import book_as_lookup, each_within_book, listed_within_book

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
def test_rows_within_a_book_checked_each_or_listed(
    company: Company, role: str, expected: list[str]
) -> None:
    """Churns of the three accounts (Acme twice): each way keeps the churns of the book's
    accounts, with the query's own filter and order."""
    dojo = Account.objects.create(
        name="Dojo KK", cs_owner=company.users["csm"], created_at=company.acme.created_at
    )
    for account, day in (
        (company.acme, date(2024, 1, 10)),
        (company.acme, date(2024, 3, 5)),
        (dojo, date(2024, 2, 1)),
        (company.globex, date(2024, 2, 20)),
    ):
        ChurnRecord.objects.create(account=account, churned_on=day, reason=ChurnReason.COST)
    book = visible_accounts(company.users[role])
    in_february = ChurnRecord.objects.filter(
        churned_on__gte=date(2024, 2, 1), churned_on__lt=date(2024, 3, 1)
    )
    for within in (each_within_book, listed_within_book):
        churns = within(ChurnRecord.objects.all(), book).order_by("churned_on", "pk")
        assert sorted({churn.account.name for churn in churns}) == expected
        assert [churn.churned_on for churn in churns] == sorted(
            day
            for name, day in (
                ("Acme KK", date(2024, 1, 10)),
                ("Acme KK", date(2024, 3, 5)),
                ("Dojo KK", date(2024, 2, 1)),
                ("Globex GK", date(2024, 2, 20)),
            )
            if name in expected
        )
        assert within(in_february, book).count() == len({"Dojo KK", "Globex GK"} & set(expected))


def test_accounts_checked_each_against_their_own_book(company: Company) -> None:
    """``field="pk"``: accounts read through another index, each checked against a book."""
    book = visible_accounts(company.users["other_csm"])
    checked = each_within_book(Account.objects.order_by("name"), book, field="pk")
    assert [account.name for account in checked] == ["Globex GK"]


def test_everyone_s_rows_are_left_as_they_are(company: Company) -> None:
    book = visible_accounts(company.users["admin"])
    rows = ChurnRecord.objects.all()
    assert each_within_book(rows, book) is rows
    assert listed_within_book(rows, book) is rows
