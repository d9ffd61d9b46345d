"""Health scores and segments over the store: store tables in, engine, result rows out.

The engine inputs are the store's tables shaped exactly like the CSV files (the column
specifications of :mod:`kizuna.sources.csv_usage`), so a score is the same whether it came from a
CSV folder or from the store. Every account is scored with the default scorecard of its touch
tier (or the global default) for each recomputed date, in batches of dates that are each one
set-based engine query; the :class:`~kizuna.health.models.HealthScore` rows of those dates and
the :class:`~kizuna.health.models.AccountSegment` rows are replaced in one transaction, so pages
never see a half-written day.

Which dates: ``days=N`` recomputes the N days ending on the as-of date; without it, a first run
computes :data:`DEFAULT_HISTORY_DAYS` days, and later runs the as-of date plus the days missing
since the last computed date (within the same span).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from kizuna.api.webhooks import emit
from kizuna.billing.models import CustomerMrr, ProductMrr
from kizuna.crm.models import Account
from kizuna.engine.backends import connect
from kizuna.engine.health import Scorecard as ScorecardDefinition
from kizuna.engine.health import date_batches, effective_weight, score_history
from kizuna.engine.health_inputs import HealthInputs
from kizuna.engine.health_segments import SegmentRules, segment_table
from kizuna.engine.revenue_pipeline import materialise
from kizuna.health.models import AccountSegment, HealthScore, Scorecard
from kizuna.health.scorecards import DEFAULT_PRESET, PRESETS, load_preset, scorecard_to_dict
from kizuna.sources import store_tables
from kizuna.sources.csv_revenue import CUSTOMER_COLUMNS
from kizuna.sources.csv_usage import (
    ACTIVITIES_COLUMNS,
    CONTACTS_COLUMNS,
    FEATURE_USAGE_COLUMNS,
    FEATURES_COLUMNS,
    NPS_COLUMNS,
    SUBSCRIPTIONS_COLUMNS,
    TICKETS_COLUMNS,
    USAGE_DAILY_COLUMNS,
)

DEFAULT_HISTORY_DAYS = 365
"""History of a first recompute: a year shows seasonality and feeds the calibration."""
BATCH_DAYS = 92
"""Dates per engine query: a quarter shares its input windows, yet keeps memory bounded."""
BATCH = 5000
"""Rows per INSERT."""
# Measure values are stored rounded: four decimals is finer than any band edge.
VALUE_DECIMALS = 4

_runs = itertools.count(1)


@dataclass(frozen=True)
class HealthRecompute:
    dates: int
    scores: int
    segments: int


# --- inputs -----------------------------------------------------------------------------

STORE_READERS: dict[str, tuple[Any, Sequence[Any]]] = {
    "usage_daily": (store_tables.usage_daily, USAGE_DAILY_COLUMNS),
    "features": (store_tables.features, FEATURES_COLUMNS),
    "feature_usage": (store_tables.feature_usage, FEATURE_USAGE_COLUMNS),
    "tickets": (store_tables.tickets, TICKETS_COLUMNS),
    "nps": (store_tables.nps, NPS_COLUMNS),
    "activities": (store_tables.activities, ACTIVITIES_COLUMNS),
    "contacts": (store_tables.contacts, CONTACTS_COLUMNS),
    "subscriptions": (store_tables.subscriptions, SUBSCRIPTIONS_COLUMNS),
}
"""Health input name → store reader and the CSV file's column specification."""


def store_health_tables() -> dict[str, pa.Table]:
    """Every health input read from the store, as the Arrow table of its CSV file."""
    return {name: reader(columns) for name, (reader, columns) in STORE_READERS.items()}


def health_inputs_from_store(backend: Any) -> HealthInputs:
    """The health engine's inputs from the store, loaded once into ``backend``."""
    run = next(_runs)
    inputs = HealthInputs.from_tables(store_health_tables())
    loaded = {
        name: materialise(backend, table, f"kizuna_health_{name}_{run}")
        for name in STORE_READERS
        if (table := inputs.table(name)) is not None
    }
    return HealthInputs(**loaded)


# --- scorecards -------------------------------------------------------------------------


def ensure_default_scorecards() -> Scorecard:
    """Create the shipped presets as scorecards when absent (preset B the default) and return
    the global default scorecard."""
    with transaction.atomic():
        rows = {}
        for key in PRESETS:
            definition = load_preset(key)
            rows[key], _ = Scorecard.objects.get_or_create(
                name=definition.name, defaults={"definition": scorecard_to_dict(definition)}
            )
        default = Scorecard.objects.filter(is_default=True, touch_tier="").first()
        if default is None:
            default = rows[DEFAULT_PRESET]
            default.is_default = True
            default.save(update_fields=["is_default", "updated_at"])
    return default


def scorecard_of_tier(default: Scorecard) -> dict[str, Scorecard]:
    """Touch tier → its default scorecard; tiers without one use ``default``."""
    by_tier: dict[str, Scorecard] = defaultdict(lambda: default)
    for row in Scorecard.objects.filter(is_default=True).exclude(touch_tier=""):
        by_tier[row.touch_tier] = row
    return by_tier


# --- dates ------------------------------------------------------------------------------


def dates_to_compute(as_of: date, days: int | None = None) -> list[date]:
    """The ``days`` days ending on ``as_of``; by default the days since the last computed date
    (all of :data:`DEFAULT_HISTORY_DAYS` on a first run), always including ``as_of``."""
    if days is not None:
        if days < 1:
            raise ValueError("days must be at least 1")
        return [as_of - timedelta(days=offset) for offset in reversed(range(days))]
    first = as_of - timedelta(days=DEFAULT_HISTORY_DAYS - 1)
    latest: date | None = HealthScore.objects.filter(date__lte=as_of).aggregate(latest=Max("date"))[
        "latest"
    ]
    if latest is not None:
        first = max(first, latest + timedelta(days=1))
    count = max((as_of - first).days + 1, 1)
    return [as_of - timedelta(days=offset) for offset in reversed(range(count))]


# --- segments ---------------------------------------------------------------------------


def segment_rules() -> SegmentRules:
    """The rules from the ``KIZUNA_SEGMENTS`` setting (a mapping of field names), else defaults."""
    configured: Mapping[str, Any] = getattr(settings, "KIZUNA_SEGMENTS", {}) or {}
    known = {item.name for item in fields(SegmentRules)}
    unknown = sorted(set(configured) - known)
    if unknown:
        raise ValueError(f"KIZUNA_SEGMENTS: unknown setting {', '.join(unknown)}")
    return SegmentRules(**configured)


def _segment_inputs() -> tuple[ir.Table, ir.Table, ir.Table]:
    customers = store_tables.customers(CUSTOMER_COLUMNS)
    plans = dict(Account.objects.values_list("pk", "plan"))
    accounts = pa.table(
        {
            "customer_id": customers["customer_id"],
            "employees": customers["employees"],
            "plan": pa.array(
                [plans.get(int(key), "") for key in customers["customer_id"].to_pylist()],
                pa.string(),
            ),
        }
    )
    months = list(CustomerMrr.objects.values_list("account_id", "month", "mrr", "movement"))
    mrr_months = pa.table(
        {
            "customer_id": pa.array([str(row[0]) for row in months], pa.string()),
            "month": pa.array([row[1] for row in months], pa.date32()),
            "mrr": pa.array([float(row[2]) for row in months], pa.float64()),
            "movement": pa.array([row[3] for row in months], pa.string()),
        }
    )
    products = list(
        ProductMrr.objects.filter(mrr__gt=0).values_list("account_id", "month", "product", "mrr")
    )
    product_mrr = pa.table(
        {
            "customer_id": pa.array([str(row[0]) for row in products], pa.string()),
            "month": pa.array([row[1] for row in products], pa.date32()),
            "product": pa.array([row[2] for row in products], pa.string()),
            "mrr": pa.array([float(row[3]) for row in products], pa.float64()),
        }
    )
    return ibis.memtable(accounts), ibis.memtable(mrr_months), ibis.memtable(product_mrr)


def compute_segments(
    backend: Any, inputs: HealthInputs, as_of: date, rules: SegmentRules
) -> list[dict[str, Any]]:
    """Segment rows of the accounts that are or were paying customers."""
    accounts, mrr_months, product_mrr = _segment_inputs()
    usage = inputs.usage_daily
    if usage is None:
        usage = ibis.memtable(
            {"customer_id": [], "date": [], "logins": [], "active_users": []},
            schema={
                "customer_id": "string",
                "date": "date",
                "logins": "int64",
                "active_users": "int64",
            },
        )
    table = segment_table(accounts, mrr_months, product_mrr, usage, as_of, rules)
    rows: list[dict[str, Any]] = backend.to_pyarrow(table.filter(table.arr > 0)).to_pylist()
    return rows


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(round(value, 2)))


def segment_row(row: Mapping[str, Any], as_of: date, health: tuple[Any, str]) -> AccountSegment:
    churn = row["segment_monthly_churn"]
    return AccountSegment(
        account_id=int(row["customer_id"]),
        as_of=as_of,
        touch_tier=row["touch_tier"],
        mrr=_money(row["mrr"]),
        arr=_money(row["arr"]),
        plan=row["plan"] or "",
        products=row["products"],
        last_used_on=row["last_used_on"],
        days_since_last_use=row["days_since_last_use"],
        active_days=row["active_days"],
        recency_score=row["recency_score"],
        frequency_score=row["frequency_score"],
        monetary_score=row["monetary_score"],
        segment_monthly_churn=None if churn is None else Decimal(str(churn)),
        ltv=_money(row["ltv"]),
        health_score=health[0],
        health_status=health[1],
    )


# --- scores -----------------------------------------------------------------------------


def _restricted(inputs: HealthInputs, customer_ids: Sequence[str]) -> HealthInputs:
    """``inputs`` whose scored accounts are ``customer_ids`` (the grid follows subscriptions)."""
    subscriptions = inputs.subscriptions
    if subscriptions is None:
        return inputs
    ids = ibis.memtable({"customer_id": list(customer_ids)}, schema={"customer_id": "string"})
    return HealthInputs(
        **{
            **{name: inputs.table(name) for name in HealthInputs.__dataclass_fields__},
            "subscriptions": subscriptions.semi_join(ids, "customer_id"),
        }
    )


def score_columns(scorecard: ScorecardDefinition) -> list[str]:
    columns = ["customer_id", "as_of", "score", "status", "coverage"]
    for component in scorecard.components:
        columns += [f"{component.name}__{part}" for part in ("value", "points", "missing")]
    return columns


def _value(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, VALUE_DECIMALS)
    return value


# The HealthScore columns :func:`health_score_values` fills, in order.
SCORE_FIELDS = (
    "account",
    "scorecard",
    "date",
    "score",
    "status",
    "components",
    "coverage",
    "missing",
)


def health_score_values(
    table: pa.Table, scorecard: ScorecardDefinition, scorecard_id: int
) -> Iterator[list[Any]]:
    """Database-ready values of :data:`SCORE_FIELDS` for every engine row (see
    :func:`score_columns`), converted by the connection's own adapters, as Django would.

    A year of daily scores is hundreds of thousands of rows: skipping model instances and the
    per-field preparation makes writing them several times faster than ``bulk_create``, with
    the same stored values on every database.
    """
    meta = HealthScore._meta
    ops = connection.ops
    json_field = meta.get_field("components")
    score_field = meta.get_field("score")
    coverage_field = meta.get_field("coverage")
    components = [
        (component, f"{component.name}__value", f"{component.name}__points")
        for component in scorecard.components
    ]
    weights = {
        component.name: effective_weight(scorecard, component) for component in scorecard.components
    }

    def decimal(value: float | None, field: Any) -> Any:
        if value is None:
            return None
        return ops.adapt_decimalfield_value(
            Decimal(str(value)), field.max_digits, field.decimal_places
        )

    for batch in table.to_batches(BATCH):
        for row in batch.to_pylist():
            parts = [
                {
                    "name": component.name,
                    "measure": component.measure,
                    "value": _value(row[value]),
                    "points": row[points],
                    "weight": weights[component.name],
                    "missing": bool(row[f"{component.name}__missing"]),
                }
                for component, value, points in components
            ]
            missing = [part["name"] for part in parts if part["missing"]]
            yield [
                int(row["customer_id"]),
                scorecard_id,
                ops.adapt_datefield_value(row["as_of"]),
                decimal(row["score"], score_field),
                row["status"],
                ops.adapt_json_value(parts, json_field.encoder),  # type: ignore[attr-defined]
                decimal(row["coverage"], coverage_field),
                ops.adapt_json_value(missing, json_field.encoder),  # type: ignore[attr-defined]
            ]


def compute_scores(
    backend: Any,
    inputs: HealthInputs,
    scorecard: ScorecardDefinition,
    dates: Sequence[date],
    batch_days: int = BATCH_DAYS,
) -> list[pa.Table]:
    """Engine rows of every scored account on every date, one Arrow table per batch of dates."""
    columns = score_columns(scorecard)
    return [
        backend.to_pyarrow(score_history(inputs, scorecard, batch).select(*columns))
        for batch in date_batches(dates, batch_days)
    ]


def insert_scores(values: Iterator[list[Any]]) -> int:
    """Insert rows of :func:`health_score_values`, :data:`BATCH` rows per ``executemany``;
    returns the count."""
    meta = HealthScore._meta
    columns = {field.name: field.column for field in meta.concrete_fields}
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(meta.db_table),
        ", ".join(quote(columns[name]) for name in SCORE_FIELDS),
        ", ".join(["%s"] * len(SCORE_FIELDS)),
    )
    written = 0
    with connection.cursor() as cursor:
        while chunk := list(itertools.islice(values, BATCH)):
            cursor.executemany(sql, chunk)
            written += len(chunk)
    return written


def announce_band_changes(as_of: date, latest: Mapping[int, tuple[Any, str]]) -> int:
    """Emit ``health.band_changed`` for each account whose status on ``as_of`` differs from
    its stored status the day before; returns how many were announced."""
    previous = dict(
        HealthScore.objects.filter(date=as_of - timedelta(days=1)).values_list(
            "account_id", "status"
        )
    )
    announced = 0
    for account_id, (score, status) in sorted(latest.items()):
        before = previous.get(account_id)
        if before is None or before == status:
            continue
        emit(
            "health.band_changed",
            {
                "account_id": account_id,
                "date": as_of,
                "from_status": before,
                "to_status": status,
                "score": score,
            },
        )
        announced += 1
    return announced


def recompute_health(as_of: date, days: int | None = None) -> HealthRecompute:
    """Recompute segments and health scores as of ``as_of`` (see the module docstring)."""
    backend = connect("duckdb")
    default = ensure_default_scorecards()
    dates = dates_to_compute(as_of, days)
    inputs = health_inputs_from_store(backend)
    segments = compute_segments(backend, inputs, as_of, segment_rules())
    before = dict(Account.objects.values_list("pk", "touch_tier"))
    tiers = dict(before)
    tiers.update({int(row["customer_id"]): row["touch_tier"] for row in segments})
    by_tier = scorecard_of_tier(default)
    groups: dict[int, list[str]] = defaultdict(list)
    cards: dict[int, Scorecard] = {}
    for account_id, tier in tiers.items():
        card = by_tier[tier] if tier else default
        cards[card.pk] = card
        groups[card.pk].append(str(account_id))
    results: list[tuple[Scorecard, ScorecardDefinition, list[pa.Table]]] = []
    for pk, card in cards.items():
        definition = card.parsed()
        scoped = inputs if len(cards) == 1 else _restricted(inputs, groups[pk])
        results.append((card, definition, compute_scores(backend, scoped, definition, dates)))
    latest: dict[int, tuple[Any, str]] = {}
    for _, _, tables in results:
        for table in tables:
            today = table.filter(pc.equal(table["as_of"], pa.scalar(as_of, pa.date32())))
            for key, score, status in zip(
                today["customer_id"].to_pylist(),
                today["score"].to_pylist(),
                today["status"].to_pylist(),
                strict=True,
            ):
                latest[int(key)] = (None if score is None else Decimal(str(score)), status)
    written = 0
    with transaction.atomic():
        changed = [
            Account(pk=int(row["customer_id"]), touch_tier=row["touch_tier"])
            for row in segments
            if before.get(int(row["customer_id"])) != row["touch_tier"]
        ]
        Account.objects.bulk_update(changed, ["touch_tier"], batch_size=BATCH)
        AccountSegment.objects.all().delete()
        AccountSegment.objects.bulk_create(
            [
                segment_row(row, as_of, latest.get(int(row["customer_id"]), (None, "")))
                for row in segments
            ],
            batch_size=BATCH,
        )
        HealthScore.objects.filter(date__in=dates).delete()
        for card, definition, tables in results:
            for table in tables:
                written += insert_scores(health_score_values(table, definition, card.pk))
        announce_band_changes(as_of, latest)
    return HealthRecompute(dates=len(dates), scores=written, segments=len(segments))
