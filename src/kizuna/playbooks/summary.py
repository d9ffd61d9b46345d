"""The account summary attached to a playbook task: usage trend, tickets, NPS, health."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Avg, Sum

from kizuna.usage.models import NpsResponse, Ticket, UsageDaily

# Three 30-day windows show a trend (down, flat, up) without drowning the reader.
USAGE_WINDOWS = 3
WINDOW_DAYS = 30
RECENT_TICKETS = 5
RECENT_NPS = 3
TICKET_LOOKBACK_DAYS = 90


def account_summary(account_id: int, as_of: date) -> dict[str, Any]:
    usage = []
    for back in range(USAGE_WINDOWS - 1, -1, -1):
        last = as_of - timedelta(days=WINDOW_DAYS * back)
        first = last - timedelta(days=WINDOW_DAYS - 1)
        totals = UsageDaily.objects.filter(
            account_id=account_id, date__gte=first, date__lte=last
        ).aggregate(logins=Sum("logins"), active=Sum("active_users"))
        usage.append(
            {
                "from": first.isoformat(),
                "to": last.isoformat(),
                "logins": totals["logins"] or 0,
                "active_users_per_day": round((totals["active"] or 0) / WINDOW_DAYS, 1),
            }
        )
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
    from kizuna.health.models import HealthScore

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


def average_score(account_id: int, since: date, until: date) -> float | None:
    from kizuna.health.models import HealthScore

    value = HealthScore.objects.filter(
        account_id=account_id, date__gte=since, date__lte=until
    ).aggregate(avg=Avg("score"))["avg"]
    return None if value is None else float(value)
