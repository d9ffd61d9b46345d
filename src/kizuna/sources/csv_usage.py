"""Readers for the customer-success CSV files (usage, features, tickets, NPS, activities, contacts).

Each file of ``docs/import-format.md`` is described once here as a list of :class:`Column`, read
with the shared validating reader, and returned as an Arrow table whose column names and types
are what the health engine (:mod:`kizuna.engine.health_measures`) expects. A folder may lack
any of these files: the measures that need a missing file report their component as missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa

from kizuna.engine.health_inputs import HealthInputs
from kizuna.sources.csv_reader import (
    Column,
    InputError,
    decode,
    parse_rows,
    read_csv_table,
    to_arrow,
)
from kizuna.sources.csv_revenue import SUBSCRIPTION_COLUMNS

USAGE_DAILY_COLUMNS: tuple[Column, ...] = (
    Column("customer_id"),
    Column("date", "date"),
    Column("logins", "int", min_value=0),
    Column("active_users", "int", min_value=0),
    Column("active_users_30d", "int", required=False, nullable=True, min_value=0),
    Column("seats_in_use", "int", required=False, nullable=True, min_value=0),
    Column("api_calls", "int", required=False, default=0, min_value=0),
    Column("departments_active", "int", required=False, nullable=True, min_value=0),
    Column("pricing_page_views", "int", required=False, default=0, min_value=0),
    Column("competitor_page_views", "int", required=False, default=0, min_value=0),
    Column("new_feature_page_views", "int", required=False, default=0, min_value=0),
)

FEATURES_COLUMNS: tuple[Column, ...] = (
    Column("feature"),
    Column("name", required=False, nullable=True),
    Column("core", "bool"),
    Column("enterprise", "bool", required=False, default=False),
    Column("released_on", "date", required=False, nullable=True),
)

FEATURE_USAGE_COLUMNS: tuple[Column, ...] = (
    Column("customer_id"),
    Column("date", "date"),
    Column("feature"),
    Column("uses", "int", min_value=0),
)

TICKET_TYPES = (
    "question",
    "bug",
    "feature_request",
    "incident",
    "upgrade_inquiry",
    "enterprise_trial_request",
)
TICKET_SEVERITIES = ("low", "normal", "high", "critical")

TICKETS_COLUMNS: tuple[Column, ...] = (
    Column("ticket_id"),
    Column("customer_id"),
    Column("opened_at", "datetime"),
    Column("resolved_at", "datetime", required=False, nullable=True),
    Column("type", choices=TICKET_TYPES),
    Column("severity", choices=TICKET_SEVERITIES),
)

NPS_COLUMNS: tuple[Column, ...] = (
    Column("response_id"),
    Column("customer_id"),
    Column("contact_id", required=False, nullable=True),
    Column("responded_on", "date"),
    Column("score", "int", min_value=0),
    Column("comment", required=False, nullable=True),
)

ACTIVITY_TYPES = ("email", "meeting", "cs_meeting", "qbr", "call", "note")

ACTIVITIES_COLUMNS: tuple[Column, ...] = (
    Column("activity_id"),
    Column("customer_id"),
    Column("contact_id", required=False, nullable=True),
    Column("type", choices=ACTIVITY_TYPES),
    Column("occurred_at", "datetime"),
    Column("subject", required=False, nullable=True),
)

CONTACT_ROLES = ("decision_maker", "daily_contact", "champion", "other")
CONTACT_STATUSES = ("active", "left", "moved")

CONTACTS_COLUMNS: tuple[Column, ...] = (
    Column("contact_id"),
    Column("customer_id"),
    Column("name"),
    Column("email", required=False, nullable=True),
    Column("role", choices=CONTACT_ROLES),
    Column("status", choices=CONTACT_STATUSES),
    Column("status_changed_on", "date", required=False, nullable=True),
)

SUCCESS_GOALS_COLUMNS: tuple[Column, ...] = (
    Column("goal_id"),
    Column("customer_id"),
    Column("goal"),
    Column("target", required=False, nullable=True),
    Column("set_on", "date", required=False, nullable=True),
    Column("achieved_on", "date", required=False, nullable=True),
)

# The subscriptions contract is defined once, by the revenue reader.
SUBSCRIPTIONS_COLUMNS: tuple[Column, ...] = tuple(SUBSCRIPTION_COLUMNS)


def read_usage_daily(path: Path) -> pa.Table:
    return _read_checked(path, USAGE_DAILY_COLUMNS, _no_duplicate_keys("customer_id", "date"))


def read_features(path: Path) -> pa.Table:
    return _read_checked(path, FEATURES_COLUMNS, _no_duplicate_keys("feature"))


def read_feature_usage(path: Path) -> pa.Table:
    return read_csv_table(path, FEATURE_USAGE_COLUMNS)


def read_tickets(path: Path) -> pa.Table:
    return read_csv_table(path, TICKETS_COLUMNS)


def read_nps(path: Path) -> pa.Table:
    return _read_checked(path, NPS_COLUMNS, _nps_score_at_most_ten)


def read_activities(path: Path) -> pa.Table:
    return read_csv_table(path, ACTIVITIES_COLUMNS)


def read_contacts(path: Path) -> pa.Table:
    return read_csv_table(path, CONTACTS_COLUMNS)


def read_subscriptions(path: Path) -> pa.Table:
    return read_csv_table(path, SUBSCRIPTIONS_COLUMNS)


READERS: dict[str, Callable[[Path], pa.Table]] = {
    "usage_daily": read_usage_daily,
    "features": read_features,
    "feature_usage": read_feature_usage,
    "tickets": read_tickets,
    "nps": read_nps,
    "activities": read_activities,
    "contacts": read_contacts,
    "subscriptions": read_subscriptions,
}
"""File stem → reader, for every file the health engine can use."""


def read_health_folder(
    folder: Path, readers: dict[str, Callable[[Path], pa.Table]] = READERS
) -> dict[str, pa.Table]:
    """Read every health input present in ``folder``; absent files are simply not in the result.

    All files are validated before anything is returned, and the problems of every file are
    reported together.
    """
    if not folder.is_dir():
        raise InputError([f"{folder}: not a folder"])
    tables: dict[str, pa.Table] = {}
    problems: list[str] = []
    for stem, reader in readers.items():
        path = folder / f"{stem}.csv"
        if not path.exists():
            continue
        try:
            tables[stem] = reader(path)
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    return tables


# A check sees the parsed values with their source line numbers and returns problems.
Check = Callable[[str, dict[str, list[object]], list[int]], list[str]]


def _read_checked(path: Path, columns: Sequence[Column], check: Check) -> pa.Table:
    values, lines = parse_rows(path.name, decode(path.read_bytes()), columns)
    problems = check(path.name, values, lines)
    if problems:
        raise InputError(problems)
    return to_arrow(values, columns)


def _no_duplicate_keys(*keys: str) -> Check:
    """Reject repeated keys: a second row for the same key would silently double a count."""

    def check(name: str, values: dict[str, list[object]], lines: list[int]) -> list[str]:
        first_line: dict[tuple[object, ...], int] = {}
        problems: list[str] = []
        for line, key in zip(lines, zip(*(values[key] for key in keys), strict=True), strict=True):
            if key in first_line:
                shown = ", ".join(str(part) for part in key)
                problems.append(
                    f"{name}:{line}: duplicate row for ({shown}), first on line {first_line[key]}"
                )
            else:
                first_line[key] = line
        return problems

    return check


def _nps_score_at_most_ten(
    name: str, values: dict[str, list[object]], lines: list[int]
) -> list[str]:
    return [
        f"{name}:{line}: 'score' must be between 0 and 10, got {score}"
        for line, score in zip(lines, values["score"], strict=True)
        if isinstance(score, int) and score > 10
    ]


def read_success_goals(path: Path) -> pa.Table:
    return _read_checked(path, SUCCESS_GOALS_COLUMNS, _no_duplicate_keys("goal_id"))


SIGNAL_READERS: dict[str, Callable[[Path], pa.Table]] = {
    **READERS,
    "success_goals": read_success_goals,
}
"""File stem → reader, for every file signal detection can use."""


def read_signal_folder(folder: Path) -> dict[str, pa.Table]:
    """:func:`read_health_folder` with the files only signals use (``success_goals.csv``)."""
    return read_health_folder(folder, SIGNAL_READERS)


def health_inputs_from_folder(folder: Path) -> HealthInputs:
    """The health engine's inputs from a folder of CSV files (see :func:`read_health_folder`)."""
    return HealthInputs.from_tables(read_health_folder(folder))
