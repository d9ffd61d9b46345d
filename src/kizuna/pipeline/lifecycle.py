"""The customer after the sale (SPEC C4–C7): handoff, onboarding, lifecycle stages and QBRs.

Every function that changes something is an explicit action inside a transaction and writes
its own record (a lifecycle stage change, a completed checklist item, a task). Winning a
new-business deal calls :func:`open_handoff`, :func:`start_onboarding` and
:func:`set_lifecycle_stage` from :func:`kizuna.pipeline.actions.move_deal`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Field, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy

from kizuna.core.calendar import add_business_days
from kizuna.core.money import round_money
from kizuna.crm.actions import ActionError, create_task
from kizuna.crm.models import (
    Account,
    AccountStatus,
    HandoffRecord,
    LifecycleStage,
    LifecycleStageChange,
    OnboardingItem,
    Qbr,
    Task,
    TaskStatus,
)
from kizuna.pipeline.models import Deal
from kizuna.pipeline.revenue_effects import add_months

# --- lifecycle stages (C5) ------------------------------------------------------------------

# The order the rules move an account along; advocacy is only ever set by hand.
RULE_ORDER: tuple[str, ...] = (
    LifecycleStage.ONBOARDING,
    LifecycleStage.ADOPTION,
    LifecycleStage.MATURITY,
    LifecycleStage.RENEWAL,
)


@dataclass(frozen=True)
class LifecycleRules:
    """When the rules move an account; the defaults are the seeds' (a team may change them)."""

    adoption_from_month: int = 3
    """Onboarding covers months 1–3 after the contract starts; adoption begins after that."""
    maturity_from_month: int = 6
    """Adoption covers months 3–6; maturity (with QBRs) from month 6."""
    renewal_window_days: int = 90
    """Renewal / expansion from this many days before the renewal date."""


DEFAULT_LIFECYCLE_RULES = LifecycleRules()


@transaction.atomic
def set_lifecycle_stage(
    account: Account,
    stage: str,
    user: AbstractBaseUser | None,
    reason: str = "",
    *,
    at: datetime | None = None,
) -> LifecycleStageChange | None:
    """Move the account to ``stage``, recording who, when and why; None when already there."""
    if stage not in LifecycleStage.values:
        raise ActionError(gettext("unknown lifecycle stage '%(stage)s'") % {"stage": stage})
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.lifecycle_stage == stage:
        return None
    change = LifecycleStageChange.objects.create(
        account=account,
        from_stage=account.lifecycle_stage,
        to_stage=stage,
        changed_at=at or timezone.now(),
        changed_by_id=user.pk if user else None,
        reason=reason[:200],
    )
    account.lifecycle_stage = stage
    account.save(update_fields=["lifecycle_stage"])
    return change


def lifecycle_stage_due(
    account: Account, as_of: date, rules: LifecycleRules = DEFAULT_LIFECYCLE_RULES
) -> str | None:
    """The stage the rules put a paying customer in on ``as_of`` (None: the rules do not apply).

    Renewal / expansion when the renewal date is within the window (and not past); otherwise
    by whole months since the contract started: onboarding, adoption, then maturity.
    """
    if account.status != AccountStatus.CUSTOMER or account.contract_start is None:
        return None
    if account.contract_start > as_of:
        return None
    renewal = account.renewal_date
    if renewal is not None and as_of <= renewal <= as_of + timedelta(rules.renewal_window_days):
        return LifecycleStage.RENEWAL
    if add_months(account.contract_start, rules.maturity_from_month) <= as_of:
        return LifecycleStage.MATURITY
    if add_months(account.contract_start, rules.adoption_from_month) <= as_of:
        return LifecycleStage.ADOPTION
    return LifecycleStage.ONBOARDING


def advance_lifecycle(
    as_of: date, rules: LifecycleRules = DEFAULT_LIFECYCLE_RULES
) -> list[LifecycleStageChange]:
    """Apply the lifecycle rules to every paying customer; returns the changes made.

    The rules only move an account forward (onboarding → adoption → maturity → renewal), so a
    stage set by hand ahead of the calendar is kept; the one way back is from renewal to
    maturity once a renewal has moved the renewal date out of the window. Advocacy is set by
    hand and left alone.
    """
    changes: list[LifecycleStageChange] = []
    accounts = Account.objects.filter(
        status=AccountStatus.CUSTOMER, contract_start__isnull=False
    ).exclude(lifecycle_stage=LifecycleStage.ADVOCACY)
    moment = timezone.make_aware(datetime.combine(as_of, datetime.min.time()))
    for account in accounts.iterator(chunk_size=2000):
        due = lifecycle_stage_due(account, as_of, rules)
        current = account.lifecycle_stage
        if due is None or due == current:
            continue
        renewed = current == LifecycleStage.RENEWAL
        if (
            current in RULE_ORDER
            and not renewed
            and RULE_ORDER.index(due) < RULE_ORDER.index(current)
        ):
            continue
        reason = gettext("Lifecycle rule as of %(day)s") % {"day": as_of.isoformat()}
        change = set_lifecycle_stage(account, due, None, reason, at=moment)
        if change is not None:
            changes.append(change)
    return changes


# --- handoff (C4) ---------------------------------------------------------------------------

# Without these a CSM cannot start: why the customer bought, what success means to them, and
# who to talk to. Competitors and contract background are welcome but optional.
HANDOFF_REQUIRED_FIELDS: tuple[str, ...] = ("background", "success_definition", "key_persons")
HANDOFF_FIELDS: tuple[str, ...] = (
    *HANDOFF_REQUIRED_FIELDS,
    "competitors",
    "contract_background",
)
# Sales has this many business days after the win to complete the handoff.
HANDOFF_DUE_BUSINESS_DAYS = 5


def _contract_summary(deal: Deal) -> str:
    return gettext("Plan %(plan)s, MRR %(mrr)s %(currency)s, %(months)s-month term.") % {
        "plan": deal.plan or "—",
        "mrr": f"{round_money(deal.amount_mrr, deal.currency):,}",
        "currency": deal.currency,
        "months": deal.contract_months or "—",
    }


@transaction.atomic
def open_handoff(deal: Deal, on: date) -> HandoffRecord:
    """Open the sales → CS handoff of a won deal, with a task for the deal owner to complete it.

    The contract background starts from the deal (plan, MRR, term); what the deal's
    ``details`` hold under the handoff field names (e.g. from an import) is copied in.
    """
    existing = HandoffRecord.objects.filter(deal=deal).first()
    if existing is not None:
        return existing
    values = {key: str(deal.details.get(key, "") or "") for key in HANDOFF_FIELDS}
    values["contract_background"] = values["contract_background"] or _contract_summary(deal)
    handoff = HandoffRecord.objects.create(account_id=deal.account_id, deal=deal, **values)
    owner = deal.owner
    task = create_task(
        account=deal.account,
        title=gettext("Complete the handoff to customer success"),
        assignee=owner,
        due_on=add_business_days(on, HANDOFF_DUE_BUSINESS_DAYS),
        kind="handoff",
    )
    task.dedupe_key = f"handoff:{handoff.pk}"
    task.context = {"handoff": handoff.pk, "deal": deal.pk}
    task.save(update_fields=["dedupe_key", "context"])
    return handoff


def handoff_missing(handoff: HandoffRecord) -> list[str]:
    return [key for key in HANDOFF_REQUIRED_FIELDS if not str(getattr(handoff, key)).strip()]


@transaction.atomic
def complete_handoff(
    handoff: HandoffRecord, user: AbstractBaseUser | None, values: dict[str, str]
) -> HandoffRecord:
    """Fill the handoff and mark it complete; refused while a required field is empty."""
    handoff = HandoffRecord.objects.select_for_update().get(pk=handoff.pk)
    for key, value in values.items():
        if key not in HANDOFF_FIELDS:
            raise ActionError(gettext("unknown handoff field '%(key)s'") % {"key": key})
        setattr(handoff, key, value.strip())
    missing = handoff_missing(handoff)
    if missing:
        labels = ", ".join(
            str(cast("Field[Any, Any]", HandoffRecord._meta.get_field(key)).verbose_name)
            for key in missing
        )
        raise ActionError(
            gettext("The handoff needs these fields: %(fields)s") % {"fields": labels}
        )
    handoff.completed_at = timezone.now()
    handoff.save()
    Task.objects.filter(dedupe_key=f"handoff:{handoff.pk}", status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, completed_at=handoff.completed_at
    )
    return handoff


# --- onboarding checklist (C6) --------------------------------------------------------------


@dataclass(frozen=True)
class OnboardingStep:
    title: Promise
    due_after_days: int
    """Due this many calendar days after the contract starts."""
    is_first_value: bool = False


# The default checklist: the steps a CS team walks a new customer through in the first three
# months (the onboarding stage), with the first real result as the first-value event.
ONBOARDING_TEMPLATE: tuple[OnboardingStep, ...] = (
    OnboardingStep(gettext_lazy("Kick-off meeting held"), 7),
    OnboardingStep(gettext_lazy("Administrators and single sign-on set up"), 14),
    OnboardingStep(gettext_lazy("Data imported and integrations connected"), 21),
    OnboardingStep(gettext_lazy("Core team trained"), 30),
    OnboardingStep(gettext_lazy("First success milestone reached"), 45, is_first_value=True),
    OnboardingStep(gettext_lazy("Onboarding review with the customer"), 60),
    OnboardingStep(gettext_lazy("Rollout to the whole team"), 90),
)


@transaction.atomic
def start_onboarding(
    account: Account, start: date, template: Sequence[OnboardingStep] = ONBOARDING_TEMPLATE
) -> list[OnboardingItem]:
    """Instantiate the checklist for a new customer; an account with open steps keeps them."""
    if OnboardingItem.objects.filter(account=account, done_on__isnull=True).exists():
        return []
    first = (OnboardingItem.objects.filter(account=account).count() // 100 + 1) * 100
    items = [
        OnboardingItem(
            account=account,
            title=str(step.title),
            order=first + position,
            due_on=start + timedelta(days=step.due_after_days),
            is_first_value=step.is_first_value,
        )
        for position, step in enumerate(template, start=1)
    ]
    return OnboardingItem.objects.bulk_create(items)


@transaction.atomic
def complete_onboarding_item(item: OnboardingItem, done_on: date) -> OnboardingItem:
    item = OnboardingItem.objects.select_for_update().get(pk=item.pk)
    item.done_on = done_on
    item.save(update_fields=["done_on"])
    return item


@dataclass(frozen=True)
class OnboardingProgress:
    total: int
    done: int
    overdue: int
    completion_rate: Decimal | None
    """Done ÷ total (None without a checklist)."""
    time_to_value_days: int | None
    """Days from contract start to completing the first-value step (None until then)."""


def onboarding_progress(account: Account, as_of: date) -> OnboardingProgress:
    items = list(OnboardingItem.objects.filter(account=account))
    done = sum(1 for item in items if item.done_on is not None)
    overdue = sum(
        1 for item in items if item.done_on is None and item.due_on and item.due_on < as_of
    )
    first_value = [item.done_on for item in items if item.is_first_value and item.done_on]
    ttv = None
    if first_value and account.contract_start is not None:
        ttv = (min(first_value) - account.contract_start).days
    return OnboardingProgress(
        total=len(items),
        done=done,
        overdue=overdue,
        completion_rate=Decimal(done) / Decimal(len(items)) if items else None,
        time_to_value_days=ttv,
    )


@dataclass(frozen=True)
class OnboardingSummary:
    accounts: int
    completion_rate: Decimal | None
    """All done steps ÷ all steps, over the accounts with a checklist."""
    median_time_to_value_days: float | None
    reached_value: int
    """Accounts whose first-value step is done."""
    time_to_value_days: list[int] = field(default_factory=list)


def onboarding_summary(accounts: QuerySet[Account], as_of: date) -> OnboardingSummary:
    """Onboarding completion and Time-to-Value over ``accounts`` (for the CS dashboard)."""
    total = done = with_checklist = 0
    ttv: list[int] = []
    for account in accounts.filter(onboarding__isnull=False).distinct():
        progress = onboarding_progress(account, as_of)
        with_checklist += 1
        total += progress.total
        done += progress.done
        if progress.time_to_value_days is not None:
            ttv.append(progress.time_to_value_days)
    return OnboardingSummary(
        accounts=with_checklist,
        completion_rate=Decimal(done) / Decimal(total) if total else None,
        median_time_to_value_days=statistics.median(ttv) if ttv else None,
        reached_value=len(ttv),
        time_to_value_days=sorted(ttv),
    )


# --- QBR (C7) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QbrAction:
    """One line of the next-quarter action plan, which becomes a task."""

    title: str
    assignee: AbstractBaseUser | None = None
    due_on: date | None = None


@dataclass(frozen=True)
class ExpansionNeed:
    """An expansion need raised at a QBR, which becomes an upsell deal."""

    title: str
    amount_mrr: Decimal = Decimal(0)
    close_date: date | None = None
    product: str = ""


@dataclass(frozen=True)
class QbrOutcome:
    qbr: Qbr
    tasks: list[Task]
    deal: Deal | None


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@transaction.atomic
def record_qbr(
    *,
    account: Account,
    held_on: date,
    user: AbstractBaseUser | None,
    outcomes: str = "",
    issues: str = "",
    best_practices: str = "",
    actions: Sequence[QbrAction] = (),
    expansion: ExpansionNeed | None = None,
) -> QbrOutcome:
    """Record the quarter's business review: each next action becomes a task (for the CS owner
    unless assigned), and an expansion need opens a deal in the upsell pipeline."""
    from kizuna.pipeline.actions import open_upsell_deal

    quarter = quarter_of(held_on)
    if Qbr.objects.filter(account=account, quarter=quarter).exists():
        raise ActionError(
            gettext("%(account)s already has a QBR for %(quarter)s")
            % {"account": account, "quarter": quarter}
        )
    qbr = Qbr.objects.create(
        account=account,
        quarter=quarter,
        held_on=held_on,
        outcomes=outcomes,
        issues=issues,
        best_practices=best_practices,
        next_actions="\n".join(action.title for action in actions),
        expansion_needs=expansion.title if expansion else "",
    )
    tasks = []
    for number, action in enumerate(actions, start=1):
        task = create_task(
            account=account,
            title=action.title,
            assignee=action.assignee or account.cs_owner,
            due_on=action.due_on,
            kind="qbr_action",
        )
        task.dedupe_key = f"qbr:{qbr.pk}:{number}"
        task.context = {"qbr": qbr.pk}
        task.save(update_fields=["dedupe_key", "context"])
        tasks.append(task)
    deal = None
    if expansion is not None:
        deal = open_upsell_deal(
            account=account,
            title=expansion.title,
            amount_mrr=expansion.amount_mrr,
            close_date=expansion.close_date or add_months(held_on, 3),
            product=expansion.product,
            user=user,
            source="qbr",
        )
    return QbrOutcome(qbr=qbr, tasks=tasks, deal=deal)
