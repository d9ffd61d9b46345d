"""Subscription item history across Stripe imports: a change starts a new span.

Stripe keeps one subscription item (one id) when its price or quantity changes and shows only
its values now. Overwriting the stored item with them would rewrite the past: the months before
the change would show the new MRR and the revenue engine no expansion or contraction. Instead
the stored parts of the item keep their values until the change day, and the item's current
values start that day (a part with an id like ``si_…@2024-06-10``).

The change day is the start of the item's latest proration among the invoices read (Stripe
prorates from the moment of the change); without one, the day of the import, the first day the
change is known. Later imports find the day again in the stored parts: the current values start
after the last part whose price or quantity differs from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class StoredPart:
    """One stored part of a Stripe subscription item (the item, or a part cut from it)."""

    external_id: str
    plan_id: int | None
    quantity: Decimal
    start_date: date
    end_date: date | None


def stripe_item_id(part_id: str) -> str:
    """The Stripe item id of a stored part (``si_A1@2024-06-10`` → ``si_A1``)."""
    return part_id.split("@")[0]


def current_since(
    parts: Sequence[StoredPart],
    plan_id: int,
    quantity: Decimal,
    prorated_on: date | None,
    today: date,
) -> date | None:
    """The first day of the item's current price and quantity, or ``None`` when the stored
    parts have no other values to keep (the item is written from its first day)."""
    ordered = sorted(parts, key=lambda part: part.start_date)
    differing = [
        index
        for index, part in enumerate(ordered)
        if (part.plan_id, part.quantity) != (plan_id, quantity)
    ]
    if not differing:
        return None
    last = differing[-1]
    if last + 1 < len(ordered):
        return ordered[last + 1].start_date  # a change an earlier import recorded
    # A new change: the last stored part's values held until the change day. A proration no
    # later than that part's start belongs to an earlier change.
    ending = ordered[last]
    changed_on = prorated_on if prorated_on and prorated_on > ending.start_date else today
    if ending.end_date is not None and changed_on >= ending.end_date:
        # Seen only after the item ended: no day of its life is known to have the new values.
        changed_on = ending.start_date
    return changed_on if changed_on > ordered[0].start_date else None


def kept_history(parts: Sequence[StoredPart], since: date) -> list[StoredPart]:
    """The parts before ``since``, each ending by then: the item's history to keep."""
    return [
        StoredPart(
            part.external_id,
            part.plan_id,
            part.quantity,
            part.start_date,
            since if part.end_date is None or part.end_date > since else part.end_date,
        )
        for part in parts
        if part.start_date < since
    ]
