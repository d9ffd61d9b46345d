"""A playbook run reads only the usage history detection needs, and detects the same signals.

``history_starts`` names the first day of ``usage_daily`` and ``feature_usage`` the detectors
read in full; the store readers add each account's first row and last used row before it.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pyarrow as pa
import pytest
from django.core.management import call_command
from playbook_store import make_account, usage

from kizuna.billing.models import SubscriptionItem
from kizuna.engine.backends import connect
from kizuna.engine.signals import SIGNAL_DETECTORS, signal_table
from kizuna.engine.signals_common import (
    SignalInputs,
    SignalSettings,
    history_starts,
    register_signal,
)
from kizuna.playbooks.store_inputs import StoreSnapshot
from kizuna.sources import store_tables
from kizuna.sources.csv_usage import FEATURE_USAGE_COLUMNS, USAGE_DAILY_COLUMNS
from kizuna.usage.models import Feature, FeatureUsage, UsageDaily

AS_OF = date(2024, 6, 30)
DEFAULTS = SignalSettings()


def detected(inputs: SignalInputs, as_of: date, settings: SignalSettings = DEFAULTS) -> pa.Table:
    return connect("duckdb").to_pyarrow(signal_table(inputs, as_of, settings))


def days(table: pa.Table, customer: str) -> list[date]:
    rows = zip(*(table.column(n).to_pylist() for n in ("customer_id", "date")), strict=True)
    return sorted(day for who, day in rows if who == customer)


def test_the_window_starts_where_the_detectors_start_reading() -> None:
    # Previous 30-day window: 2 May – 31 May; login weeks: 4 weeks back from 30 June.
    assert history_starts(AS_OF, DEFAULTS) == {
        "usage_daily": date(2024, 5, 2),
        "feature_usage": date(2024, 6, 1),
    }
    # Ten falls compare eleven login weeks: 77 days ending 30 June, further back than the two
    # 30-day windows.
    longer = SignalSettings(login_decline_weeks=10, core_feature_unused_days=45)
    assert history_starts(AS_OF, longer) == {
        "usage_daily": date(2024, 4, 15),
        "feature_usage": date(2024, 5, 17),
    }


def test_a_detector_from_elsewhere_gets_the_whole_history() -> None:
    @register_signal("test_reads_everything", spec="S1", kind="churn", levels=("low",), requires=())
    def reads_everything(inputs: SignalInputs, as_of: date, settings: SignalSettings) -> None:
        raise AssertionError("not run")

    try:
        assert history_starts(AS_OF, DEFAULTS) is None
    finally:
        del SIGNAL_DETECTORS["test_reads_everything"]
    assert history_starts(AS_OF, DEFAULTS) is not None


@pytest.mark.django_db
def test_an_account_last_used_long_ago_is_still_inactive_from_that_day() -> None:
    old = make_account("Old", None, price="150000")
    usage(old, date(2024, 1, 1), date(2024, 1, 10), active_users=3)
    # Later rows without a login or an active user do not count as use…
    usage(old, date(2024, 1, 11), date(2024, 1, 20), active_users=0, logins=0)
    # …and neither do rows after the as-of day.
    usage(old, date(2024, 7, 1), date(2024, 7, 2), active_users=3)
    busy = make_account("Busy", None, price="150000")
    usage(busy, date(2024, 1, 1), AS_OF, active_users=2)
    never = make_account("Never", None, price="150000", start=date(2024, 3, 1))

    snapshot = StoreSnapshot(AS_OF)
    windowed = snapshot.signal_inputs(DEFAULTS)
    table = windowed.table("usage_daily").to_pyarrow()
    # The old account: its first row and its last used row, nothing else.
    assert days(table, str(old.pk)) == [date(2024, 1, 1), date(2024, 1, 10)]
    # The busy account: its first row, then every day from 2 May (its last used row before the
    # window is 1 May).
    window = [date(2024, 5, 2) + timedelta(days=n) for n in range(60)]
    assert days(table, str(busy.pk)) == [date(2024, 1, 1), date(2024, 5, 1), *window]

    rows = detected(windowed, AS_OF).to_pylist()
    inactive = sorted(
        (row["customer_id"], row["occurrence"], row["occurred_on"], json.loads(row["detail"]))
        for row in rows
        if row["signal"] == "high_value_inactive"
    )
    assert inactive == sorted(
        [
            # 10 January to 30 June 2024 (a leap year): 21 + 29 + 31 + 30 + 31 + 30 days.
            (
                str(old.pk),
                "2024-01-10",
                date(2024, 2, 9),
                {"mrr": 150000.0, "last_used_on": "2024-01-10", "days_inactive": 172},
            ),
            (
                str(never.pk),
                "2024-03-01",
                date(2024, 3, 31),
                {"mrr": 150000.0, "last_used_on": None, "days_inactive": 121},
            ),
        ]
    )
    assert detected(windowed, AS_OF).equals(detected(snapshot.signal_inputs(), AS_OF))


@pytest.mark.django_db
def test_feature_use_keeps_each_accounts_first_day() -> None:
    account = make_account("Alpha", None)
    report, export = (Feature.objects.create(key=key, name=key) for key in ("report", "export"))
    for day, feature in (
        (date(2024, 1, 5), report),
        (date(2024, 1, 5), export),
        (date(2024, 2, 1), report),
        (date(2024, 6, 20), export),
        (date(2024, 7, 1), export),
    ):
        FeatureUsage.objects.create(account=account, date=day, feature=feature, uses=2)
    full = store_tables.feature_usage(FEATURE_USAGE_COLUMNS)
    assert full.num_rows == 5
    windowed = store_tables.feature_usage(FEATURE_USAGE_COLUMNS, date(2024, 6, 1), AS_OF)
    assert sorted(
        zip(*(windowed.column(n).to_pylist() for n in ("date", "feature")), strict=True)
    ) == [
        (date(2024, 1, 5), "export"),
        (date(2024, 1, 5), "report"),
        (date(2024, 6, 20), "export"),
    ]


@pytest.mark.django_db
def test_usage_reads_stay_whole_by_default() -> None:
    account = make_account("Alpha", None)
    usage(account, date(2024, 1, 1), date(2024, 1, 3), active_users=1)
    UsageDaily.objects.filter(date=date(2024, 1, 2)).update(logins=0, active_users=0)
    table = store_tables.usage_daily(USAGE_DAILY_COLUMNS)
    assert days(table, str(account.pk)) == [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)]
    only_until = store_tables.usage_daily(USAGE_DAILY_COLUMNS, until=date(2024, 1, 2))
    assert days(only_until, str(account.pk)) == [date(2024, 1, 1), date(2024, 1, 2)]


@pytest.mark.django_db
def test_a_demo_store_gives_the_same_signals_from_the_window_as_from_everything() -> None:
    as_of = date(2025, 6, 30)
    call_command(
        "demo-data",
        "--accounts=80",
        "--months=18",
        "--seed=11",
        "--usage-days=300",
        f"--as-of={as_of.isoformat()}",
        verbosity=0,
    )
    snapshot = StoreSnapshot(as_of)
    windowed = snapshot.signal_inputs(DEFAULTS)
    assert windowed.table("usage_daily").count().execute() < UsageDaily.objects.count()
    full = detected(snapshot.signal_inputs(), as_of)
    assert full.num_rows > 0
    assert detected(windowed, as_of).equals(full)

    # Other thresholds move the window with them.
    wider = SignalSettings(comparison_window_days=45, login_decline_weeks=8, inactive_days=10)
    assert detected(snapshot.signal_inputs(wider), as_of, wider).equals(
        detected(snapshot.signal_inputs(), as_of, wider)
    )

    # Without subscriptions, customers date from their first usage or feature use.
    SubscriptionItem.objects.all().delete()
    snapshot = StoreSnapshot(as_of)
    full = detected(snapshot.signal_inputs(), as_of)
    assert "core_features_unused" in full.column("signal").to_pylist()
    assert detected(snapshot.signal_inputs(DEFAULTS), as_of).equals(full)
