"""API tokens: created once and shown once; only their SHA-256 hash is kept."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from kizuna.api.models import ApiToken

# The prefix makes a leaked token recognisable in logs and secret scanners.
TOKEN_PREFIX = "kz_"
# Writing ``last_used_at`` on every request would turn each read into a write; once a minute
# is precise enough to see which tokens are in use.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_token(user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns the stored record and the token text (shown once)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user_id=user.pk, name=name, token_hash=hash_token(raw), prefix=raw[:10]
    )
    return token, raw


def user_for_token(raw: str) -> AbstractBaseUser | None:
    """The active user a token acts for, or ``None``; records when the token was last used."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(raw), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
