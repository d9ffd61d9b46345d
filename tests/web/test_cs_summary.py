"""The CS dashboard's figures come from the ``cs-summary`` recompute: health bands, NPS and
pre-churn scores, added up per book of business (hand-computed on hand-made accounts)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from web_pages import Company, traces

from kizuna.crm.models import Account, AccountStatus, ChurnReason, ChurnRecord
from kizuna.health.models import (
    BandCount,
    HealthScore,
    HealthStatus,
    NpsMonth,
    PreChurnScores,
    Scorecard,
)
from kizuna.sources.recompute import run_subject
from kizuna.sources.store_cs_summary import recompute_cs_summary
from kizuna.usage.models import NpsResponse

pytestmark = pytest.mark.django_db


@pytest.fixture
def more(company: Company) -> dict[str, Account]:
    """Initech has no owner (only executives and admins see it); Hooli is the CS manager's."""
    return {
        "initech": Account.objects.create(
            name="Initech", status=AccountStatus.CUSTOMER, created_at=timezone.now()
        ),
        "hooli": Account.objects.create(
            name="Hooli",
            cs_owner=company.users["cs_manager"],
            status=AccountStatus.CUSTOMER,
            created_at=timezone.now(),
        ),
    }


def _score(account: Account, card: Scorecard, day: date, score: str | None, status: str) -> None:
    HealthScore.objects.create(
        account=account,
        scorecard=card,
        date=day,
        score=None if score is None else Decimal(score),
        status=status,
        coverage=Decimal(1),
    )


def _page(client: Client, company: Company, role: str, url: str = "/cs/") -> str:
    client.force_login(company.users[role])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_health_bands_per_book(client: Client, company: Company, more: dict[str, Account]) -> None:
    today = timezone.localdate()
    first, second = (
        Scorecard.objects.create(name="A", definition={}),
        Scorecard.objects.create(name="B", definition={}),
    )
    _score(company.acme, first, today, "55.0", HealthStatus.RISK)
    _score(company.acme, second, today, "52.0", HealthStatus.RISK)  # two scorecards: one account
    _score(company.acme, first, today - timedelta(days=1), "90.0", HealthStatus.HEALTHY)
    _score(company.globex, first, today, "85.0", HealthStatus.HEALTHY)
    _score(more["initech"], first, today, "20.0", HealthStatus.CRITICAL)
    _score(more["hooli"], first, today, "70.0", HealthStatus.CAUTION)
    assert recompute_cs_summary().band_counts == 5  # Acme twice (two days), three others once
    # Healthy, Caution, Risk, Critical per role: the latest day of each one's book.
    expected = {
        "executive": [1, 1, 1, 1],
        "admin": [1, 1, 1, 1],
        "csm": [0, 0, 1, 0],  # Aiko: Acme
        "sales": [0, 0, 1, 0],  # Sato: Acme as its sales owner
        "cs_manager": [0, 1, 1, 0],  # Mori's team (Mori, Aiko): Hooli and Acme
        "other_csm": [1, 0, 0, 0],  # Ben: Globex
    }
    for role, bands in expected.items():
        html = _page(client, company, role)
        assert traces(html, "chart-health")["Accounts"]["y"][:4] == bands, role
    assert '<td class="num">25.0%</td>' in _page(client, company, "executive", "/cs/?table=health")


def test_nps_per_month_and_book(client: Client, company: Company, more: dict[str, Account]) -> None:
    answers = [
        (company.acme, date(2024, 2, 5), (10, 9, 8, 3)),
        (company.acme, date(2024, 3, 1), (6,)),
        (company.globex, date(2024, 2, 29), (10, 10)),
        (more["initech"], date(2024, 3, 31), (9,)),
        (company.acme, date(2024, 4, 1), (0,)),  # after the period
    ]
    for account, day, scores in answers:
        for score in scores:
            NpsResponse.objects.create(account=account, responded_on=day, score=score)
    recompute_cs_summary()
    url = "/cs/?from=2024-01&to=2024-03"
    # February: 6 answers, 4 promoters, 1 detractor → +50.0; March: 2 answers, 1 and 1 → 0.0.
    nps = traces(_page(client, company, "executive", url), "chart-nps")["NPS"]
    assert (nps["x"], nps["y"]) == (["2024-02", "2024-03"], [50.0, 0.0])
    # Aiko's Acme: February (2 − 1) ÷ 4 → +25.0; March one detractor → −100.0.
    nps = traces(_page(client, company, "csm", url), "chart-nps")["NPS"]
    assert (nps["x"], nps["y"]) == (["2024-02", "2024-03"], [25.0, -100.0])
    assert '<td class="num">4</td>' in _page(client, company, "csm", url + "&table=nps")
    nps = traces(_page(client, company, "other_csm", url), "chart-nps")["NPS"]
    assert (nps["x"], nps["y"]) == (["2024-02"], [100.0])


def test_pre_churn_trajectory_per_book(
    client: Client, company: Company, more: dict[str, Account]
) -> None:
    card = Scorecard.objects.create(name="A", definition={})
    acme, globex, initech = company.acme, company.globex, more["initech"]
    # Acme churned twice in the period: it counts from its latest churn, 31 May 2024.
    for day in (date(2024, 3, 31), date(2024, 5, 31)):
        ChurnRecord.objects.create(account=acme, churned_on=day, reason=ChurnReason.COST)
    for day, score in [
        (date(2024, 6, 1), "10.0"),  # after the churn: left out
        (date(2024, 5, 31), "40.0"),  # 0 days before → month 0
        (date(2024, 5, 30), None),  # no score: left out
        (date(2024, 5, 2), "50.5"),  # 29 days → month 0
        (date(2024, 5, 1), "60.0"),  # 30 days → month 1
        (date(2024, 3, 31), "70.0"),  # 61 days → month 2
        (date(2023, 11, 4), "20.0"),  # 209 days → month 6
        (date(2023, 11, 3), "99.0"),  # 210 days: left out
    ]:
        _score(acme, card, day, score, HealthStatus.RISK)
    # Globex churned in February and again in August, after the period: it counts from February.
    for day in (date(2024, 2, 15), date(2024, 8, 1)):
        ChurnRecord.objects.create(account=globex, churned_on=day, reason=ChurnReason.COST)
    for day, score in [
        (date(2024, 7, 30), "5.0"),  # before the August churn only
        (date(2024, 2, 15), "80.0"),  # month 0
        (date(2023, 8, 1), "30.0"),  # 198 days → month 6
    ]:
        _score(globex, card, day, score, HealthStatus.CAUTION)
    # Initech churned in January; its seventh month before churn starts in June 2023.
    ChurnRecord.objects.create(account=initech, churned_on=date(2024, 1, 10))
    _score(initech, card, date(2023, 6, 20), "45.0", HealthStatus.CRITICAL)  # 204 days → month 6
    recompute_cs_summary()
    url = "/cs/?from=2024-01&to=2024-06"
    line = traces(_page(client, company, "executive", url), "chart-pre-churn")
    # Months 6 … 0: (20 + 30 + 45) ÷ 3, none, none, none, 70, 60, (40 + 50.5 + 80) ÷ 3.
    assert line["Average health score"]["x"] == ["6", "5", "4", "3", "2", "1", "0"]
    assert line["Average health score"]["y"] == [31.7, None, None, None, 70.0, 60.0, 56.8]
    line = traces(_page(client, company, "csm", url), "chart-pre-churn")
    # Acme alone: month 0 is (40 + 50.5) ÷ 2 = 45.25, rounded half to even.
    assert line["Average health score"]["y"] == [20.0, None, None, None, 70.0, 60.0, 45.2]
    # A period that ends before August counts Globex from its February churn; one that takes
    # in August counts it from August.
    line = traces(
        _page(client, company, "other_csm", "/cs/?from=2024-01&to=2024-08"), "chart-pre-churn"
    )
    # (80.0 of 15 February is 168 days before August: month 5.)
    assert line["Average health score"]["y"] == [None, 80.0, None, None, None, None, 5.0]
    line = traces(_page(client, company, "other_csm", url), "chart-pre-churn")
    assert line["Average health score"]["y"] == [30.0, None, None, None, None, None, 80.0]


def test_recompute_replaces_the_summaries(company: Company) -> None:
    card = Scorecard.objects.create(name="A", definition={})
    today = timezone.localdate()
    _score(company.acme, card, today, "55.0", HealthStatus.RISK)
    NpsResponse.objects.create(account=company.acme, responded_on=date(2024, 2, 5), score=10)
    ChurnRecord.objects.create(account=company.acme, churned_on=today)
    run = run_subject("cs-summary", today)
    assert run.rows_written == 3  # one band count, one NPS month, one pre-churn month
    HealthScore.objects.update(status=HealthStatus.CAUTION)
    NpsResponse.objects.all().delete()
    assert run_subject("cs-summary", today).rows_written == 2
    assert list(BandCount.objects.values_list("status", "accounts")) == [("caution", 1)]
    assert not NpsMonth.objects.exists()
    assert list(PreChurnScores.objects.values_list("months_before", "tenths", "scores")) == [
        (0, 550, 1)
    ]
