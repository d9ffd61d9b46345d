"""Overriding the health score from the account page (SPEC H5): who may, what is checked, and
what the page shows beside the computed score."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from web_pages import Company

from kizuna.health.models import HealthOverride, HealthScore, HealthStatus, Scorecard

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(company: Company) -> Company:
    """Acme's computed score today is 58.0 (risk)."""
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
    return company


def _in_days(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def _override(client: Client, company: Company, role: str, **data: Any) -> Any:
    client.force_login(company.users[role])
    return client.post(
        f"/accounts/{company.acme.pk}/health-override/",
        {"score": "75", "reason": "Champion back from leave", "expires_on": _in_days(30), **data},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )


def _section(html: str) -> str:
    start = html.index('aria-labelledby="override-title"')
    return html[start : html.index("</section>", start)]


@pytest.mark.parametrize("role", ["csm", "cs_manager", "admin"])
def test_owner_manager_and_admin_override_and_see_both_scores(
    client: Client, scored: Company, role: str
) -> None:
    response = _override(client, scored, role)
    assert response.redirect_chain == [(f"/accounts/{scored.acme.pk}/", 302)]
    override = HealthOverride.objects.get()
    user = scored.users[role]
    assert (override.account, override.score, override.status, override.author) == (
        scored.acme,
        Decimal("75.0"),
        HealthStatus.CAUTION,
        user,
    )
    assert (override.reason, override.expires_on) == (
        "Champion back from leave",
        timezone.localdate() + timedelta(days=30),
    )
    html = response.content.decode()
    assert "Health score overridden." in html
    assert '<div class="value" data-kpi="health">75.0' in html
    section = _section(html)
    assert '<dd data-score="shown">75.0 <span class="badge caution">Caution</span></dd>' in section
    assert '<dd data-score="computed">58.0 <span class="badge risk">Risk</span></dd>' in section
    assert f"<dd>{user.username} · {timezone.localdate().isoformat()}</dd>" in section
    assert "<dd>Champion back from leave</dd>" in section
    assert f"<dd>{_in_days(30)}</dd>" in section
    assert "Clear override" in section


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": ""}, "Reason: This field is required."),
        ({"reason": "   "}, "Reason: This field is required."),
        ({"expires_on": ""}, "Until: This field is required."),
        ({"expires_on": _in_days(0)}, "Until: The expiry date must be after today."),
        ({"expires_on": _in_days(-3)}, "Until: The expiry date must be after today."),
        ({"score": "100.1"}, "Score: Ensure this value is less than or equal to 100."),
        ({"score": "-1"}, "Score: Ensure this value is greater than or equal to 0."),
        ({"score": "70.25"}, "Score: Ensure that there are no more than 1 decimal place."),
        ({"score": ""}, "Score: This field is required."),
    ],
)
def test_invalid_override_names_the_field_and_stores_nothing(
    client: Client, scored: Company, data: dict[str, str], message: str
) -> None:
    response = _override(client, scored, "csm", **data)
    html = response.content.decode()
    assert f"The override was not saved: {message}" in html
    assert HealthOverride.objects.count() == 0
    assert '<div class="value" data-kpi="health">58.0' in html


@pytest.mark.parametrize(
    ("role", "status"), [("executive", 403), ("sales", 403), ("other_csm", 404)]
)
def test_refused_override_and_clear_change_nothing(
    client: Client, scored: Company, role: str, status: int
) -> None:
    existing = HealthOverride.objects.create(
        account=scored.acme,
        score=Decimal("90.0"),
        status=HealthStatus.HEALTHY,
        reason="Signed a three-year renewal",
        author=scored.users["csm"],
        expires_on=timezone.localdate() + timedelta(days=10),
    )
    client.force_login(scored.users[role])
    url = f"/accounts/{scored.acme.pk}/health-override/"
    response = client.post(url, {"score": "10", "reason": "x", "expires_on": _in_days(5)})
    assert response.status_code == status
    assert client.post(url + "clear/").status_code == status
    assert list(HealthOverride.objects.values_list("pk", "score", "expires_on")) == [
        (existing.pk, Decimal("90.0"), timezone.localdate() + timedelta(days=10))
    ]


@pytest.mark.parametrize("role", ["executive", "sales"])
def test_readers_see_the_override_but_no_form_or_clear_button(
    client: Client, scored: Company, role: str
) -> None:
    _override(client, scored, "csm")
    client.force_login(scored.users[role])
    html = client.get(f"/accounts/{scored.acme.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<dd>Champion back from leave</dd>" in _section(html)
    assert "Override the health score" not in html
    assert "Clear override" not in html


def test_clear_shows_the_computed_score_again_and_keeps_the_history(
    client: Client, scored: Company
) -> None:
    _override(client, scored, "csm")
    response = client.post(
        f"/accounts/{scored.acme.pk}/health-override/clear/",
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    html = response.content.decode()
    assert "Override cleared: the computed score shows again." in html
    assert '<div class="value" data-kpi="health">58.0' in html
    assert "No override: the computed score shows." in _section(html)
    assert list(HealthOverride.objects.values_list("expires_on", flat=True)) == [
        timezone.localdate()
    ]


def test_form_is_offered_to_the_cs_owner(client: Client, scored: Company) -> None:
    client.force_login(scored.users["csm"])
    html = client.get(f"/accounts/{scored.acme.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    form = html[html.index('id="override-health"') :]
    form = form[: form.index("</form>")]
    assert f'action="/accounts/{scored.acme.pk}/health-override/"' in form
    for name in ("score", "reason", "expires_on"):
        assert f'name="{name}"' in form
    assert "No override: the computed score shows." in _section(html)
