"""A small company for the page tests: one user per role, two CSMs' books, exact results.

Acme (CSM Aiko, sales Sato) starts paying 100,000 yen in January 2024 for Core and adds
the 20,000 yen Analytics add-on in February; Globex (CSM Ben) pays 50,000 yen for Core.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from web_pages import PASSWORD, Company

from kizuna.billing.models import CohortCell, CustomerMrr, PeriodKind, ProductMrr, RevenueKpi
from kizuna.crm.models import (
    Account,
    AccountStatus,
    Activity,
    ActivityType,
    Contact,
    LifecycleStage,
    Profile,
    Role,
    Task,
    Team,
    TouchTier,
)
from kizuna.pipeline.models import Deal, DealStatus, Pipeline, PipelineKind, Stage
from kizuna.usage.models import UsageDaily

JAN, FEB = date(2024, 1, 1), date(2024, 2, 1)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # The default hasher is slow on purpose; these tests log in dozens of users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _user(name: str, role: str | None, team: Team | None = None) -> User:
    user = User.objects.create_user(name, password=PASSWORD, is_superuser=role is None)
    if role is not None:
        Profile.objects.create(user=user, role=role, team=team)
    return user


def _aware(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour))


@pytest.fixture
def company(db: Any) -> Company:
    team = Team.objects.create(name="CS East")
    users = {
        "admin": _user("admin", None),
        "executive": _user("erika", Role.EXECUTIVE),
        "sales": _user("sato", Role.SALES),
        "cs_manager": _user("mori", Role.CS_MANAGER, team),
        "csm": _user("aiko", Role.CSM, team),
        "other_csm": _user("ben", Role.CSM),
    }
    acme = Account.objects.create(
        name="Acme KK",
        external_id="C-1",
        industry="Manufacturing",
        owner=users["sales"],
        cs_owner=users["csm"],
        status=AccountStatus.CUSTOMER,
        lifecycle_stage=LifecycleStage.ADOPTION,
        touch_tier=TouchTier.HIGH,
        plan="Professional",
        renewal_date=date(2025, 1, 1),
        created_at=_aware(2023, 12, 1),
    )
    globex = Account.objects.create(
        name="Globex GK",
        external_id="C-2",
        cs_owner=users["other_csm"],
        status=AccountStatus.CUSTOMER,
        touch_tier=TouchTier.LOW,
        plan="Starter",
        created_at=_aware(2023, 12, 1),
    )
    CustomerMrr.objects.bulk_create(
        [
            CustomerMrr(account=acme, month=JAN, mrr=100000, movement="new", delta=100000),
            CustomerMrr(account=acme, month=FEB, mrr=120000, movement="expansion", delta=20000),
            CustomerMrr(account=globex, month=JAN, mrr=50000, movement="new", delta=50000),
            CustomerMrr(account=globex, month=FEB, mrr=50000, movement="none", delta=0),
        ]
    )
    ProductMrr.objects.bulk_create(
        [
            ProductMrr(
                account=acme, product="Core", month=JAN, mrr=100000, movement="new", delta=100000
            ),
            ProductMrr(account=acme, product="Core", month=FEB, mrr=100000, movement="", delta=0),
            ProductMrr(
                account=acme, product="Analytics", month=FEB, mrr=20000, movement="new", delta=20000
            ),
            ProductMrr(
                account=globex, product="Core", month=JAN, mrr=50000, movement="new", delta=50000
            ),
            ProductMrr(account=globex, product="Core", month=FEB, mrr=50000, movement="", delta=0),
        ]
    )
    RevenueKpi.objects.create(
        period_kind=PeriodKind.MONTH,
        period_start=JAN,
        values={
            "mrr": "150000",
            "arr": "1800000",
            "customers": 2,
            "arpa": "75000",
            "new_mrr": "150000",
            "expansion_mrr": "0",
            "contraction_mrr": "0",
            "churned_mrr": "0",
            "reactivation_mrr": "0",
            "fx_mrr": "0",
            "net_new_mrr": "150000",
            "logo_churn_rate": None,
            "gross_mrr_churn_rate": None,
            "nrr": None,
            "grr": None,
        },
    )
    RevenueKpi.objects.create(
        period_kind=PeriodKind.MONTH,
        period_start=FEB,
        values={
            "mrr": "170000",
            "arr": "2040000",
            "customers": 2,
            "arpa": "85000",
            "new_mrr": "0",
            "expansion_mrr": "20000",
            "contraction_mrr": "5000",
            "churned_mrr": "0",
            "reactivation_mrr": "0",
            "fx_mrr": "0",
            "net_new_mrr": "15000",
            "logo_churn_rate": "0",
            "gross_mrr_churn_rate": "0.0333333333",
            "nrr": "1.1",
            "grr": "0.9666666667",
            "nrr_12m": "1.12",
            "grr_12m": "0.93",
            "quick_ratio": "4",
            "ltv_cac": "3.5",
            "payback_months": "11.2",
        },
    )
    RevenueKpi.objects.create(
        period_kind=PeriodKind.QUARTER,
        period_start=JAN,
        values={"ltv": "2550000", "cac": "728571", "ltv_cac": "3.5", "payback_months": "11.2"},
    )
    CohortCell.objects.bulk_create(
        [
            CohortCell(
                cohort=JAN,
                months_since=0,
                customers=2,
                mrr=150000,
                logo_retention=Decimal(1),
                mrr_retention=Decimal(1),
            ),
            CohortCell(
                cohort=JAN,
                months_since=1,
                customers=2,
                mrr=170000,
                logo_retention=Decimal(1),
                mrr_retention=Decimal("1.133333"),
            ),
        ]
    )
    UsageDaily.objects.bulk_create(
        [
            UsageDaily(account=acme, date=date(2024, 2, 20), logins=12, active_users=8),
            UsageDaily(account=globex, date=date(2024, 1, 10), logins=3, active_users=2),
            UsageDaily(account=globex, date=date(2024, 2, 10), logins=0, active_users=0),
        ]
    )
    contact = Contact.objects.create(account=acme, name="Tanaka Hanako", title="CIO")
    Activity.objects.create(
        account=acme,
        contact=contact,
        type=ActivityType.QBR,
        occurred_at=_aware(2024, 2, 10),
        subject="Q1 business review",
        author=users["csm"],
    )
    Task.objects.create(account=acme, title="Send QBR summary", assignee=users["csm"])
    pipeline = Pipeline.objects.create(
        key="new", name="New business", kind=PipelineKind.NEW_BUSINESS
    )
    proposal = Stage.objects.create(
        pipeline=pipeline, key="proposal", name="Proposal", order=5, probability=Decimal("0.55")
    )
    won = Stage.objects.create(
        pipeline=pipeline, key="won", name="Won", order=7, probability=Decimal(1), outcome="won"
    )
    Deal.objects.create(
        title="Acme expansion seats",
        pipeline=pipeline,
        stage=proposal,
        account=acme,
        owner=users["sales"],
        amount_mrr=Decimal(40000),
        created_on=date(2024, 1, 15),
        close_date=date(2024, 3, 31),
    )
    Deal.objects.create(
        title="Globex renewal",
        pipeline=pipeline,
        stage=proposal,
        account=globex,
        amount_mrr=Decimal(10000),
        created_on=date(2024, 1, 15),
        close_date=date(2024, 3, 31),
    )
    Deal.objects.create(
        title="Acme first contract",
        pipeline=pipeline,
        stage=won,
        account=acme,
        owner=users["sales"],
        status=DealStatus.WON,
        source="webinar",
        amount_mrr=Decimal(100000),
        created_on=date(2023, 11, 1),
        close_date=date(2023, 12, 20),
        closed_on=date(2023, 12, 20),
    )
    return Company(users=users, acme=acme, globex=globex)
