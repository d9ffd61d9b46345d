"""Manual overrides (SPEC H5), the pure part: which override applies on a day.

An override replaces the shown score and status from its creation until ``expires_on``
(exclusive: on ``expires_on`` the computed score shows again). The computed score always stays
visible beside it. When several overrides are live, the most recently created one wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class OverrideFacts:
    score: float | None
    status: str
    reason: str
    author: str
    created_at: datetime
    expires_on: date | None
    """``None`` = until removed."""

    def is_active(self, day: date) -> bool:
        if self.created_at.date() > day:
            return False
        return self.expires_on is None or day < self.expires_on


@dataclass(frozen=True)
class ShownHealth:
    """What an account page shows: the effective score and status, and the computed ones."""

    score: float | None
    status: str
    computed_score: float | None
    computed_status: str
    override: OverrideFacts | None


def active_override(overrides: Iterable[OverrideFacts], day: date) -> OverrideFacts | None:
    live = [override for override in overrides if override.is_active(day)]
    return max(live, key=lambda override: override.created_at, default=None)


def shown_health(
    computed_score: float | None,
    computed_status: str,
    overrides: Iterable[OverrideFacts],
    day: date,
) -> ShownHealth:
    override = active_override(overrides, day)
    if override is None:
        return ShownHealth(computed_score, computed_status, computed_score, computed_status, None)
    return ShownHealth(override.score, override.status, computed_score, computed_status, override)
