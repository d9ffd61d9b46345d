"""Every state change of the playbooks, each explicit and inside a transaction.

The runner, the pages and the commands call these; nothing else writes playbook models. Each
function that creates something keyed by a unique constraint does so in a savepoint and falls
back to the existing row on ``IntegrityError``: a concurrent run that got there first wins, and
this one simply sees its row (get-or-create that is safe under concurrency).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from kizuna.api.webhooks import ALERT_CREATED, emit, emit_many
from kizuna.core.row_updates import insert_new, save_fields
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


def _alert_event(alert: Alert, rule: Rule) -> dict[str, Any]:
    """The ``alert.created`` webhook payload."""
    return {
        "alert_id": alert.pk,
        "account_id": alert.account_id,
        "rule": rule.key,
        "signal": alert.signal,
        "level": alert.level,
        "occurrence": alert.occurrence,
        "occurred_on": alert.occurred_on,
        "detail": alert.detail,
    }


def _new_alert(
    rule: Rule,
    match: Match,
    *,
    as_of: date,
    owner_id: int | None,
    run: RunLog | None,
    now: datetime,
) -> Alert:
    return Alert(
        rule=rule,
        account_id=match.account_id,
        signal=match.signal,
        level=match.level,
        occurrence=match.occurrence,
        occurred_on=match.occurred_on,
        as_of=as_of,
        detail=match.detail,
        owner_id=owner_id,
        run=run,
        created_at=now,
    )


@transaction.atomic
def enrol_alert(
    *,
    rule: Rule,
    match: Match,
    as_of: date,
    owner_id: int | None,
    now: datetime,
    run: RunLog | None = None,
) -> tuple[Alert, bool]:
    """The alert for ``rule × account × occurrence``: created now, or the one that exists."""
    try:
        with transaction.atomic():
            alert = _new_alert(rule, match, as_of=as_of, owner_id=owner_id, run=run, now=now)
            alert.save(force_insert=True)
    except IntegrityError:
        existing = Alert.objects.get(
            rule=rule, account_id=match.account_id, occurrence=match.occurrence
        )
        return existing, False
    emit(ALERT_CREATED, _alert_event(alert, rule), now=now)
    return alert, True


@dataclass(frozen=True)
class AlertCandidate:
    rule: Rule
    match: Match
    owner_id: int | None


@transaction.atomic
def enrol_alerts(
    candidates: Sequence[AlertCandidate], *, as_of: date, run: RunLog, now: datetime
) -> list[Alert | None]:
    """:func:`enrol_alert` for many candidates in one insert; the alerts this run raised.

    Rows that exist already (raised by an earlier run, or by a concurrent run a moment ago) are
    skipped by the unique constraint (``ignore_conflicts``: on PostgreSQL the insert waits for
    a concurrent run's commit, then skips). Reading back the alerts of ``run`` tells which
    candidates became alerts here; the others are None, in the candidates' order.
    """
    insert_new(
        [
            _new_alert(c.rule, c.match, as_of=as_of, owner_id=c.owner_id, run=run, now=now)
            for c in candidates
        ],
        ignore_conflicts=True,
    )
    rules = {c.rule.pk: c.rule for c in candidates}
    mine = {
        (alert.rule_id, alert.account_id, alert.occurrence): alert
        for alert in Alert.objects.filter(
            run=run,
            rule_id__in=list(rules),
            account_id__in={c.match.account_id for c in candidates},
        )
    }
    raised: list[Alert | None] = []
    for candidate in candidates:
        alert = mine.get(
            (candidate.rule.pk, candidate.match.account_id, candidate.match.occurrence)
        )
        if alert is not None:
            alert.rule = candidate.rule
        raised.append(alert)
    emit_many(
        ALERT_CREATED,
        [_alert_event(alert, alert.rule) for alert in raised if alert is not None],
        now=now,
    )
    return raised


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
def notify_users(notifications: Sequence[Notification]) -> int:
    """Insert unsaved notifications at once (one per user and alert; repeats are skipped)."""
    for notification in notifications:
        notification.title = notification.title[:200]
    insert_new(notifications, ignore_conflicts=True)
    return len(notifications)


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
            _merge_occurrence(task, context)
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


@dataclass(frozen=True)
class TaskRequest:
    """What :func:`open_or_update_task` is asked, for the batch form."""

    account: Account
    assignee_id: int | None
    title: str
    kind: str
    reason: str
    due_on: date | None
    description: str
    context: dict[str, Any]
    alert: Alert | None


def _merge_occurrence(task: Task, context: dict[str, Any]) -> None:
    seen = list(task.context.get("occurrences", []))
    occurrence = context.get("occurrence")
    if occurrence is not None and occurrence not in seen:
        seen.append(occurrence)
    task.context = {**task.context, **context, "occurrences": seen}


@transaction.atomic
def open_or_update_tasks(requests: Sequence[TaskRequest]) -> list[tuple[Task, bool]]:
    """:func:`open_or_update_task` for many requests in a few statements, in their order.

    Requests with the same key in one batch share one task (the first opens it, the others
    update it). When a concurrent run opened one of the new tasks a moment ago, the insert
    fails on the key and the batch is done one request at a time, which updates that task.
    """
    keys = [task_dedupe_key(r.account.pk, r.kind, r.reason) for r in requests]
    found = Task.objects.select_for_update().filter(dedupe_key__in=set(keys)).order_by("dedupe_key")
    current: dict[str, Task] = {}
    released: list[Task] = []
    for task in found:
        if task.status == TaskStatus.OPEN:
            current[str(task.dedupe_key)] = task
        else:
            task.dedupe_key = f"{task.dedupe_key}#{task.pk}"[:200]
            released.append(task)
    save_fields(released, ["dedupe_key"])
    new: dict[str, Task] = {}
    for key, request in zip(keys, requests, strict=True):
        if key in current or key in new:
            continue
        occurrence = request.context.get("occurrence")
        new[key] = Task(
            account=request.account,
            title=request.title[:200],
            kind=request.kind[:50],
            description=request.description,
            assignee_id=request.assignee_id,
            due_on=request.due_on,
            status=TaskStatus.OPEN,
            dedupe_key=key,
            context={**request.context, "occurrences": [occurrence] if occurrence else []},
        )
    try:
        with transaction.atomic():
            Task.objects.bulk_create(list(new.values()), batch_size=500)
    except IntegrityError:
        return [
            open_or_update_task(
                account=r.account,
                assignee_id=r.assignee_id,
                title=r.title,
                kind=r.kind,
                reason=r.reason,
                due_on=r.due_on,
                description=r.description,
                context=r.context,
                alert=r.alert,
            )
            for r in requests
        ]
    results: list[tuple[Task, bool]] = []
    changed: dict[int, Task] = {}
    links = []
    for key, request in zip(keys, requests, strict=True):
        created = key in new
        if created:
            task = current[key] = new.pop(key)
        else:
            task = current[key]
            _merge_occurrence(task, request.context)
            changed[task.pk] = task
        if request.alert is not None:
            links.append(Alert.tasks.through(alert_id=request.alert.pk, task_id=task.pk))
        results.append((task, created))
    save_fields(list(changed.values()), ["context"])
    insert_new(links, ignore_conflicts=True)
    return results


@transaction.atomic
def schedule_escalations(escalations: Sequence[Escalation]) -> list[Escalation]:
    """Insert unsaved escalations of newly opened tasks at once."""
    for escalation in escalations:
        escalation.reason = escalation.reason[:200]
    return Escalation.objects.bulk_create(escalations, batch_size=1000)


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
    return set_account_properties([(account.pk, field, value)])[0]


@transaction.atomic
def set_account_properties(changes: Sequence[tuple[int, str, Any]]) -> list[bool]:
    """``(account id, field, value)`` changes in order, the accounts locked and saved at once;
    for each, whether it changed anything."""
    for _account_id, field, _value in changes:
        if not field.startswith("custom:") and field not in SETTABLE_ACCOUNT_FIELDS:
            raise PlaybookError(f"a rule cannot set the account field {field!r}")
    accounts = Account.objects.select_for_update().order_by("pk")
    locked = accounts.in_bulk({account_id for account_id, _field, _value in changes})
    changed_fields: set[str] = set()
    changed_accounts: dict[int, Account] = {}
    results: list[bool] = []
    for account_id, field, value in changes:
        account = locked[account_id]
        if field.startswith("custom:"):
            name = field.removeprefix("custom:")
            changed = account.custom_properties.get(name) != value
            if changed:
                account.custom_properties = {**account.custom_properties, name: value}
                changed_fields.add("custom_properties")
        else:
            changed = getattr(account, field) != value
            if changed:
                setattr(account, field, value)
                changed_fields.add(field)
        if changed:
            changed_accounts[account_id] = account
        results.append(changed)
    if changed_accounts:
        save_fields(list(changed_accounts.values()), sorted(changed_fields))
    return results


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


@dataclass(frozen=True)
class DealRequest:
    """What :func:`open_deal` is asked, for the batch form (one pipeline and stage)."""

    account: Account
    owner_id: int | None
    title: str
    amount_mrr: Decimal
    currency: str
    created_on: date
    close_date: date
    renewal_of_term_end: date | None
    details: dict[str, Any]


@transaction.atomic
def open_deals(
    *, pipeline_key: str, stage_key: str, requests: Sequence[DealRequest], now: datetime
) -> list[tuple[Deal, bool]]:
    """:func:`open_deal` for many requests in a few statements, in their order.

    A renewal deal that exists (an earlier run, or an earlier request of the batch for the
    same term) is returned as is. A renewal deal opened by a concurrent run a moment ago makes
    the insert fail on its constraint; the caller then opens them one at a time.
    """
    pipeline = Pipeline.objects.filter(key=pipeline_key).first()
    if pipeline is None:
        raise PlaybookError(f"no pipeline {pipeline_key!r}")
    stage = Stage.objects.filter(pipeline=pipeline, key=stage_key).first()
    if stage is None:
        raise PlaybookError(f"pipeline {pipeline_key!r} has no stage {stage_key!r}")
    terms = {(r.account.pk, r.renewal_of_term_end) for r in requests if r.renewal_of_term_end}
    existing = {
        (deal.account_id, deal.renewal_of_term_end): deal
        for deal in Deal.objects.filter(
            account_id__in={account_id for account_id, _term in terms},
            renewal_of_term_end__in={term for _account, term in terms},
        )
    }
    new: list[Deal] = []
    chosen: list[tuple[Deal, bool]] = []
    for request in requests:
        key = (request.account.pk, request.renewal_of_term_end)
        if request.renewal_of_term_end is not None and key in existing:
            chosen.append((existing[key], False))
            continue
        deal = Deal(
            title=request.title[:200],
            pipeline=pipeline,
            stage=stage,
            account=request.account,
            owner_id=request.owner_id,
            status=DealStatus.OPEN,
            amount_mrr=request.amount_mrr,
            currency=request.currency,
            created_on=request.created_on,
            close_date=request.close_date,
            renewal_of_term_end=request.renewal_of_term_end,
            details=request.details,
        )
        if request.renewal_of_term_end is not None:
            existing[key] = deal
        new.append(deal)
        chosen.append((deal, True))
    Deal.objects.bulk_create(new, batch_size=500)
    DealStageChange.objects.bulk_create(
        [
            DealStageChange(deal=deal, from_stage=None, to_stage=stage, changed_at=now)
            for deal in new
        ],
        batch_size=1000,
    )
    return chosen


@transaction.atomic
def attach_summary(*, tasks: Sequence[Task], alert: Alert | None, summary: dict[str, Any]) -> int:
    """Put the account summary on the alert's tasks (and on the alert itself)."""
    return attach_summaries([(tasks, alert, summary)])[0]


@transaction.atomic
def attach_summaries(
    items: Sequence[tuple[Sequence[Task], Alert | None, dict[str, Any]]],
) -> list[int]:
    """:func:`attach_summary` for many alerts, saved at once; the tasks given for each."""
    tasks: dict[int, Task] = {}
    alerts: dict[int, Alert] = {}
    for item_tasks, alert, summary in items:
        for task in item_tasks:
            task.context = {**task.context, "summary": summary}
            tasks[task.pk] = task
        if alert is not None:
            alert.detail = {**alert.detail, "summary": summary}
            alerts[alert.pk] = alert
    save_fields(list(tasks.values()), ["context"])
    save_fields(list(alerts.values()), ["detail"])
    return [len(item_tasks) for item_tasks, _alert, _summary in items]


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
def claim_deliveries(action_names: Sequence[str], limit: int) -> tuple[int, list[ActionLog]]:
    """Take up to ``limit`` pending deliveries for sending: (how many were pending, those
    claimed here). A claim is a conditional update marked with a token of this call, so of
    two workers each line goes to exactly one."""
    token = f"sending {uuid.uuid4().hex}"
    pending = ActionLog.objects.filter(outcome=Outcome.PENDING, action__in=list(action_names))
    ids = list(pending.order_by("pk").values_list("pk", flat=True)[:limit])
    ActionLog.objects.filter(pk__in=ids, outcome=Outcome.PENDING).update(
        outcome=Outcome.SKIPPED, message=token
    )
    return len(ids), list(ActionLog.objects.filter(pk__in=ids, message=token).order_by("pk"))


@transaction.atomic
def finish_deliveries(entries: Sequence[ActionLog]) -> None:
    """Save how the claimed deliveries went (``outcome``, ``message``, ``attempts`` set)."""
    save_fields(entries, ["outcome", "message", "attempts"])


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
