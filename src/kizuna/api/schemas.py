"""Request and response shapes of the API: ISO dates, money as decimal strings with currency."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema

from kizuna.core.money import UnknownCurrency, check_currency, round_money

# Text a client sends: bounded, and without NUL characters, which no database stores.
Text = Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")]
# A title needs at least one visible character.
Title = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*[^\s\x00][^\x00]*$")]
LongText = Annotated[str, Field(max_length=5000, pattern=r"^[^\x00]*$")]
# Ids are 64-bit on every supported database.
Id = Annotated[int, Field(ge=1, le=9_223_372_036_854_775_807)]
DecimalText = Annotated[str, Field(pattern=r"^-?\d{1,14}(\.\d{1,6})?$", examples=["12000.50"])]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["JPY"])]


def money_text(amount: Decimal, currency: str) -> str:
    """The amount with the currency's minor unit (JPY ``1200``, USD ``49.90``), unless that
    would round it (a metered unit price): then every stored digit."""
    try:
        rounded = round_money(amount, currency)
    except UnknownCurrency:
        return format(amount.normalize(), "f")
    return format(rounded, "f") if rounded == amount else format(amount.normalize(), "f")


class Money(Schema):
    amount: str = Field(examples=["12000"], description="Exact decimal, as a string.")
    currency: str = Field(examples=["JPY"], description="ISO 4217 code.")

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        return cls(amount=money_text(amount, currency), currency=currency)


def parse_currency(code: str) -> str:
    return check_currency(code)


class AccountOut(Schema):
    id: int
    external_id: str
    name: str
    industry: str
    employees: int | None
    country: str
    channel: str
    owner: str | None
    cs_owner: str | None
    status: str
    lifecycle_stage: str
    touch_tier: str
    plan: str
    contract_start: date | None
    renewal_date: date | None
    churned_on: date | None
    created_at: datetime


class ContactOut(Schema):
    id: int
    external_id: str
    account_id: int
    name: str
    email: str
    title: str
    role: str
    status: str
    status_changed_on: date | None


class SubscriptionItemOut(Schema):
    id: int
    product: str
    plan: str | None
    quantity: str
    unit_price: Money
    interval: str
    interval_count: int
    discount_percent: str
    discount_amount: Money
    start_date: date
    end_date: date | None
    trial_end_date: date | None
    recurring: bool


class SubscriptionOut(Schema):
    id: int
    external_id: str
    account_id: int
    status: str
    currency: str
    started_on: date
    ended_on: date | None
    canceled_at: date | None
    term_months: int
    source: str
    items: list[SubscriptionItemOut]


class InvoiceOut(Schema):
    id: int
    external_id: str
    account_id: int
    subscription_id: int | None
    issued_on: date
    due_on: date | None
    paid_on: date | None
    amount: Money = Field(description="Excluding tax.")
    one_off_amount: Money = Field(
        description="The part of the amount that is not recurring (setup fees, prorations)."
    )
    tax: Money
    status: str


class DealOut(Schema):
    id: int
    external_id: str
    title: str
    account_id: int
    pipeline: str
    stage: str
    status: str
    owner: str | None
    amount_mrr: Money
    one_off_amount: Money
    source: str
    plan: str
    product: str
    contract_months: int | None
    effective_date: date | None
    trial_start: date | None
    created_on: date
    close_date: date
    closed_on: date | None
    lost_reason: str
    churn_reason: str
    details: dict[str, Any]


class DealIn(Schema):
    account_id: Id
    pipeline: Text = Field(examples=["new_business"])
    stage: Text = Field(examples=["lead"])
    title: Title
    currency: CurrencyCode = "JPY"
    amount_mrr: DecimalText = "0"
    close_date: date
    created_on: date | None = None
    fields: dict[str, Text | int | None] = Field(
        default_factory=dict,
        description="Stage fields (lead source, BANT, quote amount, …) by their key.",
    )


class StageMoveIn(Schema):
    stage: Text = Field(examples=["proposal"])
    fields: dict[str, Text | int | None] = Field(
        default_factory=dict, description="Stage fields to fill before the move, by key."
    )


class TaskOut(Schema):
    id: int
    account_id: int | None
    title: str
    kind: str
    description: str
    assignee: str | None
    status: str
    due_on: date | None
    created_at: datetime
    completed_at: datetime | None


class TaskIn(Schema):
    account_id: Id
    title: Title
    due_on: date | None = None
    description: LongText = ""


class UsageIn(Schema):
    account_id: Id
    date: date
    logins: int = Field(0, ge=0, le=1_000_000)
    api_calls: int = Field(0, ge=0, le=1_000_000_000)
    pricing_page_views: int = Field(0, ge=0, le=1_000_000)
    competitor_page_views: int = Field(0, ge=0, le=1_000_000)
    new_feature_page_views: int = Field(0, ge=0, le=1_000_000)
    active_users: int | None = Field(None, ge=0, le=10_000_000)
    active_users_30d: int | None = Field(None, ge=0, le=10_000_000)
    seats_in_use: int | None = Field(None, ge=0, le=10_000_000)
    departments_active: int | None = Field(None, ge=0, le=100_000)


class UsageBatchIn(Schema):
    rows: list[UsageIn] = Field(min_length=1, max_length=10_000)


class UsageBatchOut(Schema):
    rows: int
    created: int
    updated: int
    replayed: bool = Field(
        description="True when this response is the stored answer to an earlier identical request."
    )


class KpiOut(Schema):
    period_kind: str
    period_start: date
    values: dict[str, Any]


class MrrPointOut(Schema):
    month: date
    mrr: Money
    customers: int


class MovementOut(Schema):
    account_id: int
    month: date
    mrr: Money
    movement: str
    delta: Money


class CohortCellOut(Schema):
    cohort: date
    months_since: int
    customers: int
    mrr: Money
    logo_retention: str | None
    mrr_retention: str | None


class HealthScoreOut(Schema):
    account_id: int
    scorecard: str
    date: date
    score: str | None
    status: str
    coverage: str
    components: list[Any]
    missing: list[Any]
