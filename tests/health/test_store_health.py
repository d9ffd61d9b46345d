"""Health recompute over the store: exact scores from hand-set behaviour, history, replacement."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from store_builders import T, account, nps, subscribe, ticket, used

from kizuna.billing.models import Interval
from kizuna.crm.models import Account
from kizuna.health.models import HealthScore, Scorecard
from kizuna.sources.models import RunStatus
from kizuna.sources.recompute import RECOMPUTES, run_subject
from kizuna.sources.store_health import dates_to_compute, recompute_health


def two_accounts() -> tuple[Account, Account]:
    """Alpha: yearly contract, 8 of 10 seats active, NPS 9 and 6, a critical bug, renewal in
    3 months. Beta: monthly, 5 seats, no usage, no NPS, no tickets."""
    alpha = account("Alpha")
    subscribe(alpha, "120000", date(2023, 9, 1), seats=10, interval=Interval.YEAR)
    used(alpha, T, active_users_30d=8)
    nps(alpha, T - timedelta(days=10), 9, 6)
    ticket(alpha, T - timedelta(days=5), "bug", "critical")
    beta = account("Beta")
    subscribe(beta, "1000", date(2024, 1, 1), seats=5)
    return alpha, beta


def test_health_runs_after_revenue_and_before_forecast_and_signals() -> None:
    order = list(RECOMPUTES)
    assert order.index("revenue") + 1 == order.index("health")
    assert order.index("health") < order.index("forecast") < order.index("signals")


@pytest.mark.django_db
def test_recompute_scores_hand_set_behaviour_exactly() -> None:
    alpha, beta = two_accounts()

    outcome = recompute_health(T, days=1)

    assert (outcome.dates, outcome.scores) == (1, 2)
    default = Scorecard.objects.get(is_default=True)
    assert default.name == "Preset B (weighted)"
    assert sorted(Scorecard.objects.values_list("name", flat=True)) == [
        "Preset A (100 points)",
        "Preset B (weighted)",
        "Simple (usage + NPS)",
    ]
    first = HealthScore.objects.get(account=alpha, date=T)
    # 0.4 × 100 (80 % active) + 0.2 × 50 (NPS 7.5) + 0.15 × 20 (critical bug)
    # + 0.15 × 70 (renewal in 3 months) + 0.1 × 50 (seats flat) = 68.5
    assert (first.scorecard, first.score, first.status) == (default, Decimal("68.5"), "caution")
    assert first.coverage == Decimal(1)
    assert first.missing == []
    assert first.components == [
        {
            "name": "usage",
            "measure": "active_user_rate",
            "value": 80.0,
            "points": 100.0,
            "weight": 0.4,
            "missing": False,
        },
        {
            "name": "nps",
            "measure": "nps",
            "value": 7.5,
            "points": 50.0,
            "weight": 0.2,
            "missing": False,
        },
        {
            "name": "support",
            "measure": "support",
            "value": "critical_bug",
            "points": 20.0,
            "weight": 0.15,
            "missing": False,
        },
        {
            "name": "renewal_timing",
            "measure": "months_to_renewal",
            "value": 3.0,
            "points": 70.0,
            "weight": 0.15,
            "missing": False,
        },
        {
            "name": "expansion",
            "measure": "seat_growth",
            "value": 0.0,
            "points": 50.0,
            "weight": 0.1,
            "missing": False,
        },
    ]
    second = HealthScore.objects.get(account=beta, date=T)
    # No NPS and no committed term: (0.4 × 10 + 0.15 × 100 + 0.1 × 50) ÷ 0.65 = 36.92…
    assert (second.score, second.status) == (Decimal("36.9"), "critical")
    assert second.coverage == Decimal("0.65")
    assert second.missing == ["nps", "renewal_timing"]


@pytest.mark.django_db
def test_recompute_replaces_the_rows_of_the_recomputed_dates() -> None:
    _, beta = two_accounts()
    recompute_health(T, days=3)
    assert HealthScore.objects.count() == 6
    first_ids = set(HealthScore.objects.values_list("pk", flat=True))

    again = recompute_health(T, days=3)

    assert again.scores == HealthScore.objects.count() == 6
    assert first_ids.isdisjoint(HealthScore.objects.values_list("pk", flat=True))
    assert sorted(HealthScore.objects.filter(account=beta).values_list("date", flat=True)) == [
        T - timedelta(days=2),
        T - timedelta(days=1),
        T,
    ]
    assert Scorecard.objects.count() == 3


@pytest.mark.django_db
def test_first_run_computes_a_year_and_later_runs_only_the_missing_days() -> None:
    two_accounts()
    assert dates_to_compute(T) == [T - timedelta(days=364 - offset) for offset in range(365)]

    first = run_subject("health", T - timedelta(days=2))

    assert first.status == RunStatus.DONE
    days = HealthScore.objects.values_list("date", flat=True).distinct()
    # A year of dates was computed; Alpha, the older account, is in service from 1 September.
    assert (min(days), max(days), len(days)) == (date(2023, 9, 1), T - timedelta(days=2), 302)
    assert dates_to_compute(T) == [T - timedelta(days=1), T]
    assert dates_to_compute(T - timedelta(days=2)) == [T - timedelta(days=2)]
    before = HealthScore.objects.count()

    outcome = recompute_health(T)

    assert outcome.dates == 2
    assert HealthScore.objects.count() == before + outcome.scores == before + 4
