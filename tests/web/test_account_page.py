from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from web_pages import Company, traces

from kizuna.billing.models import CustomerMrr
from kizuna.crm.models import Activity, Contact, Task
from kizuna.health.models import HealthOverride, HealthScore, HealthStatus, Scorecard
from kizuna.pipeline.models import Deal
from kizuna.playbooks.models import Alert, Rule
from kizuna.web.account_page import explain

pytestmark = pytest.mark.django_db


def _page(client: Client, company: Company, role: str = "csm") -> str:
    client.force_login(company.users[role])
    response = client.get(f"/accounts/{company.acme.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_each_movement_is_explained(client: Client, company: Company) -> None:
    html = _page(client, company)
    assert (
        "MRR grew by ¥20,000, from ¥100,000 to ¥120,000. By product: Analytics +¥20,000 (New)."
        in html
    )
    assert "First paying month: MRR starts at ¥100,000. By product: Core +¥100,000 (New)." in html


def test_mrr_history_chart_per_product(client: Client, company: Company) -> None:
    chart = traces(_page(client, company), "chart-account-mrr")
    assert chart["Core"]["y"] == [100000.0, 100000.0]
    assert chart["Analytics"]["y"] == [None, 20000.0]
    assert chart["MRR"]["y"] == [100000.0, 120000.0]


def test_timeline_merges_activities_deals_and_tasks(client: Client, company: Company) -> None:
    html = _page(client, company)
    timeline = html[html.index('class="timeline"') :]
    order = [
        timeline.index(text)
        for text in ("Send QBR summary", "Q1 business review", "Acme expansion seats")
    ]
    assert order == sorted(order)
    assert "Deal closed" in timeline


def test_other_csm_gets_404_for_page_csv_and_actions(client: Client, company: Company) -> None:
    client.force_login(company.users["other_csm"])
    url = f"/accounts/{company.acme.pk}/"
    assert client.get(url).status_code == 404
    assert client.get(url + "?export=movements").status_code == 404
    response = client.post(url + "tasks/", {"title": "x", "assignee": company.users["csm"].pk})
    assert response.status_code == 404
    response = client.post(url + "activities/", {"type": "call", "occurred_at": "2024-03-01T10:00"})
    assert response.status_code == 404
    assert Task.objects.filter(title="x").count() == 0
    assert Activity.objects.filter(type="call").count() == 0


def test_movement_csv(client: Client, company: Company) -> None:
    client.force_login(company.users["csm"])
    response = client.get(
        f"/accounts/{company.acme.pk}/?export=movements", HTTP_ACCEPT_LANGUAGE="en"
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["month", "label", "delta", "before", "after", "explanation"]
    assert rows[1][:5] == ["2024-02", "Expansion", "20000", "100000", "120000"]


def test_log_activity_and_create_task(client: Client, company: Company) -> None:
    client.force_login(company.users["csm"])
    url = f"/accounts/{company.acme.pk}/"
    response = client.post(
        url + "activities/",
        {"type": "meeting", "occurred_at": "2024-03-01T10:30", "subject": "Kick-off"},
    )
    assert response.status_code == 302
    activity = Activity.objects.get(subject="Kick-off")
    assert (activity.account, activity.author, activity.type) == (
        company.acme,
        company.users["csm"],
        "meeting",
    )
    response = client.post(
        url + "tasks/",
        {"title": "Prepare renewal", "assignee": company.users["sales"].pk, "due_on": "2024-03-08"},
    )
    assert response.status_code == 302
    task = Task.objects.get(title="Prepare renewal")
    assert (task.account, task.assignee, task.due_on, task.status) == (
        company.acme,
        company.users["sales"],
        date(2024, 3, 8),
        "open",
    )
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Kick-off" in html
    assert "Prepare renewal" in html


def test_invalid_task_is_not_saved(client: Client, company: Company) -> None:
    client.force_login(company.users["csm"])
    response = client.post(
        f"/accounts/{company.acme.pk}/tasks/",
        {"title": ""},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert Task.objects.count() == 1
    assert "The task was not saved: Title: This field is required." in response.content.decode()


def test_executive_reads_but_cannot_act(client: Client, company: Company) -> None:
    html = _page(client, company, "executive")
    assert "Log an activity" not in html
    response = client.post(
        f"/accounts/{company.acme.pk}/tasks/",
        {"title": "x", "assignee": company.users["executive"].pk},
    )
    assert response.status_code == 403
    assert Task.objects.filter(title="x").count() == 0


def test_health_section_when_scores_exist(client: Client, company: Company) -> None:
    assert "Health score history" not in _page(client, company)
    card = Scorecard.objects.create(name="B", definition={})
    today = timezone.localdate()
    for days, score, usage in ((40, "82.0", 100), (0, "58.0", 40)):
        HealthScore.objects.create(
            account=company.acme,
            scorecard=card,
            date=today - timedelta(days=days),
            score=Decimal(score),
            status=HealthStatus.HEALTHY if days else HealthStatus.RISK,
            coverage=Decimal(1),
            components=[
                {
                    "name": "usage",
                    "measure": "active_rate",
                    "value": 0.5,
                    "points": usage,
                    "weight": 40,
                    "missing": False,
                },
                {
                    "name": "nps",
                    "measure": "nps",
                    "value": None,
                    "points": None,
                    "weight": 20,
                    "missing": True,
                },
            ],
        )
    HealthOverride.objects.create(
        account=company.acme,
        score=Decimal("70.0"),
        status=HealthStatus.CAUTION,
        reason="Champion back from leave",
        author=company.users["cs_manager"],
    )
    html = _page(client, company)
    assert "Health score history" in html
    assert '<span class="badge caution">Caution</span>' in html
    assert "Overridden by mori; computed score 58.0" in html
    changes = html[html.index('id="table-health_changes"') :]
    assert "<td>usage</td>" in changes
    assert '<td class="num">100</td><td class="num">40</td><td class="num">-60</td>' in changes
    assert traces(html, "chart-account-health")["Health score"]["y"] == [82.0, 58.0]


def _query_count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


def test_account_page_query_budget_does_not_grow_with_data(
    client: Client, company: Company
) -> None:
    client.force_login(company.users["csm"])
    url = f"/accounts/{company.acme.pk}/"
    before = _query_count(client, url)
    assert before <= 18
    deal = Deal.objects.get(title="Acme expansion seats")
    for number in range(20):
        Contact.objects.create(account=company.acme, name=f"Person {number}")
        Activity.objects.create(
            account=company.acme,
            type="call",
            occurred_at=timezone.now(),
            author=company.users["csm"],
        )
        Task.objects.create(account=company.acme, title=f"Task {number}")
        deal.pk = None
        deal.title = f"Deal {number}"
        deal.save()
    assert _query_count(client, url) == before


def test_signals_and_alerts_section(client: Client, company: Company) -> None:
    rule = Rule.objects.create(key="usage-drop", name="Usage drop follow-up", trigger_kind="signal")
    Alert.objects.create(
        account=company.acme,
        rule=rule,
        signal="usage_drop",
        level="high",
        occurrence="usage_drop:2024-02",
        occurred_on=date(2024, 2, 25),
        as_of=date(2024, 2, 25),
        owner=company.users["csm"],
        created_at=timezone.now(),
    )
    html = _page(client, company)
    alerts = html[html.index('id="table-alerts"') :]
    alerts = alerts[: alerts.index("</table>")]
    assert (
        "<td>2024-02-25</td><td>Usage drop</td><td>Usage drop follow-up</td><td>high</td>" in alerts
    )
    assert "<td>Open</td><td>aiko</td>" in alerts
    timeline = html[html.index('class="timeline"') :]
    assert (
        '2024-02-25</time> <span class="kind">Alert</span> <strong>Usage drop</strong>' in timeline
    )


def test_a_month_moved_by_exchange_rates_alone_is_not_called_unchanged() -> None:
    row = CustomerMrr(
        month=date(2026, 6, 1),
        mrr=Decimal(387205),
        movement="none",
        delta=Decimal(0),
        fx=Decimal(-2195),
    )
    with translation.override("en"):
        text = explain(row, Decimal(389400), [], {})
    assert text == (
        "No movement: MRR went from ¥389,400 to ¥387,205. Exchange rates changed MRR by −¥2,195."
    )
    steady = CustomerMrr(
        month=date(2026, 7, 1), mrr=Decimal(5000), movement="none", delta=Decimal(0), fx=Decimal(0)
    )
    with translation.override("en"):
        assert explain(steady, Decimal(5000), [], {}) == "MRR unchanged at ¥5,000."
