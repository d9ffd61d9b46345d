"""Renewal deals opened and advanced by the calendar (SPEC P3, W4).

A committed term gets one renewal deal when its end comes within the renewal pipeline's notice
period; the deal then moves through the stages whose ``days_before_renewal`` the calendar has
reached. Deals are opened and moved through :mod:`kizuna.pipeline.actions`, so the stage rules
and timeline apply as on the board.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import IntegrityError
from django.utils.translation import gettext

from kizuna.billing.models import Subscription, SubscriptionStatus
from kizuna.pipeline import revenue_effects
from kizuna.pipeline.actions import create_deal, move_deal, pipeline_of_kind
from kizuna.pipeline.models import Deal, DealStatus, Pipeline, PipelineKind, Stage, StageOutcome
from kizuna.pipeline.stage_rules import StageMoveRefused

# Monthly contracts renew silently every month; renewal deals are for committed terms.
MIN_RENEWAL_TERM_MONTHS = 12


@dataclass
class RenewalRun:
    """What :func:`create_renewal_deals` did."""

    created: list[Deal] = field(default_factory=list)
    moved: list[Deal] = field(default_factory=list)
    refused: list[tuple[Deal, list[str]]] = field(default_factory=list)
    """Deals the calendar would move but that lack a field of the next stage."""


def _notice_days(stages: list[Stage]) -> int:
    days = [stage.days_before_renewal for stage in stages if stage.days_before_renewal is not None]
    return max(days) if days else 90


def _stage_due(stages: list[Stage], days_left: int) -> Stage | None:
    """The latest open stage whose ``days_before_renewal`` the calendar has reached."""
    due = [
        stage
        for stage in stages
        if stage.outcome == StageOutcome.OPEN
        and stage.days_before_renewal is not None
        and days_left <= stage.days_before_renewal
    ]
    return min(due, key=lambda stage: stage.days_before_renewal or 0) if due else None


def _renewal_deal(
    subscription: Subscription, term_end: date, as_of: date, pipeline: Pipeline, first: Stage
) -> Deal | None:
    account = subscription.account
    try:
        return create_deal(
            account=account,
            pipeline=pipeline,
            stage=first,
            title=gettext("Renewal %(account)s %(day)s")
            % {"account": account.name, "day": term_end.isoformat()},
            close_date=term_end,
            owner=account.cs_owner or account.owner,
            user=None,
            amount_mrr=revenue_effects.subscription_mrr(
                subscription, term_end - revenue_effects.ONE_DAY
            ),
            currency=subscription.currency,
            values={
                "source": "renewal",
                "contract_months": subscription.term_months,
                "plan": revenue_effects.subscription_plan_name(
                    subscription, term_end - revenue_effects.ONE_DAY
                )
                or account.plan,
            },
            created_on=as_of,
            renewal_of_term_end=term_end,
        )
    except IntegrityError:  # another run created this term's deal a moment ago
        return None


def create_renewal_deals(as_of: date) -> RenewalRun:
    """Open a renewal deal for every committed term ending within the notice period, once.

    A term of at least :data:`MIN_RENEWAL_TERM_MONTHS` months gets its deal when the term end
    is within the renewal pipeline's first ``days_before_renewal`` (90 days by default) of
    ``as_of``; the one-deal-per-(account, term end) constraint makes a second run, or two runs
    at once, create nothing more. Open renewal deals then move through the stages whose
    ``days_before_renewal`` the calendar has reached (60 and 30 days by default).
    """
    run = RenewalRun()
    pipeline = pipeline_of_kind(PipelineKind.RENEWAL)
    stages = list(pipeline.stages.order_by("order", "pk"))
    notice = _notice_days(stages)
    first = _stage_due(stages, notice) or next(s for s in stages if s.outcome == "open")
    subscriptions = (
        Subscription.objects.filter(term_months__gte=MIN_RENEWAL_TERM_MONTHS, started_on__lte=as_of)
        .exclude(status=SubscriptionStatus.CANCELED)
        .select_related("account", "account__owner", "account__cs_owner")
        .order_by("pk")
    )
    renewed = revenue_effects.latest_renewals()
    existing = set(
        Deal.objects.filter(renewal_of_term_end__isnull=False).values_list(
            "account_id", "renewal_of_term_end"
        )
    )
    horizon = as_of + timedelta(days=notice)
    for subscription in subscriptions.iterator(chunk_size=2000):
        term_end = revenue_effects.current_term_end(
            subscription, as_of, renewed.get(subscription.account_id)
        )
        if term_end > horizon or (subscription.account_id, term_end) in existing:
            continue
        if subscription.ended_on is not None and subscription.ended_on <= term_end:
            continue  # already ending: nothing to renew
        deal = _renewal_deal(subscription, term_end, as_of, pipeline, first)
        existing.add((subscription.account_id, term_end))
        if deal is not None:
            run.created.append(deal)
    _advance_renewals(pipeline, stages, as_of, run)
    return run


def _advance_renewals(
    pipeline: Pipeline, stages: list[Stage], as_of: date, run: RenewalRun
) -> None:
    position = {stage.pk: stage.order for stage in stages}
    deals = Deal.objects.filter(
        pipeline=pipeline, status=DealStatus.OPEN, renewal_of_term_end__isnull=False
    ).order_by("pk")
    for deal in deals:
        assert deal.renewal_of_term_end is not None
        due = _stage_due(stages, (deal.renewal_of_term_end - as_of).days)
        if due is None or position[due.pk] <= position.get(deal.stage_id, 0):
            continue
        try:
            run.moved.append(move_deal(deal, due, None))
        except StageMoveRefused as refused:
            run.refused.append((deal, refused.missing))
