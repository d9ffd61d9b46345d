"""Helpers the demo tests share: the small demo's options and per-day usage measures."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from kizuna.demo.generate import DemoOptions
from kizuna.demo.tables import DemoTables

# 200 accounts over 24 months keep the suite fast while leaving enough churns and expansions
# in the daily-usage window for the realism margins to be meaningful.
SMALL_DEMO = DemoOptions(accounts=200, months=24, seed=7, usage_days=400, as_of=date(2025, 6, 30))


def base_items(tables: DemoTables) -> pd.DataFrame:
    items = tables.subscriptions.to_pandas()
    items = items[items["plan"].notna()].copy()
    for column in ("start_date", "end_date", "trial_end_date"):
        items[column] = pd.to_datetime(items[column])
    return items


def daily_usage_with_zero_days(tables: DemoTables, options: DemoOptions) -> pd.DataFrame:
    """Usage per customer and in-service day; days without a row count as zero use.

    Adds ``contracted`` seats, ``active_rate`` (active users ÷ contracted seats),
    ``logins_per_seat`` and ``utilisation`` (seats in use ÷ contracted seats).
    """
    assert options.as_of is not None
    first = pd.Timestamp(options.as_of) - pd.Timedelta(days=options.usage_days - 1)
    days = pd.date_range(first, pd.Timestamp(options.as_of), freq="D")
    items = base_items(tables)
    items = items[items["plan"] != "Free"]
    frames = []
    for item in items.itertuples():
        paid_from = item.trial_end_date if pd.notna(item.trial_end_date) else item.start_date
        end = item.end_date if pd.notna(item.end_date) else days[-1] + pd.Timedelta(days=1)
        in_service = days[(days >= paid_from) & (days < end)]
        frames.append(
            pd.DataFrame(
                {"customer_id": item.customer_id, "date": in_service, "contracted": item.quantity}
            )
        )
    service = pd.concat(frames, ignore_index=True)
    usage = tables.usage_daily.to_pandas()
    usage["date"] = pd.to_datetime(usage["date"])
    merged = service.merge(usage, on=["customer_id", "date"], how="left")
    # Seats in use is a state, known only on days with a row; use counts are zero without one.
    merged["utilisation"] = merged["seats_in_use"] / merged["contracted"]
    counts = [name for name in usage.columns if name not in {"customer_id", "date"}]
    merged[counts] = merged[counts].fillna(0)
    merged["active_rate"] = merged["active_users"] / merged["contracted"]
    merged["logins_per_seat"] = merged["logins"] / merged["contracted"]
    return merged


def window_mean(usage: pd.DataFrame, column: str, start: datetime, end: datetime) -> float:
    """Mean of ``column`` over the in-service days in [start, end); 0 when there are none."""
    values = usage[(usage["date"] >= start) & (usage["date"] < end)][column].dropna()
    return float(values.mean()) if len(values) else 0.0


def seat_increases(tables: DemoTables) -> pd.DataFrame:
    """Each seat purchase: a base item replaced by one with more seats on the same plan."""
    items = base_items(tables).sort_values(["subscription_id", "start_date"])
    rows = []
    for _, lines in items.groupby("subscription_id"):
        previous = None
        for line in lines.itertuples():
            if (
                previous is not None
                and previous.end_date == line.start_date
                and line.plan == previous.plan
                and line.plan != "Free"
                and line.quantity > previous.quantity
            ):
                rows.append({"customer_id": line.customer_id, "on": line.start_date})
            previous = line
    return pd.DataFrame(rows, columns=["customer_id", "on"])
