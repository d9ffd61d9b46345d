"""Arrow schemas of the demo tables: exactly the files and columns of ``docs/import-format.md``.

Money columns are exact decimals; no float column ever holds an amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import pyarrow as pa

# Two decimal places hold every amount of the currencies the demo bills (JPY 0, USD 2).
MONEY = pa.decimal128(20, 2)
# Exchange rates carry six decimals (e.g. 0.006711 USD per yen or 149.250000 yen per USD).
RATE = pa.decimal128(20, 6)
TIMESTAMP = pa.timestamp("s")

SUBSCRIPTIONS_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("subscription_id", pa.string()),
        ("product", pa.string()),
        ("plan", pa.string()),
        ("quantity", pa.int64()),
        ("unit_price", MONEY),
        ("currency", pa.string()),
        ("interval", pa.string()),
        ("interval_count", pa.int64()),
        ("discount_percent", pa.decimal128(5, 2)),
        ("discount_amount", MONEY),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
        ("trial_end_date", pa.date32()),
        ("recurring", pa.bool_()),
        ("canceled_at", pa.date32()),
    ]
)
CUSTOMERS_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("name", pa.string()),
        ("country", pa.string()),
        ("industry", pa.string()),
        ("employees", pa.int64()),
        ("channel", pa.string()),
        ("owner", pa.string()),
        ("created_at", TIMESTAMP),
        ("cs_owner", pa.string()),
        ("touch_tier", pa.string()),
        ("lifecycle_stage", pa.string()),
    ]
)
FX_RATES_SCHEMA = pa.schema([("date", pa.date32()), ("currency", pa.string()), ("rate", RATE)])
SPEND_SCHEMA = pa.schema(
    [("month", pa.string()), ("channel", pa.string()), ("amount", MONEY), ("currency", pa.string())]
)
INVOICES_SCHEMA = pa.schema(
    [
        ("invoice_id", pa.string()),
        ("customer_id", pa.string()),
        ("subscription_id", pa.string()),
        ("issued_on", pa.date32()),
        ("due_on", pa.date32()),
        ("paid_on", pa.date32()),
        ("amount", MONEY),
        ("tax", MONEY),
        ("currency", pa.string()),
        ("status", pa.string()),
    ]
)
CONTACTS_SCHEMA = pa.schema(
    [
        ("contact_id", pa.string()),
        ("customer_id", pa.string()),
        ("name", pa.string()),
        ("email", pa.string()),
        ("role", pa.string()),
        ("status", pa.string()),
        ("status_changed_on", pa.date32()),
    ]
)
USAGE_DAILY_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("date", pa.date32()),
        ("logins", pa.int64()),
        ("active_users", pa.int64()),
        ("active_users_30d", pa.int64()),
        ("seats_in_use", pa.int64()),
        ("api_calls", pa.int64()),
        ("departments_active", pa.int64()),
        ("pricing_page_views", pa.int64()),
        ("competitor_page_views", pa.int64()),
        ("new_feature_page_views", pa.int64()),
    ]
)
FEATURES_SCHEMA = pa.schema(
    [
        ("feature", pa.string()),
        ("name", pa.string()),
        ("core", pa.bool_()),
        ("enterprise", pa.bool_()),
        ("released_on", pa.date32()),
    ]
)
FEATURE_USAGE_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("date", pa.date32()),
        ("feature", pa.string()),
        ("uses", pa.int64()),
    ]
)
TICKETS_SCHEMA = pa.schema(
    [
        ("ticket_id", pa.string()),
        ("customer_id", pa.string()),
        ("opened_at", TIMESTAMP),
        ("resolved_at", TIMESTAMP),
        ("type", pa.string()),
        ("severity", pa.string()),
    ]
)
NPS_SCHEMA = pa.schema(
    [
        ("response_id", pa.string()),
        ("customer_id", pa.string()),
        ("contact_id", pa.string()),
        ("responded_on", pa.date32()),
        ("score", pa.int64()),
        ("comment", pa.string()),
    ]
)
ACTIVITIES_SCHEMA = pa.schema(
    [
        ("activity_id", pa.string()),
        ("customer_id", pa.string()),
        ("contact_id", pa.string()),
        ("type", pa.string()),
        ("occurred_at", TIMESTAMP),
        ("subject", pa.string()),
    ]
)
SUCCESS_GOALS_SCHEMA = pa.schema(
    [
        ("goal_id", pa.string()),
        ("customer_id", pa.string()),
        ("goal", pa.string()),
        ("target", pa.string()),
        ("set_on", pa.date32()),
        ("achieved_on", pa.date32()),
    ]
)
CHURNS_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("churned_on", pa.date32()),
        ("reason", pa.string()),
        ("detail", pa.string()),
    ]
)
DEALS_SCHEMA = pa.schema(
    [
        ("deal_id", pa.string()),
        ("customer_id", pa.string()),
        ("pipeline", pa.string()),
        ("stage", pa.string()),
        ("status", pa.string()),
        ("amount_mrr", MONEY),
        ("one_off_amount", MONEY),
        ("currency", pa.string()),
        ("owner", pa.string()),
        ("source", pa.string()),
        ("created_on", pa.date32()),
        ("close_date", pa.date32()),
        ("closed_on", pa.date32()),
        ("lost_reason", pa.string()),
        ("churn_reason", pa.string()),
        ("product", pa.string()),
        ("plan", pa.string()),
        # Stage fields (kizuna.pipeline.defaults.DEAL_FIELDS) the stages a deal passed require.
        ("first_contact_on", pa.date32()),
        ("lead_score", pa.int64()),
        ("bant_budget", pa.string()),
        ("bant_authority", pa.string()),
        ("bant_need", pa.string()),
        ("bant_timeline", pa.string()),
        ("trial_start", pa.date32()),
        ("proposed_plan", pa.string()),
        ("quote_amount", MONEY),
        ("decision_maker", pa.string()),
        ("approval_status", pa.string()),
        ("contract_months", pa.int64()),
        ("effective_date", pa.date32()),
        ("renewal_of_term_end", pa.date32()),
    ]
)
DEAL_STAGE_HISTORY_SCHEMA = pa.schema(
    [
        ("deal_id", pa.string()),
        ("stage", pa.string()),
        ("entered_at", TIMESTAMP),
        ("changed_by", pa.string()),
    ]
)


def table_from_rows(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows (dicts keyed by column) to a table of ``schema``; missing keys become null."""
    return pa.Table.from_pylist(list(rows), schema=schema)


@dataclass
class DemoTables:
    """The whole demo data set, one Arrow table per CSV file (field name = file stem)."""

    customers: pa.Table
    subscriptions: pa.Table
    invoices: pa.Table
    fx_rates: pa.Table
    spend: pa.Table
    contacts: pa.Table
    usage_daily: pa.Table
    features: pa.Table
    feature_usage: pa.Table
    tickets: pa.Table
    nps: pa.Table
    activities: pa.Table
    churns: pa.Table
    deals: pa.Table
    deal_stage_history: pa.Table
    success_goals: pa.Table

    def items(self) -> list[tuple[str, pa.Table]]:
        return [(field.name, getattr(self, field.name)) for field in fields(self)]
