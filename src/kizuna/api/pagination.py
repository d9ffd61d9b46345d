"""Limit/offset pagination with bounds every database accepts: ``{"items": [...], "count": n}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from ninja import Field, Schema

MAX_PAGE = 500

Out = TypeVar("Out")
M = TypeVar("M", bound=Model)


class PageIn(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE, description="Items per page.")
    offset: int = Field(0, ge=0, le=1_000_000_000, description="Items to skip.")


class PageOut(Schema, Generic[Out]):
    items: list[Out]
    count: int = Field(description="Items matching the filters, on all pages.")


def paginated(rows: QuerySet[M], page: PageIn, convert: Callable[[M], Out]) -> dict[str, Any]:
    items = [convert(row) for row in rows[page.offset : page.offset + page.limit]]
    return {"items": items, "count": rows.count()}
