"""Every stage change of a deal is a ``deal.stage_changed`` webhook event, sent once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pipeline_people import People, aware, negotiating_deal

from kizuna.api.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from kizuna.api.webhooks import ALERT_CREATED, DEAL_STAGE_CHANGED
from kizuna.pipeline.actions import create_deal, lose_deal, move_deal, win_deal
from kizuna.pipeline.stage_rules import StageMoveRefused

pytestmark = pytest.mark.django_db


def _endpoint(events: list[str]) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        url="https://hooks.example.com/kizuna", secret="whsec_test", events=events
    )


def _data(delivery: WebhookDelivery) -> dict[str, Any]:
    assert delivery.payload["event"] == DEAL_STAGE_CHANGED
    data: dict[str, Any] = delivery.payload["data"]
    return data


def test_a_move_records_one_delivery_with_the_change(people: People) -> None:
    deal = negotiating_deal(people, Decimal("120000"))
    endpoint = _endpoint([DEAL_STAGE_CHANGED])
    moment = aware(2024, 3, 20)

    win_deal(
        deal,
        people.sales,
        {"plan": "Professional", "contract_months": "12", "effective_date": "2024-04-01"},
        at=moment,
    )

    [delivery] = WebhookDelivery.objects.all()
    assert (delivery.endpoint_id, delivery.event, delivery.status, delivery.attempts) == (
        endpoint.pk,
        DEAL_STAGE_CHANGED,
        DeliveryStatus.PENDING,
        0,
    )
    assert _data(delivery) == {
        "deal_id": deal.pk,
        "account_id": people.hikari.pk,
        "pipeline": "new_business",
        "from_stage": "final_negotiation",
        "to_stage": "won",
        "changed_at": moment.isoformat(),
        "amount_mrr": "120000",
        "currency": "JPY",
    }


def test_opening_a_deal_is_a_change_from_no_stage(people: People) -> None:
    _endpoint(["*"])

    deal = create_deal(
        account=people.hikari,
        pipeline="upsell",
        title="Hikari: 5 more seats",
        close_date=date(2024, 6, 30),
        owner=people.sales,
        user=people.sales,
        amount_mrr=Decimal("12500.50"),
        currency="USD",
        at=aware(2024, 5, 1),
    )

    [delivery] = WebhookDelivery.objects.all()
    assert (_data(delivery)["deal_id"], _data(delivery)["from_stage"]) == (deal.pk, None)
    assert (_data(delivery)["to_stage"], _data(delivery)["pipeline"]) == (
        "opportunity_detected",
        "upsell",
    )
    assert (_data(delivery)["amount_mrr"], _data(delivery)["currency"]) == ("12500.50", "USD")


def test_a_refused_move_sends_nothing(people: People) -> None:
    deal = negotiating_deal(people)
    _endpoint([DEAL_STAGE_CHANGED])

    with pytest.raises(StageMoveRefused):
        move_deal(deal, "won", people.sales)
    with pytest.raises(StageMoveRefused):
        lose_deal(deal, people.sales, "")

    assert WebhookDelivery.objects.count() == 0


def test_only_endpoints_subscribed_to_stage_changes_get_them(people: People) -> None:
    deal = negotiating_deal(people)
    subscribed = _endpoint([DEAL_STAGE_CHANGED])
    _endpoint([ALERT_CREATED])
    WebhookEndpoint.objects.create(
        url="https://old.example.com/kizuna",
        secret="whsec_old",
        events=[DEAL_STAGE_CHANGED],
        active=False,
    )

    lose_deal(deal, people.sales, "price", at=aware(2024, 3, 25))

    [delivery] = WebhookDelivery.objects.all()
    assert delivery.endpoint_id == subscribed.pk
    assert (_data(delivery)["from_stage"], _data(delivery)["to_stage"]) == (
        "final_negotiation",
        "lost",
    )


def test_saving_values_without_changing_stage_sends_nothing(people: People) -> None:
    deal = negotiating_deal(people)
    _endpoint([DEAL_STAGE_CHANGED])

    move_deal(deal, "final_negotiation", people.sales, {"approval_status": "pending"})

    assert WebhookDelivery.objects.count() == 0
