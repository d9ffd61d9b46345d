"""Summaries the customer-success dashboard reads, written by the ``cs-summary`` recompute.

The page would otherwise count every health score of the day, every NPS answer of the period
and every score of every churned account on each request. Each summary is kept per owner pair
(CS owner, sales owner): a book of business is a set of such pairs, so its figures are sums of
rows. Owners are those of the recompute: an account moved to another owner counts in the new
book from the next recompute.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Count, Q, QuerySet

from kizuna.crm.models import Account, ChurnRecord
from kizuna.health.models import BandCount, HealthScore, NpsMonth, PreChurnScores
from kizuna.usage.models import NpsResponse

# Score trajectories before churn: six months back shows the slide the seeds talk about.
PRE_CHURN_MONTHS = 6
DAYS_PER_MONTH = 30
BATCH = 5000

Owners = tuple[int | None, int | None]
"""An account's (CS owner id, sales owner id)."""


@dataclass(frozen=True)
class CsSummaryOutcome:
    band_counts: int
    nps_months: int
    pre_churn_scores: int

    @property
    def rows(self) -> int:
        return self.band_counts + self.nps_months + self.pre_churn_scores


def band_counts() -> list[BandCount]:
    """Accounts per band, day and owner pair (an account scored by two scorecards on a day
    counts once per band it is in, as on the page)."""
    groups = (
        HealthScore.objects.values("date", "status", "account__cs_owner_id", "account__owner_id")
        .annotate(accounts=Count("account_id", distinct=True))
        .order_by()
    )
    return [
        BandCount(
            date=group["date"],
            status=group["status"],
            cs_owner_id=group["account__cs_owner_id"],
            owner_id=group["account__owner_id"],
            accounts=group["accounts"],
        )
        for group in groups
    ]


def nps_months() -> list[NpsMonth]:
    """Answers per month and owner pair, counted per day in the database and added up here."""
    days = (
        NpsResponse.objects.values("responded_on", "account__cs_owner_id", "account__owner_id")
        .annotate(
            responses=Count("id"),
            promoters=Count("id", filter=Q(score__gte=9)),
            detractors=Count("id", filter=Q(score__lte=6)),
        )
        .order_by()
    )
    months: dict[tuple[date, int | None, int | None], NpsMonth] = {}
    for day in days:
        key = (
            day["responded_on"].replace(day=1),
            day["account__cs_owner_id"],
            day["account__owner_id"],
        )
        row = months.get(key)
        if row is None:
            row = months[key] = NpsMonth(
                month=key[0],
                cs_owner_id=key[1],
                owner_id=key[2],
                responses=0,
                promoters=0,
                detractors=0,
            )
        row.responses += day["responses"]
        row.promoters += day["promoters"]
        row.detractors += day["detractors"]
    return list(months.values())


def _churn_dates(churns: Iterable[tuple[int, date]]) -> dict[int, list[tuple[date, date | None]]]:
    """Each account's churn days with the month of its next churn."""
    days: dict[int, list[date]] = defaultdict(list)
    for account_id, churned_on in churns:
        days[account_id].append(churned_on)
    return {
        account_id: [
            (day, following.replace(day=1) if following else None)
            for day, following in zip(sorted(dates), [*sorted(dates)[1:], None], strict=True)
        ]
        for account_id, dates in days.items()
    }


def pre_churn_scores(accounts: QuerySet[Account] | None = None) -> list[PreChurnScores]:
    """Scores of every churned account (of ``accounts``, default all) in the 30-day months
    before each of its churns, summed in tenths (integers, so the page's averages are exact)."""
    records = ChurnRecord.objects.all()
    if accounts is not None:
        records = records.filter(account__in=accounts)
    churns = _churn_dates(records.values_list("account_id", "churned_on"))
    owners: dict[int, Owners] = {
        pk: (cs_owner_id, owner_id)
        for pk, cs_owner_id, owner_id in Account.objects.filter(pk__in=list(churns)).values_list(
            "pk", "cs_owner_id", "owner_id"
        )
    }
    sums: dict[tuple[date, date | None, Owners, int], list[int]] = {}
    scores = HealthScore.objects.filter(account__in=records.values("account_id")).values_list(
        "account_id", "date", "score"
    )
    for account_id, day, score in scores.iterator(chunk_size=BATCH):
        if score is None:  # a band without a score (insufficient data)
            continue
        for churned_on, next_churn_month in churns[account_id]:
            months = (churned_on - day).days // DAYS_PER_MONTH
            if 0 <= months <= PRE_CHURN_MONTHS:
                key = (churned_on.replace(day=1), next_churn_month, owners[account_id], months)
                total = sums.setdefault(key, [0, 0])
                total[0] += int(score * 10)
                total[1] += 1
    return [
        PreChurnScores(
            churn_month=churn_month,
            next_churn_month=next_churn_month,
            cs_owner_id=cs_owner_id,
            owner_id=owner_id,
            months_before=months,
            tenths=tenths,
            scores=count,
        )
        for (churn_month, next_churn_month, (cs_owner_id, owner_id), months), (
            tenths,
            count,
        ) in sums.items()
    ]


def recompute_cs_summary() -> CsSummaryOutcome:
    """Replaces the three summaries at once: a failure leaves the previous ones in place."""
    bands, nps, pre_churn = band_counts(), nps_months(), pre_churn_scores()
    with transaction.atomic():
        for model in (BandCount, NpsMonth, PreChurnScores):
            model.objects.all().delete()
        BandCount.objects.bulk_create(bands, batch_size=BATCH)
        NpsMonth.objects.bulk_create(nps, batch_size=BATCH)
        PreChurnScores.objects.bulk_create(pre_churn, batch_size=BATCH)
    return CsSummaryOutcome(len(bands), len(nps), len(pre_churn))
