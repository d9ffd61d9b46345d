"""The board, the deal list and the deal page through the test client: moves with the same
validation as the actions, filters in the URL, and who may see and move what."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from pipeline_people import PASSWORD, People, aware, negotiating_deal

from kizuna.billing.models import Subscription
from kizuna.crm.models import Account
from kizuna.pipeline.actions import create_deal
from kizuna.pipeline.models import Deal, DealStageChange, Stage

pytestmark = pytest.mark.django_db


def _client(user: object) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=str(user), password=PASSWORD)
    return client


def _other_deal(people: People) -> Deal:
    kaze = Account.objects.create(
        name="Kaze GK", owner=people.other_sales, created_at=aware(2024, 1, 5)
    )
    return create_deal(
        account=kaze,
        pipeline="new_business",
        title="Kaze: Starter",
        close_date=date(2024, 5, 31),
        owner=people.other_sales,
        amount_mrr=Decimal(30000),
        values={"source": "referral", "first_contact_on": "2024-02-01"},
        at=aware(2024, 2, 1),
    )


def test_the_board_shows_the_stages_and_the_deals_the_user_may_see(people: People) -> None:
    deal = negotiating_deal(people)
    other = _other_deal(people)
    response = _client(people.sales).get("/deals/board/new_business/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Lead", "MQL", "Final negotiation", "Won", "Lost"):
        assert f">{name}</h2>" in html
    assert f'data-deal="{deal.pk}"' in html
    assert f'data-deal="{other.pk}"' not in html
    assert "pipeline/board.js" in html
    everything = _client(people.executive).get("/deals/board/new_business/").content.decode()
    assert f'data-deal="{deal.pk}"' in everything and f'data-deal="{other.pk}"' in everything


def test_the_board_without_a_pipeline_opens_the_first(people: People) -> None:
    response = _client(people.sales).get("/deals/board/")
    assert response.status_code == 302 and response["Location"] == "/deals/board/new_business/"


def test_a_refused_move_asks_for_the_missing_fields_then_completes(people: People) -> None:
    deal = negotiating_deal(people)
    client = _client(people.sales)
    response = client.post(f"/deals/{deal.pk}/move/", {"stage": "won", "next": "/deals/board/"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Cannot move the deal to “Won”: fill in these fields first: Plan, Contract term" in html
    assert 'name="plan"' in html and 'name="contract_months"' in html
    assert 'name="amount_mrr"' not in html  # 120,000 is already there
    deal.refresh_from_db()
    assert deal.stage.key == "final_negotiation"
    assert DealStageChange.objects.filter(deal=deal).count() == 1

    response = client.post(
        f"/deals/{deal.pk}/move/",
        {"stage": "won", "next": "/deals/board/", "plan": "Professional", "contract_months": "12"},
    )
    assert response.status_code == 302 and response["Location"] == "/deals/board/"
    deal.refresh_from_db()
    assert (deal.stage.key, deal.status, deal.plan, deal.contract_months) == (
        "won",
        "won",
        "Professional",
        12,
    )
    assert Subscription.objects.filter(account=people.hikari).count() == 1


def test_the_board_script_gets_the_prompt_as_json(people: People) -> None:
    deal = negotiating_deal(people)
    client = _client(people.sales)
    response = client.post(
        f"/deals/{deal.pk}/move/", {"stage": "lost"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 409
    data = json.loads(response.content)
    assert data["ok"] is False and data["missing"] == ["lost_reason"]
    assert '<select id="prompt-lost_reason" name="lost_reason" required' in data["form"]
    assert '<option value="competitor">Chose a competitor</option>' in data["form"]

    response = client.post(
        f"/deals/{deal.pk}/move/",
        {"stage": "lost", "lost_reason": "cheaper"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 422
    assert 'aria-invalid="true"' in json.loads(response.content)["form"]

    response = client.post(
        f"/deals/{deal.pk}/move/",
        {"stage": "lost", "lost_reason": "competitor"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "ok": True,
        "stage": "lost",
        "message": "“Hikari: Professional” moved to Lost.",
    }
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == ("lost", "competitor")


def test_a_closed_deal_cannot_be_dragged_back(people: People) -> None:
    deal = negotiating_deal(people)
    client = _client(people.sales)
    client.post(f"/deals/{deal.pk}/move/", {"stage": "lost", "lost_reason": "price"})
    response = client.post(
        f"/deals/{deal.pk}/move/", {"stage": "proposal"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert "is closed" in json.loads(response.content)["message"]


def test_nobody_moves_or_sees_a_deal_outside_their_book(people: People) -> None:
    deal = negotiating_deal(people)
    client = _client(people.other_sales)
    response = client.post(
        f"/deals/{deal.pk}/move/",
        {"stage": "won", "plan": "Professional", "contract_months": "12"},
    )
    assert response.status_code == 404
    assert client.get(f"/deals/{deal.pk}/").status_code == 404
    deal.refresh_from_db()
    assert deal.stage.key == "final_negotiation" and not Subscription.objects.exists()
    assert Client().get("/deals/").status_code == 302  # to the login page


def test_the_deal_list_filters_are_kept_in_the_url(people: People) -> None:
    small = negotiating_deal(people, Decimal(40000))
    large = negotiating_deal(people, Decimal(200000))
    other = _other_deal(people)
    client = _client(people.executive)

    def titles(query: str) -> list[int]:
        response = client.get(f"/deals/?{query}")
        assert response.status_code == 200
        return [deal.pk for deal in response.context["page"]]

    assert titles("") == [small.pk, large.pk, other.pk]
    assert titles(f"owner={people.other_sales.pk}") == [other.pk]
    lead = Stage.objects.get(pipeline__key="new_business", key="lead")
    assert titles(f"stage={lead.pk}") == [other.pk]
    assert titles("close_month=2024-03") == [small.pk, large.pk]
    assert titles("source=referral") == [other.pk]
    assert titles("min_mrr=100000") == [large.pk]
    assert titles("max_mrr=50000&pipeline=new_business") == [small.pk, other.pk]
    assert titles("close_month=March") == []
    html = client.get("/deals/?source=referral&min_mrr=1000").content.decode()
    assert '<option value="referral" selected>referral</option>' in html
    assert 'value="1000"' in html
    assert "1 deal, ¥30,000 MRR" in html


def test_the_deal_page_shows_the_timeline(people: People) -> None:
    deal = negotiating_deal(people)
    client = _client(people.sales)
    client.post(
        f"/deals/{deal.pk}/move/",
        {"stage": "won", "plan": "Professional", "contract_months": "12"},
    )
    html = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Opened in Final negotiation" in html
    assert "Final negotiation → Won" in html
    assert "Handoff to customer success opened" in html
    assert "Decision maker" in html and "Tanaka" in html
    assert 'name="stage"' not in html  # a closed deal offers no move
