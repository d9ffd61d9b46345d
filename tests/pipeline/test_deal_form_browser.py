"""The create-deal form in a real browser: from the board's button, a stage whose fields are
missing is refused with the fields named, then the deal is created. Screenshots go to
``test-artifacts/``."""

from __future__ import annotations

from typing import Any

import pytest
from pipeline_people import People

from browser_support import shoot
from kizuna.crm.models import Contact
from kizuna.pipeline.models import Deal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_creating_a_deal_from_the_board(browser: Any, live_server: Any, people: People) -> None:
    Contact.objects.create(account=people.hikari, name="Tanaka Hanako")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", people.sales.username)
    page.fill("#id_password", people.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/deals/board/new_business/")

    page.get_by_role("link", name="New deal").click()
    page.select_option("#id_account", label="Hikari KK")
    assert page.locator("#id_pipeline").input_value() == "new_business"
    shoot(page, "deal-form-start")
    page.get_by_role("button", name="Continue").click()

    page.fill("#id_title", "Hikari: Professional")
    page.select_option("#id_stage", "sql")
    page.fill("#id_amount_mrr", "120000")
    page.fill("#id_close_date", "2024-06-30")
    page.fill("#id_source", "webinar")
    page.get_by_label("Tanaka Hanako").check()
    page.get_by_role("button", name="Create deal").click()

    alert = page.locator(".form-errors")
    assert alert.inner_text() == (
        "Cannot move the deal to “SQL”: fill in these fields first: Budget (BANT), "
        "Authority (BANT), Need (BANT), Timeline (BANT)."
    )
    assert page.locator("#id_amount_mrr").input_value() == "120000"
    assert page.get_by_label("Tanaka Hanako").is_checked()
    shoot(page, "deal-form-refused")
    assert Deal.objects.count() == 0

    for key, value in (
        ("bant_budget", "confirmed"),
        ("bant_authority", "CIO"),
        ("bant_need", "confirmed"),
        ("bant_timeline", "Q3"),
    ):
        page.fill(f"#id_{key}", value)
    page.get_by_role("button", name="Create deal").click()
    page.wait_for_url(f"{live_server.url}/deals/*/")
    assert page.locator(".messages").inner_text() == "Deal “Hikari: Professional” created."
    shoot(page, "deal-form-created")

    deal = Deal.objects.get()
    assert (deal.stage.key, deal.amount_mrr, deal.details["bant_timeline"]) == ("sql", 120000, "Q3")
    assert [contact.name for contact in deal.contacts.all()] == ["Tanaka Hanako"]
    assert errors == []
    context.close()
