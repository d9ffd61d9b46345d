"""The playbook pages: each person sees only their book; executives cannot change alerts."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from django.test import Client

sys.path.insert(0, str(Path(__file__).parent))

from playbook_store import at, in_english, make_account, make_people, only_rules, usage_drop  # noqa: F401

from kizuna.crm.models import ChurnReason
from kizuna.playbooks import actions
from kizuna.playbooks.models import Alert
from kizuna.playbooks.runner import run_playbooks

AS_OF = date(2024, 7, 12)


@pytest.fixture
def company() -> object:
    people = make_people()
    usage_drop(make_account("Acme", people.aiko), AS_OF)
    usage_drop(make_account("Globex", people.ben), AS_OF)
    only_rules("usage-drop")
    run_playbooks(AS_OF, now=at(AS_OF))
    return people


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("user", "sees", "hidden"),
    [("aiko", "Acme", "Globex"), ("ben", "Globex", "Acme")],
)
def test_my_work_and_risk_list_show_only_my_book(
    company: object, client: Client, user: str, sees: str, hidden: str
) -> None:
    client.force_login(getattr(company, user))
    for url in ("/playbooks/", "/playbooks/risk/"):
        page = client.get(url).content.decode()
        assert sees in page
        assert hidden not in page


@pytest.mark.django_db
def test_lead_sees_the_team_and_the_rule_counts(company: object, client: Client) -> None:
    client.force_login(company.lead)  # type: ignore[attr-defined]
    risk = client.get("/playbooks/risk/").content.decode()
    assert "Acme" in risk and "Globex" in risk
    assert "overdue" in risk  # due 18 July 2024, and today is later
    rules = client.get("/playbooks/rules/").content.decode()
    assert "Usage drop" in rules
    assert client.get("/playbooks/escalations/").status_code == 200


@pytest.mark.django_db
def test_snooze_needs_a_reason_and_executives_cannot_change_alerts(
    company: object, client: Client
) -> None:
    alert = Alert.objects.get(account__name="Acme")
    client.force_login(company.aiko)  # type: ignore[attr-defined]
    url = f"/playbooks/alerts/{alert.pk}/status/"
    client.post(url, {"status": "snoozed", "until": "2024-07-20"})
    alert.refresh_from_db()
    assert alert.status == "open"
    client.post(url, {"status": "snoozed", "until": "2024-07-20", "reason": "On holiday"})
    alert.refresh_from_db()
    assert (alert.status, alert.status_reason) == ("snoozed", "On holiday")
    # Ben cannot see Acme's alert at all.
    client.force_login(company.ben)  # type: ignore[attr-defined]
    assert client.post(url, {"status": "handled"}).status_code == 404
    client.force_login(company.boss)  # type: ignore[attr-defined]
    assert client.post(url, {"status": "handled"}).status_code == 403
    alert.refresh_from_db()
    assert alert.status == "snoozed"


@pytest.mark.django_db
def test_churn_review_page(company: object, client: Client) -> None:
    acme = Alert.objects.get(account__name="Acme").account
    record = actions.record_churn(
        acme,
        churned_on=date(2024, 9, 30),
        reason=ChurnReason.COST,
        detail="Budget cut",
        user=company.aiko,  # type: ignore[attr-defined]
    )
    client.force_login(company.aiko)  # type: ignore[attr-defined]
    page = client.get(f"/playbooks/churns/{record.pk}/").content.decode()
    assert "Budget cut" in page and "Usage drop" in page
    client.force_login(company.ben)  # type: ignore[attr-defined]
    assert client.get(f"/playbooks/churns/{record.pk}/").status_code == 404
