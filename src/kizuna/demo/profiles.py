"""Who the accounts are: arrival month and channel, name, size, industry, country, first sale."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta

from kizuna.demo.company import (
    CHANNELS,
    ENGLISH_PREFIXES,
    ENGLISH_SUFFIXES,
    INDUSTRIES,
    NAME_PREFIXES,
    NAME_SUFFIXES,
)
from kizuna.demo.timeline import Timeline

# Share of the accounts that were already customers before the simulated period starts, so
# the first months show an installed base instead of a company founded that month.
INSTALLED_BASE_SHARE = 0.2
# How far back the installed base reaches (months before the first simulated month).
INSTALLED_BASE_MONTHS = 24
# Monthly growth of new-account arrivals: a company growing its top of funnel ~30 % a year.
ARRIVAL_GROWTH = 1.022
# Share of overseas customers, billed in USD.
OVERSEAS_SHARE = 0.04
OVERSEAS_COUNTRIES: tuple[str, ...] = ("US", "SG", "GB", "AU")


@dataclass(frozen=True)
class Arrival:
    month: int
    """Month index of the first contact (negative for the installed base)."""
    channel: str


def arrival_schedule(rng: random.Random, accounts: int, timeline: Timeline) -> list[Arrival]:
    """When and through which channel each account arrives, oldest first (ids follow it)."""
    installed = round(accounts * INSTALLED_BASE_SHARE)
    months = [rng.randrange(-INSTALLED_BASE_MONTHS, 0) for _ in range(installed)]
    weights = [ARRIVAL_GROWTH**month for month in range(timeline.months)]
    months += rng.choices(range(timeline.months), weights=weights, k=accounts - installed)
    months.sort()
    channel_keys = [channel.key for channel in CHANNELS]
    shares = [channel.arrival_share for channel in CHANNELS]
    return [Arrival(month, rng.choices(channel_keys, weights=shares)[0]) for month in months]


@dataclass(frozen=True)
class Profile:
    name: str
    industry: str
    employees: int
    country: str
    currency: str
    segment: str
    created_on: date
    quality: float


def company_name(rng: random.Random, overseas: bool) -> str:
    if overseas or rng.random() < 0.06:
        return f"{rng.choice(ENGLISH_PREFIXES)} {rng.choice(ENGLISH_SUFFIXES)}"
    core = rng.choice(NAME_PREFIXES) + rng.choice(NAME_SUFFIXES)
    # 株式会社 goes before or after the name, as in real registrations (前株 / 後株).
    return f"株式会社{core}" if rng.random() < 0.6 else f"{core}株式会社"


def segment_of(employees: int) -> str:
    if employees >= 1000:
        return "enterprise"
    return "mid" if employees >= 100 else "small"


def draw_profile(rng: random.Random, arrival: Arrival, timeline: Timeline) -> Profile:
    # Employee counts of B2B SaaS customers are roughly log-normal: many small firms, a long
    # tail of large ones. Median ~90 employees.
    employees = int(min(30_000, max(5, math.exp(rng.gauss(math.log(90), 1.25)))))
    overseas = rng.random() < OVERSEAS_SHARE
    country = rng.choice(OVERSEAS_COUNTRIES) if overseas else "JP"
    start = timeline.month_start(arrival.month)
    created_on = start + timedelta(days=rng.randrange(0, 28))
    created_on = min(created_on, timeline.as_of)
    return Profile(
        name=company_name(rng, overseas),
        industry=rng.choice(INDUSTRIES),
        employees=employees,
        country=country,
        currency="USD" if overseas else "JPY",
        segment=segment_of(employees),
        created_on=created_on,
        quality=rng.gauss(0.0, 1.0),
    )
