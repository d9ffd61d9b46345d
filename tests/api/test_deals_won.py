"""Deals closed through the API have the board's effects: a won deal becomes revenue."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from api_support import World, bearer, make_world
from django.test import Client

from kizuna.billing.models import BillingRecord, BillingStatus, MrrCategory, Subscription
from kizuna.crm.models import Account, AccountStatus, HandoffRecord
from kizuna.pipeline.models import Deal, DealStageChange

pytestmark = pytest.mark.django_db


def _post(client: Client, url: str, body: dict[str, Any], token: str) -> Any:
    return client.post(url, body, content_type="application/json", **bearer(token))  # type: ignore[arg-type]


def _negotiating_deal(client: Client, world: World) -> int:
    created = _post(
        client,
        "/api/deals",
        {
            "account_id": world.account_b.pk,
            "pipeline": "new_business",
            "stage": "final_negotiation",
            "title": "Beta: first contract",
            "close_date": "2025-03-31",
            "fields": {"decision_maker": "Kato", "approval_status": "approved"},
        },
        world.csm_b_token,
    )
    assert created.status_code == 201
    return int(created.json()["id"])


def test_winning_a_deal_through_the_api_creates_the_subscription_and_billing(
    client: Client,
) -> None:
    world = make_world()
    deal_id = _negotiating_deal(client, world)

    won = _post(
        client,
        f"/api/deals/{deal_id}/stage",
        {
            "stage": "won",
            "fields": {
                "plan": "Professional",
                "amount_mrr": "50000",
                "contract_months": 12,
                "effective_date": "2025-04-01",
            },
        },
        world.csm_b_token,
    )

    assert won.status_code == 200
    assert (won.json()["stage"], won.json()["status"]) == ("won", "won")
    subscription = Subscription.objects.get(account=world.account_b)
    assert (
        subscription.status,
        subscription.started_on,
        subscription.term_months,
        subscription.currency,
        subscription.source,
    ) == ("active", date(2025, 4, 1), 12, "JPY", "deal")
    records = list(
        BillingRecord.objects.filter(subscription=subscription)
        .order_by("target_month")
        .values_list("target_month", "amount", "mrr_category", "status")
    )
    assert len(records) == 12
    assert records[0] == (
        date(2025, 4, 1),
        Decimal(50000),
        MrrCategory.NEW,
        BillingStatus.SCHEDULED,
    )
    assert records[-1] == (
        date(2026, 3, 1),
        Decimal(50000),
        MrrCategory.RECURRING,
        BillingStatus.SCHEDULED,
    )
    account = Account.objects.get(pk=world.account_b.pk)
    assert (account.status, account.contract_start, account.renewal_date, account.plan) == (
        AccountStatus.CUSTOMER,
        date(2025, 4, 1),
        date(2026, 4, 1),
        "Professional",
    )
    assert HandoffRecord.objects.filter(deal_id=deal_id).count() == 1


def test_a_won_move_missing_its_fields_is_refused_and_changes_nothing(client: Client) -> None:
    world = make_world()
    deal_id = _negotiating_deal(client, world)

    refused = _post(
        client,
        f"/api/deals/{deal_id}/stage",
        {"stage": "won", "fields": {"plan": "Professional"}},
        world.csm_b_token,
    )

    assert refused.status_code == 422
    assert refused.json()["code"] == "stage_requirements_missing"
    # A zero MRR is a real answer (a free plan), so only the contract term is missing.
    assert refused.json()["details"] == [
        {"location": "fields.contract_months", "message": "required"},
    ]
    assert Deal.objects.get(pk=deal_id).stage.key == "final_negotiation"
    assert Deal.objects.get(pk=deal_id).plan == ""
    assert DealStageChange.objects.filter(deal_id=deal_id).count() == 1
    assert not Subscription.objects.filter(account=world.account_b).exists()


def test_unreadable_field_values_are_listed_by_field(client: Client) -> None:
    world = make_world()
    deal_id = _negotiating_deal(client, world)

    invalid = _post(
        client,
        f"/api/deals/{deal_id}/stage",
        {"stage": "won", "fields": {"contract_months": "twelve", "colour": "blue"}},
        world.csm_b_token,
    )

    assert invalid.status_code == 422
    assert invalid.json()["code"] == "invalid_move"
    assert invalid.json()["details"] == [
        {"location": "fields.contract_months", "message": "Enter a whole number."},
        {"location": "fields.colour", "message": "unknown deal field"},
    ]
    assert Deal.objects.get(pk=deal_id).stage.key == "final_negotiation"


def test_a_closed_deal_is_not_moved_through_the_api(client: Client) -> None:
    world = make_world()
    deal_id = _negotiating_deal(client, world)
    lost = _post(
        client,
        f"/api/deals/{deal_id}/stage",
        {"stage": "lost", "fields": {"lost_reason": "price"}},
        world.csm_b_token,
    )
    assert lost.status_code == 200

    reopened = _post(
        client, f"/api/deals/{deal_id}/stage", {"stage": "proposal"}, world.csm_b_token
    )

    assert reopened.status_code == 422
    assert reopened.json()["code"] == "invalid_move"
    assert Deal.objects.get(pk=deal_id).status == "lost"
