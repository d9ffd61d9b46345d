"""Raw signals: every churn signal and expansion trigger detected as of a day, rule or no rule.

Alerts (``/alerts``) are what the playbook rules made of the signals; this is the detection
itself, as each real playbook run (``kizuna playbooks run``, the daily job, ``kizuna
recompute``) stores it for its day with the team's thresholds and business calendar. Requests
read the stored rows, limited to the accounts the caller may see; nothing is detected here.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from kizuna.api.errors import ERRORS, ApiError
from kizuna.api.pagination import PageIn, PageOut
from kizuna.api.schemas import Id, Text
from kizuna.crm.access import visible_accounts
from kizuna.engine.signals import SIGNAL_DETECTORS
from kizuna.playbooks.models import DetectedSignal
from kizuna.playbooks.signal_store import latest_stored_day

router = Router(tags=["playbooks"])

# The days a playbook run can be as of (its detection looks back months from the day): any
# other day is refused as invalid rather than answered as a day with no signals.
EARLIEST_AS_OF = date(1971, 1, 1)
LATEST_AS_OF = date(2999, 12, 31)


class SignalOut(Schema):
    account_id: int
    signal: str
    kind: str = Field(description="churn or expansion.")
    level: str
    occurrence: str = Field(description="Identifies one episode; the alert key of rules.")
    occurred_on: date
    as_of: date = Field(description="The day of the playbook run that detected it.")
    detail: dict[str, Any] = Field(description="The figures that made it fire.")


class SignalFilters(Schema):
    as_of: date | None = Field(
        None,
        ge=EARLIEST_AS_OF,
        le=LATEST_AS_OF,
        description="A day a playbook run stored its signals for (default: the latest such day).",
    )
    account_id: Id | None = None
    signal: Text | None = Field(None, description="A signal name, e.g. usage_drop.")
    level: Literal["low", "medium", "high"] | None = None
    occurred_from: date | None = Field(None, description="Occurred on or after (inclusive).")
    occurred_to: date | None = Field(None, description="Occurred on or before (inclusive).")


def _signal_out(row: DetectedSignal) -> SignalOut:
    return SignalOut(
        account_id=row.account_id,
        signal=row.signal,
        kind=row.kind,
        level=row.level,
        occurrence=row.occurrence,
        occurred_on=row.occurred_on,
        as_of=row.as_of,
        detail=row.detail,
    )


@router.get("/signals", response={200: PageOut[SignalOut], **ERRORS})
def list_signals(
    request: HttpRequest, page: Query[PageIn], filters: Query[SignalFilters]
) -> dict[str, Any]:
    """Signals the playbook run stored for a day, on the accounts you may see, by account,
    signal and occurrence. A day no run stored (or before the first run) has none."""
    if filters.signal and filters.signal not in SIGNAL_DETECTORS:
        raise ApiError(
            422,
            "unknown_signal",
            gettext("Unknown signal %(name)s; known: %(known)s.")
            % {"name": filters.signal, "known": ", ".join(sorted(SIGNAL_DETECTORS))},
        )
    as_of = filters.as_of or latest_stored_day()
    if as_of is None:
        return {"items": [], "count": 0}
    visible = visible_accounts(request.user)
    if filters.account_id:
        visible = visible.filter(pk=filters.account_id)
    rows = DetectedSignal.objects.filter(as_of=as_of, account__in=visible.values("pk"))
    if filters.signal:
        rows = rows.filter(signal=filters.signal)
    if filters.level:
        rows = rows.filter(level=filters.level)
    if filters.occurred_from:
        rows = rows.filter(occurred_on__gte=filters.occurred_from)
    if filters.occurred_to:
        rows = rows.filter(occurred_on__lte=filters.occurred_to)
    rows = rows.order_by("account_id", "signal", "occurrence")
    window = rows[page.offset : page.offset + page.limit]
    return {"items": [_signal_out(row) for row in window], "count": rows.count()}
