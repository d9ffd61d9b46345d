"""`GET /api/churn-predictions`: stored predictions of a day, riskiest first, scoped by book."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from api_support import World, bearer, make_world
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from kizuna.api.routes_predictions import probability_text
from kizuna.crm.models import Account
from kizuna.prediction.models import ChurnModel, ChurnPrediction

EARLIER = date(2024, 6, 30)
LATEST = date(2024, 7, 31)
TRAINED = timezone.make_aware(datetime(2024, 8, 1, 3, 0))
REASONS = [
    {"feature": "login_change", "value": -1.5, "contribution": 0.8123},
    {"feature": "nps", "value": None, "contribution": 0.2},
]


@dataclass(frozen=True)
class Stored:
    world: World
    account_c: Account
    model: ChurnModel


def _model(as_of: date) -> ChurnModel:
    return ChurnModel.objects.create(
        trained_at=TRAINED,
        as_of=as_of,
        horizon_days=90,
        training_rows=100,
        training_churned=7,
        parameters={},
    )


def _stored() -> Stored:
    """Latest day: Alpha 0.1, Beta 0.75, Gamma 0.3 (Gamma is csm_a's too, sold by the
    executive); the day before: Alpha 0.6 only."""
    world = make_world()
    account_c = Account.objects.create(
        external_id="C",
        name="Gamma",
        cs_owner=User.objects.get(username="csm_a"),
        owner=User.objects.get(username="exec"),
        created_at=world.account_a.created_at,
    )
    earlier, latest = _model(EARLIER), _model(LATEST)
    ChurnPrediction.objects.create(
        account=world.account_a, as_of=EARLIER, probability=0.6, model=earlier
    )
    for account, probability, reasons in (
        (world.account_a, 0.1, []),
        (world.account_b, 0.75, REASONS),
        (account_c, 0.3, REASONS[:1]),
    ):
        ChurnPrediction.objects.create(
            account=account, as_of=LATEST, probability=probability, reasons=reasons, model=latest
        )
    return Stored(world, account_c, latest)


def _get(client: Client, url: str, token: str) -> Any:
    return client.get(url, **bearer(token))  # type: ignore[arg-type]


def _ids_and_probabilities(body: dict[str, Any]) -> list[tuple[int, str]]:
    return [(item["account_id"], item["probability"]) for item in body["items"]]


@pytest.mark.django_db
def test_latest_day_by_probability_with_model_and_reasons(client: Client) -> None:
    stored = _stored()
    world = stored.world

    response = _get(client, "/api/churn-predictions", world.executive_token)

    assert response.status_code == 200
    model = {
        "version": stored.model.pk,
        "as_of": "2024-07-31",
        "trained_at": "2024-07-31T18:00:00Z",  # 03:00 in Tokyo, in UTC
        "horizon_days": 90,
    }
    assert response.json() == {
        "items": [
            {
                "account_id": world.account_b.pk,
                "as_of": "2024-07-31",
                "probability": "0.75",
                "model": model,
                "reasons": REASONS,
            },
            {
                "account_id": stored.account_c.pk,
                "as_of": "2024-07-31",
                "probability": "0.3",
                "model": model,
                "reasons": REASONS[:1],
            },
            {
                "account_id": world.account_a.pk,
                "as_of": "2024-07-31",
                "probability": "0.1",
                "model": model,
                "reasons": [],
            },
        ],
        "count": 3,
    }


@pytest.mark.django_db
def test_filters_and_pages(client: Client) -> None:
    stored = _stored()
    world = stored.world
    token = world.executive_token
    a, b, c = world.account_a.pk, world.account_b.pk, stored.account_c.pk

    def listed(query: str) -> list[tuple[int, str]]:
        response = _get(client, f"/api/churn-predictions?{query}", token)
        assert response.status_code == 200
        return _ids_and_probabilities(response.json())

    assert listed("as_of=2024-06-30") == [(a, "0.6")]
    assert listed("as_of=2024-07-01") == []  # no recompute stored that day
    assert listed("min_probability=0.3") == [(b, "0.75"), (c, "0.3")]  # inclusive
    assert listed(f"account_id={a}") == [(a, "0.1")]
    assert listed("owner=exec") == [(c, "0.3")]
    assert listed("cs_owner=csm_a") == [(c, "0.3"), (a, "0.1")]
    assert listed("cs_owner=csm_a&min_probability=0.2") == [(c, "0.3")]
    page = _get(client, "/api/churn-predictions?limit=1&offset=1", token).json()
    assert (_ids_and_probabilities(page), page["count"]) == ([(c, "0.3")], 3)


@pytest.mark.django_db
def test_a_csm_reads_only_their_book(client: Client) -> None:
    stored = _stored()
    world = stored.world

    own = _get(client, "/api/churn-predictions", world.csm_a_token)
    other = _get(
        client, f"/api/churn-predictions?account_id={world.account_b.pk}", world.csm_a_token
    )
    theirs = _get(client, "/api/churn-predictions", world.csm_b_token)

    assert _ids_and_probabilities(own.json()) == [
        (stored.account_c.pk, "0.3"),
        (world.account_a.pk, "0.1"),
    ]
    assert own.json()["count"] == 2
    assert other.status_code == 200
    assert other.json() == {"items": [], "count": 0}
    assert _ids_and_probabilities(theirs.json()) == [(world.account_b.pk, "0.75")]


@pytest.mark.django_db
def test_no_token_is_401_and_bad_filters_are_422(client: Client) -> None:
    world = _stored().world

    anonymous = client.get("/api/churn-predictions", HTTP_ACCEPT_LANGUAGE="en")
    too_high = _get(client, "/api/churn-predictions?min_probability=1.5", world.executive_token)

    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "unauthenticated"
    assert too_high.status_code == 422
    assert too_high.json()["code"] == "invalid_request"
    assert [detail["location"] for detail in too_high.json()["details"]] == [
        "query.min_probability"
    ]


@pytest.mark.django_db
def test_before_the_first_recompute_there_are_none(client: Client) -> None:
    world = make_world()
    response = _get(client, "/api/churn-predictions", world.executive_token)
    assert response.json() == {"items": [], "count": 0}


def test_probabilities_keep_their_digits_without_exponents() -> None:
    assert probability_text(0.1) == "0.1"
    assert probability_text(1e-05) == "0.00001"
    assert probability_text(0.23456789) == "0.23456789"
    assert probability_text(1.0) == "1.0"
