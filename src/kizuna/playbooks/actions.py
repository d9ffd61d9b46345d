"""Every state change of the playbooks, each explicit and inside a transaction.

The runner, the pages and the commands call these; nothing else writes playbook models. Each
function that creates something keyed by a unique constraint does so in a savepoint and falls
back to the existing row on ``IntegrityError``: a concurrent run that got there first wins, and
this one simply sees its row (get-or-create that is safe under concurrency).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from kizuna.api.webhooks import emit
from kizuna.crm.models import Account, AccountStatus, ChurnReason, ChurnRecord, Task, TaskStatus
from kizuna.pipeline.models import Deal, DealStageChange, DealStatus, Pipeline, Stage
from kizuna.playbooks.context import Match
from kizuna.playbooks.models import (
    ActionLog,
    Alert,
    AlertStatus,
    Escalation,
    EscalationStatus,
    Notification,
    Outcome,
    Rule,
    RunLog,
)

if TYPE_CHECKING:
    from kizuna.playbooks.rules import RuleSpec


class PlaybookError(ValueError):
    """An action was asked to do something that does not make sense; the message says what."""


# --- rules -------------------------------------------------------------------------------------


@transaction.atomic
def save_rules(
    specs: Iterable[RuleSpec], *, overwrite: bool, is_default: bool = False
) -> tuple[int, int]:
    """Write validated rules by key; (created, updated). Without ``overwrite`` rules that
    exist are left exactly as the team configured them."""
    created = updated = 0
    for spec in specs:
        rule = Rule.objects.select_for_update().filter(key=spec.key).first()
        if rule is None:
            Rule.objects.create(key=spec.key, is_default=is_default, **spec.model_values())
            created += 1
        elif overwrite:
            for name, value in spec.model_values().items():
                setattr(rule, name, value)
            rule.save()
            updated += 1
    return created, updated


# --- alerts ------------------------------------------------------------------------------------


@transaction.atomic
def enrol_alert(
    *, rule: Rule, match: Match, as_of: date, owner_id: int | None, now: datetime
) -> tuple[Alert, bool]:
    """The alert for ``rule × account × occurrence``: created now, or the one that exists."""
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                rule=rule,
                account_id=match.account_id,
                signal=match.signal,
                level=match.level,
                occurrence=match.occurrence,
                occurred_on=match.occurred_on,
                as_of=as_of,
                detail=match.detail,
                owner_id=owner_id,
                created_at=now,
            )
    except IntegrityError:
        existing = Alert.objects.get(
            rule=rule, account_id=match.account_id, occurrence=match.occurrence
        )
        return existing, False
    emit(
        "alert.created",
        {
            "alert_id": alert.pk,
            "account_id": alert.account_id,
            "rule": rule.key,
            "signal": alert.signal,
            "level": alert.level,
            "occurrence": alert.occurrence,
            "occurred_on": alert.occurred_on,
            "detail": alert.detail,
        },
        now=now,
    )
    return alert, True


@transaction.atomic
def snooze_alert(alert: Alert, *, until: date, reason: str, user: AbstractBaseUser) -> Alert:
    if not reason.strip():
        raise PlaybookError("snoozing an alert needs a reason")
    alert.status = AlertStatus.SNOOZED
    alert.snoozed_until = until
    alert.status_reason = reason.strip()
    alert.handled_by_id = user.pk
    alert.save(update_fields=["status", "snoozed_until", "status_reason", "handled_by"])
    return alert


@transaction.atomic
def dismiss_alert(alert: Alert, *, reason: str, user: AbstractBaseUser) -> Alert:
    if not reason.strip():
        raise PlaybookError("dismissing an alert needs a reason")
    alert.status = AlertStatus.DISMISSED
    alert.status_reason = reason.strip()
    alert.handled_by_id = user.pk
    alert.handled_at = timezone.now()
    alert.save(update_fields=["status", "status_reason", "handled_by", "handled_at"])
    return alert


@transaction.atomic
def handle_alert(alert: Alert, *, user: AbstractBaseUser | None, reason: str = "") -> Alert:
    alert.status = AlertStatus.HANDLED
    alert.status_reason = reason.strip()
    alert.handled_by_id = user.pk if user is not None else None
    alert.handled_at = timezone.now()
    alert.save(update_fields=["status", "status_reason", "handled_by", "handled_at"])
    return alert


@transaction.atomic
def wake_snoozed_alerts(as_of: date) -> int:
    """Snoozed alerts whose snooze ended on or before ``as_of`` are open again."""
    return Alert.objects.filter(status=AlertStatus.SNOOZED, snoozed_until__lte=as_of).update(
        status=AlertStatus.OPEN, snoozed_until=None
    )


@transaction.atomic
def close_alerts_with_done_tasks() -> int:
    """An open alert whose tasks are all done is handled, at the moment the last one was."""
    candidates = (
        Alert.objects.filter(status=AlertStatus.OPEN, tasks__isnull=False)
        .exclude(tasks__status=TaskStatus.OPEN)
        .annotate(last_done=Max("tasks__completed_at"))
        .distinct()
    )
    closed = 0
    for alert in candidates:
        alert.status = AlertStatus.HANDLED
        alert.handled_at = alert.last_done or timezone.now()  # type: ignore[attr-defined]
        alert.save(update_fields=["status", "handled_at"])
        closed += 1
    return closed


# --- notifications -----------------------------------------------------------------------------


@transaction.atomic
def notify_user(
    *, user_id: int, alert: Alert | None, title: str, body: str, now: datetime
) -> tuple[Notification, bool]:
    """An in-app notification; at most one per user and alert."""
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                user_id=user_id, alert=alert, title=title[:200], body=body, created_at=now
            )
        return notification, True
    except IntegrityError:
        return Notification.objects.get(user_id=user_id, alert=alert), False


@transaction.atomic
def mark_notifications_read(user: AbstractBaseUser, ids: Iterable[int] | None = None) -> int:
    unread = Notification.objects.filter(user_id=user.pk, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


# --- tasks and escalations ---------------------------------------------------------------------


def task_dedupe_key(account_id: int, kind: str, reason: str) -> str:
    """One open task per account, task type and reason (the rule that asked for it)."""
    return f"playbook:{account_id}:{kind}:{reason}"[:200]


@transaction.atomic
def open_or_update_task(
    *,
    account: Account,
    assignee_id: int | None,
    title: str,
    kind: str,
    reason: str,
    due_on: date | None,
    description: str,
    context: dict[str, Any],
    alert: Alert | None,
) -> tuple[Task, bool]:
    """Open a task, or update the open one of the same account, type and reason.

    An update adds the new occurrence to the task's context and keeps its due date (the person
    is already on it). A done or cancelled task gives up its key, so the next occurrence after
    it opens a fresh task.
    """
    key = task_dedupe_key(account.pk, kind, reason)
    occurrence = context.get("occurrence")
    for _attempt in range(2):
        task = Task.objects.select_for_update().filter(dedupe_key=key).first()
        if task is not None and task.status != TaskStatus.OPEN:
            task.dedupe_key = f"{key}#{task.pk}"[:200]
            task.save(update_fields=["dedupe_key"])
            task = None
        if task is not None:
            seen = list(task.context.get("occurrences", []))
            if occurrence is not None and occurrence not in seen:
                seen.append(occurrence)
            task.context = {**task.context, **context, "occurrences": seen}
            task.save(update_fields=["context"])
            if alert is not None:
                alert.tasks.add(task)
            return task, False
        try:
            with transaction.atomic():
                task = Task.objects.create(
                    account=account,
                    title=title[:200],
                    kind=kind[:50],
                    description=description,
                    assignee_id=assignee_id,
                    due_on=due_on,
                    status=TaskStatus.OPEN,
                    dedupe_key=key,
                    context={**context, "occurrences": [occurrence] if occurrence else []},
                )
        except IntegrityError:
            continue  # opened by a concurrent run a moment ago: update that one
        if alert is not None:
            alert.tasks.add(task)
        return task, True
    raise PlaybookError(f"could not open or update the task {key}")


@transaction.atomic
def schedule_escalation(
    *,
    task: Task,
    alert: Alert | None,
    to: str,
    deadline: date,
    reason: str,
    now: datetime,
) -> tuple[Escalation, bool]:
    """A deadline on ``task``: still open at the end of ``deadline``, it goes to ``to``."""
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(
                account_id=task.account_id,  # type: ignore[misc]  # playbook tasks have one
                alert=alert,
                task=task,
                to=to,
                deadline=deadline,
                reason=reason[:200],
                created_at=now,
            )
        return escalation, True
    except IntegrityError:
        return Escalation.objects.get(task=task), False


@transaction.atomic
def escalate(
    escalation: Escalation,
    *,
    lead_id: int | None,
    title: str,
    body: str,
    lead_task_due_on: date,
    now: datetime,
) -> bool:
    """Hand an escalation to the lead: notification and a task. False when already done.

    The pending → escalated change is a conditional update, so of two runs at once exactly one
    escalates.
    """
    claimed = Escalation.objects.filter(pk=escalation.pk, status=EscalationStatus.PENDING).update(
        status=EscalationStatus.ESCALATED, escalated_at=now, escalated_to_id=lead_id
    )
    if not claimed:
        return False
    escalation.refresh_from_db()
    account = escalation.account
    if lead_id is not None:
        notify_user(user_id=lead_id, alert=escalation.alert, title=title, body=body, now=now)
    lead_task, _created = open_or_update_task(
        account=account,
        assignee_id=lead_id,
        title=title,
        kind="escalation",
        reason=f"escalation-{escalation.pk}",
        due_on=lead_task_due_on,
        description=body,
        context={
            "escalation_id": escalation.pk,
            "escalated_task_id": escalation.task_id,
            "alert_id": escalation.alert_id,
        },
        alert=escalation.alert,
    )
    escalation.lead_task = lead_task
    escalation.save(update_fields=["lead_task"])
    return True


@transaction.atomic
def escalate_now(
    *,
    account: Account,
    alert: Alert | None,
    to: str,
    lead_id: int | None,
    reason: str,
    title: str,
    body: str,
    lead_task_due_on: date,
    as_of: date,
    now: datetime,
) -> Escalation:
    """Escalate without waiting for a deadline (e.g. a health score turned critical)."""
    escalation = Escalation.objects.create(
        account=account,
        alert=alert,
        task=None,
        to=to,
        deadline=as_of,
        reason=reason[:200],
        created_at=now,
    )
    escalate(
        escalation,
        lead_id=lead_id,
        title=title,
        body=body,
        lead_task_due_on=lead_task_due_on,
        now=now,
    )
    escalation.refresh_from_db()
    return escalation


@transaction.atomic
def resolve_escalation(escalation: Escalation) -> bool:
    """The task was done in time: nothing to escalate."""
    return bool(
        Escalation.objects.filter(pk=escalation.pk, status=EscalationStatus.PENDING).update(
            status=EscalationStatus.RESOLVED
        )
    )


# --- account and deals -------------------------------------------------------------------------

# Account fields a rule may set; anything else is a custom property (``custom:NAME``).
SETTABLE_ACCOUNT_FIELDS = ("lifecycle_stage", "touch_tier")


@transaction.atomic
def set_account_property(account: Account, field: str, value: Any) -> bool:
    """Set an account field or custom property; False when it already had that value."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    if field.startswith("custom:"):
        name = field.removeprefix("custom:")
        if account.custom_properties.get(name) == value:
            return False
        account.custom_properties = {**account.custom_properties, name: value}
        account.save(update_fields=["custom_properties"])
        return True
    if field not in SETTABLE_ACCOUNT_FIELDS:
        raise PlaybookError(f"a rule cannot set the account field {field!r}")
    if getattr(account, field) == value:
        return False
    setattr(account, field, value)
    account.save(update_fields=[field])
    return True


@transaction.atomic
def open_deal(
    *,
    account: Account,
    pipeline_key: str,
    stage_key: str,
    owner_id: int | None,
    title: str,
    amount_mrr: Decimal,
    currency: str,
    created_on: date,
    close_date: date,
    renewal_of_term_end: date | None,
    details: dict[str, Any],
    now: datetime,
) -> tuple[Deal, bool]:
    """Open a deal; a renewal deal exists once per term (the ``(account, term end)`` key)."""
    pipeline = Pipeline.objects.filter(key=pipeline_key).first()
    if pipeline is None:
        raise PlaybookError(f"no pipeline {pipeline_key!r}")
    stage = Stage.objects.filter(pipeline=pipeline, key=stage_key).first()
    if stage is None:
        raise PlaybookError(f"pipeline {pipeline_key!r} has no stage {stage_key!r}")
    try:
        with transaction.atomic():
            deal = Deal.objects.create(
                title=title[:200],
                pipeline=pipeline,
                stage=stage,
                account=account,
                owner_id=owner_id,
                status=DealStatus.OPEN,
                amount_mrr=amount_mrr,
                currency=currency,
                created_on=created_on,
                close_date=close_date,
                renewal_of_term_end=renewal_of_term_end,
                details=details,
            )
            DealStageChange.objects.create(
                deal=deal, from_stage=None, to_stage=stage, changed_at=now
            )
        return deal, True
    except IntegrityError:
        existing = Deal.objects.get(account=account, renewal_of_term_end=renewal_of_term_end)
        return existing, False


@transaction.atomic
def attach_summary(*, tasks: Sequence[Task], alert: Alert | None, summary: dict[str, Any]) -> int:
    """Put the account summary on the alert's tasks (and on the alert itself)."""
    for task in tasks:
        task.context = {**task.context, "summary": summary}
        task.save(update_fields=["context"])
    if alert is not None:
        alert.detail = {**alert.detail, "summary": summary}
        alert.save(update_fields=["detail"])
    return len(tasks)


# --- log ---------------------------------------------------------------------------------------


def log_entry(
    *,
    run: RunLog | None,
    rule: Rule | None,
    alert: Alert | None,
    account_id: int | None,
    action: str,
    outcome: str,
    message: str = "",
    detail: dict[str, Any] | None = None,
    now: datetime,
) -> ActionLog:
    """An unsaved log line (the runner writes them in bulk)."""
    return ActionLog(
        run=run,
        rule=rule,
        alert=alert,
        account_id=account_id,
        action=action,
        outcome=outcome,
        message=message,
        detail=detail or {},
        created_at=now,
    )


@transaction.atomic
def claim_delivery(entry: ActionLog) -> bool:
    """Take a pending delivery for sending; only one worker gets it."""
    return bool(
        ActionLog.objects.filter(pk=entry.pk, outcome=Outcome.PENDING).update(
            outcome=Outcome.SKIPPED, message="sending"
        )
    )


@transaction.atomic
def finish_delivery(entry: ActionLog, *, delivered: bool, message: str, attempts: int) -> None:
    entry.outcome = Outcome.DONE if delivered else Outcome.FAILED
    entry.message = message
    entry.attempts = attempts
    entry.save(update_fields=["outcome", "message", "attempts"])


# --- churn (SPEC C8) ---------------------------------------------------------------------------


@transaction.atomic
def record_churn(
    account: Account,
    *,
    churned_on: date,
    reason: str,
    detail: str,
    user: AbstractBaseUser | None,
) -> ChurnRecord:
    """Record that ``account`` churned, with a reason (select) and free text.

    The account is kept (for the post-mortem and win-back) and marked churned. Its alerts are
    left as they were, so the post-mortem shows which of them were never handled.
    """
    if reason not in ChurnReason.values:
        raise PlaybookError("a churn needs a reason: " + ", ".join(ChurnReason.values))
    if churned_on > timezone.localdate() + timedelta(days=366):
        raise PlaybookError("the churn date is too far in the future")
    record, _created = ChurnRecord.objects.update_or_create(
        account=account,
        churned_on=churned_on,
        defaults={
            "reason": reason,
            "detail": detail.strip(),
            "recorded_by_id": user.pk if user is not None else None,
        },
    )
    Account.objects.filter(pk=account.pk).update(
        status=AccountStatus.CHURNED, churned_on=churned_on
    )
    return record
