"""The board in a real browser: drag a deal into Won, answer the required-field prompt, and the
customer's subscription exists. The screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from typing import Any

import pytest
from pipeline_people import People, negotiating_deal

from browser_support import shoot
from kizuna.billing.models import BillingRecord, Subscription
from kizuna.pipeline.models import Deal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dragging_a_deal_into_won_asks_for_the_missing_fields(
    browser: Any, live_server: Any, people: People
) -> None:
    deal = negotiating_deal(people)
    context = browser.new_context(viewport={"width": 1600, "height": 900}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", people.sales.username)
    page.fill("#id_password", people.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/deals/board/new_business/")

    card = page.locator(f'.deal-card[data-deal="{deal.pk}"]')
    won = page.locator('.board-column[data-stage="won"]')
    assert card.locator("xpath=ancestor::section").get_attribute("data-stage") == (
        "final_negotiation"
    )
    card.drag_to(won)

    dialog = page.locator("#move-dialog")
    dialog.wait_for(state="visible")
    assert page.locator("#move-dialog-title").inner_text() == "Move to Won"
    assert dialog.locator(".prompt-message").inner_text() == (
        "Cannot move the deal to “Won”: fill in these fields first: Plan, Contract term (months)."
    )
    assert dialog.locator('input[name="plan"]').is_visible()
    assert dialog.locator('input[name="contract_months"]').is_visible()
    shoot(page, "deal-board-won-prompt")

    dialog.locator('input[name="plan"]').fill("Professional")
    dialog.locator('input[name="contract_months"]').fill("12")
    with page.expect_navigation():
        dialog.locator("button[type=submit]").click()
    page.locator('.board-column[data-stage="won"] .deal-card').first.wait_for()
    assert won.locator(f'.deal-card[data-deal="{deal.pk}"]').count() == 1
    assert page.locator(".messages").inner_text() != ""
    shoot(page, "deal-board-after-won")

    deal.refresh_from_db()
    assert (deal.status, deal.plan, deal.contract_months) == ("won", "Professional", 12)
    subscription = Subscription.objects.get(account=people.hikari)
    assert BillingRecord.objects.filter(subscription=subscription).count() == 12
    assert Deal.objects.get(pk=deal.pk).stage.key == "won"
    assert errors == []
    context.close()
