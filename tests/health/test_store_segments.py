"""Segments written with the scores: touch tier thresholds, RFM quintiles, LTV, impact × risk."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import ibis
import pytest
from django.test import override_settings
from store_builders import T, account, subscribe, used

from kizuna.billing.models import SubscriptionItem
from kizuna.crm.models import Account
from kizuna.engine.health_segments import SegmentRules, touch_tier
from kizuna.health.models import AccountSegment
from kizuna.sources.recompute import run_subject

RULES = {
    "high_touch_min_arr": 1_200_000,
    "high_touch_min_employees": 500,
    "tech_touch_max_arr": 120_000,
    "tech_touch_max_employees": 50,
}


@pytest.mark.parametrize(
    ("arr", "employees", "tier"),
    [
        (1_200_000, 10, "high"),
        (1_199_999, 10, "low"),
        (1_000, 500, "high"),
        (1_000, 499, "low"),
        (119_999, 49, "tech"),
        (119_999, 50, "low"),
        (119_999, None, "tech"),
        (120_000, 10, "low"),
    ],
)
def test_touch_tier_thresholds(arr: float, employees: int | None, tier: str) -> None:
    rules = SegmentRules(**RULES)
    expression = touch_tier(ibis.literal(float(arr)), ibis.literal(employees, "int64"), rules)
    assert ibis.duckdb.connect().execute(expression) == tier


def test_rules_are_checked() -> None:
    with pytest.raises(ValueError, match="gross_margin"):
        SegmentRules(gross_margin=0)


@pytest.mark.django_db
@override_settings(KIZUNA_SEGMENTS=RULES)
def test_segments_are_written_with_the_scores() -> None:
    start = date(2024, 1, 1)
    customers = {}
    # Monthly MRR and employees of each current customer (ARR = 12 × MRR).
    for name, mrr, employees in [
        ("H1", "100000", 10),
        ("L1", "99999", 10),
        ("H2", "1000", 500),
        ("T1", "9999", 49),
        ("L2", "9999", 50),
        ("T2", "9999", None),
        ("L3", "10000", 10),
    ]:
        customers[name] = account(name, employees)
        subscribe(customers[name], mrr, start)
    subscribe(customers["H1"], "500", start, product="api")
    used(customers["H1"], T, active_users_30d=2)
    used(customers["L1"], T - timedelta(days=10))
    used(customers["L1"], T - timedelta(days=100))
    # C paid 5,000 from January to March: a churned tech-touch customer.
    churned = account("C")
    item = subscribe(churned, "5000", start)
    SubscriptionItem.objects.filter(pk=item.pk).update(end_date=date(2024, 4, 1))
    prospect = account("P", 2000)

    run_subject("revenue", T)
    run_subject("health", T)

    tiers = dict(Account.objects.values_list("name", "touch_tier"))
    assert tiers == {
        "H1": "high",
        "L1": "low",
        "H2": "high",
        "T1": "tech",
        "L2": "low",
        "T2": "tech",
        "L3": "low",
        "C": "tech",
        "P": "",
    }
    rows = {row.account.name: row for row in AccountSegment.objects.select_related("account")}
    assert prospect.name not in rows
    assert {name: row.rfm for name, row in rows.items()} == {
        "H1": "555",
        "L1": "454",
        "H2": "221",
        "T1": "222",
        "L2": "222",
        "T2": "222",
        "L3": "224",
        "C": "",
    }
    top = rows["H1"]
    assert (top.mrr, top.arr, top.products, top.plan) == (
        Decimal(100500),
        Decimal(1_206_000),
        2,
        "",
    )
    assert (top.last_used_on, top.days_since_last_use, top.active_days) == (T, 0, 1)
    assert (rows["L1"].days_since_last_use, rows["L1"].active_days) == (10, 1)
    assert rows["T1"].days_since_last_use is None
    # Tech tier: C churned in April; opening customers July 2023 – June 2024: T1 and T2 five
    # months each (January – May), C three (January – March) → 1 ÷ 13 a month.
    assert rows["T1"].segment_monthly_churn == Decimal("0.076923")
    assert rows["T1"].ltv == Decimal(round(9999 / 0.076923))
    # No churn among high- and low-touch customers: the lifetime is unbounded, LTV missing.
    assert (rows["H1"].segment_monthly_churn, rows["H1"].ltv) == (Decimal(0), None)
    assert (rows["C"].mrr, rows["C"].ltv, rows["C"].arr) == (Decimal(0), None, Decimal(60000))
    # H1: both seats (core and API) active (100), seats flat (50), nothing else known:
    # (0.4 × 100 + 0.1 × 50) ÷ 0.5 = 90.
    assert (rows["H1"].health_score, rows["H1"].health_status) == (Decimal(90), "healthy")
    assert rows["C"].health_status == ""
