"""The customer-success charts that count many rows: health bands, NPS, scores before churn.

For a book of business they add up the rows of the ``cs-summary`` recompute
(:mod:`kizuna.sources.store_cs_summary`), kept per owner pair so that the page never counts
every score of the day. A saved segment cuts across owners, so for a segment the same
figures are counted over the segment's accounts on the request (:class:`SegmentCounts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from kizuna.crm.models import Account
from kizuna.health.models import (
    BandCount,
    HealthScore,
    HealthStatus,
    NpsMonth,
    OwnedSummary,
    PreChurnScores,
)
from kizuna.sources.store_cs_summary import PRE_CHURN_MONTHS, Owners, pre_churn_scores
from kizuna.usage.models import NpsResponse
from kizuna.web.charts import COLORS, Chart, Series, embed, series_figure
from kizuna.web.filters import MonthRange, add_months
from kizuna.web.tables import Column, Table

BAND_COLORS: dict[str, str] = {
    HealthStatus.HEALTHY: "#1e7b3c",
    HealthStatus.CAUTION: "#d9a300",
    HealthStatus.RISK: "#e0701b",
    HealthStatus.CRITICAL: "#b42318",
    HealthStatus.ONBOARDING: "#56B4E9",
    HealthStatus.INSUFFICIENT_DATA: "#999999",
}
NPS_FIGURES = ("responses", "promoters", "detractors")

Key = tuple[Any, ...]


@dataclass(frozen=True)
class PreChurnSum:
    tenths: int
    scores: int


class CsCounts(Protocol):
    """The figures of the three charts for some accounts."""

    def bands(self, day: date) -> dict[str, int]:
        """Accounts per health band on ``day`` (an account counts once per band it is in)."""

    def nps_months(self, period: MonthRange) -> dict[date, dict[str, int]]:
        """NPS answers, promoters and detractors per month of ``period``."""

    def pre_churn(self, period: MonthRange) -> dict[int, PreChurnSum]:
        """Scores by months before churn of the accounts that churned in ``period``, each
        from its latest churn in the period."""


def book_owners(accounts: QuerySet[Account]) -> set[Owners] | None:
    """The (CS owner, sales owner) pairs of a book of business; ``None`` for every account.

    A book is made of owners (``kizuna.crm.access``), so its figures are the summary rows of
    its owner pairs.
    """
    if not accounts.query.has_filters():
        return None
    return set(accounts.values_list("cs_owner_id", "owner_id").distinct())


def summed(
    rows: QuerySet[OwnedSummary],
    keys: Sequence[str],
    figures: Sequence[str],
    owners: set[Owners] | None,
) -> dict[Key, dict[str, int]]:
    """``figures`` of the summary ``rows`` of a book added up per ``keys``."""
    if owners is None:
        groups = rows.values(*keys).annotate(**{figure: Sum(figure) for figure in figures})
        return {
            tuple(group[key] for key in keys): {figure: group[figure] for figure in figures}
            for group in groups.order_by()
        }
    cs_owners = {cs_owner for cs_owner, _owner in owners if cs_owner is not None}
    sales_owners = {owner for _cs_owner, owner in owners if owner is not None}
    within = Q(cs_owner_id__in=cs_owners) | Q(owner_id__in=sales_owners)
    if (None, None) in owners:
        within |= Q(cs_owner_id=None, owner_id=None)
    sums: dict[Key, dict[str, int]] = {}
    for row in rows.filter(within).values("cs_owner_id", "owner_id", *keys, *figures):
        if (row["cs_owner_id"], row["owner_id"]) not in owners:
            continue
        total = sums.setdefault(tuple(row[key] for key in keys), dict.fromkeys(figures, 0))
        for figure in figures:
            total[figure] += row[figure]
    return sums


def _latest_churns(period: MonthRange) -> Q:
    """Churns in ``period`` counted from each account's latest churn in it."""
    return Q(next_churn_month=None) | Q(next_churn_month__gt=period.end)


@dataclass(frozen=True)
class BookSummaries:
    """From the stored summaries of a book's owner pairs (``None``: every account)."""

    owners: set[Owners] | None

    def bands(self, day: date) -> dict[str, int]:
        rows = BandCount.objects.filter(date=day)
        sums = summed(rows, ["status"], ["accounts"], self.owners)
        return {status: total["accounts"] for (status,), total in sums.items()}

    def nps_months(self, period: MonthRange) -> dict[date, dict[str, int]]:
        rows = NpsMonth.objects.filter(month__gte=period.start, month__lte=period.end)
        sums = summed(rows, ["month"], NPS_FIGURES, self.owners)
        return {month: total for (month,), total in sums.items()}

    def pre_churn(self, period: MonthRange) -> dict[int, PreChurnSum]:
        rows = PreChurnScores.objects.filter(
            _latest_churns(period), churn_month__gte=period.start, churn_month__lte=period.end
        )
        sums = summed(rows, ["months_before"], ["tenths", "scores"], self.owners)
        return {
            months: PreChurnSum(int(total["tenths"]), int(total["scores"]))
            for (months,), total in sums.items()
        }


@dataclass(frozen=True)
class SegmentCounts:
    """Counted on the request over ``accounts`` (a segment within a book)."""

    accounts: QuerySet[Account]

    def bands(self, day: date) -> dict[str, int]:
        groups = (
            HealthScore.objects.filter(date=day, account__in=self.accounts)
            .values("status")
            .annotate(accounts=Count("account_id", distinct=True))
            .order_by()
        )
        return {group["status"]: group["accounts"] for group in groups}

    def nps_months(self, period: MonthRange) -> dict[date, dict[str, int]]:
        assert period.start is not None and period.end is not None
        # Counted per day and added up per month here: truncating each answer's date to its
        # month in SQL is a Python function call per answer on SQLite (a 25,000-account
        # segment: 74,000 answers, 370 → 134 ms).
        days = (
            NpsResponse.objects.filter(
                account__in=self.accounts,
                responded_on__gte=period.start,
                responded_on__lt=add_months(period.end, 1),
            )
            .values("responded_on")
            .annotate(
                responses=Count("id"),
                promoters=Count("id", filter=Q(score__gte=9)),
                detractors=Count("id", filter=Q(score__lte=6)),
            )
            .order_by()
        )
        months: dict[date, dict[str, int]] = {}
        for day in days:
            total = months.setdefault(
                day["responded_on"].replace(day=1), dict.fromkeys(NPS_FIGURES, 0)
            )
            for figure in NPS_FIGURES:
                total[figure] += day[figure]
        return months

    def pre_churn(self, period: MonthRange) -> dict[int, PreChurnSum]:
        assert period.start is not None and period.end is not None
        sums: dict[int, PreChurnSum] = {}
        for row in pre_churn_scores(self.accounts):
            latest = row.next_churn_month is None or row.next_churn_month > period.end
            if latest and period.start <= row.churn_month <= period.end:
                total = sums.get(row.months_before, PreChurnSum(0, 0))
                sums[row.months_before] = PreChurnSum(
                    total.tenths + row.tenths, total.scores + row.scores
                )
        return sums


def health_distribution(counts: CsCounts, day: date) -> Chart:
    by_status = counts.bands(day)
    total = sum(by_status.values())
    rows: list[dict[str, Any]] = [
        {
            "status": label,
            "count": by_status.get(value, 0),
            "share": Decimal(by_status.get(value, 0)) / total if total else None,
        }
        for value, label in HealthStatus.choices
    ]
    figure = series_figure(
        [str(row["status"]) for row in rows],
        [Series(_("Accounts"), [row["count"] for row in rows], COLORS["primary"])],
        axis="number",
    )
    figure.update_traces(
        marker_color=[BAND_COLORS[value] for value, _label in HealthStatus.choices]
    )
    figure.update_layout(showlegend=False)
    table = Table(
        key="health",
        title=_("Health distribution"),
        columns=[
            Column("status", _("Band")),
            Column("count", _("Accounts"), "number"),
            Column("share", _("Share"), "percent"),
        ],
        rows=rows,
    )
    return embed(
        "chart-health",
        _("Health distribution"),
        _("Number of accounts in each health band on %(date)s.") % {"date": day.isoformat()},
        figure,
        table,
    )


def pre_churn_trajectory(counts: CsCounts, period: MonthRange) -> Chart:
    """Average health score of churned accounts by month (30 days) before their churn.

    An account that churned twice in the period counts from its latest churn: the churn whose
    next one falls after the period.
    """
    assert period.start is not None and period.end is not None
    sums = counts.pre_churn(period)
    rows = []
    for months in range(PRE_CHURN_MONTHS, -1, -1):
        total = sums.get(months, PreChurnSum(0, 0))
        rows.append(
            {
                "months_before": months,
                "score": (Decimal(total.tenths) / 10 / total.scores).quantize(Decimal("0.1"))
                if total.scores
                else None,
                "observations": total.scores,
            }
        )
    figure = series_figure(
        [str(row["months_before"]) for row in rows],
        [
            Series(
                _("Average health score"), [row["score"] for row in rows], COLORS["churned"], "line"
            )
        ],
        axis="number",
    )
    figure.update_xaxes(title_text=_("Months before churn"))
    return embed(
        "chart-pre-churn",
        _("Health score before churn"),
        _("Average health score of accounts that churned in the period, by months before churn."),
        figure,
        Table(
            key="pre_churn",
            title=_("Health score before churn"),
            columns=[
                Column("months_before", _("Months before churn"), "number"),
                Column("score", _("Average health score"), "number"),
                Column("observations", _("Scores"), "number"),
            ],
            rows=rows,
        ),
    )


def nps_trend(counts: CsCounts, period: MonthRange, target: Decimal) -> Chart:
    """NPS per month (promoters minus detractors, in points of the answers)."""
    assert period.start is not None and period.end is not None
    months = counts.nps_months(period)
    rows: list[dict[str, Any]] = [{"month": month, **months[month]} for month in sorted(months)]
    for row in rows:
        row["month_label"] = row["month"].strftime("%Y-%m")
        row["nps"] = (
            (Decimal(row["promoters"] - row["detractors"]) * 100 / row["responses"]).quantize(
                Decimal("0.1")
            )
            if row["responses"]
            else None
        )
    figure = series_figure(
        [row["month_label"] for row in rows],
        [Series(_("NPS"), [row["nps"] for row in rows], COLORS["primary"], "line")],
        axis="number",
        targets=[(_("Target %(value)s") % {"value": f"+{target:.0f}"}, target)],
    )
    return embed(
        "chart-nps",
        _("NPS trend"),
        _("Net promoter score per month (promoters minus detractors, in points)."),
        figure,
        Table(
            key="nps",
            title=_("NPS trend"),
            columns=[
                Column("month_label", _("Month")),
                Column("responses", _("Responses"), "number"),
                Column("promoters", _("Promoters"), "number"),
                Column("detractors", _("Detractors"), "number"),
                Column("nps", _("NPS"), "number"),
            ],
            rows=rows,
            empty=_("No NPS answers in this period."),
        ),
    )
