"""Read-only playbook results: the alerts raised on the accounts the caller may see."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from kizuna.api.errors import ERRORS
from kizuna.api.pagination import PageIn, PageOut, paginated
from kizuna.api.schemas import Id
from kizuna.crm.access import visible_accounts
from kizuna.playbooks.models import Alert, AlertStatus

router = Router(tags=["playbooks"])


class AlertOut(Schema):
    id: int
    account_id: int
    rule: str
    signal: str
    level: str
    occurrence: str
    occurred_on: date
    status: str
    detail: dict[str, Any]
    created_at: datetime
    handled_at: datetime | None


def alert_out(alert: Alert) -> AlertOut:
    return AlertOut(
        id=alert.pk,
        account_id=alert.account_id,
        rule=alert.rule.key,
        signal=alert.signal,
        level=alert.level,
        occurrence=alert.occurrence,
        occurred_on=alert.occurred_on,
        status=alert.status,
        detail=alert.detail,
        created_at=alert.created_at,
        handled_at=alert.handled_at,
    )


@router.get("/alerts", response={200: PageOut[AlertOut], **ERRORS})
def list_alerts(
    request: HttpRequest,
    page: Query[PageIn],
    account_id: Query[Id | None] = None,
    status: Query[AlertStatus | None] = None,
    since: Query[date | None] = None,
) -> dict[str, Any]:
    """Alerts with the data that triggered them, newest first."""
    alerts = Alert.objects.filter(account__in=visible_accounts(request.user)).select_related("rule")
    if account_id:
        alerts = alerts.filter(account_id=account_id)
    if status:
        alerts = alerts.filter(status=status)
    if since:
        alerts = alerts.filter(occurred_on__gte=since)
    return paginated(alerts.order_by("-created_at", "-pk"), page, alert_out)
