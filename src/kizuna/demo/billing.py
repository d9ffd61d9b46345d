"""Revenue tables: subscription items, invoices (some paid late), FX rates, spend, churns."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from kizuna.core.money import round_money
from kizuna.demo import company
from kizuna.demo.phrases import phrases
from kizuna.demo.profiles import INSTALLED_BASE_MONTHS, Arrival
from kizuna.demo.records import Item, SimulatedAccount
from kizuna.demo.timeline import Timeline, add_months

Row = dict[str, Any]

# Japanese consumption tax on domestic B2B services; overseas customers are not charged it.
CONSUMPTION_TAX = Decimal("0.10")
PAYMENT_TERMS_DAYS = 30
# Invoices unpaid this long after their due date are written off as uncollectible.
WRITE_OFF_DAYS = 90
# USD/JPY at the start of the installed base's history, and its monthly volatility (yen).
USD_JPY_START = 132.0
USD_JPY_MONTHLY_SIGMA = 2.4


def subscription_rows(account: SimulatedAccount) -> list[Row]:
    return [
        {
            "customer_id": account.customer_id,
            "subscription_id": item.subscription_id,
            "product": item.product,
            "plan": item.plan or None,
            "quantity": item.quantity,
            "unit_price": item.unit_price,
            "currency": item.currency,
            "interval": item.interval,
            "interval_count": 1,
            "discount_percent": item.discount_percent,
            "discount_amount": Decimal(0),
            "start_date": item.start,
            "end_date": item.end,
            "trial_end_date": item.trial_end,
            "recurring": item.recurring,
            "canceled_at": item.canceled_at,
        }
        for item in account.items
    ]


def _charge(item: Item) -> Decimal:
    return item.unit_price * item.quantity * (100 - item.discount_percent) / 100


def _in_service(item: Item, day: date) -> bool:
    paid_from = item.trial_end or item.start
    return item.recurring and paid_from <= day and (item.end is None or item.end > day)


def invoice_rows(account: SimulatedAccount, timeline: Timeline, seed: int) -> list[Row]:
    """One invoice per billing cycle of each subscription, plus one per one-off service."""
    rng = random.Random(f"kizuna-demo-invoices:{seed}:{account.index}")
    rows: list[Row] = []
    last_churn = max((churn.on for churn in account.churns), default=None)
    by_subscription: dict[str, list[Item]] = {}
    for item in account.items:
        by_subscription.setdefault(item.subscription_id, []).append(item)
    for subscription_id, items in by_subscription.items():
        base = [item for item in items if item.plan]
        if not base:
            continue
        first = base[0]
        cycle = 12 if first.interval == "year" else 1
        issue = first.trial_end or first.start
        end = max((item.end for item in items if item.end is not None), default=None)
        ongoing = any(item.end is None for item in items if item.recurring)
        while issue <= timeline.as_of and (ongoing or end is None or issue < end):
            amount = sum((_charge(item) for item in items if _in_service(item, issue)), Decimal(0))
            if amount > 0:
                rows.append(
                    _invoice(account, subscription_id, issue, amount, rng, timeline, last_churn)
                )
            issue = add_months(issue, cycle)
        for item in items:
            if not item.recurring and item.start <= timeline.as_of:
                rows.append(
                    _invoice(
                        account,
                        subscription_id,
                        item.start,
                        _charge(item),
                        rng,
                        timeline,
                        last_churn,
                    )
                )
    for number, row in enumerate(rows, start=1):
        row["invoice_id"] = f"{account.customer_id}-INV{number}"
    return rows


def _invoice(
    account: SimulatedAccount,
    subscription_id: str,
    issued: date,
    amount: Decimal,
    rng: random.Random,
    timeline: Timeline,
    last_churn: date | None,
) -> Row:
    currency = account.currency
    amount = round_money(amount, currency)
    tax = round_money(amount * CONSUMPTION_TAX, currency) if currency == "JPY" else Decimal(0)
    due = issued + timedelta(days=PAYMENT_TERMS_DAYS)
    near_churn = last_churn is not None and timedelta(0) <= last_churn - issued <= timedelta(
        days=120
    )
    late = account.late_payer and rng.random() < (0.6 if near_churn else 0.3)
    paid: date | None = (
        due + timedelta(days=rng.randrange(5, 75))
        if late
        else issued + timedelta(days=rng.randrange(3, 29))
    )
    if near_churn and account.late_payer and rng.random() < 0.3:
        paid = None
    status = "paid"
    if paid is None or paid > timeline.as_of:
        paid = None
        overdue = (timeline.as_of - due).days
        status = "uncollectible" if overdue > WRITE_OFF_DAYS else "open"
    return {
        "customer_id": account.customer_id,
        "subscription_id": subscription_id,
        "issued_on": issued,
        "due_on": due,
        "paid_on": paid,
        "amount": amount,
        "tax": tax,
        "currency": currency,
        "status": status,
    }


def churn_rows(account: SimulatedAccount, seed: int) -> list[Row]:
    rng = random.Random(f"kizuna-demo-churns:{seed}:{account.index}")
    texts = phrases()
    return [
        {
            "customer_id": account.customer_id,
            "churned_on": churn.on,
            "reason": churn.reason,
            "detail": rng.choice(texts[f"churn_{churn.reason}"]),
        }
        for churn in account.churns
    ]


def fx_rate_rows(timeline: Timeline, seed: int) -> list[Row]:
    """USD→JPY at each month end, a random walk; rate = yen per one US dollar."""
    rng = random.Random(f"kizuna-demo-fx:{seed}")
    rate = USD_JPY_START
    rows: list[Row] = []
    for month in range(-INSTALLED_BASE_MONTHS - 1, timeline.months):
        rate = min(165.0, max(100.0, rate + rng.gauss(0.3, USD_JPY_MONTHLY_SIGMA)))
        day = min(timeline.month_end(month), timeline.as_of)
        if month == -INSTALLED_BASE_MONTHS - 1:
            day = timeline.month_start(month)
        rows.append({"date": day, "currency": "USD", "rate": Decimal(f"{rate:.2f}")})
    return rows


def spend_rows(arrivals: Sequence[Arrival], timeline: Timeline, seed: int) -> list[Row]:
    """Sales and marketing spend per month and channel, in proportion to the accounts it brought."""
    rng = random.Random(f"kizuna-demo-spend:{seed}")
    counts = Counter((arrival.month, arrival.channel) for arrival in arrivals if arrival.month >= 0)
    rows: list[Row] = []
    for month in range(timeline.months):
        for channel in company.CHANNELS:
            accounts = max(0.5, counts[(month, channel.key)])
            amount = accounts * channel.cost_per_account_jpy * math.exp(rng.gauss(0, 0.15))
            rows.append(
                {
                    "month": timeline.month_start(month).strftime("%Y-%m"),
                    "channel": channel.key,
                    # Budgets are set in thousands of yen.
                    "amount": Decimal(round(amount, -3)).quantize(Decimal(1)),
                    "currency": "JPY",
                }
            )
    return rows
