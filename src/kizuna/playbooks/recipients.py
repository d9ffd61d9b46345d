"""Who a rule's action goes to: roles relative to the account, resolved to users.

``cs_owner`` is the account's CS owner (its sales owner when it has none), ``sales_owner`` its
sales owner, ``cs_lead`` the lead of the CS owner's team (else the first CS manager), and
``user:NAME`` one named user. A registry, so a team can add roles (a region's lead, support).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Q

from kizuna.crm.models import Account, Profile, Role


@dataclass
class People:
    """Team structure loaded once per run: who leads whom."""

    lead_of_user: dict[int, int] = field(default_factory=dict)
    fallback_lead: int | None = None
    user_ids_by_name: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls) -> People:
        people = cls()
        for user_id, lead_id in Profile.objects.filter(team__lead__isnull=False).values_list(
            "user_id", "team__lead_id"
        ):
            if lead_id is not None and lead_id != user_id:
                people.lead_of_user[user_id] = lead_id
        people.fallback_lead = (
            Profile.objects.filter(role=Role.CS_MANAGER)
            .order_by("user_id")
            .values_list("user_id", flat=True)
            .first()
        )
        return people

    def user_id(self, username: str) -> int | None:
        if username not in self.user_ids_by_name:
            found = (
                get_user_model()
                .objects.filter(Q(username=username))
                .values_list("pk", flat=True)
                .first()
            )
            if found is None:
                return None
            self.user_ids_by_name[username] = int(found)
        return self.user_ids_by_name[username]


Resolver = Callable[[Account, People], int | None]

RECIPIENTS: dict[str, Resolver] = {}


def register_recipient(name: str) -> Callable[[Resolver], Resolver]:
    def add(function: Resolver) -> Resolver:
        RECIPIENTS[name] = function
        return function

    return add


@register_recipient("cs_owner")
def _cs_owner(account: Account, people: People) -> int | None:
    return account.cs_owner_id or account.owner_id


@register_recipient("sales_owner")
def _sales_owner(account: Account, people: People) -> int | None:
    return account.owner_id or account.cs_owner_id


@register_recipient("cs_lead")
def _cs_lead(account: Account, people: People) -> int | None:
    owner = account.cs_owner_id or account.owner_id
    if owner is not None and owner in people.lead_of_user:
        return people.lead_of_user[owner]
    return people.fallback_lead


def is_known_recipient(name: str) -> bool:
    return name in RECIPIENTS or (name.startswith("user:") and len(name) > len("user:"))


def resolve(name: str, account: Account, people: People) -> int | None:
    """The user id ``name`` means for ``account``, or None when nobody holds that role."""
    if name.startswith("user:"):
        return people.user_id(name.removeprefix("user:"))
    return RECIPIENTS[name](account, people)


def resolve_all(names: list[str], account: Account, people: People) -> list[int]:
    """Distinct user ids, in the order given."""
    found: list[int] = []
    for name in names:
        user_id = resolve(name, account, people)
        if user_id is not None and user_id not in found:
            found.append(user_id)
    return found
