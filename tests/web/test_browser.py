"""The pages in a real browser: log in per role, open every dashboard and an account, switch
language, and keep screenshots under ``test-artifacts/`` for a person to look at."""

from __future__ import annotations

from typing import Any

import pytest

from browser_support import shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DASHBOARDS = ("executive", "sales", "cs", "contracts", "accounts", "executive/report")


def _log_in(browser: Any, base: str, company: Any, role: str, language: str = "en") -> Any:
    context = browser.new_context(
        viewport={"width": 1360, "height": 900}, locale="en-US" if language == "en" else "ja-JP"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.goto(f"{base}/login/")
    page.fill("#id_username", company.users[role].username)
    page.fill("#id_password", company.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def _charts_drawn(page: Any) -> None:
    count = page.locator(".chart").count()
    if count:
        page.wait_for_function(
            "n => document.querySelectorAll('.chart[data-drawn]').length === n", arg=count
        )


@pytest.mark.parametrize("role", ["executive", "csm", "cs_manager", "sales", "admin"])
def test_every_dashboard_draws_its_charts(
    browser: Any, live_server: Any, company: Any, role: str
) -> None:
    page = _log_in(browser, live_server.url, company, role)
    for path in DASHBOARDS:
        response = page.goto(f"{live_server.url}/{path}/")
        assert response.status == 200, path
        _charts_drawn(page)
        if role in {"executive", "csm"}:
            shoot(page, f"{role}-{path.replace('/', '-')}")
    assert page.errors == []
    page.context.close()


def test_executive_figures_in_the_browser(browser: Any, live_server: Any, company: Any) -> None:
    page = _log_in(browser, live_server.url, company, "executive")
    page.goto(f"{live_server.url}/executive/")
    _charts_drawn(page)
    assert page.locator("[data-kpi=mrr] .value").inner_text() == "¥170,000"
    # Plotly drew the five movement bars and the net line.
    bars = page.evaluate(
        "() => document.getElementById('chart-movements').data.map(t => [t.name, t.y])"
    )
    assert bars[1] == ["Expansion", [0, 20000]]
    assert bars[3] == ["Contraction", [-0, -5000]]
    assert bars[-1] == ["Net new MRR", [150000, 15000]]
    page.context.close()


def test_chart_data_table_loads_when_opened(browser: Any, live_server: Any, company: Any) -> None:
    page = _log_in(browser, live_server.url, company, "executive")
    page.goto(f"{live_server.url}/executive/?from=2024-01&to=2024-02")
    _charts_drawn(page)
    details = page.locator("#chart-movements ~ details.data-table")
    assert details.locator("table").count() == 0  # not rendered with the page
    details.locator("summary").click()
    page.wait_for_selector("#chart-movements ~ details[data-table-loaded] table")
    cells = details.locator("#table-movements tbody tr").nth(1).locator("td").all_inner_texts()
    assert cells[:3] == ["2024-02", "¥0", "¥20,000"]  # month, new MRR, expansion MRR
    assert details.locator("a.export").get_attribute("href") == (
        "?from=2024-01&to=2024-02&export=movements"
    )
    assert page.errors == []
    page.context.close()


def test_account_page_and_language_switch(browser: Any, live_server: Any, company: Any) -> None:
    page = _log_in(browser, live_server.url, company, "csm")
    page.goto(f"{live_server.url}/accounts/{company.acme.pk}/")
    _charts_drawn(page)
    assert "MRR grew by ¥20,000, from ¥100,000 to ¥120,000." in page.content()
    shoot(page, "csm-account-en")
    page.select_option("#language", "ja")
    page.wait_for_load_state("load")
    _charts_drawn(page)
    assert page.locator("h2#movements-title").inner_text() == "MRR の増減"
    shoot(page, "csm-account-ja")
    page.goto(f"{live_server.url}/executive/")
    _charts_drawn(page)
    shoot(page, "csm-executive-ja")
    assert page.errors == []
    page.context.close()


def test_other_csm_gets_404_in_the_browser(browser: Any, live_server: Any, company: Any) -> None:
    page = _log_in(browser, live_server.url, company, "other_csm")
    response = page.goto(f"{live_server.url}/accounts/{company.acme.pk}/")
    assert response.status == 404
    page.context.close()
