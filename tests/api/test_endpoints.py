"""Money, dates, deals with required fields, and usage counted exactly once."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from api_support import bearer, make_world
from django.db import connection
from django.test import Client

from kizuna.api.models import IdempotencyKey
from kizuna.pipeline.models import Deal, DealStageChange
from kizuna.usage.models import UsageDaily


@pytest.mark.django_db
def test_money_is_a_decimal_string_with_its_currency(client: Client) -> None:
    world = make_world()
    headers = bearer(world.csm_a_token)
    subscriptions = client.get("/api/subscriptions", **headers).json()  # type: ignore[arg-type]
    [item] = subscriptions["items"][0]["items"]
    assert item["unit_price"] == {"amount": "49.90", "currency": "USD"}
    assert item["quantity"] == "3"
    assert item["start_date"] == "2024-01-01"
    [invoice] = client.get("/api/invoices", **headers).json()["items"]  # type: ignore[arg-type]
    assert invoice["amount"] == {"amount": "149.70", "currency": "USD"}
    assert invoice["one_off_amount"] == {"amount": "0.00", "currency": "USD"}
    assert invoice["issued_on"] == "2024-02-01"


@pytest.mark.django_db
def test_a_deal_enters_a_stage_only_with_its_required_fields(client: Client) -> None:
    world = make_world()
    headers = bearer(world.csm_a_token)
    body = {
        "account_id": world.account_a.pk,
        "pipeline": "new_business",
        "stage": "lead",
        "title": "Alpha expansion",
        "close_date": "2024-09-30",
    }
    refused = client.post("/api/deals", body, content_type="application/json", **headers)  # type: ignore[arg-type]
    assert refused.status_code == 422
    assert refused.json()["code"] == "stage_requirements_missing"
    assert refused.json()["details"] == [
        {"location": "fields.source", "message": "required"},
        {"location": "fields.first_contact_on", "message": "required"},
    ]
    assert Deal.objects.count() == 0
    body["fields"] = {"source": "web", "first_contact_on": "2024-05-01"}  # type: ignore[assignment]
    created = client.post("/api/deals", body, content_type="application/json", **headers)  # type: ignore[arg-type]
    assert created.status_code == 201
    deal_id = created.json()["id"]
    assert created.json()["stage"] == "lead"
    assert created.json()["amount_mrr"] == {"amount": "0", "currency": "JPY"}
    move = client.post(
        f"/api/deals/{deal_id}/stage",
        {"stage": "lost"},
        content_type="application/json",
        **headers,  # type: ignore[arg-type]
    )
    assert move.status_code == 422
    assert Deal.objects.get().stage.key == "lead"
    move = client.post(
        f"/api/deals/{deal_id}/stage",
        {"stage": "lost", "fields": {"lost_reason": "price"}},
        content_type="application/json",
        **headers,  # type: ignore[arg-type]
    )
    assert move.status_code == 200
    assert (move.json()["stage"], move.json()["status"], move.json()["lost_reason"]) == (
        "lost",
        "lost",
        "price",
    )
    changes = DealStageChange.objects.order_by("pk")
    assert [(c.from_stage and c.from_stage.key, c.to_stage.key) for c in changes] == [
        (None, "lead"),
        ("lead", "lost"),
    ]
    other = client.get(f"/api/deals/{deal_id}", **bearer(world.csm_b_token))  # type: ignore[arg-type]
    assert other.status_code == 404


def _usage(client: Client, token: str, account_id: int, key: str, logins: int = 5) -> dict:  # type: ignore[type-arg]
    response = client.post(
        "/api/usage",
        {"rows": [{"account_id": account_id, "date": "2024-05-01", "logins": logins}]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key,
        **bearer(token),  # type: ignore[arg-type]
    )
    return {"status": response.status_code, **response.json()}


@pytest.mark.django_db
def test_the_same_usage_batch_posted_twice_counts_once(client: Client) -> None:
    world = make_world()
    pk = world.account_a.pk
    first = _usage(client, world.csm_a_token, pk, "batch-1")
    again = _usage(client, world.csm_a_token, pk, "batch-1")
    assert first == {"status": 200, "rows": 1, "created": 1, "updated": 0, "replayed": False}
    assert again == {"status": 200, "rows": 1, "created": 1, "updated": 0, "replayed": True}
    assert UsageDaily.objects.get(account_id=pk, date=date(2024, 5, 1)).logins == 5
    _usage(client, world.csm_a_token, pk, "batch-2")
    assert UsageDaily.objects.get(account_id=pk, date=date(2024, 5, 1)).logins == 10
    reused = _usage(client, world.csm_a_token, pk, "batch-2", logins=7)
    assert reused["status"] == 422
    assert reused["code"] == "idempotency_key_reused"
    missing = _usage(client, world.csm_a_token, pk, "")
    assert (missing["status"], missing["code"]) == (400, "idempotency_key_required")


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_usage_batches_count_once() -> None:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():  # type: ignore[attr-defined]
        pytest.skip(
            "the in-memory SQLite test database locks tables instead of waiting; "
            "this test runs on PostgreSQL (make test-postgres)"
        )
    world = make_world()
    pk = world.account_a.pk
    results: list[dict] = []  # type: ignore[type-arg]
    start = threading.Barrier(4)

    errors: list[BaseException] = []

    def post() -> None:
        try:
            start.wait()
            results.append(_usage(Client(), world.csm_a_token, pk, "same-batch"))
        except BaseException as error:  # reported below, with the thread's traceback
            errors.append(error)
            raise
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(result["replayed"] for result in results) == [False, True, True, True]
    assert {result["status"] for result in results} == {200}
    assert UsageDaily.objects.get(account_id=pk, date=date(2024, 5, 1)).logins == 5
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db
def test_errors_are_json_with_a_code_and_a_message(client: Client) -> None:
    world = make_world()
    response = client.get("/api/accounts?limit=0", **bearer(world.executive_token))  # type: ignore[arg-type]
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["message"]) == ("invalid_request", "The request is not valid.")
    assert body["details"][0]["location"] == "query.limit"
