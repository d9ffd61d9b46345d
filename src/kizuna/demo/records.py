"""What the lifecycle simulation decides about one account, before any table is written.

Money here is ``Decimal`` in the account's currency. The latent health and seat arrays are
numpy floats: they only drive behaviour (usage, NPS, tickets), never an amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Item:
    """One priced line in service from ``start`` to ``end`` (exclusive), as in subscriptions.csv."""

    item_id: str
    subscription_id: str
    product: str
    plan: str
    """Empty for add-ons and services."""
    quantity: int
    unit_price: Decimal
    currency: str
    interval: str
    discount_percent: Decimal
    start: date
    end: date | None = None
    trial_end: date | None = None
    recurring: bool = True
    canceled_at: date | None = None


@dataclass
class Change:
    """A change of contract after the first sale: what an upsell or a contraction looks like."""

    on: date
    kind: str
    """``seats_up``, ``upgrade``, ``addon``, ``free_to_paid``, ``seats_down`` or ``downgrade``."""
    mrr_delta: Decimal
    """Monthly-normalised change, in the account currency."""
    product: str
    plan: str


@dataclass
class Churn:
    on: date
    """First day not in service."""
    reason: str
    canceled_at: date
    foreshadowed: bool
    """False for sudden churn (an acquisition, a closure) that no behaviour announced."""


@dataclass
class Term:
    """One committed annual term; renewal deals follow these."""

    subscription_id: str
    start: date
    end: date
    mrr: Decimal
    plan: str
    renewed: bool | None
    """``None`` while the term has not ended yet."""


@dataclass
class Service:
    on: date
    product: str
    amount: Decimal


@dataclass
class NewBusiness:
    """The first sale: how the account came in and how the deal went."""

    created_on: date
    close_date: date
    """Actual close date of a closed deal, expected close date of an open one."""
    closed_on: date | None
    outcome: str
    """``won``, ``lost`` or ``open``."""
    plan: str
    seats: int
    mrr: Decimal
    contract_months: int
    trial_start: date | None
    trial_end: date | None
    lost_reason: str = ""


@dataclass
class SimulatedAccount:
    index: int
    customer_id: str
    name: str
    industry: str
    employees: int
    country: str
    currency: str
    channel: str
    segment: str
    """``enterprise``, ``mid`` or ``small``: who sells and serves it."""
    created_on: date
    quality: float
    """Latent product fit; behaviour noise is centred on it."""
    new_business: NewBusiness
    months: int
    items: list[Item] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    churns: list[Churn] = field(default_factory=list)
    reactivations: list[date] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    late_payer: bool = False
    term_end: date | None = None
    """End of the current committed annual term (monthly contracts have none)."""
    scheduled_churn: Churn | None = None
    """A cancellation already requested that takes effect after the end of the simulation."""
    health: FloatArray = field(init=False)
    """Latent health per simulated month (0–1); NaN while there is no relationship."""
    demand_seats: FloatArray = field(init=False)
    """Seats the customer's teams would use per month, whatever they contracted."""
    expansion_lead: BoolArray = field(init=False)
    """Months leading to an expansion (upgrade, seats, add-on)."""
    churn_lead: FloatArray = field(init=False)
    """0–1 per month: how far the account is into its pre-churn decline."""
    api_growth: FloatArray = field(init=False)
    """Multiplier on API calls per month (grows before the API add-on is bought)."""
    departments: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        self.health = np.full(self.months, np.nan)
        self.demand_seats = np.zeros(self.months)
        self.expansion_lead = np.zeros(self.months, dtype=np.bool_)
        self.churn_lead = np.zeros(self.months)
        self.api_growth = np.ones(self.months)
        self.departments = np.ones(self.months)

    def base_items(self) -> list[Item]:
        return [item for item in self.items if item.plan]
