"""State changes of health scores, each explicit and inside a transaction (SPEC H5).

Views, the admin, the API and the CLI call these; they do not write overrides themselves. The
:class:`~kizuna.health.models.HealthOverride` row is itself the account's timeline event: it
keeps the author, the reason and the time, and an ended override stays in the history.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kizuna.crm.actions import ActionError
from kizuna.crm.models import Account
from kizuna.health.models import HealthOverride, HealthStatus, Scorecard

__all__ = ["ActionError", "check_override", "clear_override", "override_score"]

# The score scale of every scorecard (100 = healthiest).
MAX_SCORE = Decimal(100)


def status_for_score(score: Decimal) -> str:
    """The status band of ``score`` in the global default scorecard (the shipped bands when
    no scorecard is stored yet)."""
    from kizuna.health.scorecards import DEFAULT_PRESET, load_preset

    row = Scorecard.objects.filter(is_default=True, touch_tier="").first()
    definition = row.parsed() if row is not None else load_preset(DEFAULT_PRESET)
    return definition.status_for(float(score))


def check_override(
    score: Decimal | float | int | None,
    reason: str,
    expires_on: date | None,
    status: str | None,
) -> tuple[Decimal | None, str]:
    """The checked score (one decimal) and status of an override; :class:`ActionError` names
    the problem. Without a score the status is required; without a status it is the score's
    band."""
    value = None if score is None else Decimal(str(score)).quantize(Decimal("0.1"))
    if value is not None and not Decimal(0) <= value <= MAX_SCORE:
        raise ActionError(_("The score must be between 0 and 100."))
    if not reason.strip():
        raise ActionError(_("An override needs a reason."))
    if expires_on is not None and expires_on <= timezone.localdate():
        raise ActionError(_("The expiry date must be after today."))
    if status is None or status == "":
        if value is None:
            raise ActionError(_("Give a score or a status."))
        status = status_for_score(value)
    elif status not in HealthStatus.values:
        raise ActionError(_("Unknown health status %(status)s.") % {"status": status})
    return value, status


@transaction.atomic
def override_score(
    account: Account,
    score: Decimal | float | int | None,
    reason: str,
    author: AbstractBaseUser,
    expires_on: date | None = None,
    *,
    status: str | None = None,
) -> HealthOverride:
    """Show ``score`` instead of the computed one from today until ``expires_on`` (exclusive;
    ``None`` = until cleared). The status is the score's band unless ``status`` is given. The
    computed score stays visible beside it; the newest live override wins."""
    value, status = check_override(score, reason, expires_on, status)
    return HealthOverride.objects.create(
        account=account,
        score=value,
        status=status,
        reason=reason.strip(),
        author_id=author.pk,
        expires_on=expires_on,
    )


@transaction.atomic
def clear_override(account: Account) -> int:
    """End the account's live overrides today, so the computed score shows again; returns how
    many were ended. Ended overrides stay in the history."""
    today = timezone.localdate()
    live = HealthOverride.objects.select_for_update().filter(
        Q(expires_on__isnull=True) | Q(expires_on__gt=today), account=account
    )
    return live.update(expires_on=today)
