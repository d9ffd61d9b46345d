"""When a Stripe item's current price and quantity start, from its stored parts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from kizuna.ingest.stripe_history import StoredPart, current_since, kept_history

TODAY = date(2024, 9, 1)
PLAN = 1


def part(suffix: str, quantity: int, start: str, end: str | None, plan: int = PLAN) -> StoredPart:
    return StoredPart(
        f"si_1{suffix}",
        plan,
        Decimal(quantity),
        date.fromisoformat(start),
        None if end is None else date.fromisoformat(end),
    )


DISCOUNTED = [part("", 10, "2024-01-15", "2024-04-15"), part("@2024-04-15", 10, "2024-04-15", None)]
CHANGED = [
    DISCOUNTED[0],
    part("@2024-04-15", 10, "2024-04-15", "2024-06-10"),
    part("@2024-06-10", 12, "2024-06-10", None),
]
ENDED = [
    part("", 10, "2024-01-15", "2024-03-01"),
    part("@2024-03-01", 10, "2024-03-01", "2024-05-01"),
]


@pytest.mark.parametrize(
    ("parts", "quantity", "prorated_on", "expected"),
    [
        # Same values as stored (discount parts only): written from the first day.
        (DISCOUNTED, 10, None, None),
        # A new quantity, prorated from 10 June.
        (DISCOUNTED, 12, date(2024, 6, 10), date(2024, 6, 10)),
        # A new quantity without a proration: known from today.
        (DISCOUNTED, 12, None, TODAY),
        # A change recorded by an earlier import is found again, proration or not.
        (CHANGED, 12, date(2024, 6, 10), date(2024, 6, 10)),
        (CHANGED, 12, None, date(2024, 6, 10)),
        # A second change: the old proration (10 June) is not this change's day.
        (CHANGED, 8, date(2024, 6, 10), TODAY),
        # Back to an earlier quantity is a change too.
        (CHANGED, 10, date(2024, 8, 1), date(2024, 8, 1)),
        # A proration from the item's first day is the one for adding it, not for a change.
        ([part("", 10, "2024-06-10", None)], 12, date(2024, 6, 10), TODAY),
        # A change known on the item's first day leaves no history.
        ([part("", 10, TODAY.isoformat(), None)], 12, None, None),
        # Seen after the item ended: its last part takes the new values.
        (ENDED, 12, None, date(2024, 3, 1)),
        ([part("", 10, "2024-01-15", "2024-05-01")], 12, None, None),
    ],
)  # fmt: skip
def test_current_since(
    parts: list[StoredPart], quantity: int, prorated_on: date | None, expected: date | None
) -> None:
    assert current_since(parts, PLAN, Decimal(quantity), prorated_on, TODAY) == expected


def test_a_new_price_is_a_change_at_the_same_quantity() -> None:
    assert current_since(DISCOUNTED, 2, Decimal(10), date(2024, 7, 1), TODAY) == date(2024, 7, 1)


def test_kept_history_ends_every_part_by_the_change_day() -> None:
    assert kept_history(CHANGED, date(2024, 5, 1)) == [
        CHANGED[0],
        part("@2024-04-15", 10, "2024-04-15", "2024-05-01"),
    ]
