"""Customer segments computed with the health scores (SPEC G1–G3, G5), over all accounts at once.

One row per account as of a date T:

* **touch tier** (G1): ``high`` when ARR ≥ ``high_touch_min_arr`` or employees ≥
  ``high_touch_min_employees``; else ``tech`` when ARR < ``tech_touch_max_arr`` and employees
  (unknown counts as small) < ``tech_touch_max_employees``; else ``low``. ARR is 12 × the
  latest positive month-end MRR up to T's month, so a churned account keeps the tier it had.
* **RFM** (G2) among current customers (MRR > 0 in T's month): recency = days since the last
  day of use (a usage row with logins or active users), frequency = days of use in the
  ``frequency_window_days`` days up to T, monetary = MRR. Each is scored in quintiles 1–5
  (5 = most recent, most frequent, largest): ``⌈5 × position⌉``, the position being the share
  of customers below the value plus half of those equal to it, so ties share a score and,
  without ties, each fifth of the customers gets one score.
* **LTV** (G3), ARPA-style per customer: MRR × gross margin ÷ the monthly logo churn rate of its
  touch tier over the ``churn_window_months`` months up to T's month (churned customers ÷
  customers at the start of each month, summed over the window). Missing when the tier had no
  churn in the window (the lifetime is unbounded) or the account pays nothing.
* **impact × risk** (G5): contracted MRR, days since last use, products with MRR, plan.

The formulas are documented in ``docs/health.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

# Movement label of a customer whose MRR went to zero (as written by the revenue engine).
CHURN_MOVEMENT = "churned"
# Recency of an account that never used the product: worse than any real recency.
_NEVER_USED_DAYS = 1_000_000


@dataclass(frozen=True)
class SegmentRules:
    """Thresholds of the segments; money in the reporting currency.

    The defaults suit yen prices: a dedicated CSM from 6 M ARR (500 k MRR) or a 1,000-person
    company; pooled, automated (tech-touch) service below 1.2 M ARR for companies under 100.
    """

    high_touch_min_arr: float = 6_000_000
    high_touch_min_employees: int = 1000
    tech_touch_max_arr: float = 1_200_000
    tech_touch_max_employees: int = 100
    gross_margin: float = 1.0
    frequency_window_days: int = 90
    churn_window_months: int = 12

    def __post_init__(self) -> None:
        if not 0 < self.gross_margin <= 1:
            raise ValueError("gross_margin must be a fraction in (0, 1]")
        if self.tech_touch_max_arr > self.high_touch_min_arr:
            raise ValueError("tech_touch_max_arr must not exceed high_touch_min_arr")
        if self.frequency_window_days < 1 or self.churn_window_months < 1:
            raise ValueError("the windows must be at least one day and one month")


def month_start(day: date) -> date:
    return day.replace(day=1)


def touch_tier(arr: ir.NumericValue, employees: ir.IntegerValue, rules: SegmentRules) -> ir.Value:
    """The touch tier from ARR and employees (see the module docstring)."""
    staff = employees.fill_null(0)
    return ibis.cases(
        (
            (arr >= rules.high_touch_min_arr) | (staff >= rules.high_touch_min_employees),
            "high",
        ),
        (
            (arr < rules.tech_touch_max_arr) & (staff < rules.tech_touch_max_employees),
            "tech",
        ),
        else_="low",
    )


def quintile(value: ir.NumericValue, among: ir.BooleanValue) -> ir.Value:
    """1–5 by position among the rows where ``among`` holds (higher value = better); null
    elsewhere. The position of a value is the share of rows below it plus half the rows equal
    to it (the midpoint of its tied run), so ties share one score: ``⌈5 × position⌉``, in
    integers: ``⌈5 × (2 × below + equal) ÷ (2 × n)⌉``."""
    below = ibis.rank().over(ibis.window(group_by=among, order_by=value))
    equal = value.count().over(ibis.window(group_by=[among, value]))
    total = value.count().over(ibis.window(group_by=among))
    score = (5 * (2 * below + equal) + 2 * total - 1) // (2 * total)
    return ibis.ifelse(among, score.cast("int64"), ibis.null("int64"))


def segment_table(
    accounts: ir.Table,
    mrr_months: ir.Table,
    product_mrr: ir.Table,
    usage_daily: ir.Table,
    as_of: date,
    rules: SegmentRules,
) -> ir.Table:
    """One row per account of ``accounts`` (``customer_id, employees, plan``) with its segments.

    ``mrr_months``: ``customer_id, month, mrr, movement`` (month-end MRR per month);
    ``product_mrr``: ``customer_id, month, product, mrr``; ``usage_daily``: ``customer_id, date,
    logins, active_users``. Columns: ``mrr, arr, touch_tier, last_used_on,
    days_since_last_use, active_days, recency_score, frequency_score, monetary_score,
    products, plan, segment_monthly_churn, ltv``.
    """
    month = month_start(as_of)
    current = carried_forward(mrr_months, ["customer_id"], [month]).select("customer_id", "mrr")
    paid = mrr_months.filter((mrr_months.month <= month) & (mrr_months.mrr > 0))
    latest_paid = paid.group_by("customer_id").aggregate(last_month=paid.month.max())
    latest_paid = latest_paid.join(
        paid.select("customer_id", last_month=paid.month, last_mrr=paid.mrr.cast("float64")),
        ["customer_id", "last_month"],
    ).select("customer_id", "last_mrr")

    used = usage_daily.filter(
        (usage_daily.date <= as_of) & ((usage_daily.logins > 0) | (usage_daily.active_users > 0))
    )
    first_counted = as_of - timedelta(days=rules.frequency_window_days - 1)
    use = used.group_by("customer_id").aggregate(
        last_used_on=used.date.max(),
        active_days=(used.date >= first_counted).sum(),
    )
    products = carried_forward(product_mrr, ["customer_id", "product"], [month])
    products = products.filter(products.mrr > 0)
    products = products.group_by("customer_id").aggregate(products=products.product.nunique())

    table = (
        accounts.select("customer_id", "employees", "plan")
        .left_join(current, "customer_id")
        .drop("customer_id_right")
        .left_join(latest_paid, "customer_id")
        .drop("customer_id_right")
        .left_join(use, "customer_id")
        .drop("customer_id_right")
        .left_join(products, "customer_id")
        .drop("customer_id_right")
    )
    mrr = table.mrr.fill_null(0.0)
    arr = 12.0 * table.last_mrr.fill_null(0.0)
    days = ibis.literal(as_of).delta(table.last_used_on, unit="day")
    table = table.mutate(
        mrr=mrr,
        arr=arr,
        touch_tier=touch_tier(arr, table.employees, rules),
        days_since_last_use=days,
        active_days=table.active_days.fill_null(0).cast("int64"),
        products=table.products.fill_null(0).cast("int64"),
    )
    customer = table.mrr > 0
    table = table.mutate(
        recency_score=quintile(-(table.days_since_last_use.fill_null(_NEVER_USED_DAYS)), customer),
        frequency_score=quintile(table.active_days, customer),
        monetary_score=quintile(table.mrr, customer),
    )
    churn = tier_monthly_churn(mrr_months, table.select("customer_id", "touch_tier"), month, rules)
    table = table.left_join(churn, "touch_tier").drop("touch_tier_right")
    ltv = ibis.ifelse(
        customer & (table.segment_monthly_churn > 0),
        table.mrr * rules.gross_margin / table.segment_monthly_churn,
        ibis.null("float64"),
    )
    return table.mutate(ltv=ltv.round(0)).select(
        "customer_id",
        "mrr",
        "arr",
        "touch_tier",
        "last_used_on",
        "days_since_last_use",
        "active_days",
        "recency_score",
        "frequency_score",
        "monetary_score",
        "products",
        "plan",
        "segment_monthly_churn",
        "ltv",
    )


def tier_monthly_churn(
    mrr_months: ir.Table, tiers: ir.Table, month: date, rules: SegmentRules
) -> ir.Table:
    """``touch_tier, segment_monthly_churn``: customers churned in the ``churn_window_months``
    months up to ``month`` ÷ customers at the start of those months (MRR > 0 the month before),
    by the accounts' touch tier."""
    first = _add_months(month, -(rules.churn_window_months - 1))
    opening_months = [_add_months(first, offset - 1) for offset in range(rules.churn_window_months)]
    churned = mrr_months.join(tiers, "customer_id")
    churned = churned.filter(
        (churned.month >= first) & (churned.month <= month) & (churned.movement == CHURN_MOVEMENT)
    )
    churned = churned.group_by("touch_tier").aggregate(churned=churned.count())
    # A month's opening customers are those paying at the end of the month before.
    opening = carried_forward(mrr_months, ["customer_id"], opening_months)
    opening = opening.filter(opening.mrr > 0).join(tiers, "customer_id")
    opening = opening.group_by("touch_tier").aggregate(opening=opening.count())
    joined = opening.left_join(churned, "touch_tier").drop("touch_tier_right")
    return joined.select(
        "touch_tier",
        segment_monthly_churn=(
            joined.churned.fill_null(0).cast("float64") / joined.opening.cast("float64")
        ).round(6),
    )


def carried_forward(rows: ir.Table, keys: list[str], months: list[date]) -> ir.Table:
    """``keys…, month, mrr`` at each of ``months``: the MRR of the latest row dated on or before
    it (result rows are written only for months that changed, so a level carries forward);
    keys without a row by then are absent."""
    wanted = ibis.memtable({"at": months}, schema={"at": "date"})
    pairs = rows.join(wanted, rows.month <= wanted.at)
    latest = pairs.group_by([*keys, "at"]).aggregate(month=pairs.month.max())
    levels = rows.select(*keys, "month", mrr=rows.mrr.cast("float64"))
    joined = latest.join(levels, [*keys, "month"])
    return joined.select(*keys, month=joined.at, mrr=joined.mrr)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
