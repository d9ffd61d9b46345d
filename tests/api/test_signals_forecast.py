"""`GET /api/signals` (stored by the playbook run) and `GET /api/forecast`, scoped."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from api_support import World, bearer, make_world
from django.contrib.auth.models import User
from django.test import Client

from kizuna.api.tokens import create_token
from kizuna.billing.models import Product, Subscription, SubscriptionItem
from kizuna.crm.models import Account, Profile, Role, Team
from kizuna.pipeline.models import ForecastResult
from kizuna.playbooks.runner import run_playbooks
from kizuna.usage.models import UsageDaily

AS_OF = date(2024, 7, 12)


def _active_users(account: Account, first: date, days: int, users: int) -> None:
    UsageDaily.objects.bulk_create(
        UsageDaily(account=account, date=first + timedelta(days=n), active_users=users)
        for n in range(days)
    )


def _usage_drops(world: World) -> None:
    """Both accounts: 10 active users a day in the previous 30 days, 6 in the last 30 (a plan
    without seats, so the rate is the plain average of active users), and the playbook run as
    of the last day, which stores the signals."""
    subscription = Subscription.objects.create(
        account=world.account_b, currency="USD", started_on=date(2024, 1, 1), external_id="SB"
    )
    SubscriptionItem.objects.create(
        subscription=subscription,
        product=Product.objects.get(code="core"),
        quantity=Decimal("3"),
        unit_price=Decimal("49.9"),
        currency="USD",
        start_date=date(2024, 1, 1),
    )
    for account in (world.account_a, world.account_b):
        _active_users(account, AS_OF - timedelta(days=59), 30, 10)
        _active_users(account, AS_OF - timedelta(days=29), 30, 6)
    run_playbooks(AS_OF)


@pytest.mark.django_db
def test_signals_stored_by_the_run_on_visible_accounts_only(client: Client) -> None:
    world = make_world()
    _usage_drops(world)

    own = client.get("/api/signals", **bearer(world.csm_a_token))  # type: ignore[arg-type]
    everything = client.get("/api/signals?as_of=2024-07-12", **bearer(world.executive_token))  # type: ignore[arg-type]

    assert own.status_code == 200
    assert own.json() == {
        "items": [
            {
                "account_id": world.account_a.pk,
                "signal": "usage_drop",
                "kind": "churn",
                "level": "high",
                "occurrence": "2024-07",
                "occurred_on": "2024-07-12",
                "as_of": "2024-07-12",
                "detail": {
                    "drop_percent": 40.0,
                    "active_users": 6.0,
                    "previous_active_users": 10.0,
                    "seats": None,
                    "rate": 6.0,
                    "previous_rate": 10.0,
                },
            }
        ],
        "count": 1,
    }
    assert [item["account_id"] for item in everything.json()["items"]] == [
        world.account_a.pk,
        world.account_b.pk,
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("signal=usage_drop", 2),
        ("signal=api_surge", 0),
        ("level=high", 2),
        ("level=low", 0),
        ("occurred_from=2024-07-12&occurred_to=2024-07-12", 2),
        ("occurred_from=2024-07-13", 0),
        ("occurred_to=2024-07-11", 0),
        ("account_id={b}", 1),
        ("limit=1&offset=1", 2),
    ],
)
def test_signal_filters(client: Client, query: str, count: int) -> None:
    world = make_world()
    _usage_drops(world)
    url = "/api/signals?as_of=2024-07-12&" + query.format(b=world.account_b.pk)
    response = client.get(url, **bearer(world.executive_token))  # type: ignore[arg-type]
    assert response.status_code == 200
    assert response.json()["count"] == count
    if "offset=1" in query:
        assert [item["account_id"] for item in response.json()["items"]] == [world.account_b.pk]


@pytest.mark.django_db
def test_signals_of_a_day_no_run_stored_are_none(client: Client) -> None:
    world = make_world()
    before_any_run = client.get("/api/signals", **bearer(world.executive_token))  # type: ignore[arg-type]
    _usage_drops(world)
    other_day = client.get("/api/signals?as_of=2024-07-11", **bearer(world.executive_token))  # type: ignore[arg-type]
    assert before_any_run.json() == {"items": [], "count": 0}
    assert other_day.json() == {"items": [], "count": 0}


@pytest.mark.django_db
def test_signals_refuse_unknown_names_and_need_a_token(client: Client) -> None:
    world = make_world()
    unknown = client.get("/api/signals?signal=moon_phase", **bearer(world.executive_token))  # type: ignore[arg-type]
    too_early = client.get("/api/signals?as_of=0001-01-01", **bearer(world.executive_token))  # type: ignore[arg-type]
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_signal"
    assert unknown.json()["message"].startswith("Unknown signal moon_phase; known: api_surge, ")
    assert too_early.status_code == 422
    assert too_early.json()["code"] == "invalid_request"
    assert client.get("/api/signals").status_code == 401


def _forecast_rows() -> None:
    def row(metric: str, position: int, key: dict[str, object], values: dict[str, object]) -> None:
        ForecastResult.objects.create(
            metric=metric, position=position, as_of=AS_OF, key=key, values=values
        )

    for position, owner in enumerate(("csm_a", "csm_b"), start=1):
        row(
            "weighted_pipeline",
            position,
            {
                "pipeline": "new_business",
                "stage": "proposal",
                "position": 5,
                "probability": 0.55,
                "owner": owner,
                "close_month": "2024-08-01",
                "currency": "JPY",
            },
            {
                "deals": 1,
                "amount_mrr": "100000",
                "weighted_mrr": "55000",
                "one_off_amount": "0",
                "weighted_one_off": "0",
            },
        )
    row(
        "forecast_vs_actual",
        1,
        {"pipeline": "new_business", "month": "2024-07-01", "currency": "JPY"},
        {"forecast_mrr": "120000", "actual_mrr": "90000", "variance": "-30000"},
    )
    row(
        "win_rate",
        1,
        {"pipeline": "upsell", "currency": "JPY"},
        {"won": 3, "lost": 1, "won_mrr": "30000", "lost_mrr": "5000", "win_rate": 0.75},
    )


def _keys(response: object) -> list[tuple[str, int]]:
    body = response.json()  # type: ignore[attr-defined]
    return [(item["metric"], item["position"]) for item in body["items"]]


@pytest.mark.django_db
def test_forecast_rows_per_owner_follow_the_callers_scope(client: Client) -> None:
    world = make_world()
    _forecast_rows()

    everything = client.get("/api/forecast", **bearer(world.executive_token))  # type: ignore[arg-type]
    own = client.get("/api/forecast", **bearer(world.csm_a_token))  # type: ignore[arg-type]
    others = client.get("/api/forecast?owner=csm_b", **bearer(world.csm_a_token))  # type: ignore[arg-type]

    assert everything.status_code == 200
    assert _keys(everything) == [
        ("forecast_vs_actual", 1),
        ("weighted_pipeline", 1),
        ("weighted_pipeline", 2),
        ("win_rate", 1),
    ]
    assert everything.json()["items"][1] == {
        "metric": "weighted_pipeline",
        "position": 1,
        "as_of": "2024-07-12",
        "key": {
            "pipeline": "new_business",
            "stage": "proposal",
            "position": 5,
            "probability": 0.55,
            "owner": "csm_a",
            "close_month": "2024-08-01",
            "currency": "JPY",
        },
        "values": {
            "deals": 1,
            "amount_mrr": "100000",
            "weighted_mrr": "55000",
            "one_off_amount": "0",
            "weighted_one_off": "0",
        },
    }
    # Company-wide metrics aggregate other people's deals: executives only, as on the web.
    assert _keys(own) == [("weighted_pipeline", 1)]
    assert others.json() == {"items": [], "count": 0}
    assert client.get("/api/forecast").status_code == 401


@pytest.mark.django_db
def test_a_cs_manager_sees_the_forecast_rows_of_the_team(client: Client) -> None:
    make_world()
    _forecast_rows()
    team = Team.objects.create(name="East")
    Profile.objects.filter(user__username="csm_b").update(team=team)
    lead = User.objects.create_user("lead")
    Profile.objects.create(user=lead, role=Role.CS_MANAGER, team=team)
    token = create_token(lead, "tests")[1]

    response = client.get("/api/forecast?metric=weighted_pipeline", **bearer(token))  # type: ignore[arg-type]

    assert _keys(response) == [("weighted_pipeline", 2)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("metric=win_rate", [("win_rate", 1)]),
        ("pipeline=upsell", [("win_rate", 1)]),
        ("owner=csm_b", [("weighted_pipeline", 2)]),
        ("month=2024-07-20", [("forecast_vs_actual", 1)]),
        ("month=2024-08-01", [("weighted_pipeline", 1), ("weighted_pipeline", 2)]),
        ("limit=2&offset=1", [("weighted_pipeline", 1), ("weighted_pipeline", 2)]),
    ],
)
def test_forecast_filters(client: Client, query: str, expected: list[tuple[str, int]]) -> None:
    world = make_world()
    _forecast_rows()
    response = client.get(f"/api/forecast?{query}", **bearer(world.executive_token))  # type: ignore[arg-type]
    assert _keys(response) == expected


@pytest.mark.django_db
def test_forecast_refuses_unknown_metrics(client: Client) -> None:
    world = make_world()
    response = client.get("/api/forecast?metric=vibes", **bearer(world.executive_token))  # type: ignore[arg-type]
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_metric"
