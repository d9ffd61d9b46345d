"""The account list in name or renewal order, walked along the order's index for a book: the
same rows, in the same order, as sorting the book in one query."""

from __future__ import annotations

from datetime import date
from functools import partial

import pytest
from django.test import Client
from web_pages import Company

from kizuna.crm.access import visible_accounts
from kizuna.crm.models import Account, AccountStatus
from kizuna.web import views_accounts
from kizuna.web.accounts_by_column import AccountsByColumn
from kizuna.web.accounts_by_mrr import with_current_mrr
from kizuna.web.views_accounts import SORTS

pytestmark = pytest.mark.django_db

FEB = date(2024, 2, 1)


@pytest.fixture
def book(company: Company) -> list[Account]:
    """Aiko's book: Acme (renews 2025-01-01) and five more; Globex (Ben's) is outside it."""
    renewals = {
        "Delta": date(2024, 6, 1),
        "Beta": date(2025, 1, 1),
        "Alpha": None,
        "Echo": date(2024, 6, 1),
        "Charlie": None,
    }
    created = [
        Account.objects.create(
            name=name,
            status=AccountStatus.CUSTOMER,
            cs_owner=company.users["csm"],
            renewal_date=renewal,
            created_at=company.acme.created_at,
        )
        for name, renewal in renewals.items()
    ]
    created.append(
        Account.objects.create(
            name="Beta", cs_owner=company.users["csm"], created_at=company.acme.created_at
        )
    )
    return [company.acme, *created]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Acme KK", "Alpha", "Beta", "Beta", "Charlie", "Delta", "Echo"]),
        # Renewal date first (none last), then name, then id.
        ("renewal", ["Delta", "Echo", "Acme KK", "Beta", "Alpha", "Beta", "Charlie"]),
    ],
)
def test_walking_the_order_gives_every_slice_of_the_sorted_book(
    company: Company, book: list[Account], sort: str, expected: list[str]
) -> None:
    matching = visible_accounts(company.users["csm"])
    rows = AccountsByColumn(
        matching, partial(with_current_mrr, month=FEB), SORTS[sort], ("pk", "name"), len(book)
    )
    assert [row["name"] for row in rows.sorted()] == expected
    assert [row["name"] for row in rows.walked()] == expected
    ids = [row["pk"] for row in rows.sorted()]
    for start in range(len(expected) + 1):
        for stop in range(start, len(expected) + 2):
            assert [row["pk"] for row in rows.walked()[start:stop]] == ids[start:stop]
            assert [row["pk"] for row in rows[start:stop]] == ids[start:stop]


def test_a_csm_pages_through_their_book_by_name(
    client: Client, company: Company, book: list[Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views_accounts, "PAGE_SIZE", 3)
    client.force_login(company.users["csm"])
    names = []
    for page in (1, 2, 3):
        html = client.get(f"/accounts/?sort=name&page={page}").content.decode()
        body = html[html.index("<tbody") : html.index("</tbody>")]
        links = sorted(
            (body.index(f'href="/accounts/{account.pk}/"'), account.name)
            for account in book
            if f'href="/accounts/{account.pk}/"' in body
        )
        names.append([name for _, name in links])
    assert names == [["Acme KK", "Alpha", "Beta"], ["Beta", "Charlie", "Delta"], ["Echo"]]
    assert "Globex GK" not in html
