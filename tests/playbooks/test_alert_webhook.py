"""A new alert is announced to subscribed webhook endpoints once, however often it is enrolled."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kizuna.api.models import WebhookDelivery, WebhookEndpoint
from kizuna.crm.models import Account
from kizuna.playbooks.actions import enrol_alert
from kizuna.playbooks.context import Match
from kizuna.playbooks.models import Rule


@pytest.mark.django_db
def test_an_alert_is_announced_once() -> None:
    WebhookEndpoint.objects.create(
        url="https://hooks.example.com/kizuna", secret="whsec_test", events=["alert.created"]
    )
    account = Account.objects.create(name="Acme", created_at=datetime(2024, 1, 1, tzinfo=UTC))
    rule = Rule.objects.create(key="usage_drop_alert", name="Usage drop")
    match = Match(
        account_id=account.pk,
        signal="usage_drop",
        level="high",
        occurrence="2024-07",
        occurred_on=date(2024, 7, 12),
        detail={"active_rate_change": -0.35},
    )
    now = datetime(2024, 7, 12, 9, tzinfo=UTC)
    first, created = enrol_alert(
        rule=rule, match=match, as_of=date(2024, 7, 12), owner_id=None, now=now
    )
    again, created_again = enrol_alert(
        rule=rule, match=match, as_of=date(2024, 7, 13), owner_id=None, now=now
    )

    assert (created, created_again, first.pk) == (True, False, again.pk)
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "alert.created"
    assert delivery.payload["data"]["alert_id"] == first.pk
    assert delivery.payload["data"]["rule"] == "usage_drop_alert"
    assert delivery.payload["data"]["occurred_on"] == "2024-07-12"
