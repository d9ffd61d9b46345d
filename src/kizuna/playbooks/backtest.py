"""Back-test of the churn signals against what really happened, and the churn post-mortem.

The back-test replays signal detection weekly over the past months (the engine, as of each
date, seeing only what was known then) and compares it with the churn records:

* **recall** — of the accounts that churned in the period, the share that had a high-risk
  signal at least ``lead_days`` (30) days before churning (and at most ``lookback_days``, 180,
  before: an alert from long ago did not foresee this churn);
* **precision** — of the accounts that got a high-risk signal (early enough that 90 days of
  outcome are known), the share that churned within ``horizon_days`` (90) of a signal;
* the **base rate** — the share of all watched accounts that churned within 90 days of a
  sampled date — so precision can be read as a lift over picking accounts at random.

High-risk signals are the churn signals at level ``high``, except ``renewal_due`` (a contract
date, not a risk). The post-mortem of one churned account (SPEC C8) is built here too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from django.utils import timezone

from kizuna.crm.models import Account, ChurnRecord
from kizuna.engine.backends import connect
from kizuna.engine.signals import SIGNAL_DETECTORS, applicable_detectors, signal_table
from kizuna.engine.signals_common import SignalInputs, SignalSettings, customer_universe
from kizuna.health.models import HealthScore, HealthStatus
from kizuna.playbooks.context import calendar_from_settings, current_settings
from kizuna.playbooks.models import Alert
from kizuna.playbooks.runner import signal_settings
from kizuna.playbooks.store_inputs import StoreSnapshot
from kizuna.usage.models import UsageDaily

NOT_RISK_SIGNALS = frozenset({"renewal_due"})


def high_risk_signals() -> list[str]:
    return [
        name
        for name, detector in SIGNAL_DETECTORS.items()
        if detector.kind == "churn" and "high" in detector.levels and name not in NOT_RISK_SIGNALS
    ]


@dataclass
class BacktestResult:
    start: date
    end: date
    step_days: int
    lead_days: int
    horizon_days: int
    churned: int = 0
    churned_with_early_signal: int = 0
    signalled: int = 0
    signalled_then_churned: int = 0
    watched: int = 0
    watched_then_churned: int = 0
    by_signal: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def recall(self) -> float | None:
        return self.churned_with_early_signal / self.churned if self.churned else None

    @property
    def precision(self) -> float | None:
        return self.signalled_then_churned / self.signalled if self.signalled else None

    @property
    def base_rate(self) -> float | None:
        return self.watched_then_churned / self.watched if self.watched else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "step_days": self.step_days,
            "lead_days": self.lead_days,
            "horizon_days": self.horizon_days,
            "churned": self.churned,
            "churned_with_early_signal": self.churned_with_early_signal,
            "recall": self.recall,
            "signalled": self.signalled,
            "signalled_then_churned": self.signalled_then_churned,
            "precision": self.precision,
            "watched": self.watched,
            "watched_then_churned": self.watched_then_churned,
            "base_rate": self.base_rate,
            "by_signal": self.by_signal,
        }


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last_day = [
        31,
        29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][month]
    return date(year, month + 1, min(day.day, last_day))


def sample_dates(start: date, end: date, step_days: int) -> list[date]:
    days, day = [], start
    while day <= end:
        days.append(day)
        day += timedelta(days=step_days)
    return days


def historical_inputs(tables: dict[str, pa.Table]) -> SignalInputs:
    """Inputs fit for replaying the past: MRR and health are today's, so they are left out
    (MRR is then estimated from the subscriptions in force on each date)."""
    backend = connect("duckdb")
    kept = {k: v for k, v in tables.items() if k not in ("customer_mrr", "health")}
    return SignalInputs(
        **{name: backend.create_table(f"bt_{name}", table) for name, table in kept.items()}
    )


def signal_history(
    inputs: SignalInputs,
    dates: Sequence[date],
    names: Sequence[str],
    settings: SignalSettings | None = None,
    level: str | None = "high",
) -> list[tuple[str, date, str]]:
    """``(customer_id, as_of, signal)`` for each sampled date a signal was detected."""
    settings = settings or SignalSettings()
    runnable = [d.name for d in applicable_detectors(inputs, names)]
    if not runnable:
        return []
    parts: list[ir.Table] = []
    for day in dates:
        table = signal_table(inputs, day, settings, runnable)
        if level is not None:
            table = table.filter(table.level == level)
        parts.append(table.select("customer_id", "signal", as_of=ibis.literal(day)).distinct())
    rows: list[tuple[str, date, str]] = []
    # Batches of dates keep each query's plan small.
    for first in range(0, len(parts), 8):
        chunk = parts[first : first + 8]
        union = chunk[0].union(*chunk[1:]) if len(chunk) > 1 else chunk[0]
        result = union.to_pyarrow()
        rows += zip(
            result.column("customer_id").to_pylist(),
            result.column("as_of").to_pylist(),
            result.column("signal").to_pylist(),
            strict=True,
        )
    return rows


def watched_accounts(inputs: SignalInputs, dates: Sequence[date]) -> list[tuple[str, date]]:
    pairs: list[tuple[str, date]] = []
    for day in dates:
        universe = customer_universe(inputs, day)
        if universe is None:
            continue
        ids = universe.select("customer_id").to_pyarrow().column("customer_id").to_pylist()
        pairs += [(customer, day) for customer in ids]
    return pairs


def latest_data_day() -> date:
    latest = UsageDaily.objects.order_by("-date").values_list("date", flat=True).first()
    return latest or timezone.localdate()


def run_backtest(
    months: int = 12,
    *,
    end: date | None = None,
    step_days: int = 7,
    lead_days: int = 30,
    horizon_days: int = 90,
    lookback_days: int = 180,
    signals: Sequence[str] | None = None,
    tables: dict[str, pa.Table] | None = None,
    churns: Sequence[tuple[str, date]] | None = None,
    settings: SignalSettings | None = None,
) -> BacktestResult:
    """Replay detection over the period and score it; ``settings`` are the store's playbook
    settings (thresholds and calendar) unless given."""
    end = end or latest_data_day()
    start = _add_months(end, -months)
    names = list(signals) if signals is not None else high_risk_signals()
    inputs = historical_inputs(tables if tables is not None else StoreSnapshot(end).signal_tables())
    # Signals are replayed from ``lookback_days`` before the period, so a churn early in the
    # period can still have been foreseen.
    dates = sample_dates(start - timedelta(days=lookback_days), end, step_days)
    history = signal_history(inputs, dates, names, settings or store_signal_settings())
    churn_rows = (
        churns
        if churns is not None
        else [
            (str(account), day)
            for account, day in ChurnRecord.objects.values_list("account_id", "churned_on")
        ]
    )
    last_signal_day = end - timedelta(days=horizon_days)
    watched = watched_accounts(inputs, [d for d in dates if start <= d <= last_signal_day])
    return score_backtest(
        BacktestResult(start, end, step_days, lead_days, horizon_days),
        history,
        churn_rows,
        watched,
        lookback_days=lookback_days,
    )


def store_signal_settings() -> SignalSettings:
    """The thresholds and calendar of the store's playbook settings, as a run uses them."""
    stored = current_settings()
    return signal_settings(stored.signal_settings, calendar_from_settings(stored))


def score_backtest(
    result: BacktestResult,
    history: Sequence[tuple[str, date, str]],
    churn_rows: Sequence[tuple[str, date]],
    watched_pairs: Sequence[tuple[str, date]],
    *,
    lookback_days: int,
) -> BacktestResult:
    """Recall, precision and base rate of a signal history against the churns."""
    start, end = result.start, result.end
    lead_days, horizon_days = result.lead_days, result.horizon_days
    churn_days: dict[str, list[date]] = defaultdict(list)
    for customer, day in churn_rows:
        churn_days[customer].append(day)
    signal_days: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for customer, day, signal in history:
        signal_days[customer].append((day, signal))

    # Recall: churns in the period with a high-risk signal 30–180 days before.
    for customer, days in churn_days.items():
        for churned_on in days:
            if not start < churned_on <= end:
                continue
            result.churned += 1
            early = [
                s
                for d, s in signal_days.get(customer, [])
                if churned_on - timedelta(days=lookback_days)
                <= d
                <= churned_on - timedelta(days=lead_days)
            ]
            result.churned_with_early_signal += bool(early)
            for signal in set(early):
                counts = result.by_signal.setdefault(
                    signal, {"signalled": 0, "churned": 0, "foresaw_churns": 0}
                )
                counts["foresaw_churns"] += 1

    def churned_within(customer: str, day: date) -> bool:
        return any(
            day < c <= day + timedelta(days=horizon_days) for c in churn_days.get(customer, ())
        )

    # Precision: accounts signalled in the period early enough for 90 days of outcome.
    last_signal_day = end - timedelta(days=horizon_days)
    per_account: dict[str, bool] = {}
    per_signal: dict[str, dict[str, bool]] = defaultdict(dict)
    for customer, entries in signal_days.items():
        for day, signal in entries:
            if not start <= day <= last_signal_day:
                continue
            hit = churned_within(customer, day)
            per_account[customer] = per_account.get(customer, False) or hit
            per_signal[signal][customer] = per_signal[signal].get(customer, False) or hit
    result.signalled = len(per_account)
    result.signalled_then_churned = sum(per_account.values())
    for signal, accounts in per_signal.items():
        counts = result.by_signal.setdefault(
            signal, {"signalled": 0, "churned": 0, "foresaw_churns": 0}
        )
        counts["signalled"] = len(accounts)
        counts["churned"] = sum(accounts.values())

    watched: dict[str, bool] = {}
    for customer, day in watched_pairs:
        watched[customer] = watched.get(customer, False) or churned_within(customer, day)
    result.watched = len(watched)
    result.watched_then_churned = sum(watched.values())
    return result


# --- post-mortem (SPEC C8) ---------------------------------------------------------------------


@dataclass(frozen=True)
class AlertFacts:
    rule: str
    signal: str
    level: str
    occurred_on: date
    raised_at: datetime
    status: str
    handled_at: datetime | None
    hours_to_handle: float | None
    tasks_done: int
    tasks: int


@dataclass
class PostMortem:
    account: Account
    churn: ChurnRecord
    since: date
    health: list[tuple[date, float | None, str]]
    signals: list[tuple[date, date, str]]
    """``(first seen, last seen, signal)`` for each high-risk signal found by the replay."""
    alerts: list[AlertFacts]


def churn_post_mortem(
    churn: ChurnRecord, *, months: int = 6, step_days: int = 7, replay: bool = True
) -> PostMortem:
    """What happened before ``churn``: health trajectory over the previous ``months``, the
    high-risk signals a weekly replay finds (which fired, or should have), and the alerts
    raised with how fast they were handled."""
    account = churn.account
    since = _add_months(churn.churned_on, -months)
    health = [
        (day, None if score is None else float(score), status)
        for day, score, status in HealthScore.objects.filter(
            account=account, date__gte=since, date__lte=churn.churned_on
        )
        .order_by("date", "-scorecard__is_default")
        .values_list("date", "score", "status")
    ]
    seen_days: dict[date, tuple[float | None, str]] = {}
    for day, score, status in health:
        seen_days.setdefault(day, (score, status))
    labels = dict(HealthStatus.choices)
    trajectory = [
        (day, seen_days[day][0], str(labels.get(seen_days[day][1], seen_days[day][1])))
        for day in sorted(seen_days)
    ]

    signals: list[tuple[date, date, str]] = []
    if replay:
        tables = StoreSnapshot(churn.churned_on).signal_tables()
        customer = str(account.pk)
        own = {
            name: table.filter(pc.equal(table.column("customer_id"), customer))
            if "customer_id" in table.column_names
            else table
            for name, table in tables.items()
        }
        inputs = historical_inputs(own)
        dates = sample_dates(since, churn.churned_on - timedelta(days=1), step_days)
        spans: dict[str, list[date]] = defaultdict(list)
        history = signal_history(inputs, dates, high_risk_signals(), store_signal_settings())
        for _customer, day, signal in history:
            spans[signal].append(day)
        signals = sorted((min(days), max(days), signal) for signal, days in spans.items())

    alerts = []
    for alert in (
        Alert.objects.filter(account=account, occurred_on__gte=since)
        .select_related("rule")
        .prefetch_related("tasks")
        .order_by("created_at")
    ):
        tasks = list(alert.tasks.all())
        hours = (
            (alert.handled_at - alert.created_at).total_seconds() / 3600
            if alert.handled_at is not None
            else None
        )
        alerts.append(
            AlertFacts(
                rule=alert.rule.name,
                signal=alert.signal,
                level=alert.level,
                occurred_on=alert.occurred_on,
                raised_at=alert.created_at,
                status=str(alert.get_status_display()),
                handled_at=alert.handled_at,
                hours_to_handle=hours,
                tasks_done=sum(task.status == "done" for task in tasks),
                tasks=len(tasks),
            )
        )
    return PostMortem(account, churn, since, trajectory, signals, alerts)
