"""The first sale of each account: a trial that converts or lapses, or a sales-led deal."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from kizuna.demo import company
from kizuna.demo.profiles import Arrival, Profile
from kizuna.demo.records import NewBusiness
from kizuna.demo.timeline import Timeline

PLAN_MIX: dict[str, tuple[tuple[str, float], ...]] = {
    "small": (("Starter", 0.7), ("Professional", 0.3)),
    "mid": (("Starter", 0.2), ("Professional", 0.65), ("Enterprise", 0.15)),
    "enterprise": (("Professional", 0.4), ("Enterprise", 0.6)),
}
ANNUAL_SHARE = {"small": 0.25, "mid": 0.45, "enterprise": 0.8}
# Share of accounts that never buy: prospects whose deal is lost or still open.
PROSPECT_SHARE = 0.22
# Trials last 14 days for small teams and 30 days where a pilot with IT is needed.
TRIAL_DAYS = {"small": 14, "mid": 30, "enterprise": 30}
# Sales cycle range in days, first contact to signature.
SALES_CYCLE_DAYS = {"small": (14, 60), "mid": (30, 100), "enterprise": (60, 180)}
PROSPECT_LOST_REASONS = (
    ("price", 0.2),
    ("competitor", 0.25),
    ("no_need", 0.2),
    ("timing", 0.15),
    ("no_response", 0.15),
    ("features", 0.05),
)
TRIAL_LOST_REASONS = (
    ("no_response", 0.35),
    ("no_need", 0.25),
    ("price", 0.15),
    ("competitor", 0.15),
    ("features", 0.1),
)


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([key for key, _ in weighted], weights=[w for _, w in weighted])[0]


def first_sale(
    rng: random.Random, profile: Profile, arrival: Arrival, timeline: Timeline
) -> NewBusiness:
    plan = _pick(rng, PLAN_MIX[profile.segment])
    # Teams start with a slice of the company and grow into more seats later.
    seats = max(company.MIN_SEATS[plan], round(profile.employees * rng.uniform(0.05, 0.3)))
    seats = min(seats, 2000)
    contract_months = 12 if rng.random() < ANNUAL_SHARE[profile.segment] else 1
    installed_base = arrival.month < 0
    channel = next(c for c in company.CHANNELS if c.key == arrival.channel)
    trial = profile.segment != "enterprise" and rng.random() < channel.trial_share
    prospect_only = not installed_base and rng.random() < PROSPECT_SHARE
    created_on = profile.created_on
    if trial and not prospect_only:
        trial_start = created_on + timedelta(days=rng.randrange(0, 4))
        trial_end = trial_start + timedelta(days=TRIAL_DAYS[profile.segment])
        conversion = min(0.9, max(0.1, 0.55 + 0.2 * profile.quality))
        converted = installed_base or rng.random() < conversion
        if trial_start > timeline.as_of:
            trial_start = timeline.as_of
            trial_end = trial_start + timedelta(days=TRIAL_DAYS[profile.segment])
        outcome = "open" if trial_end > timeline.as_of else "won" if converted else "lost"
        return NewBusiness(
            created_on=created_on,
            close_date=trial_end,
            closed_on=trial_end if outcome != "open" else None,
            outcome=outcome,
            plan=plan if outcome != "lost" else "Professional",
            seats=seats,
            mrr=Decimal(0),
            contract_months=contract_months,
            trial_start=trial_start,
            trial_end=trial_end,
            lost_reason=_pick(rng, TRIAL_LOST_REASONS) if outcome == "lost" else "",
        )
    low, high = SALES_CYCLE_DAYS[profile.segment]
    closed_on = created_on + timedelta(days=rng.randrange(low, high))
    if prospect_only:
        outcome = "open" if closed_on > timeline.as_of else "lost"
    else:
        outcome = "open" if closed_on > timeline.as_of else "won"
    return NewBusiness(
        created_on=created_on,
        close_date=closed_on,
        closed_on=closed_on if outcome != "open" else None,
        outcome=outcome,
        plan=plan,
        seats=seats,
        mrr=Decimal(0),
        contract_months=contract_months,
        trial_start=None,
        trial_end=None,
        lost_reason=_pick(rng, PROSPECT_LOST_REASONS) if outcome == "lost" else "",
    )
