"""Columns of the import files that no engine reads, so no reader in ``kizuna.sources`` has them.

The other files' columns are defined once, by the readers of the engines that use them.
"""

from __future__ import annotations

from kizuna.sources.csv_deals import CHURN_REASONS
from kizuna.sources.csv_reader import Column

CHURN_COLUMNS: tuple[Column, ...] = (
    Column("customer_id"),
    Column("churned_on", "date"),
    Column("reason", choices=CHURN_REASONS),
    Column("detail", required=False, nullable=True),
)
