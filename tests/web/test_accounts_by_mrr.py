"""The account list's MRR order read by index walks: the same rows, in the same order, as
sorting every account in one query, for every slice, filter and page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from web_pages import Company

from kizuna.billing.models import CustomerMrr
from kizuna.crm.access import visible_accounts
from kizuna.crm.models import Account, AccountStatus
from kizuna.web import views_accounts
from kizuna.web.accounts_by_mrr import AccountsByMrr, latest_mrr_month

pytestmark = pytest.mark.django_db

JAN, FEB = date(2024, 1, 1), date(2024, 2, 1)
# Company: Acme 120,000 and Globex 50,000 in February. Added below: three more at 50,000
# (two named Beta), Zeta at 0, Echo with a January row only, two Alphas without rows.
ORDER = ["Acme KK", "Beta", "Beta", "Delta", "Globex GK", "Zeta", "Alpha", "Alpha", "Echo"]


@pytest.fixture
def accounts(company: Company) -> list[Account]:
    def account(name: str, status: str = AccountStatus.CUSTOMER) -> Account:
        return Account.objects.create(
            name=name,
            status=status,
            cs_owner=company.users["csm"],
            created_at=company.acme.created_at,
        )

    beta, second_beta, delta, zeta, echo = (
        account(name) for name in ("Beta", "Beta", "Delta", "Zeta", "Echo")
    )
    alphas = [account("Alpha", AccountStatus.PROSPECT) for _ in range(2)]
    CustomerMrr.objects.bulk_create(
        CustomerMrr(account=row_account, month=month, mrr=mrr, movement="none", delta=0)
        for row_account, month, mrr in (
            (beta, FEB, 50000),
            (second_beta, FEB, 50000),
            (delta, FEB, 50000),
            (zeta, FEB, 0),
            (echo, JAN, 30000),
        )
    )
    return [
        company.acme,
        beta,
        second_beta,
        delta,
        company.globex,
        zeta,
        *alphas,
        echo,
    ]


def _ids(rows: list[dict[str, object]]) -> list[object]:
    return [row["pk"] for row in rows]


def test_every_slice_of_the_walks_matches_the_sorted_query(accounts: list[Account]) -> None:
    everyone = AccountsByMrr(Account.objects.all(), FEB, ("pk", "name", "mrr"), len(accounts))
    assert [row["name"] for row in everyone.sorted()] == ORDER
    assert everyone.with_mrr() == 6
    expected = [account.pk for account in accounts]
    assert [row["pk"] for row in everyone] == expected
    for start in range(len(accounts) + 1):
        for stop in range(start, len(accounts) + 2):
            assert _ids(everyone.walked(start, stop)) == expected[start:stop], (start, stop)
            assert _ids(list(everyone[start:stop])) == expected[start:stop], (start, stop)
    assert everyone[0]["mrr"] == 120000
    assert everyone[-1]["name"] == "Echo"
    assert everyone[5]["mrr"] == 0
    assert everyone[6]["mrr"] is None


@pytest.mark.parametrize(
    ("role", "status", "expected"),
    [
        ("csm", None, ["Acme KK", "Beta", "Beta", "Delta", "Zeta", "Alpha", "Alpha", "Echo"]),
        ("admin", AccountStatus.PROSPECT, ["Alpha", "Alpha"]),
        ("other_csm", None, ["Globex GK"]),
        ("sales", AccountStatus.PROSPECT, []),
    ],
)
def test_books_and_filters_keep_the_order(
    company: Company,
    accounts: list[Account],
    role: str,
    status: str | None,
    expected: list[str],
) -> None:
    matching = visible_accounts(company.users[role])
    if status is not None:
        matching = matching.filter(status=status)
    rows = AccountsByMrr(matching, FEB, ("pk", "name"), matching.count())
    assert [row["name"] for row in rows.sorted()] == expected
    sorted_ids = _ids(list(rows.sorted()))
    for start in range(len(expected) + 1):
        for stop in range(start, len(expected) + 2):
            assert _ids(rows.walked(start, stop)) == sorted_ids[start:stop], (start, stop)
            assert _ids(list(rows[start:stop])) == sorted_ids[start:stop], (start, stop)


def test_a_short_walk_down_the_highest_mrr_gives_the_rows_or_nothing(
    company: Company, accounts: list[Account]
) -> None:
    book = visible_accounts(company.users["csm"])
    rows = AccountsByMrr(book, FEB, ("pk", "name"), book.count())
    # The month's two highest MRRs are 120,000 and 50,000: Acme, both Betas and Delta of the
    # book have at least 50,000; Zeta (0) does not.
    first_four = [accounts[0].pk, accounts[1].pk, accounts[2].pk, accounts[3].pk]
    assert _ids(rows.among_highest(0, 4, reach=2) or []) == first_four
    assert _ids(rows.among_highest(2, 4, reach=2) or []) == first_four[2:]
    assert rows.among_highest(0, 5, reach=2) is None
    assert rows.among_highest(0, 2, reach=1) is None
    assert _ids(rows.among_highest(3, 5, reach=100) or []) == [accounts[3].pk, accounts[5].pk]
    # Accounts without MRR in the month are never among the highest.
    assert rows.among_highest(4, 6, reach=100) is None


def test_pages_of_the_list_follow_the_mrr_order(
    client: Client, company: Company, accounts: list[Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views_accounts, "PAGE_SIZE", 4)
    client.force_login(company.users["admin"])
    shown = []
    for page in (1, 2, 3):
        html = client.get(f"/accounts/?page={page}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        rows = html[html.index("<tbody") : html.index("</tbody>")]
        shown.append(
            [name for name in dict.fromkeys(ORDER) for _ in range(rows.count(f">{name}<"))]
        )
    assert shown == [ORDER[:4], ORDER[4:8], ORDER[8:]]


def test_current_mrr_is_never_a_future_month(accounts: list[Account]) -> None:
    """Scheduled changes give the results months after today: the list's MRR is the latest
    month not after the current one."""
    this_month = timezone.localdate().replace(day=1)
    next_month = (this_month + timedelta(days=31)).replace(day=1)
    echo = accounts[-1]
    CustomerMrr.objects.bulk_create(
        [
            CustomerMrr(account=echo, month=this_month, mrr=70000, movement="new", delta=70000),
            CustomerMrr(account=echo, month=next_month, mrr=0, movement="churned", delta=-70000),
        ]
    )
    assert latest_mrr_month() == this_month
    CustomerMrr.objects.filter(month=this_month).delete()
    assert latest_mrr_month() == FEB
