"""Build the whole demo data set in memory: one Arrow table per file of docs/import-format.md.

Deterministic: the same (accounts, months, seed, as_of, usage_days) always gives the same
tables. Each account draws from its own seeded random stream, so adding accounts never
changes the ones before them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pyarrow as pa

from kizuna.demo import company
from kizuna.demo.behaviour import behaviour_rows, touch_tier
from kizuna.demo.billing import (
    churn_rows,
    fx_rate_rows,
    invoice_rows,
    spend_rows,
    subscription_rows,
)
from kizuna.demo.customers import simulate_account
from kizuna.demo.deals import AccountOwners, deal_rows
from kizuna.demo.goals import success_goal_rows
from kizuna.demo.profiles import arrival_schedule
from kizuna.demo.records import SimulatedAccount
from kizuna.demo.tables import (
    ACTIVITIES_SCHEMA,
    CHURNS_SCHEMA,
    CONTACTS_SCHEMA,
    CUSTOMERS_SCHEMA,
    DEAL_STAGE_HISTORY_SCHEMA,
    DEALS_SCHEMA,
    FEATURES_SCHEMA,
    FX_RATES_SCHEMA,
    INVOICES_SCHEMA,
    NPS_SCHEMA,
    SPEND_SCHEMA,
    SUBSCRIPTIONS_SCHEMA,
    SUCCESS_GOALS_SCHEMA,
    TICKETS_SCHEMA,
    DemoTables,
    table_from_rows,
)
from kizuna.demo.timeline import Timeline
from kizuna.demo.usage import usage_tables

Row = dict[str, Any]

DEFAULT_ACCOUNTS = 2000
DEFAULT_MONTHS = 36
DEFAULT_SEED = 42
# 400 days cover a full year of daily health history plus the 30-day windows it starts with.
DEFAULT_USAGE_DAYS = 400
# Accounts converted to table rows at once; bounds the memory held in Python dicts.
ROW_BATCH_ACCOUNTS = 5000


@dataclass(frozen=True)
class DemoOptions:
    accounts: int = DEFAULT_ACCOUNTS
    months: int = DEFAULT_MONTHS
    seed: int = DEFAULT_SEED
    usage_days: int = DEFAULT_USAGE_DAYS
    as_of: date | None = None
    """Last simulated day; today when not given."""

    def timeline(self) -> Timeline:
        return Timeline(self.as_of or date.today(), self.months)


def owners_of(account: SimulatedAccount, seed: int) -> AccountOwners:
    rng = random.Random(f"kizuna-demo-owners:{seed}:{account.index}")
    sales = company.ENTERPRISE_SALES if account.segment == "enterprise" else company.SMB_SALES
    return AccountOwners(sales=rng.choice(sales), cs=rng.choice(company.CSMS))


def lifecycle_stage(account: SimulatedAccount, as_of: date) -> str:
    current = [item for item in account.base_items() if item.end is None or item.end > as_of]
    if not current:
        return ""
    start = min(
        item.start for item in account.items if item.subscription_id == current[-1].subscription_id
    )
    months_in = (as_of - start).days / 30.4
    if account.term_end is not None and (account.term_end - as_of).days <= 90:
        return "renewal"
    if months_in < 3:
        return "onboarding"
    if months_in < 6:
        return "adoption"
    health = float(account.health[-1])
    return "advocacy" if months_in >= 12 and health > 0.8 else "maturity"


def customer_row(account: SimulatedAccount, owners: AccountOwners, as_of: date) -> Row:
    ever_customer = account.new_business.outcome == "won" or any(
        item.plan == "Free" for item in account.items
    )
    return {
        "customer_id": account.customer_id,
        "name": account.name,
        "country": account.country,
        "industry": account.industry,
        "employees": account.employees,
        "channel": account.channel,
        "owner": owners.sales,
        "created_at": datetime.combine(account.created_on, time(10, 0)),
        "cs_owner": owners.cs if ever_customer else None,
        "touch_tier": touch_tier(account),
        "lifecycle_stage": lifecycle_stage(account, as_of) or None,
    }


def feature_rows(timeline: Timeline) -> list[Row]:
    return [
        {
            "feature": feature.key,
            "name": str(feature.name),
            "core": feature.core,
            "enterprise": feature.enterprise,
            "released_on": (
                timeline.as_of - timedelta(days=30 * feature.released_months_ago)
                if feature.released_months_ago is not None
                else None
            ),
        }
        for feature in company.FEATURES
    ]


ROW_TABLES: dict[str, Any] = {
    "customers": CUSTOMERS_SCHEMA,
    "subscriptions": SUBSCRIPTIONS_SCHEMA,
    "invoices": INVOICES_SCHEMA,
    "churns": CHURNS_SCHEMA,
    "contacts": CONTACTS_SCHEMA,
    "tickets": TICKETS_SCHEMA,
    "nps": NPS_SCHEMA,
    "activities": ACTIVITIES_SCHEMA,
    "deals": DEALS_SCHEMA,
    "deal_stage_history": DEAL_STAGE_HISTORY_SCHEMA,
    "success_goals": SUCCESS_GOALS_SCHEMA,
}


def _account_tables(
    accounts: list[SimulatedAccount], timeline: Timeline, seed: int
) -> dict[str, pa.Table]:
    """The per-account tables, built in batches so Python row dicts never pile up."""
    parts: dict[str, list[pa.Table]] = {name: [] for name in ROW_TABLES}
    for start in range(0, len(accounts), ROW_BATCH_ACCOUNTS):
        rows: dict[str, list[Row]] = {name: [] for name in ROW_TABLES}
        for account in accounts[start : start + ROW_BATCH_ACCOUNTS]:
            owners = owners_of(account, seed)
            rows["customers"].append(customer_row(account, owners, timeline.as_of))
            rows["subscriptions"].extend(subscription_rows(account))
            rows["invoices"].extend(invoice_rows(account, timeline, seed))
            rows["churns"].extend(churn_rows(account, seed))
            for name, behaviour in behaviour_rows(account, timeline, seed).items():
                rows[name].extend(behaviour)
            deals = deal_rows(account, owners, timeline, seed)
            rows["deals"].extend(deals.deals)
            rows["deal_stage_history"].extend(deals.history)
            rows["success_goals"].extend(success_goal_rows(account, timeline, seed))
        for name, schema in ROW_TABLES.items():
            parts[name].append(table_from_rows(rows[name], schema))
    return {
        name: pa.concat_tables(tables) if tables else ROW_TABLES[name].empty_table()
        for name, tables in parts.items()
    }


def generate(options: DemoOptions) -> DemoTables:
    timeline = options.timeline()
    arrivals = arrival_schedule(
        random.Random(f"kizuna-demo:{options.seed}"), options.accounts, timeline
    )
    accounts = [
        simulate_account(index, options.seed, arrival, timeline)
        for index, arrival in enumerate(arrivals)
    ]
    tables = _account_tables(accounts, timeline, options.seed)
    usage_daily, feature_usage = usage_tables(accounts, timeline, options.usage_days, options.seed)
    return DemoTables(
        fx_rates=table_from_rows(fx_rate_rows(timeline, options.seed), FX_RATES_SCHEMA),
        spend=table_from_rows(spend_rows(arrivals, timeline, options.seed), SPEND_SCHEMA),
        usage_daily=usage_daily,
        features=table_from_rows(feature_rows(timeline), FEATURES_SCHEMA),
        feature_usage=feature_usage,
        **tables,
    )
