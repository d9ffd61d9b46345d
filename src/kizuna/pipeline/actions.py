"""Every state change of a deal, explicit and inside a transaction (SPEC P1–P6).

Views, the API, the importers and the CLI call these; they do not write deals themselves. Each
stage change writes its timeline event (:class:`~kizuna.pipeline.models.DealStageChange`), and
moving into a stage is refused, naming the fields, while the deal lacks a field the stage
requires (:func:`kizuna.pipeline.stage_rules.check_stage_move`). Closing a deal applies its
effects in the same transaction: won → revenue (:mod:`kizuna.pipeline.revenue_effects`),
handoff, onboarding and lifecycle (:mod:`kizuna.pipeline.lifecycle`); a churned renewal ends
the subscription at the term end with a churn record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from kizuna.core.money import UnknownCurrency, check_currency
from kizuna.crm.actions import ActionError
from kizuna.crm.models import (
    Account,
    AccountStatus,
    ChurnReason,
    ChurnRecord,
    Contact,
    LifecycleStage,
)
from kizuna.pipeline import lifecycle, revenue_effects
from kizuna.pipeline.deal_values import InvalidDealValues, apply_values, deal_values
from kizuna.pipeline.defaults import DEFAULT_PIPELINES, Motion, PipelineDef
from kizuna.pipeline.models import (
    Deal,
    DealStageChange,
    DealStatus,
    Pipeline,
    PipelineKind,
    Stage,
    StageOutcome,
)
from kizuna.pipeline.stage_rules import StageMoveRefused, check_stage_move

__all__ = [
    "ActionError",
    "InvalidDealValues",
    "StageMoveRefused",
    "account_currency",
    "create_deal",
    "deal_values",
    "install_default_pipelines",
    "lose_deal",
    "move_deal",
    "open_upsell_deal",
    "update_deal",
    "win_deal",
]

KIND_OF_MOTION: dict[Motion, str] = {
    Motion.NEW: PipelineKind.NEW_BUSINESS,
    Motion.EXPANSION: PipelineKind.UPSELL,
    Motion.RENEWAL: PipelineKind.RENEWAL,
    Motion.SERVICES: PipelineKind.SERVICES,
}
STATUS_OF_OUTCOME: dict[str, str] = {
    StageOutcome.OPEN: DealStatus.OPEN,
    StageOutcome.WON: DealStatus.WON,
    StageOutcome.LOST: DealStatus.LOST,
}


# --- pipelines ------------------------------------------------------------------------------


@transaction.atomic
def install_default_pipelines(
    pipelines: Mapping[str, PipelineDef] = DEFAULT_PIPELINES,
) -> list[Pipeline]:
    """Create each default pipeline (with its stages) that the store does not have yet.

    Idempotent: a pipeline that exists — by key — is left exactly as the team configured it.
    Returns the pipelines created. The demo data, the importers, the API and the board all
    install the defaults through this one function.
    """
    created: list[Pipeline] = []
    existing = set(Pipeline.objects.values_list("key", flat=True))
    for order, definition in enumerate(pipelines.values()):
        if definition.key in existing:
            continue
        try:
            with transaction.atomic():
                pipeline = Pipeline.objects.create(
                    key=definition.key,
                    name=str(definition.name),
                    kind=KIND_OF_MOTION[definition.motion],
                    order=order,
                )
        except IntegrityError:  # installed at the same moment by another process
            continue
        Stage.objects.bulk_create(
            Stage(
                pipeline=pipeline,
                key=stage.key,
                name=str(stage.name),
                order=position,
                probability=stage.probability,
                outcome=str(stage.kind),
                required_fields=list(stage.required_fields),
                is_trial=stage.is_trial,
                days_before_renewal=stage.days_before_renewal,
            )
            for position, stage in enumerate(definition.stages, start=1)
        )
        created.append(pipeline)
    return created


def pipeline_of_kind(kind: str) -> Pipeline:
    """The first pipeline of ``kind`` (installing the defaults when there is none)."""
    pipeline = Pipeline.objects.filter(kind=kind).order_by("order", "pk").first()
    if pipeline is None:
        install_default_pipelines()
        pipeline = Pipeline.objects.filter(kind=kind).order_by("order", "pk").first()
    if pipeline is None:
        raise ActionError(gettext("there is no %(kind)s pipeline") % {"kind": kind})
    return pipeline


def _stage_of(pipeline: Pipeline, stage: Stage | str) -> Stage:
    if isinstance(stage, Stage):
        if stage.pipeline_id != pipeline.pk:
            raise ActionError(
                gettext("stage '%(stage)s' is not in pipeline '%(pipeline)s'")
                % {"stage": stage.key, "pipeline": pipeline.key}
            )
        return stage
    found = pipeline.stages.filter(key=stage).first()
    if found is None:
        keys = ", ".join(pipeline.stages.values_list("key", flat=True))
        raise ActionError(
            gettext("stage '%(stage)s' is not in pipeline '%(pipeline)s'; its stages: %(stages)s")
            % {"stage": stage, "pipeline": pipeline.key, "stages": keys}
        )
    return found


def _stage_with_outcome(pipeline: Pipeline, outcome: str) -> Stage:
    stage = pipeline.stages.filter(outcome=outcome).order_by("order", "pk").first()
    if stage is None:
        raise ActionError(
            gettext("pipeline '%(pipeline)s' has no %(outcome)s stage")
            % {"pipeline": pipeline.key, "outcome": outcome}
        )
    return stage


# --- creating and moving deals --------------------------------------------------------------


def _user_id(user: AbstractBaseUser | None) -> Any:
    return user.pk if user is not None else None


def _enter(deal: Deal, stage: Stage, user: AbstractBaseUser | None, at: datetime) -> None:
    """Put the deal in ``stage`` (its required fields checked), record the change and tell
    the webhook endpoints subscribed to ``deal.stage_changed``.

    The event is recorded in the caller's transaction, so a refused or rolled-back move
    never reaches a receiver.
    """
    check_stage_move(stage, deal_values(deal))
    previous = deal.stage if deal.pk and deal.stage_id else None
    deal.stage = stage
    deal.status = STATUS_OF_OUTCOME[stage.outcome]
    deal.closed_on = timezone.localdate(at) if deal.status != DealStatus.OPEN else None
    deal.save()
    DealStageChange.objects.create(
        deal=deal,
        from_stage=previous,
        to_stage=stage,
        changed_at=at,
        changed_by_id=_user_id(user),
    )
    _emit_stage_changed(deal, previous, stage, at)


def _emit_stage_changed(deal: Deal, previous: Stage | None, stage: Stage, at: datetime) -> None:
    """The ``deal.stage_changed`` webhook event; ``from_stage`` is null when a deal opens."""
    # Imported here: the API layer imports this module, and domain code must not depend on
    # the API at import time.
    from kizuna.api.schemas import money_text
    from kizuna.api.webhooks import DEAL_STAGE_CHANGED, emit

    emit(
        DEAL_STAGE_CHANGED,
        {
            "deal_id": deal.pk,
            "account_id": deal.account_id,
            "pipeline": deal.pipeline.key,
            "from_stage": previous.key if previous is not None else None,
            "to_stage": stage.key,
            "changed_at": at.isoformat(),
            "amount_mrr": money_text(Decimal(deal.amount_mrr), deal.currency),
            "currency": deal.currency,
        },
    )


@transaction.atomic
def create_deal(
    *,
    account: Account,
    pipeline: Pipeline | str,
    title: str,
    close_date: date,
    owner: AbstractBaseUser | None = None,
    user: AbstractBaseUser | None = None,
    stage: Stage | str | None = None,
    amount_mrr: Decimal = Decimal(0),
    currency: str | None = None,
    values: Mapping[str, Any] | None = None,
    created_on: date | None = None,
    renewal_of_term_end: date | None = None,
    at: datetime | None = None,
    product: str = "",
    contacts: Iterable[Contact] = (),
) -> Deal:
    """Open a deal in ``stage`` (default: the pipeline's first), recording its first entry
    as made by ``user`` (None: by Kizuna itself, e.g. an automatic renewal deal).

    Refused (:class:`StageMoveRefused`) when the deal lacks a field the stage requires, and
    with :class:`ActionError` for a contact of another account.
    """
    if isinstance(pipeline, str):
        found = Pipeline.objects.filter(key=pipeline).first()
        if found is None:
            raise ActionError(gettext("unknown pipeline '%(key)s'") % {"key": pipeline})
        pipeline = found
    if not title.strip():
        raise ActionError(gettext("a deal needs a title"))
    target = (
        _stage_of(pipeline, stage)
        if stage is not None
        else pipeline.stages.order_by("order", "pk").first()
    )
    if target is None:
        raise ActionError(gettext("pipeline '%(key)s' has no stages") % {"key": pipeline.key})
    try:
        code = check_currency(currency or settings.KIZUNA_CURRENCY)
    except UnknownCurrency as error:
        raise ActionError(str(error)) from None
    moment = at or timezone.now()
    deal = Deal(
        title=title.strip()[:200],
        pipeline=pipeline,
        account=account,
        owner_id=_user_id(owner),
        amount_mrr=amount_mrr,
        currency=code,
        created_on=created_on or timezone.localdate(moment),
        close_date=close_date,
        renewal_of_term_end=renewal_of_term_end,
        product=product.strip(),
    )
    people = _contacts_of(account, contacts)
    apply_values(deal, values or {}, set(target.required_fields))
    _enter(deal, target, user, moment)
    if people:
        deal.contacts.set(people)
    return deal


def _contacts_of(account: Account, contacts: Iterable[Contact]) -> list[Contact]:
    people = list(contacts)
    strangers = [contact.name for contact in people if contact.account_id != account.pk]
    if strangers:
        raise ActionError(
            gettext("%(contacts)s: not a contact of %(account)s")
            % {"contacts": ", ".join(strangers), "account": account.name}
        )
    return people


@transaction.atomic
def update_deal(
    deal: Deal,
    user: AbstractBaseUser | None,
    *,
    title: str,
    close_date: date,
    owner: AbstractBaseUser | None,
    currency: str,
    product: str = "",
    values: Mapping[str, Any] | None = None,
    contacts: Iterable[Contact] = (),
) -> Deal:
    """Change what an open deal is about without moving it: title, close date, owner,
    currency, product, contacts, and deal-field ``values`` (amounts, plan, source, …).

    The deal's stage must still find its required fields filled afterwards
    (:class:`StageMoveRefused` otherwise, nothing saved). A closed deal is not edited: its
    effects (subscription, billing, churn) were applied with its figures.
    """
    deal = (
        Deal.objects.select_for_update(of=("self",))
        .select_related("pipeline", "stage", "account")
        .get(pk=deal.pk)
    )
    if deal.status != DealStatus.OPEN:
        raise ActionError(
            gettext("“%(deal)s” is closed (%(status)s); open a new deal instead of editing it")
            % {"deal": deal.title, "status": deal.get_status_display()}
        )
    if not title.strip():
        raise ActionError(gettext("a deal needs a title"))
    try:
        deal.currency = check_currency(currency)
    except UnknownCurrency as error:
        raise ActionError(str(error)) from None
    people = _contacts_of(deal.account, contacts)
    deal.title = title.strip()[:200]
    deal.close_date = close_date
    deal.owner_id = _user_id(owner)
    deal.product = product.strip()
    apply_values(deal, values or {}, set(deal.stage.required_fields))
    check_stage_move(deal.stage, deal_values(deal))
    deal.save()
    deal.contacts.set(people)
    return deal


@transaction.atomic
def move_deal(
    deal: Deal,
    stage: Stage | str,
    user: AbstractBaseUser | None,
    values: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> Deal:
    """Fill ``values`` and move the deal to ``stage``, applying a closed stage's effects.

    Refused with :class:`StageMoveRefused` (naming the fields) when the deal still lacks a
    field the stage requires — nothing is saved then — and with :class:`ActionError` for a
    closed deal: its effects (subscription, churn) have happened, so it is not reopened.
    Moving to the stage the deal is in only saves the values.
    """
    deal = (
        # Lock the deal row only: locking the joined pipeline would serialise every move.
        Deal.objects.select_for_update(of=("self",))
        .select_related("pipeline", "stage", "account")
        .get(pk=deal.pk)
    )
    target = _stage_of(deal.pipeline, stage)
    apply_values(deal, values or {}, set(target.required_fields))
    if target.pk == deal.stage_id:
        check_stage_move(target, deal_values(deal))
        deal.save()
        return deal
    if deal.status != DealStatus.OPEN:
        raise ActionError(
            gettext("“%(deal)s” is closed (%(status)s); open a new deal instead of moving it")
            % {"deal": deal.title, "status": deal.get_status_display()}
        )
    moment = at or timezone.now()
    _enter(deal, target, user, moment)
    if target.outcome == StageOutcome.WON:
        _apply_won(deal, user, moment)
    elif target.outcome == StageOutcome.LOST:
        _apply_lost(deal, user, moment)
    return deal


def win_deal(
    deal: Deal,
    user: AbstractBaseUser | None,
    values: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> Deal:
    """Move the deal to its pipeline's won stage (Won, Renewed) and apply the effects."""
    return move_deal(
        deal, _stage_with_outcome(deal.pipeline, StageOutcome.WON), user, values, at=at
    )


@transaction.atomic
def lose_deal(
    deal: Deal,
    user: AbstractBaseUser | None,
    reason: str,
    detail: str = "",
    *,
    values: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> Deal:
    """Close the deal as lost (Lost, or Churned on a renewal); the reason is required.

    ``reason`` is a lost reason, or a churn reason on a renewal deal; ``detail`` is free text.
    """
    lost = _stage_with_outcome(deal.pipeline, StageOutcome.LOST)
    key = "churn_reason" if deal.pipeline.kind == PipelineKind.RENEWAL else "lost_reason"
    if not reason.strip():
        raise StageMoveRefused(lost, [key])
    extra = {key: reason, **(values or {})}
    if detail.strip():
        deal.details = {**deal.details, "reason_detail": detail.strip()}
        Deal.objects.filter(pk=deal.pk).update(details=deal.details)
    return move_deal(deal, lost, user, extra, at=at)


def open_upsell_deal(
    *,
    account: Account,
    title: str,
    amount_mrr: Decimal,
    close_date: date,
    user: AbstractBaseUser | None,
    product: str = "",
    source: str = "",
    owner: AbstractBaseUser | None = None,
) -> Deal:
    """Open an upsell / cross-sell deal in its first stage (from a QBR, a signal or by hand).

    CS usually opens it and sales closes it, so the account's sales owner owns it by default.
    """
    pipeline = pipeline_of_kind(PipelineKind.UPSELL)
    values: dict[str, Any] = {"source": source} if source else {}
    deal = create_deal(
        account=account,
        pipeline=pipeline,
        title=title,
        close_date=close_date,
        owner=owner or account.owner or user,
        user=user,
        amount_mrr=amount_mrr,
        currency=account_currency(account),
        values=values,
    )
    if product:
        deal.product = product
        deal.save(update_fields=["product"])
    return deal


def account_currency(account: Account) -> str:
    """The currency of the account's latest subscription (else the reporting currency)."""
    subscription = account.subscriptions.order_by("-started_on").first()
    return subscription.currency if subscription is not None else settings.KIZUNA_CURRENCY


# --- effects of closing a deal --------------------------------------------------------------


def _apply_won(deal: Deal, user: AbstractBaseUser | None, at: datetime) -> None:
    closed_on = timezone.localdate(at)
    kind = deal.pipeline.kind
    account = Account.objects.select_for_update().get(pk=deal.account_id)
    if kind == PipelineKind.NEW_BUSINESS:
        start = deal.effective_date or closed_on
        subscription = revenue_effects.start_subscription(deal, start)
        account.status = AccountStatus.CUSTOMER
        account.contract_start = start
        account.renewal_date = revenue_effects.add_months(start, subscription.term_months)
        account.plan = deal.plan or account.plan
        account.churned_on = None
        account.save(
            update_fields=["status", "contract_start", "renewal_date", "plan", "churned_on"]
        )
        lifecycle.open_handoff(deal, closed_on)
        lifecycle.start_onboarding(account, start)
        lifecycle.set_lifecycle_stage(
            account,
            LifecycleStage.ONBOARDING,
            user,
            gettext("Won “%(deal)s”") % {"deal": deal.title},
            at=at,
        )
    elif kind == PipelineKind.UPSELL:
        revenue_effects.change_subscription(deal, deal.effective_date or closed_on)
        if deal.plan:
            account.plan = deal.plan
            account.save(update_fields=["plan"])
    elif kind == PipelineKind.RENEWAL:
        change = revenue_effects.renew_subscription(deal)
        account.renewal_date = change.next_term_end
        account.plan = deal.plan or account.plan
        account.save(update_fields=["renewal_date", "plan"])
    # Services deals are one-off revenue: they never change MRR or the subscription.


def _apply_lost(deal: Deal, user: AbstractBaseUser | None, at: datetime) -> None:
    if deal.pipeline.kind != PipelineKind.RENEWAL:
        return
    closed_on = timezone.localdate(at)
    change = revenue_effects.end_at_term_end(deal, closed_on)
    ChurnRecord.objects.get_or_create(
        account_id=deal.account_id,
        churned_on=change.term_end,
        defaults={
            "reason": deal.churn_reason or ChurnReason.OTHER,
            "detail": str(deal.details.get("reason_detail", "")),
            "recorded_by_id": _user_id(user),
        },
    )
    Account.objects.filter(pk=deal.account_id).update(churned_on=change.term_end)
    if change.term_end <= closed_on:
        Account.objects.filter(pk=deal.account_id).update(status=AccountStatus.CHURNED)
