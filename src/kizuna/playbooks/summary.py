"""The account summary attached to a playbook task: usage trend, tickets, NPS, health."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Q, Sum

from kizuna.health.models import HealthScore
from kizuna.usage.models import NpsResponse, Ticket, UsageDaily

# Three 30-day windows show a trend (down, flat, up) without drowning the reader.
USAGE_WINDOWS = 3
WINDOW_DAYS = 30
RECENT_TICKETS = 5
RECENT_NPS = 3
TICKET_LOOKBACK_DAYS = 90


def account_summary(account_id: int, as_of: date) -> dict[str, Any]:
    windows = []
    for back in range(USAGE_WINDOWS - 1, -1, -1):
        last = as_of - timedelta(days=WINDOW_DAYS * back)
        windows.append((last - timedelta(days=WINDOW_DAYS - 1), last))
    # One query for all windows: conditional sums over the span they cover.
    measures: dict[str, Any] = {}
    for index, (first, last) in enumerate(windows):
        in_window = Q(date__gte=first, date__lte=last)
        measures[f"logins_{index}"] = Sum("logins", filter=in_window)
        measures[f"active_{index}"] = Sum("active_users", filter=in_window)
    totals = UsageDaily.objects.filter(
        account_id=account_id, date__gte=windows[0][0], date__lte=as_of
    ).aggregate(**measures)
    usage = [
        {
            "from": first.isoformat(),
            "to": last.isoformat(),
            "logins": totals[f"logins_{index}"] or 0,
            "active_users_per_day": round((totals[f"active_{index}"] or 0) / WINDOW_DAYS, 1),
        }
        for index, (first, last) in enumerate(windows)
    ]
    tickets = [
        {
            "id": ticket.pk,
            "type": ticket.type,
            "severity": ticket.severity,
            "subject": ticket.subject,
            "opened_at": ticket.opened_at.isoformat(),
            "resolved_at": ticket.resolved_at.isoformat() if ticket.resolved_at else None,
        }
        for ticket in Ticket.objects.filter(
            account_id=account_id,
            opened_at__date__gte=as_of - timedelta(days=TICKET_LOOKBACK_DAYS),
            opened_at__date__lte=as_of,
        ).order_by("-opened_at")[:RECENT_TICKETS]
    ]
    nps = [
        {"responded_on": row.responded_on.isoformat(), "score": row.score, "comment": row.comment}
        for row in NpsResponse.objects.filter(
            account_id=account_id, responded_on__lte=as_of
        ).order_by("-responded_on")[:RECENT_NPS]
    ]
    return {
        "as_of": as_of.isoformat(),
        "usage": usage,
        "tickets": tickets,
        "nps": nps,
        "health": _health(account_id, as_of),
    }


def _health(account_id: int, as_of: date) -> dict[str, Any] | None:
    score = (
        HealthScore.objects.filter(account_id=account_id, date__lte=as_of)
        .order_by("-date", "-scorecard__is_default")
        .first()
    )
    if score is None:
        return None
    return {
        "date": score.date.isoformat(),
        "score": None if score.score is None else float(score.score),
        "status": score.status,
        "components": score.components,
    }
