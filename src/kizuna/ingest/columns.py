"""Columns of the import files that no engine reads, so no reader in ``kizuna.sources`` has them.

The other files' columns are defined once, by the readers of the engines that use them.
"""

from __future__ import annotations

from decimal import Decimal

from kizuna.sources.csv_deals import CHURN_REASONS
from kizuna.sources.csv_reader import Column

INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")

INVOICE_COLUMNS: tuple[Column, ...] = (
    Column("invoice_id"),
    Column("customer_id"),
    Column("subscription_id", nullable=True),
    Column("issued_on", "date"),
    Column("due_on", "date", nullable=True),
    Column("paid_on", "date", required=False, nullable=True),
    Column("amount", "decimal", min_value=Decimal(0)),
    Column("tax", "decimal", required=False, default=Decimal(0), min_value=Decimal(0)),
    Column("currency"),
    Column("status", choices=INVOICE_STATUSES),
)

CHURN_COLUMNS: tuple[Column, ...] = (
    Column("customer_id"),
    Column("churned_on", "date"),
    Column("reason", choices=CHURN_REASONS),
    Column("detail", required=False, nullable=True),
)
