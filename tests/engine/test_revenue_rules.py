"""The contested rules that are settings: free plans, past-due customers, rounding, and the
rules file of ``kizuna metrics``. Expected months are written out by hand.

Tuples are (month, movement, signed change excluding FX, month-end MRR), in JPY unless said.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from kizuna.billing.management.commands.metrics import MetricsOptions, run_metrics
from kizuna.core.revenue_rules import RevenueRules, RulesError, rules_from_settings

if TYPE_CHECKING:
    from conftest import Revenue

D = Decimal


def _free_plan_history(revenue: Revenue) -> list[dict[str, Any]]:
    return [
        revenue.item("free", 0, "2024-01-01", plan="Free"),
        revenue.item("paid", 5000, "2024-01-01"),
        # Free in January and February, on a paid plan from 1 March.
        revenue.item("upgrader", 0, "2024-01-01", "2024-03-01", plan="Free"),
        revenue.item("upgrader", 3000, "2024-03-01", plan="Pro"),
        # Paid in January, on the free plan from 1 February.
        revenue.item("downgrader", 2000, "2024-01-01", "2024-02-01", plan="Pro"),
        revenue.item("downgrader", 0, "2024-02-01", plan="Free"),
    ]


def test_free_plans_are_not_customers_by_default(revenue: Revenue) -> None:
    result = revenue.compute(_free_plan_history(revenue))
    assert revenue.movements(result, "free") == []
    # Leaving the free plan for a paid one is the first paid month: new business.
    assert revenue.movements(result, "upgrader") == [("2024-03", "new", D(3000), D(3000))]
    assert revenue.movements(result, "downgrader") == [
        ("2024-01", "new", D(2000), D(2000)),
        ("2024-02", "churned", D(-2000), D(0)),
    ]
    february = revenue.kpis(result, "2024-02")
    # Only "paid" pays at the end of February; 1 of January's 2 paying customers churned.
    assert (february["customers"], february["arpa"], february["logo_churn_rate"]) == (
        1,
        D(5000),
        0.5,
    )
    march = revenue.kpis(result, "2024-03")
    assert (march["customers"], march["new_customers"], march["mrr"]) == (2, 1, D(8000))
    (cohort,) = [
        row for row in revenue.rows(result, result.cohorts) if row["months_since_start"] == 0
    ][:1]
    assert cohort["customers"] == 2  # January: paid and downgrader, never the free accounts


def test_free_plan_customers_can_be_counted_as_customers(revenue: Revenue) -> None:
    counted = revenue.compute(
        _free_plan_history(revenue), rules=RevenueRules(free_plans_are_customers=True)
    )
    # Movements stay MRR-based.
    assert revenue.movements(counted, "upgrader") == [("2024-03", "new", D(3000), D(3000))]
    assert revenue.movements(counted, "free") == []
    # January: paid, downgrader (paying), free and upgrader (free plan) = 4; 7,000 ÷ 4.
    january = revenue.kpis(counted, "2024-01")
    assert (january["customers"], january["arpa"]) == (4, D(1750))
    # February: paid, plus free, upgrader and downgrader on free plans = 4; 1 churned of 4.
    february = revenue.kpis(counted, "2024-02")
    assert (february["customers"], february["arpa"], february["logo_churn_rate"]) == (
        4,
        D(1250),
        0.25,
    )
    assert revenue.kpis(counted, "2024-03")["customers"] == 4


def _invoice(customer_id: str, due: str, status: str, paid: str | None = None) -> dict[str, Any]:
    return {
        "invoice_id": f"{customer_id}-{due}",
        "customer_id": customer_id,
        "subscription_id": f"{customer_id}-s",
        "issued_on": "2024-01-01",
        "due_on": due,
        "paid_on": paid,
        "amount": D(10000),
        "currency": "JPY",
        "status": status,
    }


def _past_due_history(revenue: Revenue) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    names = ("late", "on-time", "written-off", "void")
    items = [revenue.item(name, 10000, "2024-01-01", "2024-07-01") for name in names]
    invoices = [
        # Due 15 Feb, paid 10 May: more than 30 days late at the ends of March and April.
        _invoice("late", "2024-02-15", "paid", paid="2024-05-10"),
        # Paid 24 days after the due date: never more than 30 days late at a month-end.
        _invoice("on-time", "2024-02-15", "paid", paid="2024-03-10"),
        # Due 1 March, never paid: 30 days late on 31 March (not more), 60 on 30 April.
        _invoice("written-off", "2024-03-01", "uncollectible"),
        # Void and draft invoices never make a customer past due.
        _invoice("void", "2024-01-10", "void"),
        _invoice("void", "2024-01-10", "draft"),
    ]
    return items, invoices


def test_past_due_customers_stay_in_mrr_by_default(revenue: Revenue) -> None:
    items, invoices = _past_due_history(revenue)
    result = revenue.compute(items, invoices=invoices)
    expected = [("2024-01", "new", D(10000), D(10000))]
    expected += [(f"2024-{m:02}", "none", D(0), D(10000)) for m in range(2, 7)]
    expected += [("2024-07", "churned", D(-10000), D(0))]
    for name in ("late", "on-time", "written-off", "void"):
        assert revenue.movements(result, name) == expected


def test_past_due_customers_churn_after_n_days_until_they_pay(revenue: Revenue) -> None:
    items, invoices = _past_due_history(revenue)
    result = revenue.compute(items, invoices=invoices, rules=RevenueRules(past_due_churn_days=30))
    assert revenue.movements(result, "late") == [
        ("2024-01", "new", D(10000), D(10000)),
        ("2024-02", "none", D(0), D(10000)),
        ("2024-03", "churned", D(-10000), D(0)),
        ("2024-05", "reactivation", D(10000), D(10000)),
        ("2024-06", "none", D(0), D(10000)),
        ("2024-07", "churned", D(-10000), D(0)),
    ]
    assert revenue.movements(result, "written-off") == [
        ("2024-01", "new", D(10000), D(10000)),
        ("2024-02", "none", D(0), D(10000)),
        ("2024-03", "none", D(0), D(10000)),
        ("2024-04", "churned", D(-10000), D(0)),
    ]
    untouched = [("2024-01", "new", D(10000), D(10000))]
    untouched += [(f"2024-{m:02}", "none", D(0), D(10000)) for m in range(2, 7)]
    untouched += [("2024-07", "churned", D(-10000), D(0))]
    assert revenue.movements(result, "on-time") == untouched
    assert revenue.movements(result, "void") == untouched
    march, april, may = (revenue.kpis(result, f"2024-{m:02}") for m in (3, 4, 5))
    assert (march["customers"], march["churned_customers"], march["mrr"]) == (3, 1, D(30000))
    assert (april["customers"], april["churned_customers"], april["mrr"]) == (2, 1, D(20000))
    assert (may["customers"], may["reactivated_customers"], may["mrr"]) == (3, 1, D(30000))


def test_usd_amounts_round_half_away_from_zero(revenue: Revenue) -> None:
    # 0.075 USD a quarter is exactly 0.025 a month: 0.03 when it starts, −0.03 when it ends.
    result = revenue.compute(
        [
            revenue.item(
                "acme", "0.075", "2024-01-01", "2024-02-01", interval="quarter", currency="USD"
            )
        ],
        currency="USD",
    )
    assert revenue.movements(result, "acme") == [
        ("2024-01", "new", D("0.03"), D("0.03")),
        ("2024-02", "churned", D("-0.03"), D(0)),
    ]


def test_rules_from_settings_reports_every_problem() -> None:
    rules = rules_from_settings(
        {"gross_margin": 0.8, "reactivation_window_months": 2, "trials_carry_mrr": True},
        "rules.toml",
    )
    assert rules == RevenueRules(
        gross_margin=D("0.8"), reactivation_window_months=2, trials_carry_mrr=True
    )
    with pytest.raises(RulesError) as error:
        rules_from_settings(
            {"colour": "red", "past_due_churn_days": "30", "free_plans_are_customers": 1},
            "rules.toml",
        )
    assert error.value.problems == [
        "rules.toml: unknown setting 'colour'",
        "rules.toml: past_due_churn_days must be a whole number, got '30'",
        "rules.toml: free_plans_are_customers must be true or false, got 1",
    ]
    with pytest.raises(RulesError) as error:
        rules_from_settings({"churn_at": "whenever"}, "rules.toml")
    assert error.value.problems == [
        "rules.toml: churn_at must be end_of_service or cancellation_request, not 'whenever'"
    ]


SUBSCRIPTIONS = """\
customer_id,subscription_id,product,unit_price,currency,interval,start_date,end_date
A,a1,core,10000,JPY,month,2024-01-01,2024-05-01
B,b1,core,5000,JPY,month,2024-01-01,2024-05-01
"""
INVOICES = """\
invoice_id,customer_id,subscription_id,issued_on,due_on,paid_on,amount,currency,status
i1,A,a1,2024-01-01,2024-01-31,2024-03-15,10000,JPY,paid
i2,B,b1,2024-01-01,2024-01-31,2024-02-05,5000,JPY,paid
"""


def _metrics(folder: Path, rules: Path | None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = run_metrics(MetricsOptions(input=folder, rules=rules), out, err)
    return status, out.getvalue(), err.getvalue()


def test_metrics_reads_invoices_and_a_rules_file(tmp_path: Path) -> None:
    (tmp_path / "subscriptions.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    (tmp_path / "invoices.csv").write_text(INVOICES, encoding="utf-8")
    rules = tmp_path / "rules.toml"
    rules.write_text("past_due_churn_days = 14\ngross_margin = 0.8\n", encoding="utf-8")
    status, out, err = _metrics(tmp_path, rules)
    assert (status, err) == (0, "")
    # A's invoice (due 31 January) is 29 days late on 29 February: no MRR at the end of
    # February; paid on 15 March, so A is back at the end of March.
    months = {month["month"]: month for month in json.loads(out)["months"]}
    assert [months[m]["mrr"] for m in ("2024-01", "2024-02", "2024-03", "2024-04")] == [
        15000,
        5000,
        15000,
        15000,
    ]
    assert (months["2024-02"]["churned_mrr"], months["2024-03"]["reactivation_mrr"]) == (
        10000,
        10000,
    )
    # Without the rules file, invoices do not change MRR.
    status, out, _ = _metrics(tmp_path, None)
    assert [month["mrr"] for month in json.loads(out)["months"]][:4] == [15000] * 4


def test_metrics_rejects_a_bad_rules_file_and_bad_invoices(tmp_path: Path) -> None:
    (tmp_path / "subscriptions.csv").write_text(SUBSCRIPTIONS, encoding="utf-8")
    rules = tmp_path / "rules.toml"
    rules.write_text("past_due_churn_days = -1\n", encoding="utf-8")
    status, out, err = _metrics(tmp_path, rules)
    assert (status, out) == (1, "")
    assert err == f"{rules}: past_due_churn_days must be ≥ 0\n"
    rules.write_text("past_due_churn_days = \n", encoding="utf-8")
    status, _, err = _metrics(tmp_path, rules)
    assert status == 1 and err.startswith(f"{rules}: not valid TOML")
    invoices = tmp_path / "invoices.csv"
    invoices.write_text(
        INVOICES.replace("i2,B,b1,2024-01-01,2024-01-31", "i2,B,b1,2024-02-01,2024-01-31"),
        encoding="utf-8",
    )
    status, _, err = _metrics(tmp_path, None)
    assert (status, err) == (
        1,
        "invoices.csv:3: 'due_on' 2024-01-31 is before 'issued_on' 2024-02-01\n",
    )
    invoices.write_text(INVOICES + "i3,B,b1,2024-02-01,2024-02-29,,5000,JPY,late\n", "utf-8")
    status, _, err = _metrics(tmp_path, None)
    assert (status, err) == (
        1,
        "invoices.csv:4: 'status' must be one of draft, open, paid, uncollectible, void, "
        "got 'late'\n",
    )
