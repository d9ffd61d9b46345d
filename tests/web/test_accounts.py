from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from web_pages import Company

from kizuna.crm.access import visible_accounts
from kizuna.web.filters import AccountFilterForm

pytestmark = pytest.mark.django_db


def _csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_csm_sees_only_their_book(client: Client, company: Company) -> None:
    client.force_login(company.users["csm"])
    html = client.get("/accounts/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Acme KK" in html
    assert "Globex GK" not in html
    assert "¥120,000" in html


def test_executive_sees_all_sorted_by_mrr(client: Client, company: Company) -> None:
    client.force_login(company.users["executive"])
    html = client.get("/accounts/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.index("Acme KK") < html.index("Globex GK")
    html = client.get("/accounts/?sort=name&q=glob", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Globex GK" in html
    assert "Acme KK" not in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("plan=Starter", ["Globex GK"]),
        ("touch_tier=high", ["Acme KK"]),
        ("status=customer", ["Acme KK", "Globex GK"]),
        ("lifecycle_stage=adoption", ["Acme KK"]),
        ("q=C-2", ["Globex GK"]),
    ],
)
def test_filters_are_kept_in_the_url_and_apply_to_csv(
    client: Client, company: Company, query: str, expected: list[str]
) -> None:
    client.force_login(company.users["admin"])
    rows = _csv(client.get(f"/accounts/?{query}&export=accounts").content)
    assert [row[0] for row in rows[1:]] == expected
    html = client.get(f"/accounts/?{query}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"{query.split('=')[1]}" in html


def test_owner_filter(client: Client, company: Company) -> None:
    client.force_login(company.users["admin"])
    owner = company.users["other_csm"].pk
    rows = _csv(client.get(f"/accounts/?owner={owner}&export=accounts").content)
    assert [row[0] for row in rows[1:]] == ["Globex GK"]


def test_account_csv_has_exact_values(client: Client, company: Company) -> None:
    client.force_login(company.users["csm"])
    response = client.get("/accounts/?export=accounts", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Disposition"].startswith('attachment; filename="accounts-')
    rows = _csv(response.content)
    assert rows[0] == [
        "name",
        "external_id",
        "mrr",
        "plan",
        "status",
        "lifecycle_stage",
        "touch_tier",
        "owner",
        "cs_owner",
        "industry",
        "renewal_date",
    ]
    assert rows[1] == [
        "Acme KK",
        "C-1",
        "120000",
        "Professional",
        "Customer",
        "Adoption",
        "High touch",
        "sato",
        "aiko",
        "Manufacturing",
        "2025-01-01",
    ]
    assert len(rows) == 2


def test_cs_manager_sees_the_team_book(client: Client, company: Company) -> None:
    client.force_login(company.users["cs_manager"])
    rows = _csv(client.get("/accounts/?export=accounts").content)
    assert [row[0] for row in rows[1:]] == ["Acme KK"]


def test_account_list_query_budget(
    client: Client, company: Company, django_assert_max_num_queries: object
) -> None:
    client.force_login(company.users["executive"])
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        assert client.get("/accounts/").status_code == 200


@pytest.mark.parametrize(
    ("role", "owners", "plans", "industries"),
    [
        # Aiko's book is Acme: her and its sales owner Sato, one plan and one industry.
        ("csm", ["aiko", "sato"], ["Professional"], ["Manufacturing"]),
        ("cs_manager", ["aiko", "sato"], ["Professional"], ["Manufacturing"]),
        ("admin", ["aiko", "ben", "sato"], ["Professional", "Starter"], ["Manufacturing"]),
    ],
)
def test_filter_choices_come_from_the_book(
    company: Company, role: str, owners: list[str], plans: list[str], industries: list[str]
) -> None:
    form = AccountFilterForm({}, visible_accounts(company.users[role]))
    assert sorted(form.usernames.values()) == owners
    assert [value for value, _ in form.fields["plan"].choices][1:] == plans  # type: ignore[attr-defined]
    assert [value for value, _ in form.fields["industry"].choices][1:] == industries  # type: ignore[attr-defined]
