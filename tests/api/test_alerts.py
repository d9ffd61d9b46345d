"""`GET /api/alerts`: the alerts on the caller's accounts, with what triggered them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from api_support import bearer, make_world
from django.test import Client

from kizuna.playbooks.models import Alert, Rule


@pytest.mark.django_db
def test_alerts_cover_only_visible_accounts(client: Client) -> None:
    world = make_world()
    rule = Rule.objects.create(key="usage_drop_alert", name="Usage drop")
    for account, occurrence in ((world.account_a, "2024-07"), (world.account_b, "2024-07")):
        Alert.objects.create(
            rule=rule,
            account=account,
            signal="usage_drop",
            level="high",
            occurrence=occurrence,
            occurred_on=date(2024, 7, 12),
            as_of=date(2024, 7, 12),
            detail={"active_rate_change": -0.35},
            created_at=datetime(2024, 7, 12, 9, tzinfo=UTC),
        )

    own = client.get("/api/alerts", **bearer(world.csm_a_token))  # type: ignore[arg-type]
    everything = client.get("/api/alerts?status=open", **bearer(world.executive_token))  # type: ignore[arg-type]
    nothing = client.get("/api/alerts?status=handled", **bearer(world.executive_token))  # type: ignore[arg-type]

    assert own.status_code == 200
    assert own.json()["count"] == 1
    item = own.json()["items"][0]
    assert (item["account_id"], item["rule"], item["signal"], item["level"]) == (
        world.account_a.pk,
        "usage_drop_alert",
        "usage_drop",
        "high",
    )
    assert item["detail"] == {"active_rate_change": -0.35}
    assert item["occurred_on"] == "2024-07-12"
    assert everything.json()["count"] == 2
    assert nothing.json()["count"] == 0
    assert client.get("/api/alerts").status_code == 401
