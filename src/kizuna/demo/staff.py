"""The demo company's people: users with roles and teams, all with the demo password."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from kizuna.crm.models import Profile, Team
from kizuna.demo.company import ADMIN_USERNAME, DEMO_PASSWORD, STAFF


@transaction.atomic
def ensure_staff() -> dict[str, AbstractBaseUser]:
    """Create the demo users, teams and profiles that do not exist yet; return users by name.

    Existing users are left as they are (a changed password stays changed).
    """
    user_model = get_user_model()
    # One hash for everyone: hashing is deliberately slow, and they share the password.
    password = make_password(DEMO_PASSWORD)
    users: dict[str, AbstractBaseUser] = {}
    teams: dict[str, Team] = {}
    for member in STAFF:
        user, _ = user_model.objects.get_or_create(
            username=member.username,
            defaults={
                "first_name": member.first_name,
                "last_name": member.last_name,
                "email": f"{member.username}@tsumugi.example.jp",
                "password": password,
                "is_staff": member.username == ADMIN_USERNAME,
                "is_superuser": member.username == ADMIN_USERNAME,
            },
        )
        users[member.username] = user
        team = None
        if member.team is not None:
            team = teams.get(member.team)
            if team is None:
                team, _created = Team.objects.get_or_create(name=member.team)
                teams[member.team] = team
            if team.lead_id is None and member.role in {"cs_manager", "sales"}:
                team.lead = user
                team.save(update_fields=["lead"])
        Profile.objects.get_or_create(user=user, defaults={"role": member.role, "team": team})
    return users
