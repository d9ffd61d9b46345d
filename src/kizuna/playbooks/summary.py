"""The account summary attached to a playbook task: usage trend, tickets, NPS, health.

Summaries are built for a batch of accounts at once (a handful of queries whatever the batch
size), so a run that attaches thousands of them stays fast.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

from django.db.models import Max, Q, Sum

from kizuna.health.models import HealthScore
from kizuna.usage.models import NpsResponse, Ticket, UsageDaily

# Three 30-day windows show a trend (down, flat, up) without drowning the reader.
USAGE_WINDOWS = 3
WINDOW_DAYS = 30
RECENT_TICKETS = 5
RECENT_NPS = 3
TICKET_LOOKBACK_DAYS = 90


def account_summaries(account_ids: Collection[int], as_of: date) -> dict[int, dict[str, Any]]:
    """The summary of each account as of ``as_of``."""
    ids = sorted(set(account_ids))
    usage = _usage(ids, as_of)
    tickets = _tickets(ids, as_of)
    nps = _nps(ids, as_of)
    health = _health(ids, as_of)
    return {
        account_id: {
            "as_of": as_of.isoformat(),
            "usage": usage[account_id],
            "tickets": tickets.get(account_id, []),
            "nps": nps.get(account_id, []),
            "health": health.get(account_id),
        }
        for account_id in ids
    }


def _windows(as_of: date) -> list[tuple[date, date]]:
    windows = []
    for back in range(USAGE_WINDOWS - 1, -1, -1):
        last = as_of - timedelta(days=WINDOW_DAYS * back)
        windows.append((last - timedelta(days=WINDOW_DAYS - 1), last))
    return windows


def _usage(ids: list[int], as_of: date) -> dict[int, list[dict[str, Any]]]:
    windows = _windows(as_of)
    # One query for all windows and accounts: conditional sums over the span they cover.
    measures: dict[str, Any] = {}
    for index, (first, last) in enumerate(windows):
        in_window = Q(date__gte=first, date__lte=last)
        measures[f"logins_{index}"] = Sum("logins", filter=in_window)
        measures[f"active_{index}"] = Sum("active_users", filter=in_window)
    rows = (
        UsageDaily.objects.filter(account_id__in=ids, date__gte=windows[0][0], date__lte=as_of)
        .values("account_id")
        .annotate(**measures)
    )
    totals: dict[int, dict[str, Any]] = {row["account_id"]: row for row in rows}
    return {
        account_id: [
            {
                "from": first.isoformat(),
                "to": last.isoformat(),
                "logins": totals.get(account_id, {}).get(f"logins_{index}") or 0,
                "active_users_per_day": round(
                    (totals.get(account_id, {}).get(f"active_{index}") or 0) / WINDOW_DAYS, 1
                ),
            }
            for index, (first, last) in enumerate(windows)
        ]
        for account_id in ids
    }


def _tickets(ids: list[int], as_of: date) -> dict[int, list[dict[str, Any]]]:
    recent: dict[int, list[dict[str, Any]]] = defaultdict(list)
    tickets = Ticket.objects.filter(
        account_id__in=ids,
        opened_at__date__gte=as_of - timedelta(days=TICKET_LOOKBACK_DAYS),
        opened_at__date__lte=as_of,
    ).order_by("account_id", "-opened_at", "-pk")
    for ticket in tickets:
        listed = recent[ticket.account_id]
        if len(listed) < RECENT_TICKETS:
            listed.append(
                {
                    "id": ticket.pk,
                    "type": ticket.type,
                    "severity": ticket.severity,
                    "subject": ticket.subject,
                    "opened_at": ticket.opened_at.isoformat(),
                    "resolved_at": ticket.resolved_at.isoformat() if ticket.resolved_at else None,
                }
            )
    return recent


def _nps(ids: list[int], as_of: date) -> dict[int, list[dict[str, Any]]]:
    recent: dict[int, list[dict[str, Any]]] = defaultdict(list)
    responses = NpsResponse.objects.filter(account_id__in=ids, responded_on__lte=as_of).order_by(
        "account_id", "-responded_on", "-pk"
    )
    for row in responses.values_list("account_id", "responded_on", "score", "comment"):
        listed = recent[row[0]]
        if len(listed) < RECENT_NPS:
            listed.append({"responded_on": row[1].isoformat(), "score": row[2], "comment": row[3]})
    return recent


def _health(ids: list[int], as_of: date) -> dict[int, dict[str, Any]]:
    latest = dict(
        HealthScore.objects.filter(account_id__in=ids, date__lte=as_of)
        .values("account_id")
        .annotate(last=Max("date"))
        .values_list("account_id", "last")
    )
    if not latest:
        return {}
    scores = (
        HealthScore.objects.filter(account_id__in=list(latest), date__in=set(latest.values()))
        .order_by("account_id", "-scorecard__is_default", "pk")
        .values_list("account_id", "date", "score", "status", "components")
    )
    found: dict[int, dict[str, Any]] = {}
    for account_id, day, score, status, components in scores:
        if day != latest[account_id] or account_id in found:
            continue
        found[account_id] = {
            "date": day.isoformat(),
            "score": None if score is None else float(score),
            "status": status,
            "components": components,
        }
    return found
