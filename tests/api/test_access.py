"""Tokens and scope: no token → 401; another CSM's records → 404, and nothing changes."""

from __future__ import annotations

import pytest
from api_support import bearer, make_world
from django.test import Client

from kizuna.api.models import ApiToken
from kizuna.crm.models import Task
from kizuna.usage.models import UsageDaily


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer kz_not-a-token"}, {"HTTP_AUTHORIZATION": "Basic eDp5"}],
)
def test_requests_without_a_valid_token_get_401(client: Client, headers: dict[str, str]) -> None:
    make_world()
    response = client.get("/api/accounts", HTTP_ACCEPT_LANGUAGE="en", **headers)  # type: ignore[arg-type]
    assert response.status_code == 401
    assert response.json() == {
        "code": "unauthenticated",
        "message": "Send a valid API token as 'Authorization: Bearer <token>'.",
    }


@pytest.mark.django_db
def test_a_token_acts_as_its_user_and_records_its_use(client: Client) -> None:
    world = make_world()
    response = client.get("/api/accounts", **bearer(world.csm_a_token))  # type: ignore[arg-type]
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert [item["external_id"] for item in response.json()["items"]] == ["A"]
    token = ApiToken.objects.get(user__username="csm_a")
    assert token.last_used_at is not None
    assert token.token_hash != world.csm_a_token  # only the hash is stored


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/api/accounts/{a}", "/api/contacts?account_id={a}", "/api/subscriptions?account_id={a}"],
)
def test_another_csms_records_are_invisible(client: Client, path: str) -> None:
    world = make_world()
    url = path.format(a=world.account_a.pk)
    own = client.get(url, **bearer(world.csm_a_token))  # type: ignore[arg-type]
    other = client.get(url, **bearer(world.csm_b_token))  # type: ignore[arg-type]
    assert own.status_code == 200
    if "?" in path:
        assert other.status_code == 200
        assert other.json() == {"items": [], "count": 0}
    else:
        assert other.status_code == 404
        assert other.json() == {"code": "not_found", "message": "Not found."}


@pytest.mark.django_db
def test_writes_to_another_csms_account_are_refused_and_change_nothing(client: Client) -> None:
    world = make_world()
    headers = bearer(world.csm_b_token)
    task = client.post(
        "/api/tasks",
        {"account_id": world.account_a.pk, "title": "Call"},
        content_type="application/json",
        **headers,  # type: ignore[arg-type]
    )
    usage = client.post(
        "/api/usage",
        {"rows": [{"account_id": world.account_a.pk, "date": "2024-05-01", "logins": 1}]},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k",
        **headers,  # type: ignore[arg-type]
    )
    assert (task.status_code, usage.status_code) == (404, 404)
    assert usage.json()["code"] == "account_not_found"
    assert Task.objects.count() == 0
    assert UsageDaily.objects.count() == 0


@pytest.mark.django_db
def test_the_executive_sees_every_account(client: Client) -> None:
    world = make_world()
    response = client.get("/api/accounts?limit=1&offset=1", **bearer(world.executive_token))  # type: ignore[arg-type]
    assert response.json()["count"] == 2
    assert [item["name"] for item in response.json()["items"]] == ["Beta"]
