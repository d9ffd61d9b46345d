from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from web_pages import figure, traces

from kizuna.billing.models import CohortCell, PeriodKind, RevenueKpi
from kizuna.crm.models import Account, Profile, Role
from kizuna.pipeline.models import Deal, Pipeline, PipelineKind, Stage
from kizuna.web.filters import add_months


@pytest.mark.django_db
def test_home_requires_login(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_home_shows_mrr_customers_and_open_deals(client: Client) -> None:
    user = User.objects.create_user("exec", password="pw-123456789")
    Profile.objects.create(user=user, role=Role.EXECUTIVE)
    month = timezone.localdate().replace(day=1)
    RevenueKpi.objects.create(
        period_kind=PeriodKind.MONTH,
        period_start=month,
        values={"mrr": "1234567", "arr": "14814804", "customers": 321, "arpa": "3846"},
    )
    account = Account.objects.create(name="Acme", created_at=timezone.now())
    pipeline = Pipeline.objects.create(key="nb", name="New", kind=PipelineKind.NEW_BUSINESS)
    stage = Stage.objects.create(
        pipeline=pipeline, key="p", name="Proposal", probability=Decimal("0.55")
    )
    for amount in (Decimal("100000"), Decimal("50000")):
        Deal.objects.create(
            title="d",
            pipeline=pipeline,
            stage=stage,
            account=account,
            amount_mrr=amount,
            created_on=date(2024, 1, 1),
            close_date=date(2024, 2, 1),
        )
    client.force_login(user)
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert "¥1,234,567" in html
    assert "¥14,814,804" in html
    assert ">321<" in html
    assert "¥150,000 MRR · ¥82,500 weighted" in html


@pytest.mark.django_db
def test_home_charts_the_last_twelve_months_from_the_result_tables(client: Client) -> None:
    user = User.objects.create_user("exec", password="pw-123456789")
    Profile.objects.create(user=user, role=Role.EXECUTIVE)
    current = timezone.localdate().replace(day=1)
    months = [add_months(current, offset) for offset in range(-13, 1)]
    for index, month in enumerate(months):
        RevenueKpi.objects.create(
            period_kind=PeriodKind.MONTH,
            period_start=month,
            values={
                "mrr": str(1000 * (index + 1)),
                "arr": str(12000 * (index + 1)),
                "new_mrr": "1000",
                "churned_mrr": str(index),
                "net_new_mrr": str(1000 - index),
                "nrr_12m": "1.05",
                "grr_12m": "0.9",
                "logo_churn_rate": "0.01",
            },
        )
    CohortCell.objects.create(
        cohort=months[-2],
        months_since=1,
        customers=3,
        mrr=Decimal(900),
        logo_retention=Decimal("0.75"),
        mrr_retention=Decimal("0.9"),
    )
    client.force_login(user)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The last 12 months" in html
    last_year = [month.strftime("%Y-%m") for month in months[-12:]]
    movements = traces(html, "chart-movements")
    assert movements["New"]["x"] == last_year
    assert movements["Churned"]["y"] == [-float(index) for index in range(2, 14)]
    assert traces(html, "chart-arr")["ARR"]["y"] == [12000.0 * index for index in range(3, 15)]
    assert traces(html, "chart-retention")["NRR (12 months)"]["y"] == [1.05] * 12
    assert traces(html, "chart-churn")["Logo churn rate"]["y"] == [0.01] * 12
    cohort = figure(html, "chart-cohort-mrr")["data"][0]
    assert cohort["y"] == [months[-2].strftime("%Y-%m")]
    assert cohort["z"] == [[None, 0.9]]
    assert 'id="chart-cohort-logos"' in html
    table = client.get("/?table=arr", HTTP_ACCEPT_LANGUAGE="en")
    assert table.status_code == 200
    assert "¥168,000" in table.content.decode()  # ARR of the 14th month, 12,000 × 14
    assert client.get("/?table=monthly").status_code == 404
