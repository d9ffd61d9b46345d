"""Bulk-load the demo tables into the store, fast, in one transaction (SQLite and PostgreSQL).

Rows that others point to (accounts, contacts, subscriptions, deals) go through
``bulk_create`` so their keys come back; the large leaf tables (daily usage, feature usage,
tickets, …) are written with ``executemany`` on values adapted by the database backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import pyarrow as pa
from django.conf import settings
from django.db import connection, models, transaction

from kizuna.billing.models import (
    FxRate,
    Invoice,
    MarketingSpend,
    Plan,
    Product,
    Subscription,
    SubscriptionItem,
)
from kizuna.crm.models import Account, Activity, ChurnRecord, Contact
from kizuna.demo import company
from kizuna.demo.status import AccountState, account_states
from kizuna.demo.tables import DemoTables
from kizuna.pipeline.actions import install_default_pipelines
from kizuna.pipeline.models import Deal, DealStageChange, Pipeline, Stage
from kizuna.usage.models import (
    Feature,
    FeatureUsage,
    NpsResponse,
    SuccessGoal,
    Ticket,
    UsageDaily,
)

# Rows per INSERT batch: large enough to amortise round trips, small enough for SQLite's
# variable limit in bulk_create and for PostgreSQL's message size.
BATCH_ROWS = 2000
ModelT = TypeVar("ModelT", bound=models.Model)
STAGE_FIELDS = (
    "first_contact_on",
    "lead_score",
    "bant_budget",
    "bant_authority",
    "bant_need",
    "bant_timeline",
    "proposed_plan",
    "quote_amount",
    "decision_maker",
    "approval_status",
)


def _columns(table: pa.Table) -> dict[str, list[Any]]:
    return {name: table.column(name).to_pylist() for name in table.column_names}


def _rows(table: pa.Table) -> Iterable[dict[str, Any]]:
    columns = _columns(table)
    names = list(columns)
    for values in zip(*(columns[name] for name in names), strict=True):
        yield dict(zip(names, values, strict=True))


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))


def insert_rows(
    model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """INSERT ``rows`` (values in ``names`` order, by attribute name) with ``executemany``."""
    fields = [cast("models.Field[Any, Any]", model._meta.get_field(name)) for name in names]
    adapters: list[Callable[[Any], Any]] = []
    for field in fields:
        kind = field.get_internal_type()
        if kind == "DateTimeField":
            adapters.append(connection.ops.adapt_datetimefield_value)
        elif kind == "DateField":
            adapters.append(connection.ops.adapt_datefield_value)
        elif kind == "DecimalField":
            adapters.append(connection.ops.adapt_decimalfield_value)
        else:
            adapters.append(lambda value: value)
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(str(field.column)) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    count = 0
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append([adapt(value) for adapt, value in zip(adapters, row, strict=True)])
            if len(batch) >= BATCH_ROWS:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def _bulk(objects: Iterable[ModelT], model: type[ModelT]) -> list[ModelT]:
    return model._default_manager.bulk_create(list(objects), batch_size=BATCH_ROWS)


def catalogue() -> tuple[dict[str, Product], dict[tuple[str, str, str], Plan]]:
    """Products and the plans per (tier, currency, interval); created when missing."""
    products: dict[str, Product] = {}
    for definition in company.PRODUCTS:
        products[definition.code], _ = Product.objects.get_or_create(
            code=definition.code,
            defaults={
                "name": str(definition.name),
                "kind": definition.kind,
                "is_recurring": definition.recurring,
            },
        )
    plans: dict[tuple[str, str, str], Plan] = {}
    for currency in company.SEAT_PRICE_MONTHLY:
        for tier in company.PLAN_ORDER:
            for interval in ("month", "year"):
                code = f"{company.BASE_PRODUCT}-{tier.lower()}-{interval}-{currency.lower()}"
                plans[(tier, currency, interval)], _ = Plan.objects.get_or_create(
                    code=code,
                    defaults={
                        "product": products[company.BASE_PRODUCT],
                        "name": f"{tier} ({currency}, {interval})",
                        "tier": tier.lower(),
                        "unit_price": company.seat_price(currency, tier, interval),
                        "currency": currency,
                        "interval": interval,
                    },
                )
    return products, plans


def load_tables(tables: DemoTables, as_of: date, users: dict[str, Any]) -> dict[str, int]:
    """Write every table into the store in one transaction; returns rows written per model."""
    with transaction.atomic():
        return _Loader(tables, as_of, users).run()


class _Loader:
    def __init__(self, tables: DemoTables, as_of: date, users: dict[str, Any]):
        self.tables = tables
        self.as_of = as_of
        self.user_ids = {name: user.pk for name, user in users.items()}
        self.counts: dict[str, int] = {}

    def run(self) -> dict[str, int]:
        install_default_pipelines()
        products, plans = catalogue()
        states = account_states(self.tables, self.as_of)
        accounts = self.accounts(states)
        contacts = self.contacts(accounts)
        self.subscriptions(accounts, products, plans)
        self.revenue(accounts)
        self.usage(accounts)
        self.customer_success(accounts, contacts)
        self.deals(accounts)
        return self.counts

    def accounts(self, states: dict[str, AccountState]) -> dict[str, int]:
        objects = []
        for row in _rows(self.tables.customers):
            state = states[row["customer_id"]]
            objects.append(
                Account(
                    external_id=row["customer_id"],
                    name=row["name"],
                    industry=row["industry"],
                    employees=row["employees"],
                    country=row["country"],
                    channel=row["channel"],
                    owner_id=self.user_ids.get(row["owner"]),
                    cs_owner_id=self.user_ids.get(row["cs_owner"] or ""),
                    status=state.status,
                    lifecycle_stage=row["lifecycle_stage"] or "",
                    touch_tier=row["touch_tier"] or "",
                    plan=state.plan,
                    contract_start=state.contract_start,
                    renewal_date=state.renewal_date,
                    churned_on=state.churned_on,
                    created_at=row["created_at"].replace(tzinfo=ZoneInfo(settings.TIME_ZONE)),
                )
            )
        created = _bulk(objects, Account)
        self.counts["accounts"] = len(created)
        return {account.external_id: account.pk for account in created}

    def contacts(self, accounts: dict[str, int]) -> dict[str, int]:
        created = _bulk(
            (
                Contact(
                    external_id=row["contact_id"],
                    account_id=accounts[row["customer_id"]],
                    name=row["name"],
                    email=row["email"] or "",
                    role=row["role"],
                    status=row["status"],
                    status_changed_on=row["status_changed_on"],
                )
                for row in _rows(self.tables.contacts)
            ),
            Contact,
        )
        self.counts["contacts"] = len(created)
        return {contact.external_id: contact.pk for contact in created}

    def subscriptions(
        self,
        accounts: dict[str, int],
        products: dict[str, Product],
        plans: dict[tuple[str, str, str], Plan],
    ) -> None:
        items = list(_rows(self.tables.subscriptions))
        grouped: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            grouped.setdefault(item["subscription_id"], []).append(item)
        subscriptions = []
        for subscription_id, lines in grouped.items():
            ends = [line["end_date"] for line in lines if line["recurring"]]
            ended = None if any(end is None for end in ends) or not ends else max(ends)
            canceled = [line["canceled_at"] for line in lines if line["canceled_at"]]
            trial = any(
                line["trial_end_date"] and line["trial_end_date"] > self.as_of for line in lines
            )
            status = (
                "canceled" if ended and ended <= self.as_of else "trialing" if trial else "active"
            )
            subscriptions.append(
                Subscription(
                    external_id=subscription_id,
                    account_id=accounts[lines[0]["customer_id"]],
                    status=status,
                    currency=lines[0]["currency"],
                    started_on=min(line["start_date"] for line in lines),
                    ended_on=ended,
                    canceled_at=max(canceled) if canceled else None,
                    term_months=12 if lines[0]["interval"] == "year" else 1,
                    source="demo",
                )
            )
        by_id = {sub.external_id: sub.pk for sub in _bulk(subscriptions, Subscription)}
        self.counts["subscriptions"] = len(by_id)
        self.counts["subscription_items"] = insert_rows(
            SubscriptionItem,
            (
                "subscription",
                "product",
                "plan",
                "quantity",
                "unit_price",
                "currency",
                "interval",
                "interval_count",
                "discount_percent",
                "discount_amount",
                "start_date",
                "end_date",
                "trial_end_date",
                "recurring",
                "external_id",
            ),
            (
                (
                    by_id[item["subscription_id"]],
                    products[item["product"]].pk,
                    plans[(item["plan"], item["currency"], item["interval"])].pk
                    if item["plan"]
                    else None,
                    item["quantity"],
                    item["unit_price"],
                    item["currency"],
                    item["interval"],
                    item["interval_count"],
                    item["discount_percent"],
                    item["discount_amount"],
                    item["start_date"],
                    item["end_date"],
                    item["trial_end_date"],
                    item["recurring"],
                    "",
                )
                for item in items
            ),
        )
        self.subscription_ids = by_id

    def revenue(self, accounts: dict[str, int]) -> None:
        self.counts["invoices"] = insert_rows(
            Invoice,
            (
                "external_id",
                "account",
                "subscription",
                "issued_on",
                "due_on",
                "paid_on",
                "amount",
                "tax",
                "currency",
                "status",
            ),
            (
                (
                    row["invoice_id"],
                    accounts[row["customer_id"]],
                    self.subscription_ids.get(row["subscription_id"]),
                    row["issued_on"],
                    row["due_on"],
                    row["paid_on"],
                    row["amount"],
                    row["tax"],
                    row["currency"],
                    row["status"],
                )
                for row in _rows(self.tables.invoices)
            ),
        )
        existing_rates = set(FxRate.objects.values_list("date", "currency"))
        self.counts["fx_rates"] = insert_rows(
            FxRate,
            ("date", "currency", "rate"),
            (
                (row["date"], row["currency"], row["rate"])
                for row in _rows(self.tables.fx_rates)
                if (row["date"], row["currency"]) not in existing_rates
            ),
        )
        existing_spend = set(MarketingSpend.objects.values_list("month", "channel"))
        spend = []
        for row in _rows(self.tables.spend):
            month = date.fromisoformat(f"{row['month']}-01")
            if (month, row["channel"]) not in existing_spend:
                spend.append((month, row["channel"], row["amount"], row["currency"]))
        self.counts["spend"] = insert_rows(
            MarketingSpend, ("month", "channel", "amount", "currency"), spend
        )
        self.counts["churn_records"] = insert_rows(
            ChurnRecord,
            ("account", "churned_on", "reason", "detail"),
            (
                (
                    accounts[row["customer_id"]],
                    row["churned_on"],
                    row["reason"],
                    row["detail"] or "",
                )
                for row in _rows(self.tables.churns)
            ),
        )

    def usage(self, accounts: dict[str, int]) -> None:
        features: dict[str, int] = {}
        for row in _rows(self.tables.features):
            feature, _ = Feature.objects.get_or_create(
                key=row["feature"],
                defaults={
                    "name": row["name"] or row["feature"],
                    "core": row["core"],
                    "enterprise": row["enterprise"],
                    "released_on": row["released_on"],
                },
            )
            features[feature.key] = feature.pk
        usage = self.tables.usage_daily
        names = [name for name in usage.column_names if name != "customer_id"]
        self.counts["usage_daily"] = insert_rows(
            UsageDaily,
            ["account", *names],
            (
                (accounts[row["customer_id"]], *(row[name] for name in names))
                for row in _rows(usage)
            ),
        )
        self.counts["feature_usage"] = insert_rows(
            FeatureUsage,
            ("account", "date", "feature", "uses"),
            (
                (accounts[row["customer_id"]], row["date"], features[row["feature"]], row["uses"])
                for row in _rows(self.tables.feature_usage)
            ),
        )

    def customer_success(self, accounts: dict[str, int], contacts: dict[str, int]) -> None:
        self.counts["tickets"] = insert_rows(
            Ticket,
            ("external_id", "account", "opened_at", "resolved_at", "type", "severity", "subject"),
            (
                (
                    row["ticket_id"],
                    accounts[row["customer_id"]],
                    _aware(row["opened_at"]),
                    _aware(row["resolved_at"]),
                    row["type"],
                    row["severity"],
                    "",
                )
                for row in _rows(self.tables.tickets)
            ),
        )
        self.counts["nps_responses"] = insert_rows(
            NpsResponse,
            ("external_id", "account", "contact", "responded_on", "score", "comment"),
            (
                (
                    row["response_id"],
                    accounts[row["customer_id"]],
                    contacts.get(row["contact_id"] or ""),
                    row["responded_on"],
                    row["score"],
                    row["comment"] or "",
                )
                for row in _rows(self.tables.nps)
            ),
        )
        self.counts["success_goals"] = insert_rows(
            SuccessGoal,
            ("external_id", "account", "goal", "target", "set_on", "achieved_on"),
            (
                (
                    row["goal_id"],
                    accounts[row["customer_id"]],
                    row["goal"],
                    row["target"] or "",
                    row["set_on"],
                    row["achieved_on"],
                )
                for row in _rows(self.tables.success_goals)
            ),
        )
        self.counts["activities"] = insert_rows(
            Activity,
            ("external_id", "account", "contact", "type", "occurred_at", "subject", "body"),
            (
                (
                    row["activity_id"],
                    accounts[row["customer_id"]],
                    contacts.get(row["contact_id"] or ""),
                    row["type"],
                    _aware(row["occurred_at"]),
                    row["subject"] or "",
                    "",
                )
                for row in _rows(self.tables.activities)
            ),
        )

    def deals(self, accounts: dict[str, int]) -> None:
        pipelines = {pipeline.key: pipeline.pk for pipeline in Pipeline.objects.all()}
        stages = {
            (stage.pipeline.key, stage.key): stage.pk
            for stage in Stage.objects.select_related("pipeline")
        }
        objects = []
        for row in _rows(self.tables.deals):
            details = {key: row[key] for key in STAGE_FIELDS if row[key] is not None}
            objects.append(
                Deal(
                    external_id=row["deal_id"],
                    title=f"{row['deal_id']} {row['product'] or ''} {row['plan'] or ''}".strip(),
                    pipeline_id=pipelines[row["pipeline"]],
                    stage_id=stages[(row["pipeline"], row["stage"])],
                    account_id=accounts[row["customer_id"]],
                    owner_id=self.user_ids.get(row["owner"]),
                    status=row["status"],
                    amount_mrr=row["amount_mrr"],
                    one_off_amount=row["one_off_amount"],
                    currency=row["currency"],
                    source=row["source"] or "",
                    plan=row["plan"] or "",
                    product=row["product"] or "",
                    contract_months=row["contract_months"],
                    effective_date=row["effective_date"],
                    trial_start=row["trial_start"],
                    created_on=row["created_on"],
                    close_date=row["close_date"],
                    closed_on=row["closed_on"],
                    lost_reason=row["lost_reason"] or "",
                    churn_reason=row["churn_reason"] or "",
                    details={key: str(value) for key, value in details.items()},
                    renewal_of_term_end=row["renewal_of_term_end"],
                )
            )
        created = _bulk(objects, Deal)
        self.counts["deals"] = len(created)
        deal_ids = {deal.external_id: (deal.pk, deal.pipeline_id) for deal in created}
        pipeline_keys = {pk: key for key, pk in pipelines.items()}
        changes = []
        previous: dict[str, int] = {}
        for row in _rows(self.tables.deal_stage_history):
            deal_pk, pipeline_pk = deal_ids[row["deal_id"]]
            to_stage = stages[(pipeline_keys[pipeline_pk], row["stage"])]
            changes.append(
                (
                    deal_pk,
                    previous.get(row["deal_id"]),
                    to_stage,
                    _aware(row["entered_at"]),
                    self.user_ids.get(row["changed_by"] or ""),
                )
            )
            previous[row["deal_id"]] = to_stage
        self.counts["deal_stage_changes"] = insert_rows(
            DealStageChange, ("deal", "from_stage", "to_stage", "changed_at", "changed_by"), changes
        )
