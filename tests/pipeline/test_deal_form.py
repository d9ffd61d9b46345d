"""Creating and editing deals from the pages (Django test client), and the board's totals per
currency. The form goes through the actions, so it refuses what the API and importers refuse."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from pipeline_people import PASSWORD, People, aware, negotiating_deal

from kizuna.crm.models import Account, Contact, Profile, Role
from kizuna.pipeline.actions import create_deal
from kizuna.pipeline.models import Deal, DealStageChange

pytestmark = pytest.mark.django_db


def _client(user: object, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    assert client.login(username=str(user), password=PASSWORD)
    return client


def _form(people: People, **changes: str) -> dict[str, object]:
    return {
        "account": str(people.hikari.pk),
        "pipeline": "new_business",
        "title": "Hikari: Professional",
        "stage": "lead",
        "amount_mrr": "120000",
        "one_off_amount": "300000",
        "currency": "JPY",
        "owner": str(people.sales.pk),
        "close_date": "2024-06-30",
        "source": "webinar",
        "product": "core",
        "plan": "Professional",
        "first_contact_on": "2024-04-02",
        **changes,
    }


def test_a_rep_creates_a_deal_from_the_form(people: People) -> None:
    tanaka = Contact.objects.create(account=people.hikari, name="Tanaka")
    client = _client(people.sales)
    page = client.get(f"/deals/new/?pipeline=new_business&account={people.hikari.pk}")
    html = page.content.decode()
    assert page.status_code == 200
    # The first stage (Lead) needs its first-contact date; the form asks for it.
    assert 'name="first_contact_on"' in html and 'type="date"' in html
    assert 'value="Tanaka"' not in html and f'value="{tanaka.pk}"' in html
    response = client.post("/deals/new/", {**_form(people), "contacts": [str(tanaka.pk)]})
    deal = Deal.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/deals/{deal.pk}/"
    assert (deal.pipeline.key, deal.stage.key, deal.status) == ("new_business", "lead", "open")
    assert (deal.amount_mrr, deal.one_off_amount, deal.currency) == (
        Decimal(120000),
        Decimal(300000),
        "JPY",
    )
    assert (deal.owner, deal.account, deal.close_date) == (
        people.sales,
        people.hikari,
        date(2024, 6, 30),
    )
    assert (deal.source, deal.product, deal.plan) == ("webinar", "core", "Professional")
    assert deal.details == {"first_contact_on": "2024-04-02"}
    assert list(deal.contacts.all()) == [tanaka]
    change = DealStageChange.objects.get(deal=deal)
    assert (change.from_stage, change.to_stage.key, change.changed_by) == (
        None,
        "lead",
        people.sales,
    )
    detail = client.get(response["Location"]).content.decode()
    assert "Deal “Hikari: Professional” created." in detail and "Tanaka" in detail


def test_the_form_refuses_a_stage_whose_fields_are_missing_and_names_them(people: People) -> None:
    client = _client(people.sales)
    response = client.post(
        "/deals/new/", _form(people, stage="won", plan="", source="", first_contact_on="")
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert (
        "Cannot move the deal to “Won”: fill in these fields first: Plan, Contract term (months)."
        in html
    )
    # The stage's own field is now on the form, marked, next to the core fields.
    assert 'name="contract_months"' in html
    assert html.count("Required for this stage.") == 2
    assert Deal.objects.count() == 0 and DealStageChange.objects.count() == 0


def test_unreadable_values_are_reported_per_field(people: People) -> None:
    client = _client(people.sales)
    response = client.post("/deals/new/", _form(people, amount_mrr="lots", first_contact_on="soon"))
    assert response.status_code == 422
    html = response.content.decode()
    assert '<p class="errorlist" id="id_amount_mrr-error">Enter a number.</p>' in html
    assert (
        '<p class="errorlist" id="id_first_contact_on-error">Enter a date as YYYY-MM-DD.</p>'
        in html
    )
    response = client.post("/deals/new/", _form(people, currency="XYZ"))
    assert response.status_code == 422
    assert "unknown currency &#x27;XYZ&#x27;" in response.content.decode()
    assert Deal.objects.count() == 0


def test_a_csm_cannot_create_a_deal_on_another_csms_account(people: People) -> None:
    other = Account.objects.create(
        name="Kaze GK", cs_owner=people.other_sales, created_at=aware(2024, 1, 5)
    )
    Profile.objects.filter(user=people.other_sales).update(role=Role.CSM)
    client = _client(people.csm)
    assert client.get(f"/deals/new/?pipeline=upsell&account={other.pk}").status_code == 404
    response = client.post("/deals/new/", _form(people, account=str(other.pk), pipeline="upsell"))
    assert response.status_code == 404
    assert Deal.objects.count() == 0
    # The first step lists only the CSM's own accounts.
    start = client.get("/deals/new/?pipeline=upsell").content.decode()
    assert "Hikari KK" in start and "Kaze GK" not in start
    # Their own account works.
    response = client.post(
        "/deals/new/",
        _form(
            people, pipeline="upsell", stage="opportunity_detected", source="", first_contact_on=""
        ),
    )
    assert response.status_code == 302
    assert Deal.objects.get().pipeline.key == "upsell"


def test_buttons_lead_to_the_form(people: People) -> None:
    board = _client(people.sales).get("/deals/board/upsell/").content.decode()
    assert 'href="/deals/new/?pipeline=upsell"' in board
    start = _client(people.sales).get("/deals/new/?pipeline=upsell").content.decode()
    assert '<option value="upsell" selected>' in start
    account = _client(people.sales).get(f"/accounts/{people.hikari.pk}/").content.decode()
    assert f'href="/deals/new/?account={people.hikari.pk}"' in account
    start = _client(people.sales).get(f"/deals/new/?account={people.hikari.pk}").content.decode()
    assert f'<option value="{people.hikari.pk}" selected>Hikari KK</option>' in start


def test_an_open_deal_is_edited_through_the_action(people: People) -> None:
    deal = negotiating_deal(people)
    client = _client(people.sales)
    page = client.get(f"/deals/{deal.pk}/edit/").content.decode()
    assert 'value="Tanaka"' in page  # decision maker, required by Final negotiation
    form = {
        "title": "Hikari: Enterprise",
        "amount_mrr": "150000",
        "one_off_amount": "",
        "currency": "JPY",
        "owner": str(people.other_sales.pk),
        "close_date": "2024-04-30",
        "source": "webinar",
        "product": "",
        "plan": "",
        "decision_maker": "Tanaka",
        "approval_status": "",
    }
    response = client.post(f"/deals/{deal.pk}/edit/", form)
    assert response.status_code == 409
    assert "fill in Approval status first" in response.content.decode()
    deal.refresh_from_db()
    assert deal.title == "Hikari: Professional"
    response = client.post(f"/deals/{deal.pk}/edit/", {**form, "approval_status": "approved"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.title, deal.amount_mrr, deal.owner, deal.close_date) == (
        "Hikari: Enterprise",
        Decimal(150000),
        people.other_sales,
        date(2024, 4, 30),
    )
    assert deal.stage.key == "final_negotiation"
    assert DealStageChange.objects.filter(deal=deal).count() == 1


def test_board_columns_total_each_currency_on_its_own(people: People) -> None:
    negotiating_deal(people, Decimal(120000))
    negotiating_deal(people, Decimal(80000))
    usd = negotiating_deal(people, Decimal("1500.5"))
    Deal.objects.filter(pk=usd.pk).update(currency="USD")
    html = _client(people.sales).get("/deals/board/new_business/").content.decode()
    column = html[html.index('data-stage="final_negotiation"') :]
    column = column[: column.index("</header>")]
    assert "3 deals" in column
    assert '<span class="amount" data-currency="JPY">¥200,000</span>' in column
    assert '<span class="amount" data-currency="USD">$1,500.50</span>' in column
    html = _client(people.sales, "ja").get("/deals/board/new_business/").content.decode()
    column = html[html.index('data-stage="final_negotiation"') :]
    assert '<span class="amount" data-currency="JPY">￥200,000</span>' in column
    assert '<span class="amount" data-currency="USD">$1,500.50</span>' in column


def test_create_deal_refuses_a_contact_of_another_account(people: People) -> None:
    other = Account.objects.create(name="Kaze GK", created_at=aware(2024, 1, 5))
    stranger = Contact.objects.create(account=other, name="Suzuki")
    with pytest.raises(Exception, match="Suzuki: not a contact of Hikari KK"):
        create_deal(
            account=people.hikari,
            pipeline="upsell",
            title="Seats",
            close_date=date(2024, 6, 30),
            contacts=[stranger],
        )
    assert Deal.objects.count() == 0
