"""Raw signals: every churn signal and expansion trigger detected as of a day, rule or no rule.

Alerts (``/alerts``) are what the playbook rules made of the signals; this is the detection
itself, as ``kizuna signals`` gives it from a CSV folder, here run over the store with the
team's thresholds and business calendar, as the daily run detects them. Detection reads the
store and runs in the engine on each request, so a large store answers in seconds; the rows
are then limited to the accounts the caller may see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from kizuna.api.errors import ERRORS, ApiError
from kizuna.api.pagination import PageIn, PageOut
from kizuna.api.schemas import Id, Text
from kizuna.crm.access import visible_accounts
from kizuna.engine.backends import connect
from kizuna.engine.signals import SIGNAL_DETECTORS, detect_signals
from kizuna.playbooks.context import calendar_from_settings, current_settings
from kizuna.playbooks.runner import signal_settings
from kizuna.playbooks.store_inputs import StoreSnapshot

router = Router(tags=["playbooks"])

# Detection looks back months from the as-of day; these bounds keep that arithmetic inside
# the dates every database and the engine accept.
EARLIEST_AS_OF = date(1971, 1, 1)
LATEST_AS_OF = date(2999, 12, 31)


class SignalOut(Schema):
    account_id: int
    signal: str
    kind: str = Field(description="churn or expansion.")
    level: str
    occurrence: str = Field(description="Identifies one episode; the alert key of rules.")
    occurred_on: date
    detail: dict[str, Any] = Field(description="The figures that made it fire.")


class SignalFilters(Schema):
    as_of: date | None = Field(
        None,
        ge=EARLIEST_AS_OF,
        le=LATEST_AS_OF,
        description="Detect as of the end of this day (default: today).",
    )
    account_id: Id | None = None
    signal: Text | None = Field(None, description="A signal name, e.g. usage_drop.")
    level: Literal["low", "medium", "high"] | None = None
    occurred_from: date | None = Field(None, description="Occurred on or after (inclusive).")
    occurred_to: date | None = Field(None, description="Occurred on or before (inclusive).")


@dataclass(frozen=True)
class _Detected:
    account_id: int
    row: dict[str, Any]


def _detect(as_of: date, names: list[str] | None) -> list[_Detected]:
    settings = current_settings()
    thresholds = signal_settings(settings.signal_settings, calendar_from_settings(settings))
    inputs = StoreSnapshot(as_of).signal_inputs()
    rows = detect_signals(inputs, as_of, thresholds, names, backend=connect("duckdb"))
    return [_Detected(int(row["customer_id"]), row) for row in rows.to_pylist()]


def _signal_out(found: _Detected) -> SignalOut:
    row = found.row
    return SignalOut(
        account_id=found.account_id,
        signal=row["signal"],
        kind=SIGNAL_DETECTORS[row["signal"]].kind,
        level=row["level"],
        occurrence=row["occurrence"],
        occurred_on=row["occurred_on"],
        detail=json.loads(row["detail"]) if row["detail"] else {},
    )


@router.get("/signals", response={200: PageOut[SignalOut], **ERRORS})
def list_signals(
    request: HttpRequest, page: Query[PageIn], filters: Query[SignalFilters]
) -> dict[str, Any]:
    """Signals detected as of a day on the accounts you may see, by account, signal and
    occurrence. Detectors whose inputs the store lacks (no tickets, no usage) are skipped."""
    if filters.signal and filters.signal not in SIGNAL_DETECTORS:
        raise ApiError(
            422,
            "unknown_signal",
            gettext("Unknown signal %(name)s; known: %(known)s.")
            % {"name": filters.signal, "known": ", ".join(sorted(SIGNAL_DETECTORS))},
        )
    visible = visible_accounts(request.user)
    if filters.account_id:
        visible = visible.filter(pk=filters.account_id)
    allowed = set(visible.values_list("pk", flat=True))
    if not allowed:
        return {"items": [], "count": 0}
    as_of = filters.as_of or timezone.localdate()
    found = [
        item
        for item in _detect(as_of, [filters.signal] if filters.signal else None)
        if item.account_id in allowed
        and (filters.level is None or item.row["level"] == filters.level)
        and (filters.occurred_from is None or item.row["occurred_on"] >= filters.occurred_from)
        and (filters.occurred_to is None or item.row["occurred_on"] <= filters.occurred_to)
    ]
    window = found[page.offset : page.offset + page.limit]
    return {"items": [_signal_out(item) for item in window], "count": len(found)}
