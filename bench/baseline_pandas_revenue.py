"""A straightforward pandas implementation of the revenue definitions, as the benchmark baseline.

Same definitions as the engine (docs/metrics.md): month-end MRR per item, customer and
product, movements with the FX part, monthly totals and cohorts. Money is exact: numerators in
int64 over ``DENOMINATOR`` (the bench data uses monthly and yearly items, whole-unit prices and
rates with two decimals, so every numerator fits in 64 bits).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

PERIODS_PER_YEAR = {"day": 365, "week": 52, "month": 12, "quarter": 4, "year": 1}
RATE_CENTS = 100
DENOMINATOR = 100 * 12 * RATE_CENTS  # percent × months per year × rate in hundredths


def month_idx(days: pd.Series) -> pd.Series:
    return days.dt.year.astype("int64") * 12 + days.dt.month.astype("int64") - 1


def item_months(subscriptions: pa.Table, fx_rates: pa.Table, last_idx: int) -> pd.DataFrame:
    items = subscriptions.to_pandas(types_mapper=None)
    items = items[items["recurring"]].copy()
    for column in ("start_date", "end_date", "trial_end_date"):
        items[column] = pd.to_datetime(items[column])
    start = items["start_date"].where(
        items["trial_end_date"].isna() | (items["trial_end_date"] <= items["start_date"]),
        items["trial_end_date"],
    )
    items["first_idx"] = month_idx(start)
    items["last_idx"] = (month_idx(items["end_date"]) - 1).fillna(last_idx).astype("int64")
    items["last_idx"] = items["last_idx"].clip(upper=last_idx)
    percent_kept = (100 - items["discount_percent"].astype("float64")).astype("int64")
    period = (
        items["quantity"].astype("float64").astype("int64")
        * items["unit_price"].astype("float64").astype("int64")
        * percent_kept
        - items["discount_amount"].astype("float64").astype("int64") * 100
    ).clip(lower=0)
    per_year = items["interval"].map(PERIODS_PER_YEAR).astype("int64")
    items["mrr_native"] = period * per_year // items["interval_count"]
    items = items[(items["mrr_native"] > 0) & (items["first_idx"] <= items["last_idx"])]
    # One row per item and month-end in service.
    lengths = (items["last_idx"] - items["first_idx"] + 1).to_numpy()
    rows = items.loc[
        items.index.repeat(lengths),
        ["customer_id", "product", "currency", "mrr_native", "first_idx"],
    ]
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    rows["month_idx"] = rows["first_idx"].to_numpy() + offsets
    rates = month_rates(fx_rates, rows["month_idx"].min(), last_idx)
    rows = rows.merge(rates, on=["currency", "month_idx"], how="left")
    rows.loc[rows["currency"] == "JPY", ["rate", "prev_rate"]] = RATE_CENTS
    rows["mrr"] = rows["mrr_native"] * rows["rate"].astype("int64")
    in_previous = rows["first_idx"] < rows["month_idx"]
    change = (rows["rate"] - rows["prev_rate"]).fillna(0).astype("int64")
    rows["fx"] = np.where(in_previous, rows["mrr_native"] * change, 0)
    return rows


def month_rates(fx_rates: pa.Table, first_idx: int, last_idx: int) -> pd.DataFrame:
    fx = fx_rates.to_pandas()
    fx["date"] = pd.to_datetime(fx["date"]).astype("datetime64[s]")
    fx["cents"] = (fx["rate"].astype("float64") * RATE_CENTS).round().astype("int64")
    frames = []
    for currency, group in fx.groupby("currency"):
        months = pd.DataFrame({"month_idx": np.arange(first_idx, last_idx + 1)})
        ends = pd.to_datetime(
            {"year": months["month_idx"] // 12, "month": months["month_idx"] % 12 + 1, "day": 1}
        ) + pd.offsets.MonthEnd(0)
        months["month_end"] = ends.astype("datetime64[s]")
        merged = pd.merge_asof(
            months, group.sort_values("date"), left_on="month_end", right_on="date"
        )
        merged["currency"] = currency
        merged["rate"] = merged["cents"]
        merged["prev_rate"] = merged["rate"].shift(1)
        frames.append(merged[["currency", "month_idx", "rate", "prev_rate"]])
    return pd.concat(frames, ignore_index=True)


def movements(monthly: pd.DataFrame, keys: list[str], last_idx: int) -> pd.DataFrame:
    paying = monthly[monthly["mrr"] > 0].sort_values([*keys, "month_idx"]).reset_index(drop=True)
    grouped = paying.groupby(keys, sort=False)
    prev_idx = grouped["month_idx"].shift(1)
    prev_mrr = grouped["mrr"].shift(1)
    next_idx = grouped["month_idx"].shift(-1)
    paying["first_idx"] = grouped["month_idx"].transform("min")
    continuing = prev_idx == paying["month_idx"] - 1
    paying["mrr_start"] = np.where(continuing, prev_mrr, 0).astype("int64")
    paying["fx"] = np.where(continuing, paying["fx"], 0)
    paying["delta"] = paying["mrr"] - paying["mrr_start"] - paying["fx"]
    paying["movement"] = np.select(
        [
            continuing & (paying["delta"] > 0),
            continuing & (paying["delta"] < 0),
            continuing,
            prev_idx.notna(),
        ],
        ["expansion", "contraction", "none", "reactivation"],
        default="new",
    )
    ends = paying[
        (next_idx.isna() | (next_idx > paying["month_idx"] + 1)) & (paying["month_idx"] < last_idx)
    ]
    churned = ends[[*keys, "first_idx"]].assign(
        month_idx=ends["month_idx"] + 1,
        mrr_start=ends["mrr"],
        mrr=0,
        fx=0,
        delta=-ends["mrr"],
        movement="churned",
    )
    columns = [*keys, "month_idx", "first_idx", "mrr_start", "mrr", "fx", "delta", "movement"]
    return pd.concat([paying[columns], churned[columns]], ignore_index=True)


def monthly_totals(customer_movements: pd.DataFrame) -> pd.DataFrame:
    rows = customer_movements
    by_kind = rows.pivot_table(
        index="month_idx", columns="movement", values="delta", aggfunc="sum", fill_value=0
    )
    counts = rows.pivot_table(
        index="month_idx", columns="movement", values="delta", aggfunc="count", fill_value=0
    )
    totals = pd.DataFrame(
        {
            "mrr": rows.groupby("month_idx")["mrr"].sum(),
            "fx_mrr": rows.groupby("month_idx")["fx"].sum(),
            "customers": rows[rows["mrr"] > 0].groupby("month_idx").size(),
        }
    ).fillna(0)
    for kind in ("new", "expansion", "contraction", "churned", "reactivation"):
        sign = -1 if kind in ("contraction", "churned") else 1
        totals[f"{kind}_mrr"] = sign * by_kind.get(kind, 0)
        totals[f"{kind}_count"] = counts.get(kind, 0)
    return totals.fillna(0).astype("int64").sort_index()


def cohorts(customer_movements: pd.DataFrame) -> pd.DataFrame:
    paying = customer_movements[customer_movements["mrr"] > 0]
    return (
        paying.groupby(["first_idx", "month_idx"])
        .agg(customers=("customer_id", "size"), mrr=("mrr", "sum"))
        .reset_index()
    )


def recompute(
    subscriptions: pa.Table, fx_rates: pa.Table, last_idx: int
) -> dict[str, pd.DataFrame]:
    rows = item_months(subscriptions, fx_rates, last_idx)
    products = rows.groupby(["customer_id", "product", "month_idx"], as_index=False)[
        ["mrr", "fx"]
    ].sum()
    customers = products.groupby(["customer_id", "month_idx"], as_index=False)[["mrr", "fx"]].sum()
    customer_movements = movements(customers, ["customer_id"], last_idx)
    return {
        "totals": monthly_totals(customer_movements),
        "product_movements": movements(products, ["customer_id", "product"], last_idx),
        "cohorts": cohorts(customer_movements),
    }
