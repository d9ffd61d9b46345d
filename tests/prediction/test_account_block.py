"""The account page shows the latest churn prediction with its reasons."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from kizuna.crm.models import Account
from kizuna.engine.churn_features import feature_names
from kizuna.prediction.display import FEATURE_LABELS, reason_text
from kizuna.prediction.models import ChurnModel, ChurnPrediction

pytestmark = pytest.mark.django_db

REASONS = [
    {"feature": "nps", "value": 4.5, "contribution": 1.2},
    {"feature": "renewal_due", "value": 1.0, "contribution": 0.8},
    {"feature": "login_frequency", "value": None, "contribution": 0.3},
]


def _account_with_prediction() -> Account:
    account = Account.objects.create(
        name="Acme KK", created_at=timezone.make_aware(datetime(2023, 1, 1))
    )
    model = ChurnModel.objects.create(
        trained_at=timezone.now(),
        as_of=date(2024, 6, 30),
        horizon_days=90,
        training_rows=100,
        training_churned=7,
        parameters={},
    )
    ChurnPrediction.objects.create(
        account=account, as_of=date(2024, 5, 31), probability=0.5, reasons=[], model=model
    )
    ChurnPrediction.objects.create(
        account=account, as_of=date(2024, 6, 30), probability=0.234, reasons=REASONS, model=model
    )
    return account


def _page(client: Client, account: Account, language: str) -> str:
    client.force_login(User.objects.create_superuser("admin", password="pw-kizuna-123456"))
    response = client.get(f"/accounts/{account.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def test_the_latest_prediction_shows_with_its_reasons(client: Client) -> None:
    html = _page(client, _account_with_prediction(), "en")
    assert "Churn risk (90 days): 23 %" in html
    assert (
        "Reasons: NPS (average score): 4.5 · Renewal within the horizon: yes · "
        "Login frequency: no data"
    ) in html
    assert "Predicted on 2024-06-30 by churn model #" in html


def test_the_block_speaks_japanese(client: Client) -> None:
    html = _page(client, _account_with_prediction(), "ja")
    assert "解約リスク（90 日）: 23 %" in html
    assert "NPS（平均スコア）: 4.5" in html
    assert "予測期間内の更新" in html


def test_no_prediction_no_block(client: Client) -> None:
    account = Account.objects.create(
        name="Globex GK", created_at=timezone.make_aware(datetime(2023, 1, 1))
    )
    assert "Churn risk" not in _page(client, account, "en")


def test_every_feature_has_a_label_and_values_read_in_their_unit() -> None:
    assert set(FEATURE_LABELS) == set(feature_names())
    assert reason_text({"feature": "login_frequency", "value": 0.5}) == (
        "Login frequency: 0.5 days/week"
    )
    assert reason_text({"feature": "tickets", "value": 11.0}) == "Support tickets in 90 days: 11"
    assert reason_text({"feature": "critical_bug", "value": 0.0}) == "Critical bug in 30 days: no"
