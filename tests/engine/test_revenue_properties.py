"""Property tests over random subscription histories: the MRR identity holds every month per
customer and in total, products add up to customers, month-end MRR equals an independent
exact (Fraction) computation of the definition, and neither row order nor the choice of
integer or decimal money matters."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kizuna.engine.revenue import PERIODS_PER_YEAR, month_end_of_index, month_index
from kizuna.engine.revenue_report import build_report, render_json, report_range

if TYPE_CHECKING:
    from conftest import Revenue

FIRST_DAY = date(2024, 1, 1)
RATES: list[dict[str, Any]] = [
    {"date": "2023-12-01", "currency": "USD", "rate": Decimal("150.25")},
    {"date": "2024-03-15", "currency": "USD", "rate": Decimal("141.5")},
    {"date": "2024-07-01", "currency": "USD", "rate": Decimal("157.123456")},
    {"date": "2024-11-20", "currency": "USD", "rate": Decimal("149")},
]


@st.composite
def items(draw: st.DrawFn) -> dict[str, Any]:
    start = FIRST_DAY + timedelta(days=draw(st.integers(0, 420)))
    length = draw(st.one_of(st.none(), st.integers(0, 400)))
    trial = draw(st.one_of(st.none(), st.integers(1, 60)))
    return {
        "customer_id": draw(st.sampled_from(["a", "b", "c", "d"])),
        "subscription_id": draw(st.sampled_from(["s1", "s2"])),
        "product": draw(st.sampled_from(["core", "addon"])),
        "quantity": Decimal(draw(st.integers(0, 5))),
        "unit_price": Decimal(draw(st.integers(0, 500_000))) / 100,
        "currency": draw(st.sampled_from(["JPY", "USD"])),
        "interval": draw(st.sampled_from(list(PERIODS_PER_YEAR))),
        "interval_count": draw(st.integers(1, 3)),
        "discount_percent": Decimal(draw(st.sampled_from([0, 0, 10, 33]))),
        "discount_amount": Decimal(draw(st.sampled_from([0, 0, 100]))),
        "start_date": start,
        "end_date": None if length is None else start + timedelta(days=length),
        "trial_end_date": None if trial is None else start + timedelta(days=trial),
        "recurring": draw(st.booleans()) or draw(st.booleans()),
    }


def oracle_mrr(rows: list[dict[str, Any]], last_idx: int) -> dict[tuple[str, int], Fraction]:
    """Month-end MRR per customer straight from the definition, in exact fractions."""
    rates = sorted((date.fromisoformat(r["date"]), Fraction(r["rate"])) for r in RATES)
    totals: dict[tuple[str, int], Fraction] = defaultdict(Fraction)
    for row in rows:
        if not row["recurring"]:
            continue
        period = Fraction(row["quantity"] * row["unit_price"]) * (
            1 - Fraction(row["discount_percent"]) / 100
        ) - Fraction(row["discount_amount"])
        monthly = (
            max(period, Fraction(0))
            * PERIODS_PER_YEAR[row["interval"]]
            / (12 * row["interval_count"])
        )
        start = max(row["start_date"], row["trial_end_date"] or row["start_date"])
        for index in range(month_index(FIRST_DAY), last_idx + 1):
            day = month_end_of_index(index)
            if start <= day and (row["end_date"] is None or day < row["end_date"]):
                rate = Fraction(1)
                if row["currency"] == "USD":
                    rate = [r for d, r in rates if d <= day][-1]
                if monthly:
                    totals[(row["customer_id"], index)] += monthly * rate
    return totals


# Each example is a full recompute (under a second, mostly building queries): ten histories
# of up to eight items already reach every movement, interval and currency combination often.
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(items(), min_size=1, max_size=8))
def test_mrr_identity_products_and_exact_definition(
    revenue: Revenue, rows: list[dict[str, Any]]
) -> None:
    result = revenue.compute(rows, fx_rates=RATES)
    scale = result.scale.denominator
    movements = revenue.rows(result, result.customer_movements)
    expected = oracle_mrr(rows, result.last_idx)
    by_customer: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for row in movements:
        # Per customer and month: mrr(M) = mrr(M−1) + delta + fx, exactly.
        assert row["mrr_end"] == row["mrr_start"] + row["delta"] + row["fx"]
        by_customer[row["customer_id"]][row["month_idx"]] = row
        if row["mrr_end"] > 0:
            exact = Fraction(row["mrr_end"]) / scale
            assert exact == expected[(row["customer_id"], row["month_idx"])]
    assert {key for key, value in expected.items() if value} == {
        (row["customer_id"], row["month_idx"]) for row in movements if row["mrr_end"] > 0
    }
    for months in by_customer.values():
        for index, row in months.items():
            previous = months.get(index - 1)
            assert row["mrr_start"] == (previous["mrr_end"] if previous else 0)
    # In total: mrr(M) = mrr(M−1) + net new + fx.
    kpis = revenue.rows(result, result.kpis.order_by("month_idx"))
    for before, now in itertools.pairwise(kpis):
        assert now["mrr"] == before["mrr"] + now["net_new_mrr"] + now["fx_mrr"]
    # Products add up to customers.
    product_totals: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for row in revenue.rows(result, result.product_months):
        product_totals[(row["customer_id"], row["month_idx"])] += row["mrr"]
    for row in movements:
        total = product_totals.get((row["customer_id"], row["month_idx"]), Decimal(0))
        assert total == row["mrr_end"]


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(items(), min_size=2, max_size=8), seed=st.integers(0, 1000))
def test_results_do_not_depend_on_row_order_nor_on_integer_money(
    revenue: Revenue, rows: list[dict[str, Any]], seed: int
) -> None:
    """The rows as drawn, with money as the survey chooses (integers whenever they are exact
    and fit), against the rows shuffled and money kept in decimals throughout (the path data
    with more than 6 decimals takes)."""
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    reports = []
    for ordering, integer_money in ((rows, True), (shuffled, False)):
        result = revenue.compute(ordering, fx_rates=RATES, integer_money=integer_money)
        assert integer_money or not result.scale.integer
        reports.append(render_json(build_report(result, report_range(result), detail=True)))
    assert reports[0] == reports[1]
