from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from kizuna.billing.models import PeriodKind, RevenueKpi
from kizuna.crm.models import Account, Profile, Role
from kizuna.pipeline.models import Deal, Pipeline, PipelineKind, Stage


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
