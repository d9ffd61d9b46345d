"""Creating a deal and moving it between stages, with the stage's required fields enforced.

Both are explicit state changes in one transaction that also record the stage change (the
deal's timeline event). Required fields are checked by :mod:`kizuna.pipeline.stage_rules`,
the rule the board and the importers apply too.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from kizuna.crm.actions import ActionError
from kizuna.crm.models import Account, ChurnReason
from kizuna.ingest.map_pipeline import DEAL_ATTRIBUTES
from kizuna.pipeline.defaults import DEAL_FIELDS
from kizuna.pipeline.models import (
    Deal,
    DealStageChange,
    DealStatus,
    LostReason,
    Pipeline,
    Stage,
    StageOutcome,
)
from kizuna.pipeline.stage_rules import check_stage_move

CHOICES = {"lost_reason": LostReason.values, "churn_reason": ChurnReason.values}
STATUS_OF_OUTCOME = {
    StageOutcome.OPEN: DealStatus.OPEN,
    StageOutcome.WON: DealStatus.WON,
    StageOutcome.LOST: DealStatus.LOST,
}


def _field_value(key: str, value: Any) -> Any:
    field = DEAL_FIELDS.get(key)
    if field is None:
        raise ActionError(gettext("unknown deal field '%(key)s'") % {"key": key})
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if field.kind == "date":
            return date.fromisoformat(str(value))
        if field.kind == "decimal":
            amount = Decimal(str(value))
            if not amount.is_finite() or amount < 0 or abs(amount.as_tuple().exponent) > 6:  # type: ignore[arg-type]
                raise ValueError(value)
            return amount
        if field.kind == "int":
            number = int(value)
            if not 0 <= number <= 32_767:
                raise ValueError(value)
            return number
    except (ValueError, InvalidOperation):
        raise ActionError(
            gettext("'%(key)s' is not a valid %(kind)s: %(value)s")
            % {"key": key, "kind": field.kind, "value": value}
        ) from None
    text = str(value)
    if key in CHOICES and text not in CHOICES[key]:
        raise ActionError(
            gettext("'%(key)s' must be one of %(allowed)s")
            % {"key": key, "allowed": ", ".join(CHOICES[key])}
        )
    return text


def _apply_fields(deal: Deal, fields: Mapping[str, Any]) -> None:
    details = dict(deal.details)
    for key, raw in fields.items():
        value = _field_value(key, raw)
        if key in DEAL_ATTRIBUTES:
            empty: Any = Decimal(0) if key in ("amount_mrr", "one_off_amount") else None
            if key in ("source", "plan", "lost_reason", "churn_reason"):
                empty = ""
            setattr(deal, key, empty if value is None else value)
        elif value is None:
            details.pop(key, None)
        else:
            details[key] = value.isoformat() if isinstance(value, date) else str(value)
    deal.details = details


def deal_values(deal: Deal) -> dict[str, Any]:
    """Every stage field of the deal by key, as the required-field rule reads them."""
    values: dict[str, Any] = dict(deal.details)
    for key in DEAL_ATTRIBUTES:
        values[key] = getattr(deal, key)
    return values


def _enter(deal: Deal, stage: Stage, user: AbstractBaseUser | None) -> None:
    check_stage_move(stage, deal_values(deal))
    previous = deal.stage_id if deal.pk else None
    deal.stage = stage
    deal.status = STATUS_OF_OUTCOME[StageOutcome(stage.outcome)]
    deal.closed_on = timezone.localdate() if deal.status != DealStatus.OPEN else None
    deal.save()
    DealStageChange.objects.create(
        deal=deal,
        from_stage_id=previous,
        to_stage=stage,
        changed_at=timezone.now(),
        changed_by_id=user.pk if user else None,
    )


@transaction.atomic
def create_deal(
    *,
    account: Account,
    pipeline_key: str,
    stage_key: str,
    title: str,
    currency: str,
    amount_mrr: Decimal,
    close_date: date,
    created_on: date | None,
    fields: Mapping[str, Any],
    owner: AbstractBaseUser | None,
) -> Deal:
    """Open a deal in a stage; refused (``StageMoveRefused``) if it lacks the stage's fields."""
    pipeline = Pipeline.objects.filter(key=pipeline_key).first()
    if pipeline is None:
        raise ActionError(gettext("unknown pipeline '%(key)s'") % {"key": pipeline_key})
    stage = _stage(pipeline, stage_key)
    if not title.strip():
        raise ActionError(gettext("a deal needs a title"))
    deal = Deal(
        title=title.strip(),
        pipeline=pipeline,
        account=account,
        owner_id=owner.pk if owner else None,
        currency=currency,
        amount_mrr=amount_mrr,
        created_on=created_on or timezone.localdate(),
        close_date=close_date,
    )
    _apply_fields(deal, fields)
    _enter(deal, stage, owner)
    return deal


@transaction.atomic
def move_deal(
    deal: Deal, stage_key: str, fields: Mapping[str, Any], user: AbstractBaseUser | None
) -> Deal:
    """Fill ``fields`` and move the deal; refused if the target stage's fields are missing."""
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    stage = _stage(deal.pipeline, stage_key)
    _apply_fields(deal, fields)
    if stage.pk == deal.stage_id:
        check_stage_move(stage, deal_values(deal))
        deal.save()
        return deal
    _enter(deal, stage, user)
    return deal


def _stage(pipeline: Pipeline, key: str) -> Stage:
    stage = pipeline.stages.filter(key=key).first()
    if stage is None:
        keys = ", ".join(pipeline.stages.values_list("key", flat=True))
        raise ActionError(
            gettext("stage '%(stage)s' is not in pipeline '%(pipeline)s'; its stages: %(stages)s")
            % {"stage": key, "pipeline": pipeline.key, "stages": keys}
        )
    return stage
