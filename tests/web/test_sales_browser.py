"""The sales dashboard in a real browser, in English and Japanese, with its charts drawn from
the stored forecast (``sales_forecast``). Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

from typing import Any

import pytest
from sales_forecast import forecast
from web_pages import Company

from browser_support import shoot

__all__ = ["forecast"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("role", "language"), [("executive", "en"), ("executive", "ja"), ("sales", "en")]
)
def test_the_sales_dashboard_draws_the_forecast(
    browser: Any, live_server: Any, forecast: Company, role: str, language: str
) -> None:
    context = browser.new_context(
        viewport={"width": 1360, "height": 900}, locale="en-US" if language == "en" else "ja-JP"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", forecast.users[role].username)
    page.fill("#id_password", forecast.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/sales/")
    count = page.locator(".chart").count()
    assert count == (6 if role == "executive" else 2)
    page.wait_for_function(
        "n => document.querySelectorAll('.chart[data-drawn]').length === n", arg=count
    )
    heading = {"en": "Sales dashboard", "ja": "営業ダッシュボード"}[language]
    assert page.locator("h1").inner_text() == heading
    shoot(page, f"sales-{role}-{language}")
    assert errors == []
    context.close()
