"""Worked examples: each history with its month-by-month movements written out by hand.

Tuples are (month, movement, signed change excluding FX, month-end MRR), in JPY unless said.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from kizuna.engine.revenue import RevenueInputError, RevenueRules

if TYPE_CHECKING:
    from conftest import Revenue

D = Decimal


def test_annual_prepay_counts_one_twelfth_each_month(revenue: Revenue) -> None:
    # 120,000/year paid up front from 15 Jan; the contract ends (exclusive) on 15 Jan 2025.
    result = revenue.compute(
        [revenue.item("acme", 120000, "2024-01-15", "2025-01-15", interval="year")]
    )
    expected = [("2024-01", "new", D(10000), D(10000))]
    expected += [(f"2024-{m:02}", "none", D(0), D(10000)) for m in range(2, 13)]
    expected += [("2025-01", "churned", D(-10000), D(0))]
    assert revenue.movements(result, "acme") == expected


def test_upgrade_then_downgrade_inside_one_month_shows_only_the_month_end(
    revenue: Revenue,
) -> None:
    # Starter 5,000 → Pro 10,000 on 10 Feb → Basic 3,000 on 20 Feb: only Basic is in service
    # on 29 Feb, so February is a contraction of 2,000 and Pro never appears.
    result = revenue.compute(
        [
            revenue.item("acme", 5000, "2024-01-01", "2024-02-10", plan="Starter"),
            revenue.item("acme", 10000, "2024-02-10", "2024-02-20", plan="Pro"),
            revenue.item("acme", 3000, "2024-02-20", plan="Basic"),
        ]
    )
    assert revenue.movements(result, "acme") == [
        ("2024-01", "new", D(5000), D(5000)),
        ("2024-02", "contraction", D(-2000), D(3000)),
    ]


def test_seat_changes_are_expansion_and_contraction(revenue: Revenue) -> None:
    result = revenue.compute(
        [
            revenue.item("acme", 1000, "2024-01-01", "2024-03-05", quantity=D(10)),
            revenue.item("acme", 1000, "2024-03-05", "2024-05-01", quantity=D(12)),
            revenue.item("acme", 1000, "2024-05-01", quantity=D(8)),
        ]
    )
    assert revenue.movements(result, "acme") == [
        ("2024-01", "new", D(10000), D(10000)),
        ("2024-02", "none", D(0), D(10000)),
        ("2024-03", "expansion", D(2000), D(12000)),
        ("2024-04", "none", D(0), D(12000)),
        ("2024-05", "contraction", D(-4000), D(8000)),
    ]


def test_trial_that_converts_and_trial_that_lapses(revenue: Revenue) -> None:
    result = revenue.compute(
        [
            # In trial on 31 Jan (no MRR), paying from 10 Feb.
            revenue.item("keeps", 3000, "2024-01-10", trial_end_date="2024-02-10"),
            # Ends when the trial ends: never paid.
            revenue.item("leaves", 3000, "2024-01-20", "2024-02-20", trial_end_date="2024-02-20"),
        ]
    )
    assert revenue.movements(result, "keeps") == [("2024-02", "new", D(3000), D(3000))]
    assert revenue.movements(result, "leaves") == []
    (trials,) = revenue.rows(result, result.trials)
    assert (trials["trials"], trials["converted"], trials["pending"]) == (2, 1, 0)
    assert trials["conversion_rate"] == 0.5


def test_discounts_are_subtracted_by_default_and_can_be_ignored(revenue: Revenue) -> None:
    # 10 seats × 1,000 − 20 % − 500 off per month = 7,500.
    rows = [
        revenue.item(
            "acme",
            1000,
            "2024-01-01",
            "2024-02-01",
            quantity=D(10),
            discount_percent=D(20),
            discount_amount=D(500),
        )
    ]
    assert revenue.movements(revenue.compute(rows), "acme") == [
        ("2024-01", "new", D(7500), D(7500)),
        ("2024-02", "churned", D(-7500), D(0)),
    ]
    ignored = revenue.compute(rows, rules=RevenueRules(discounts="ignore"))
    assert revenue.movements(ignored, "acme")[0] == ("2024-01", "new", D(10000), D(10000))


def test_one_off_charges_are_never_mrr(revenue: Revenue) -> None:
    result = revenue.compute(
        [
            revenue.item("acme", 5000, "2024-01-01"),
            revenue.item(
                "acme", 300000, "2024-01-01", "2024-02-01", product="onboarding", recurring=False
            ),
        ]
    )
    assert revenue.movements(result, "acme") == [("2024-01", "new", D(5000), D(5000))]


def test_churn_then_reactivation(revenue: Revenue) -> None:
    rows = [
        revenue.item("acme", 5000, "2024-01-01", "2024-04-01"),
        revenue.item("acme", 6000, "2024-06-15"),
    ]
    assert revenue.movements(revenue.compute(rows), "acme") == [
        ("2024-01", "new", D(5000), D(5000)),
        ("2024-02", "none", D(0), D(5000)),
        ("2024-03", "none", D(0), D(5000)),
        ("2024-04", "churned", D(-5000), D(0)),
        ("2024-06", "reactivation", D(6000), D(6000)),
    ]
    # With a one-month window the two-month gap (April, May) makes June new business again.
    windowed = revenue.compute(rows, rules=RevenueRules(reactivation_window_months=1))
    assert revenue.movements(windowed, "acme")[-1] == ("2024-06", "new", D(6000), D(6000))
    assert revenue.kpis(windowed, "2024-06")["new_customers"] == 1


def test_exchange_rate_changes_are_fx_not_expansion(revenue: Revenue) -> None:
    # 100 USD/month from January, a 3,000 JPY add-on from April. Rates (JPY per USD): 150 from
    # 1 Jan, 160 from 15 Feb, 140 from 20 Mar, 145 from 25 Apr.
    result = revenue.compute(
        [
            revenue.item("acme", 100, "2024-01-01", currency="USD"),
            revenue.item("acme", 3000, "2024-04-01", product="analytics"),
        ],
        fx_rates=[
            {"date": "2024-01-01", "currency": "USD", "rate": D(150)},
            {"date": "2024-02-15", "currency": "USD", "rate": D(160)},
            {"date": "2024-03-20", "currency": "USD", "rate": D(140)},
            {"date": "2024-04-25", "currency": "USD", "rate": D(145)},
        ],
    )
    assert revenue.movements(result, "acme") == [
        ("2024-01", "new", D(15000), D(15000)),
        ("2024-02", "none", D(0), D(16000)),
        ("2024-03", "none", D(0), D(14000)),
        ("2024-04", "expansion", D(3000), D(17500)),
    ]
    assert revenue.fx(result, "acme") == [
        ("2024-01", D(0)),
        ("2024-02", D(1000)),
        ("2024-03", D(-2000)),
        ("2024-04", D(500)),
    ]
    april = revenue.kpis(result, "2024-04")
    assert (april["fx_mrr"], april["expansion_mrr"], april["net_new_mrr"]) == (500, 3000, 3000)


def test_fx_applies_only_to_items_in_service_at_both_month_ends(revenue: Revenue) -> None:
    # The 1-seat USD item ends on 10 Apr and a 2-seat one starts the same day: nothing was in
    # service at both month-ends, so the whole April change is expansion at April's rate.
    result = revenue.compute(
        [
            revenue.item("acme", 100, "2024-03-01", "2024-04-10", currency="USD"),
            revenue.item("acme", 100, "2024-04-10", currency="USD", quantity=D(2)),
        ],
        fx_rates=[
            {"date": "2024-03-01", "currency": "USD", "rate": D(140)},
            {"date": "2024-04-25", "currency": "USD", "rate": D(145)},
        ],
    )
    assert revenue.movements(result, "acme") == [
        ("2024-03", "new", D(14000), D(14000)),
        ("2024-04", "expansion", D(15000), D(29000)),
    ]
    assert revenue.fx(result, "acme")[-1] == ("2024-04", D(0))


def test_missing_rate_is_an_error_naming_currency_and_date(revenue: Revenue) -> None:
    with pytest.raises(RevenueInputError) as error:
        revenue.compute(
            [revenue.item("acme", 100, "2024-01-01", currency="USD")],
            fx_rates=[{"date": "2024-02-01", "currency": "USD", "rate": D(150)}],
        )
    assert error.value.problems == ["fx_rates: no USD rate on or before 2024-01-31"]


def test_add_on_product_is_expansion_for_the_customer_and_new_for_the_product(
    revenue: Revenue,
) -> None:
    result = revenue.compute(
        [
            revenue.item("acme", 10000, "2024-01-01"),
            revenue.item("acme", 2000, "2024-03-01", "2024-06-01", product="analytics"),
        ]
    )
    assert revenue.movements(result, "acme") == [
        ("2024-01", "new", D(10000), D(10000)),
        ("2024-02", "none", D(0), D(10000)),
        ("2024-03", "expansion", D(2000), D(12000)),
        ("2024-04", "none", D(0), D(12000)),
        ("2024-05", "none", D(0), D(12000)),
        ("2024-06", "contraction", D(-2000), D(10000)),
    ]
    assert revenue.movements(result, "acme", product="analytics") == [
        ("2024-03", "new", D(2000), D(2000)),
        ("2024-04", "none", D(0), D(2000)),
        ("2024-05", "none", D(0), D(2000)),
        ("2024-06", "churned", D(-2000), D(0)),
    ]


def test_back_dated_cancellation_restates_history(revenue: Revenue) -> None:
    # Recorded in April, the cancellation took effect on 1 March: recomputing moves the churn
    # to March and February stays paid.
    before = revenue.compute([revenue.item("acme", 5000, "2024-01-01")])
    assert [m[1] for m in revenue.movements(before, "acme")] == ["new"]
    after = revenue.compute(
        [revenue.item("acme", 5000, "2024-01-01", "2024-03-01", canceled_at="2024-04-10")]
    )
    assert revenue.movements(after, "acme") == [
        ("2024-01", "new", D(5000), D(5000)),
        ("2024-02", "none", D(0), D(5000)),
        ("2024-03", "churned", D(-5000), D(0)),
    ]


def test_churn_at_cancellation_request_rule(revenue: Revenue) -> None:
    # An annual contract cancelled on 10 Feb keeps service until the year is over.
    rows = [
        revenue.item(
            "acme", 120000, "2024-01-01", "2025-01-01", interval="year", canceled_at="2024-02-10"
        )
    ]
    at_end = revenue.movements(revenue.compute(rows), "acme")
    assert at_end[-1] == ("2025-01", "churned", D(-10000), D(0))
    at_request = revenue.compute(rows, rules=RevenueRules(churn_at="cancellation_request"))
    assert revenue.movements(at_request, "acme") == [
        ("2024-01", "new", D(10000), D(10000)),
        ("2024-02", "churned", D(-10000), D(0)),
    ]


def test_end_date_on_the_last_day_versus_the_first_of_the_next_month(
    revenue: Revenue,
) -> None:
    # end_date is exclusive: ending "on 31 March" means 31 March is not in service.
    result = revenue.compute(
        [
            revenue.item("last-day", 5000, "2024-01-01", "2024-03-31"),
            revenue.item("first-day", 5000, "2024-01-01", "2024-04-01"),
        ]
    )
    assert revenue.movements(result, "last-day")[2:] == [("2024-03", "churned", D(-5000), D(0))]
    assert revenue.movements(result, "first-day")[2:] == [
        ("2024-03", "none", D(0), D(5000)),
        ("2024-04", "churned", D(-5000), D(0)),
    ]


def test_free_plans_and_trials_are_not_customers(revenue: Revenue) -> None:
    result = revenue.compute(
        [
            revenue.item("free", 0, "2024-01-01", plan="Free"),
            revenue.item("trial", 5000, "2024-01-01", trial_end_date="2024-03-01"),
        ]
    )
    assert revenue.movements(result, "free") == []
    assert revenue.kpis(result, "2024-02")["customers"] == 0
    assert revenue.kpis(result, "2024-03")["customers"] == 1


def test_interval_normalisation_is_exact_across_customers(revenue: Revenue) -> None:
    # 1,000/week is 1,000 × 52 ÷ 12 = 4,333.33… a month. Three such customers are exactly
    # 13,000, not 3 × 4,333 = 12,999 (rounding happens once, at output).
    weekly = [revenue.item(f"w{n}", 1000, "2024-01-01", interval="week") for n in range(3)]
    others = [
        revenue.item("q", 30000, "2024-01-01", interval="quarter"),
        revenue.item("d", 100, "2024-01-01", interval="day"),
        revenue.item("biennial", 240000, "2024-01-01", interval="year", interval_count=2),
    ]
    result = revenue.compute(weekly + others)
    assert revenue.movements(result, "w0") == [("2024-01", "new", D(4333), D(4333))]
    assert revenue.movements(result, "q")[0][3] == D(10000)
    assert revenue.movements(result, "d")[0][3] == D(3042)  # 100 × 365 ÷ 12 = 3,041.67
    assert revenue.movements(result, "biennial")[0][3] == D(10000)
    # 13,000 + 10,000 + 3,041.666… + 10,000 = 36,041.67 → 36,042
    assert revenue.kpis(result, "2024-01")["mrr"] == D(36042)


def test_usd_reporting_rounds_to_cents(revenue: Revenue) -> None:
    result = revenue.compute(
        [revenue.item("acme", 10, "2024-01-01", interval="week", currency="USD")],
        currency="USD",
    )
    assert revenue.movements(result, "acme") == [("2024-01", "new", D("43.33"), D("43.33"))]
