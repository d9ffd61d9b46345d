"""Bulk usage ingestion, exactly once per ``Idempotency-Key``."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Header, Router

from kizuna.api.errors import ERRORS
from kizuna.api.schemas import Text, UsageBatchIn, UsageBatchOut
from kizuna.api.usage_ingest import ingest_usage

router = Router(tags=["usage"])


@router.post("/usage", response={200: UsageBatchOut, **ERRORS})
def post_usage(
    request: HttpRequest,
    payload: UsageBatchIn,
    idempotency_key: Header[Text] = "",
) -> tuple[int, dict[str, object]]:
    """Add a batch of daily usage rows (counters add up, gauges replace the day's value).

    Send a unique ``Idempotency-Key`` header per batch; retrying with the same key and body
    returns the first answer (``replayed: true``) and never counts twice.
    """
    result = ingest_usage(request.user, idempotency_key, payload.rows)  # type: ignore[arg-type]
    return result.status, result.body
