"""A change of health status from one day to the next is announced to webhook endpoints."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from kizuna.api.models import WebhookDelivery, WebhookEndpoint
from kizuna.crm.models import Account
from kizuna.health.models import HealthScore
from kizuna.sources.store_health import announce_band_changes, ensure_default_scorecards


@pytest.mark.django_db
def test_only_changed_statuses_are_announced() -> None:
    WebhookEndpoint.objects.create(
        url="https://hooks.example.com/kizuna", secret="whsec", events=["health.band_changed"]
    )
    card = ensure_default_scorecards()
    created = datetime(2024, 1, 1, tzinfo=UTC)
    steady, falling, new = (
        Account.objects.create(name=name, created_at=created) for name in ("S", "F", "N")
    )
    for account, status in ((steady, "healthy"), (falling, "caution")):
        HealthScore.objects.create(
            account=account,
            scorecard=card,
            date=date(2024, 6, 30),
            score=Decimal(70),
            status=status,
            coverage=Decimal(1),
        )
    latest = {
        steady.pk: (Decimal("85.0"), "healthy"),
        falling.pk: (Decimal("52.5"), "risk"),
        new.pk: (Decimal("90.0"), "healthy"),
    }

    assert announce_band_changes(date(2024, 7, 1), latest) == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "health.band_changed"
    assert delivery.payload["data"] == {
        "account_id": falling.pk,
        "date": "2024-07-01",
        "from_status": "caution",
        "to_status": "risk",
        "score": "52.5",
    }
