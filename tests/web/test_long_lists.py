"""Long lists on dashboards: the page reads and shows the first rows, the CSV every row, and a
chart's data table loads on its own (``?table=``) through the same view and permissions."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from web_pages import Company

from kizuna.crm.models import Account, AccountStatus
from kizuna.web import views_cs
from kizuna.web.books import within_book
from kizuna.web.tables import QueryRows, Row

pytestmark = pytest.mark.django_db


def _names(chunk: Any) -> list[Row]:
    return [{"name": account.name} for account in chunk]


def test_query_rows_read_only_what_is_used(
    company: Company, django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("Cyan", "Delta", "Echo"):
        Account.objects.create(name=name, status=AccountStatus.CUSTOMER, created_at=timezone.now())
    rows = QueryRows(Account.objects.order_by("name", "pk"), _names)
    with django_assert_num_queries(1):  # the first two rows, plus one to learn there are more
        assert rows[:2] == [{"name": "Acme KK"}, {"name": "Cyan"}]
        assert rows[1] == {"name": "Cyan"}
        assert rows[:1] == [{"name": "Acme KK"}]
    with django_assert_num_queries(1):  # the total needs a count, once
        assert len(rows) == 5
        assert len(rows) == 5
    monkeypatch.setattr(QueryRows, "CHUNK", 2)
    assert [row["name"] for row in rows] == ["Acme KK", "Cyan", "Delta", "Echo", "Globex GK"]
    short = QueryRows(Account.objects.filter(name__startswith="E").order_by("pk"), _names)
    with django_assert_num_queries(1):  # fewer rows than asked for: the total is known
        assert short[:10] == [{"name": "Echo"}]
        assert len(short) == 1


def test_within_book_filters_only_a_limited_book(company: Company) -> None:
    everyone = Account.objects.all()
    assert not within_book(Account.objects.all(), everyone, "pk").query.has_filters()
    book = Account.objects.filter(name="Acme KK")
    assert list(within_book(Account.objects.all(), book, "pk")) == [company.acme]
    assert list(within_book(Account.objects.all(), Account.objects.none(), "pk")) == []


def test_cs_lists_show_the_first_rows_and_export_all(
    client: Client, company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = timezone.localdate()
    for offset, name in enumerate(("Cyan", "Delta", "Echo"), start=1):
        Account.objects.create(
            name=name,
            status=AccountStatus.CUSTOMER,
            cs_owner=company.users["csm"],
            renewal_date=today + timedelta(days=offset),
            created_at=timezone.now(),
        )
    monkeypatch.setattr(views_cs, "LIST_LIMIT", 2)
    client.force_login(company.users["executive"])
    html = client.get("/cs/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    renewals = html[html.index('id="table-renewals"') :]
    renewals = renewals[: renewals.index("</p>")]
    assert "Cyan" in renewals and "Delta" in renewals and "Echo" not in renewals
    assert "First 2 of 3 rows; the CSV has all of them." in renewals
    response = client.get("/cs/?export=renewals")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows] == ["account", "Cyan", "Delta", "Echo"]
    assert rows[3][1:3] == [(today + timedelta(days=3)).isoformat(), "3"]


def test_chart_table_on_its_own(client: Client, company: Company) -> None:
    client.force_login(company.users["csm"])
    html = client.get("/executive/?from=2024-01&to=2024-02", HTTP_ACCEPT_LANGUAGE="en")
    page = html.content.decode()
    assert 'data-table-url="?from=2024-01&amp;to=2024-02&amp;table=movements"' in page
    assert 'id="table-movements"' not in page  # loaded when someone opens it
    fragment = client.get("/executive/?from=2024-01&to=2024-02&table=movements").content.decode()
    assert fragment.lstrip().startswith('<div class="table-wrap">')
    assert "<td>2024-02</td>" in fragment
    assert 'href="?from=2024-01&amp;to=2024-02&amp;export=movements"' in fragment
    assert client.get("/executive/?table=nothing").status_code == 404
