"""The sales-page company: the page-test company (``conftest.company``) with a few more deals
and its forecast stored as of 15 March 2024.

Open in Proposal (55 %): Acme expansion seats (Sato, 40,000 yen, closes March), Globex renewal
(no owner, 10,000 yen, March), Globex add-on (Ben, 30,000 yen, April) and Acme US office (Sato,
1,500.50 USD, April). Won: Acme first contract (Sato, webinar, 100,000 yen, 20 December 2023,
trial from 6 November). Lost: Initech pilot (Sato, webinar, 20,000 yen, price, in Proposal
20 January → Lost 10 February, trial from 10 January). Spend: webinar 300,000 yen in January
2024.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.utils import timezone
from web_pages import Company

from kizuna.billing.models import MarketingSpend
from kizuna.crm.models import Account
from kizuna.pipeline.models import Deal, DealStageChange, DealStatus, Stage
from kizuna.sources.store_deals import recompute_forecast

AS_OF = date(2024, 3, 15)


def _at(year: int, month: int, day: int) -> datetime:
    return timezone.make_aware(datetime(year, month, day, 10))


@pytest.fixture
def forecast(company: Company) -> Company:
    proposal = Stage.objects.get(key="proposal")
    lost = Stage.objects.create(
        pipeline=proposal.pipeline, key="lost", name="Lost", order=8, probability=0, outcome="lost"
    )
    common = {"pipeline": proposal.pipeline, "created_on": date(2024, 2, 1)}
    Deal.objects.create(
        title="Globex add-on",
        stage=proposal,
        account=company.globex,
        owner=company.users["other_csm"],
        amount_mrr=Decimal(30000),
        close_date=date(2024, 4, 30),
        **common,
    )
    Deal.objects.create(
        title="Acme US office",
        stage=proposal,
        account=company.acme,
        owner=company.users["sales"],
        amount_mrr=Decimal("1500.50"),
        currency="USD",
        close_date=date(2024, 4, 10),
        **common,
    )
    Deal.objects.filter(title="Acme first contract").update(trial_start=date(2023, 11, 6))
    initech = Account.objects.create(
        name="Initech", owner=company.users["sales"], created_at=_at(2024, 1, 5)
    )
    pilot = Deal.objects.create(
        title="Initech pilot",
        stage=lost,
        account=initech,
        owner=company.users["sales"],
        status=DealStatus.LOST,
        lost_reason="price",
        source="webinar",
        amount_mrr=Decimal(20000),
        trial_start=date(2024, 1, 10),
        close_date=date(2024, 2, 29),
        closed_on=date(2024, 2, 10),
        pipeline=proposal.pipeline,
        created_on=date(2024, 1, 20),
    )
    DealStageChange.objects.create(deal=pilot, to_stage=proposal, changed_at=_at(2024, 1, 20))
    DealStageChange.objects.create(
        deal=pilot, from_stage=proposal, to_stage=lost, changed_at=_at(2024, 2, 10)
    )
    MarketingSpend.objects.create(month=date(2024, 1, 1), channel="webinar", amount=300000)
    recompute_forecast(AS_OF)
    return company
