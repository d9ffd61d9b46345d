"""Overriding a health score in a real browser: the CS owner fills in the form on the account
page, sees the override beside the computed score, and clears it again."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from browser_support import shoot
from kizuna.health.models import HealthScore, HealthStatus, Scorecard

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_csm_overrides_the_score_and_sees_it(browser: Any, live_server: Any, company: Any) -> None:
    card = Scorecard.objects.create(name="B", definition={})
    HealthScore.objects.create(
        account=company.acme,
        scorecard=card,
        date=timezone.localdate(),
        score=Decimal("58.0"),
        status=HealthStatus.RISK,
        coverage=Decimal(1),
        components=[],
    )
    until = (timezone.localdate() + timedelta(days=30)).isoformat()
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", company.users["csm"].username)
    page.fill("#id_password", company.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/accounts/{company.acme.pk}/")
    assert page.locator("[data-kpi=health]").inner_text().startswith("58.0")
    page.click("#override-health summary")
    page.fill("#id_score", "75")
    page.fill("#id_reason", "Champion back from leave")
    page.fill("#id_expires_on", until)
    shoot(page, "csm-account-override-form")
    page.click("#override-health button[type=submit]")
    page.wait_for_load_state("load")

    assert page.locator(".messages").inner_text() == "Health score overridden."
    assert page.locator("[data-kpi=health]").inner_text() == "75.0 Caution"
    assert page.locator("[data-score=shown]").inner_text() == "75.0 Caution"
    assert page.locator("[data-score=computed]").inner_text() == "58.0 Risk"
    override = page.locator("[data-override=active]")
    assert "Champion back from leave" in override.inner_text()
    assert until in override.inner_text()
    shoot(page, "csm-account-override")

    page.click("text=Clear override")
    page.wait_for_load_state("load")
    assert page.locator("[data-kpi=health]").inner_text() == "58.0 Risk"
    assert page.locator("[data-override=none]").count() == 1
    assert errors == []
    context.close()
