"""Store fixtures for the deal actions and the board: the default pipelines, a few people, and
one prospect, Hikari KK, owned by the sales rep Sato with Aiko as CSM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from kizuna.crm.models import Account, Profile, Role
from kizuna.pipeline.actions import create_deal, install_default_pipelines
from kizuna.pipeline.models import Deal

PASSWORD = "pw-kizuna-123456"

# Everything a new-business deal needs to reach Final negotiation.
READY_FOR_WON = {
    "source": "webinar",
    "first_contact_on": "2024-01-10",
    "lead_score": "70",
    "bant_budget": "confirmed",
    "bant_authority": "CIO",
    "bant_need": "confirmed",
    "bant_timeline": "Q2",
    "trial_start": "2024-02-01",
    "proposed_plan": "Professional",
    "quote_amount": "120000",
    "decision_maker": "Tanaka",
    "approval_status": "approved",
}


def aware(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour))


@dataclass(frozen=True)
class People:
    sales: User
    other_sales: User
    csm: User
    executive: User
    hikari: Account
    password: str = PASSWORD


def _user(name: str, role: str) -> User:
    user = User.objects.create_user(name, password=PASSWORD)
    Profile.objects.create(user=user, role=role)
    return user


@pytest.fixture
def people(db: Any) -> People:
    install_default_pipelines()
    sales = _user("sato", Role.SALES)
    csm = _user("aiko", Role.CSM)
    hikari = Account.objects.create(
        name="Hikari KK", owner=sales, cs_owner=csm, created_at=aware(2024, 1, 5)
    )
    return People(
        sales=sales,
        other_sales=_user("suzuki", Role.SALES),
        csm=csm,
        executive=_user("erika", Role.EXECUTIVE),
        hikari=hikari,
    )


def negotiating_deal(
    people: People, amount: Decimal = Decimal(120000), account: Account | None = None
) -> Deal:
    """A new-business deal in Final negotiation with every earlier stage's fields filled."""
    return create_deal(
        account=account or people.hikari,
        pipeline="new_business",
        stage="final_negotiation",
        title="Hikari: Professional",
        close_date=date(2024, 3, 31),
        owner=people.sales,
        user=people.sales,
        amount_mrr=amount,
        values=READY_FOR_WON,
        created_on=date(2024, 1, 10),
        at=aware(2024, 3, 1),
    )
