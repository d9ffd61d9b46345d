"""Who may see which accounts: the one place the book-of-business rule lives.

Executives and admins see every account; a CS manager sees the accounts of their team; a CSM
or a sales rep sees the accounts they own (as CS owner or sales owner).
"""

from __future__ import annotations

from typing import cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from kizuna.crm.models import Account, Profile, Role, Segment

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


def may_edit_account(
    user: AbstractBaseUser | AnonymousUser, account: Account, role: str | None = None
) -> bool:
    """Whether ``user`` may change the account's customer-success record (a health override).

    Admins may; so may the account's CS owner and the CS manager of the CS owner's team.
    Executives read everything and change nothing; sales owners read their accounts. Pass
    ``role`` when the caller has already read it (:func:`role_of`), to save a query.
    """
    role = role or role_of(user)
    if role == Role.ADMIN:
        return True
    if role in (None, Role.EXECUTIVE) or account.cs_owner_id is None:
        return False
    if account.cs_owner_id == user.pk:
        return True
    if role != Role.CS_MANAGER:
        return False
    team_id = Profile.objects.filter(user_id=cast(int, user.pk)).values_list("team_id", flat=True)
    return Profile.objects.filter(user_id=account.cs_owner_id, team_id__in=team_id).exists()


# Who may offer a segment to everyone: the people who set up how the team works.
SHARE_SEGMENTS = frozenset({Role.ADMIN, Role.CS_MANAGER})


def visible_segments(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Segment]:
    """The shared segments and the user's own. Using one never widens the accounts the user
    sees: a segment only narrows :func:`visible_accounts`."""
    if not user.is_authenticated:
        return Segment.objects.none()
    return Segment.objects.filter(Q(shared=True) | Q(owner_id=cast(int, user.pk)))


def may_save_segments(role: str | None, *, shared: bool) -> bool:
    """Anyone signed in may save a personal segment (it changes no account); sharing one is
    for admins and CS managers."""
    if role is None:
        return False
    return not shared or role in SHARE_SEGMENTS


def may_delete_segment(user: AbstractBaseUser | AnonymousUser, segment: Segment) -> bool:
    """Its owner, or an admin, may delete a segment."""
    return segment.owner_id == user.pk or role_of(user) == Role.ADMIN
