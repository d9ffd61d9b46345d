from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from web_pages import Company, figure, traces

from kizuna.crm.models import ChurnReason, ChurnRecord, OnboardingItem
from kizuna.health.models import HealthScore, HealthStatus, Scorecard
from kizuna.sources.store_cs_summary import recompute_cs_summary
from kizuna.usage.models import NpsResponse

pytestmark = pytest.mark.django_db

PAGES = ("/", "/executive/", "/executive/report/", "/sales/", "/cs/", "/contracts/", "/accounts/")


@pytest.mark.parametrize("role", ["admin", "executive", "sales", "cs_manager", "csm", "other_csm"])
@pytest.mark.parametrize("url", PAGES)
def test_every_page_opens_for_every_role(
    client: Client, company: Company, role: str, url: str
) -> None:
    client.force_login(company.users[role])
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", PAGES[1:])
def test_pages_need_login(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def _html(client: Client, company: Company, url: str, role: str) -> str:
    client.force_login(company.users[role])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_cs_dashboard_lists_and_health(client: Client, company: Company) -> None:
    today = timezone.localdate()
    company.acme.renewal_date = today + timedelta(days=30)
    company.acme.lifecycle_stage = "onboarding"
    company.acme.save()
    OnboardingItem.objects.create(account=company.acme, title="Kick-off", done_on=today)
    OnboardingItem.objects.create(account=company.acme, title="Training")
    card = Scorecard.objects.create(name="B", definition={})
    HealthScore.objects.create(
        account=company.acme,
        scorecard=card,
        date=today,
        score=Decimal("55.0"),
        status=HealthStatus.RISK,
        coverage=Decimal(1),
    )
    HealthScore.objects.create(
        account=company.globex,
        scorecard=card,
        date=today,
        score=Decimal("85.0"),
        status=HealthStatus.HEALTHY,
        coverage=Decimal(1),
    )
    recompute_cs_summary()
    html = _html(client, company, "/cs/", "csm")
    bands = traces(html, "chart-health")["Accounts"]
    assert bands["x"][:4] == ["Healthy", "Caution", "Risk", "Critical"]
    assert bands["y"][:4] == [0, 0, 1, 0]  # the CSM sees only Acme
    risk = html[html.index('id="table-risk"') :]
    assert "Acme KK" in risk[: risk.index("</table>")]
    assert "Task open" in risk[: risk.index("</table>")]
    renewals = html[html.index('id="table-renewals"') :]
    assert '<td class="num">30</td>' in renewals[: renewals.index("</table>")]
    onboarding = html[html.index('id="table-onboarding"') :]
    assert '<td class="num">50.0%</td>' in onboarding[: onboarding.index("</table>")]
    html = _html(client, company, "/cs/", "executive")
    assert traces(html, "chart-health")["Accounts"]["y"][:4] == [1, 0, 1, 0]


def test_nps_and_churn_reasons(client: Client, company: Company) -> None:
    for score in (10, 9, 8, 3):
        NpsResponse.objects.create(account=company.acme, responded_on=date(2024, 2, 5), score=score)
    ChurnRecord.objects.create(
        account=company.globex, churned_on=date(2024, 2, 28), reason=ChurnReason.COST
    )
    recompute_cs_summary()
    html = _html(client, company, "/cs/?from=2024-01&to=2024-02", "executive")
    nps = traces(html, "chart-nps")["NPS"]
    assert (nps["x"], nps["y"]) == (["2024-02"], [25.0])  # (2 promoters − 1 detractor) ÷ 4
    assert figure(html, "chart-nps")["layout"]["shapes"][0]["y0"] == 30.0
    reasons = traces(html, "chart-churn-reasons")["Churned accounts"]
    assert reasons["y"] == [1, 0, 0, 0, 0]
    # The CSM of Acme does not see Globex's churn.
    html = _html(client, company, "/cs/?from=2024-01&to=2024-02", "csm")
    assert 'id="chart-churn-reasons"' not in html
    assert "No churn in this period." in html


def test_contract_ranking_and_impact_risk(client: Client, company: Company) -> None:
    html = _html(client, company, "/contracts/", "executive")
    ranking = traces(html, "chart-ranking")
    assert ranking["Core"]["y"] == ["1. Acme KK", "2. Globex GK"]
    assert ranking["Core"]["x"] == [100000.0, 50000.0]
    assert ranking["Analytics"]["x"] == [20000.0, None]
    assert ranking["Core"]["customdata"] == [
        f"/accounts/{company.acme.pk}/",
        f"/accounts/{company.globex.pk}/",
    ]
    bubbles = traces(html, "chart-impact-risk")
    today = timezone.localdate()
    assert bubbles["Professional"]["x"] == [(today - date(2024, 2, 20)).days]
    assert bubbles["Professional"]["y"] == [120000.0]
    assert bubbles["Professional"]["marker"]["size"] == [2]
    assert bubbles["Starter"]["x"] == [(today - date(2024, 1, 10)).days]
    assert bubbles["Professional"]["customdata"][0][0] == f"/accounts/{company.acme.pk}/"
    shape = figure(html, "chart-impact-risk")["layout"]["shapes"][0]
    assert (shape["x0"], shape["y0"]) == (30, 85000.0)  # median of 120,000 and 50,000
    ranking_table = html[html.index('id="table-ranking"') :]
    assert "Single product" in ranking_table[: ranking_table.index("</table>")]


def test_contracts_respect_the_book(client: Client, company: Company) -> None:
    html = _html(client, company, "/contracts/", "other_csm")
    assert traces(html, "chart-ranking")["Core"]["y"] == ["1. Globex GK"]
    client.force_login(company.users["other_csm"])
    content = client.get("/contracts/?export=ranking").content.decode("utf-8-sig")
    assert "Acme" not in content


# /cs/ reads the segments its filter offers and the latest churn prediction day too.
@pytest.mark.parametrize(("url", "budget"), [("/sales/", 12), ("/cs/", 15), ("/contracts/", 9)])
def test_dashboard_query_budgets(
    client: Client, company: Company, django_assert_max_num_queries: object, url: str, budget: int
) -> None:
    client.force_login(company.users["cs_manager"])
    with django_assert_max_num_queries(budget):  # type: ignore[operator]
        assert client.get(url).status_code == 200
