"""Who may see which accounts: the one place the book-of-business rule lives.

Executives and admins see every account; a CS manager sees the accounts of their team; a CSM
or a sales rep sees the accounts they own (as CS owner or sales owner).
"""

from __future__ import annotations

from typing import cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from kizuna.crm.models import Account, Profile, Role

SEE_EVERYTHING = frozenset({Role.ADMIN, Role.EXECUTIVE})


def role_of(user: AbstractBaseUser | AnonymousUser) -> str | None:
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    user_pk = cast(int, user.pk)
    return Profile.objects.filter(user_id=user_pk).values_list("role", flat=True).first()


def visible_accounts(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    role = role_of(user)
    accounts = Account.objects.all()
    user_pk = cast(int, user.pk)
    if role in SEE_EVERYTHING:
        return accounts
    if role == Role.CS_MANAGER:
        profile = Profile.objects.filter(user_id=user_pk).first()
        if profile is None or profile.team_id is None:
            return accounts.filter(Q(cs_owner_id=user_pk) | Q(owner_id=user_pk))
        members = Profile.objects.filter(team_id=profile.team_id).values_list("user_id", flat=True)
        return accounts.filter(Q(cs_owner_id__in=members) | Q(owner_id__in=members))
    if role in {Role.CSM, Role.SALES}:
        return accounts.filter(Q(cs_owner_id=user_pk) | Q(owner_id=user_pk))
    return accounts.none()
