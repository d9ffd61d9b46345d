"""Each account's standing on the last simulated day, read back from the tables themselves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kizuna.demo.tables import DemoTables
from kizuna.demo.timeline import add_months


@dataclass
class AccountState:
    status: str = "prospect"
    """A :class:`kizuna.crm.models.AccountStatus` value."""
    plan: str = ""
    contract_start: date | None = None
    renewal_date: date | None = None
    churned_on: date | None = None


def _next_anniversary(paid_from: date, as_of: date) -> date:
    renewal = add_months(paid_from, 12)
    while renewal <= as_of:
        renewal = add_months(renewal, 12)
    return renewal


def account_states(tables: DemoTables, as_of: date) -> dict[str, AccountState]:
    states = {
        customer_id: AccountState()
        for customer_id in tables.customers.column("customer_id").to_pylist()
    }
    for row in tables.churns.to_pylist():
        state = states[row["customer_id"]]
        state.status = "churned"
        state.churned_on = max(filter(None, (state.churned_on, row["churned_on"])))
    starts: dict[str, date] = {}
    for row in tables.subscriptions.to_pylist():
        if not row["plan"]:
            continue
        subscription = row["subscription_id"]
        # Items come in the order they were sold: the first one says when paying started.
        starts.setdefault(subscription, row["trial_end_date"] or row["start_date"])
        end = row["end_date"]
        if row["start_date"] > as_of or (end is not None and end <= as_of):
            continue
        state = states[row["customer_id"]]
        trial_end = row["trial_end_date"]
        state.status = "trial" if trial_end is not None and trial_end > as_of else "customer"
        state.plan = row["plan"]
        state.contract_start = starts[subscription]
        if row["interval"] == "year":
            state.renewal_date = _next_anniversary(state.contract_start, as_of)
    return states
