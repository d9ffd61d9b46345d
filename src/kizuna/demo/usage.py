"""Daily product usage and feature usage, drawn (vectorised) from each account's latent health.

Accounts are processed in fixed-size chunks as accounts × days matrices, so memory stays
bounded and the result does not depend on how many accounts there are in total.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import holidays
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from kizuna.demo import company
from kizuna.demo.records import SimulatedAccount
from kizuna.demo.tables import FEATURE_USAGE_SCHEMA, USAGE_DAILY_SCHEMA
from kizuna.demo.timeline import Timeline

IntArray = npt.NDArray[np.int64]
FloatMatrix = npt.NDArray[np.float64]

# Accounts per matrix: 2,048 accounts × 400 days × ~15 float matrices stays under ~150 MB.
CHUNK_ACCOUNTS = 2048
# Feature usage is kept for the most recent days only: health reads the last 30–90 days,
# and one row per feature per day would otherwise dominate the data volume.
FEATURE_USAGE_DAYS = 90
# Share of a weekday's activity that happens on weekends and public holidays (B2B product).
OFF_DAY_ACTIVITY = 0.07
# Share of a team's seats that use each feature on an active day, for a fully healthy team.
FEATURE_ADOPTION: dict[str, float] = {
    "tasks": 0.9,
    "projects": 0.55,
    "docs": 0.5,
    "gantt": 0.3,
    "automation": 0.15,
    "reports": 0.2,
    "sso": 0.6,
    "audit_log": 0.05,
    "ai_summary": 0.25,
}


@dataclass(frozen=True)
class Window:
    first_day: date
    days: int
    timeline: Timeline

    @property
    def dates(self) -> list[date]:
        return [self.first_day + timedelta(days=offset) for offset in range(self.days)]

    def index_of(self, day: date) -> int:
        return (day - self.first_day).days


def usage_window(timeline: Timeline, usage_days: int) -> Window:
    return Window(timeline.as_of - timedelta(days=usage_days - 1), usage_days, timeline)


def _day_factors(window: Window) -> npt.NDArray[np.float64]:
    years = {day.year for day in window.dates}
    national = holidays.country_holidays("JP", years=sorted(years))
    return np.array(
        [OFF_DAY_ACTIVITY if day.weekday() >= 5 or day in national else 1.0 for day in window.dates]
    )


@dataclass
class _Chunk:
    """Per account × day matrices of one chunk of accounts."""

    in_service: npt.NDArray[np.bool_]
    seats: FloatMatrix
    plan_rank: FloatMatrix
    has_api: npt.NDArray[np.bool_]


def _contract_matrices(accounts: Sequence[SimulatedAccount], window: Window) -> _Chunk:
    shape = (len(accounts), window.days)
    chunk = _Chunk(
        in_service=np.zeros(shape, dtype=np.bool_),
        seats=np.zeros(shape),
        plan_rank=np.zeros(shape),
        has_api=np.zeros(shape, dtype=np.bool_),
    )
    for row, account in enumerate(accounts):
        for item in account.items:
            if not item.recurring:
                continue
            start = max(0, window.index_of(item.start))
            end = window.days if item.end is None else min(window.days, window.index_of(item.end))
            if end <= start:
                continue
            if item.plan:
                chunk.in_service[row, start:end] = True
                chunk.seats[row, start:end] = item.quantity
                chunk.plan_rank[row, start:end] = company.PLAN_ORDER.index(item.plan)
            elif item.product == company.API_ADDON:
                chunk.has_api[row, start:end] = True
    return chunk


def _monthly(
    accounts: Sequence[SimulatedAccount], attribute: str, day_month: IntArray
) -> FloatMatrix:
    stacked = np.stack(
        [np.asarray(getattr(account, attribute), dtype=np.float64) for account in accounts]
    )
    return stacked[:, day_month]


def _chunk_usage(
    accounts: Sequence[SimulatedAccount],
    window: Window,
    rng: np.random.Generator,
    day_factor: npt.NDArray[np.float64],
    day_month: IntArray,
) -> tuple[dict[str, npt.NDArray[np.int64]], FloatMatrix, FloatMatrix, _Chunk]:
    contract = _contract_matrices(accounts, window)
    shape = contract.seats.shape
    health = np.nan_to_num(_monthly(accounts, "health", day_month), nan=0.5)
    health = np.clip(health + rng.normal(0, 0.04, shape), 0.01, 1.0)
    churn_lead = _monthly(accounts, "churn_lead", day_month)
    expansion_lead = _monthly(accounts, "expansion_lead", day_month)
    demand = _monthly(accounts, "demand_seats", day_month)
    seats_in_use = np.minimum(np.ceil(demand * rng.uniform(0.96, 1.0, shape)), contract.seats)
    seats_in_use = np.where(contract.in_service, np.maximum(seats_in_use, 1), 0).astype(np.int64)
    activity = np.clip(0.1 + 0.78 * health, 0.02, 0.95) * day_factor
    active = rng.binomial(seats_in_use, activity)
    logins = active + rng.poisson(active * (0.3 + 0.9 * health))
    monthly_rate = np.clip(0.3 + 0.7 * health, 0.05, 1.0)
    active_30d = np.maximum(active, rng.binomial(seats_in_use, monthly_rate))
    api_base = np.where(contract.has_api, 60.0, np.where(contract.plan_rank >= 2, 8.0, 0.0))
    api_growth = _monthly(accounts, "api_growth", day_month)
    api_calls = rng.poisson(api_base * np.sqrt(seats_in_use) * api_growth * health * day_factor)
    departments = _monthly(accounts, "departments", day_month)
    departments_active = np.where(
        active > 0, np.clip(np.round(departments * (0.5 + 0.5 * health)), 1, departments), 0
    )
    utilisation = np.divide(
        seats_in_use, contract.seats, out=np.zeros(shape), where=contract.seats > 0
    )
    pricing = rng.poisson(
        0.01 + 0.3 * expansion_lead + 0.12 * (utilisation > 0.9) + 0.05 * churn_lead
    )
    competitor = rng.poisson(0.004 + 0.25 * churn_lead)
    new_feature = rng.poisson((0.03 + 0.08 * health + 0.15 * expansion_lead) * day_factor)
    columns = {
        "logins": logins,
        "active_users": active,
        "active_users_30d": active_30d,
        "seats_in_use": seats_in_use,
        "api_calls": api_calls,
        "departments_active": departments_active.astype(np.int64),
        "pricing_page_views": pricing,
        "competitor_page_views": competitor,
        "new_feature_page_views": new_feature,
    }
    for name, matrix in columns.items():
        columns[name] = np.where(contract.in_service, matrix, 0).astype(np.int64)
    return columns, health, churn_lead, contract


def _chunks(accounts: Sequence[SimulatedAccount]) -> Iterator[Sequence[SimulatedAccount]]:
    for start in range(0, len(accounts), CHUNK_ACCOUNTS):
        yield accounts[start : start + CHUNK_ACCOUNTS]


def _date32(window: Window) -> npt.NDArray[np.int32]:
    epoch = date(1970, 1, 1)
    first = (window.first_day - epoch).days
    return np.arange(first, first + window.days, dtype=np.int32)


def usage_tables(
    accounts: Sequence[SimulatedAccount], timeline: Timeline, usage_days: int, seed: int
) -> tuple[pa.Table, pa.Table]:
    """``usage_daily`` and ``feature_usage`` tables for the last ``usage_days`` days."""
    window = usage_window(timeline, usage_days)
    day_factor = _day_factors(window)
    day_month = np.array([timeline.month_of(day) for day in window.dates], dtype=np.int64)
    day_month = np.clip(day_month, 0, timeline.months - 1)
    dates = _date32(window)
    feature_from = max(0, window.days - FEATURE_USAGE_DAYS)
    usage_parts: list[pa.Table] = []
    feature_parts: list[pa.Table] = []
    for number, chunk in enumerate(_chunks(accounts)):
        rng = np.random.default_rng([seed, number, 11])
        columns, health, churn_lead, contract = _chunk_usage(
            chunk, window, rng, day_factor, day_month
        )
        ids = np.array([account.customer_id for account in chunk], dtype=object)
        any_use = (
            columns["logins"] + columns["pricing_page_views"] + columns["competitor_page_views"]
        )
        rows, days = np.nonzero(any_use + columns["new_feature_page_views"] > 0)
        usage_parts.append(
            pa.table(
                {
                    "customer_id": pa.array(ids[rows], pa.string()),
                    "date": pa.array(dates[days], pa.date32()),
                    **{
                        name: pa.array(matrix[rows, days], pa.int64())
                        for name, matrix in columns.items()
                    },
                },
                schema=USAGE_DAILY_SCHEMA,
            )
        )
        feature_parts.append(
            _feature_usage(
                ids,
                dates,
                columns["active_users"],
                health,
                churn_lead,
                contract,
                rng,
                timeline,
                feature_from,
            )
        )
    return (
        pa.concat_tables(usage_parts) if usage_parts else USAGE_DAILY_SCHEMA.empty_table(),
        pa.concat_tables(feature_parts) if feature_parts else FEATURE_USAGE_SCHEMA.empty_table(),
    )


def _feature_usage(
    ids: npt.NDArray[np.object_],
    dates: npt.NDArray[np.int32],
    active: npt.NDArray[np.int64],
    health: FloatMatrix,
    churn_lead: FloatMatrix,
    contract: _Chunk,
    rng: np.random.Generator,
    timeline: Timeline,
    first_column: int,
) -> pa.Table:
    active = active[:, first_column:]
    health = health[:, first_column:]
    churn_lead = churn_lead[:, first_column:]
    plan_rank = contract.plan_rank[:, first_column:]
    dates = dates[first_column:]
    parts: list[pa.Table] = []
    for feature in company.FEATURES:
        adoption = FEATURE_ADOPTION[feature.key] * (0.25 + 0.75 * health)
        if feature.core:
            # Teams on their way out stop using the core of the product first (SPEC S2).
            adoption = adoption * (1 - 0.8 * churn_lead)
        if feature.enterprise:
            adoption = np.where(plan_rank >= 3, adoption, 0.0)
        if feature.released_months_ago is not None:
            released = timeline.as_of - timedelta(days=30 * feature.released_months_ago)
            epoch_day = (released - date(1970, 1, 1)).days
            adoption = np.where(dates[np.newaxis, :] >= epoch_day, adoption, 0.0)
        users = rng.binomial(active, np.clip(adoption, 0.0, 1.0))
        uses = users + rng.poisson(users * feature.daily_use_rate)
        rows, days = np.nonzero(uses > 0)
        parts.append(
            pa.table(
                {
                    "customer_id": pa.array(ids[rows], pa.string()),
                    "date": pa.array(dates[days], pa.date32()),
                    "feature": pa.array([feature.key] * len(rows), pa.string()),
                    "uses": pa.array(uses[rows, days], pa.int64()),
                },
                schema=FEATURE_USAGE_SCHEMA,
            )
        )
    return pa.concat_tables(parts).sort_by([("customer_id", "ascending"), ("date", "ascending")])
