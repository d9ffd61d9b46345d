"""The registry of playbook action types (SPEC W): what a rule can do when it fires.

Each type validates its parameters (when a rule is saved or imported), runs against an
:class:`~kizuna.playbooks.context.ActionContext` (calling :mod:`kizuna.playbooks.actions` for
every state change), and describes what it would do for a dry run. Our defaults register
themselves here the same way a plugin adds its own type with :func:`register_action`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from kizuna.billing.models import CustomerMrr
from kizuna.crm.models import LifecycleStage, TouchTier
from kizuna.pipeline.models import Deal, DealStatus
from kizuna.playbooks import actions
from kizuna.playbooks.context import ActionContext
from kizuna.playbooks.delivery import chat_payload
from kizuna.playbooks.labels import signal_label
from kizuna.playbooks.models import Escalation, Notification, Outcome
from kizuna.playbooks.recipients import is_known_recipient, resolve, resolve_all
from kizuna.playbooks.summary import account_summaries


@dataclass(frozen=True)
class ActionResult:
    outcome: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


Validate = Callable[[dict[str, Any]], list[str]]
Run = Callable[[ActionContext, dict[str, Any]], ActionResult]
RunMany = Callable[[Sequence[ActionContext], dict[str, Any]], list[ActionResult]]
Describe = Callable[[ActionContext, dict[str, Any]], str]


@dataclass(frozen=True)
class ActionType:
    name: str
    validate: Validate
    run: Run
    describe: Describe
    run_many: RunMany | None = None
    """The batch form: the same results for many alerts of one rule in a few statements, in
    the contexts' order. It must change the contexts only once its writes are done, because
    when it raises, the runner rolls it back and runs :attr:`run` for each alert instead."""


ACTION_TYPES: dict[str, ActionType] = {}


def register_action(name: str, *, validate: Validate, describe: Describe) -> Callable[[Run], Run]:
    """Register an action type run one alert at a time."""

    def add(function: Run) -> Run:
        if name in ACTION_TYPES:
            raise ValueError(f"action type {name!r} is already registered")
        ACTION_TYPES[name] = ActionType(name, validate, function, describe)
        return function

    return add


def register_batch_action(
    name: str, *, validate: Validate, describe: Describe
) -> Callable[[RunMany], RunMany]:
    """Register an action type by its batch form (a single alert is a batch of one)."""

    def add(function: RunMany) -> RunMany:
        if name in ACTION_TYPES:
            raise ValueError(f"action type {name!r} is already registered")

        def run_one(context: ActionContext, params: dict[str, Any]) -> ActionResult:
            return function([context], params)[0]

        ACTION_TYPES[name] = ActionType(name, validate, run_one, describe, function)
        return function

    return add


def validate_actions(items: Any) -> list[str]:
    if not isinstance(items, list):
        return ["actions must be a list"]
    problems: list[str] = []
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            problems.append(f"action {index}: needs a 'type'")
            continue
        action_type = ACTION_TYPES.get(item["type"])
        if action_type is None:
            problems.append(f"action {index}: unknown type {item['type']!r}")
            continue
        params = {key: value for key, value in item.items() if key != "type"}
        problems.extend(
            f"action {index} ({item['type']}): {p}" for p in action_type.validate(params)
        )
    return problems


# --- parameter checks --------------------------------------------------------------------------


class _Check:
    def __init__(self, params: dict[str, Any], required: set[str], optional: set[str]):
        self.params = params
        self.problems = [f"missing {name!r}" for name in sorted(required - set(params))]
        self.problems += [
            f"unknown parameter {name!r}" for name in sorted(set(params) - required - optional)
        ]

    def recipients(self, name: str) -> _Check:
        value = self.params.get(name)
        if value is None:
            return self
        names = value if isinstance(value, list) else [value]
        if not names or not all(isinstance(n, str) and is_known_recipient(n) for n in names):
            self.problems.append(f"{name!r}: unknown recipient in {value!r}")
        return self

    def whole(self, name: str, minimum: int = 0) -> _Check:
        value = self.params.get(name)
        if value is not None and (not isinstance(value, int) or value < minimum):
            self.problems.append(f"{name!r} must be a whole number ≥ {minimum}")
        return self

    def text(self, name: str) -> _Check:
        value = self.params.get(name)
        if value is not None and not isinstance(value, str):
            self.problems.append(f"{name!r} must be text")
        return self


def _names(value: Any) -> list[str]:
    return list(value) if isinstance(value, list) else [value]


def _user_label(user_id: int | None) -> str:
    if user_id is None:
        return _("nobody")
    user = get_user_model().objects.filter(pk=user_id).first()
    return user.get_username() if user is not None else str(user_id)


def _default_title(context: ActionContext) -> str:
    return _("%(signal)s: %(account)s") % {
        "signal": signal_label(context.match.signal),
        "account": context.account.name,
    }


def _message(context: ActionContext, params: dict[str, Any]) -> tuple[str, str]:
    title = context.render(params["title"]) if params.get("title") else _default_title(context)
    body = context.render(params["message"]) if params.get("message") else context.rule.name
    return title, body


# --- notify (in-app) ---------------------------------------------------------------------------


def _validate_notify(params: dict[str, Any]) -> list[str]:
    return _Check(params, {"to"}, {"title", "message"}).recipients("to").text("title").problems


def _describe_notify(context: ActionContext, params: dict[str, Any]) -> str:
    users = resolve_all(_names(params["to"]), context.account, context.run.people)
    return _("notify %(users)s in the app") % {
        "users": ", ".join(_user_label(u) for u in users) or _("nobody")
    }


@register_batch_action("notify", validate=_validate_notify, describe=_describe_notify)
def notify(contexts: Sequence[ActionContext], params: dict[str, Any]) -> list[ActionResult]:
    """In-app notification to each recipient (``cs_owner``, ``cs_lead``, ``sales_owner`` …)."""
    rows: list[Notification] = []
    results: list[ActionResult] = []
    for context in contexts:
        users = resolve_all(_names(params["to"]), context.account, context.run.people)
        if not users:
            results.append(ActionResult(Outcome.SKIPPED, _("no recipient")))
            continue
        title, body = _message(context, params)
        for user_id in users:
            rows.append(
                Notification(
                    user_id=user_id,
                    alert=context.alert,
                    title=title,
                    body=body,
                    created_at=context.run.now,
                )
            )
        results.append(ActionResult(Outcome.DONE, title, {"users": users}))
    actions.notify_users(rows)
    return results


# --- e-mail ------------------------------------------------------------------------------------


def _validate_email(params: dict[str, Any]) -> list[str]:
    check = _Check(params, {"to"}, {"subject", "body"}).recipients("to")
    return check.text("subject").text("body").problems


def _describe_email(context: ActionContext, params: dict[str, Any]) -> str:
    users = resolve_all(_names(params["to"]), context.account, context.run.people)
    return _("e-mail %(users)s") % {
        "users": ", ".join(_user_label(u) for u in users) or _("nobody")
    }


@register_batch_action("email", validate=_validate_email, describe=_describe_email)
def email(contexts: Sequence[ActionContext], params: dict[str, Any]) -> list[ActionResult]:
    """E-mail through Django's mail backend, sent once the run's changes are committed."""
    recipients = [
        resolve_all(_names(params["to"]), context.account, context.run.people)
        for context in contexts
    ]
    addresses = dict(
        get_user_model()
        .objects.filter(pk__in={user for users in recipients for user in users})
        .exclude(email="")
        .values_list("pk", "email")
    )
    results: list[ActionResult] = []
    for context, users in zip(contexts, recipients, strict=True):
        to = [addresses[user] for user in sorted(users) if user in addresses]
        if not to:
            results.append(ActionResult(Outcome.SKIPPED, _("no recipient with an e-mail address")))
            continue
        subject = context.render(params.get("subject") or _default_title(context))
        body = context.render(params.get("body") or context.rule.description or context.rule.name)
        detail = {
            "to": to,
            "subject": subject,
            "body": body,
            "from": context.run.settings.email_from or settings.DEFAULT_FROM_EMAIL,
        }
        results.append(ActionResult(Outcome.PENDING, subject, detail))
    return results


# --- chat webhook ------------------------------------------------------------------------------


def _validate_chat(params: dict[str, Any]) -> list[str]:
    return _Check(params, set(), {"url", "text"}).text("url").text("text").problems


def _chat_url(context: ActionContext, params: dict[str, Any]) -> str:
    return str(params.get("url") or context.run.settings.chat_webhook_url or "")


def _describe_chat(context: ActionContext, params: dict[str, Any]) -> str:
    url = _chat_url(context, params)
    return _("post to the chat webhook") if url else _("chat: no webhook configured")


@register_batch_action("chat", validate=_validate_chat, describe=_describe_chat)
def chat(contexts: Sequence[ActionContext], params: dict[str, Any]) -> list[ActionResult]:
    """A Slack-compatible JSON message to an incoming webhook, with retries."""
    return [_chat_message(context, params) for context in contexts]


def _chat_message(context: ActionContext, params: dict[str, Any]) -> ActionResult:
    url = _chat_url(context, params)
    if not url:
        return ActionResult(Outcome.SKIPPED, _("no chat webhook configured"))
    text = context.render(params["text"]) if params.get("text") else _default_title(context)
    fields = {
        _("Account"): context.account.name,
        _("Signal"): signal_label(context.match.signal),
        _("Rule"): context.rule.name,
    }
    return ActionResult(Outcome.PENDING, text, {"url": url, "payload": chat_payload(text, fields)})


# --- tasks and escalation ----------------------------------------------------------------------


def _validate_task(params: dict[str, Any]) -> list[str]:
    check = _Check(
        params,
        {"assignee", "title", "kind"},
        {
            "description",
            "due_business_days",
            "due_hours",
            "escalate_after_business_days",
            "escalate_to",
        },
    )
    check.recipients("assignee").recipients("escalate_to").text("title").text("kind")
    check.whole("due_business_days").whole("due_hours", 1).whole("escalate_after_business_days", 1)
    if "due_business_days" in params and "due_hours" in params:
        check.problems.append("give 'due_business_days' or 'due_hours', not both")
    return check.problems


def _due(context: ActionContext, params: dict[str, Any]) -> tuple[Any, str | None]:
    """Due date (and moment, for hour-based deadlines) counted on the business calendar."""
    calendar = context.run.calendar
    if "due_hours" in params:
        local_now = timezone.localtime(context.run.now)
        start = datetime.combine(context.run.as_of, local_now.time().replace(microsecond=0))
        moment = calendar.due_after_hours(start, params["due_hours"])
        return moment.date(), moment.isoformat()
    if "due_business_days" in params:
        return calendar.add_business_days(context.run.as_of, params["due_business_days"]), None
    return None, None


def _describe_task(context: ActionContext, params: dict[str, Any]) -> str:
    due_on, _moment = _due(context, params)
    assignee = resolve(params["assignee"], context.account, context.run.people)
    text = _("task “%(title)s” for %(user)s, due %(due)s") % {
        "title": context.render(params["title"]),
        "user": _user_label(assignee),
        "due": due_on.isoformat() if due_on else "—",
    }
    if params.get("escalate_after_business_days"):
        deadline = context.run.calendar.add_business_days(
            context.run.as_of, params["escalate_after_business_days"]
        )
        text += " · " + _("escalated on %(day)s if still open") % {"day": deadline.isoformat()}
    return text


@register_batch_action("create_task", validate=_validate_task, describe=_describe_task)
def create_task(contexts: Sequence[ActionContext], params: dict[str, Any]) -> list[ActionResult]:
    """A task due in business days (or business hours), updated rather than duplicated.

    With ``escalate_after_business_days`` the task gets a deadline: still open at the end of
    that business day, it is escalated to ``escalate_to`` (the CS lead by default).
    """
    requests: list[actions.TaskRequest] = []
    due_dates = []
    for context in contexts:
        due_on, due_at = _due(context, params)
        due_dates.append(due_on)
        task_context: dict[str, Any] = {
            "rule": context.rule.key,
            "signal": context.match.signal,
            "occurrence": context.match.occurrence,
            "detail": context.match.detail,
        }
        if context.alert is not None:
            task_context["alert_id"] = context.alert.pk
        if due_at is not None:
            task_context["due_at"] = due_at
        requests.append(
            actions.TaskRequest(
                account=context.account,
                assignee_id=resolve(params["assignee"], context.account, context.run.people),
                title=context.render(params["title"]),
                kind=params["kind"],
                reason=context.rule.key,
                due_on=due_on,
                description=context.render(params.get("description", "")),
                context=task_context,
                alert=context.alert,
            )
        )
    opened = actions.open_or_update_tasks(requests)
    escalate_after = params.get("escalate_after_business_days")
    escalations: dict[int, Escalation] = {}
    if escalate_after:
        for context, (task, created) in zip(contexts, opened, strict=True):
            if created:
                escalations[task.pk] = Escalation(
                    account_id=context.account.pk,
                    alert=context.alert,
                    task=task,
                    to=params.get("escalate_to", "cs_lead"),
                    deadline=context.run.calendar.add_business_days(
                        context.run.as_of, escalate_after
                    ),
                    reason=context.rule.name,
                    created_at=context.run.now,
                )
        actions.schedule_escalations(list(escalations.values()))
    results: list[ActionResult] = []
    for context, request, due_on, (task, created) in zip(
        contexts, requests, due_dates, opened, strict=True
    ):
        context.tasks.append(task)
        detail: dict[str, Any] = {
            "task_id": task.pk,
            "due_on": due_on.isoformat() if due_on else None,
        }
        escalation = escalations.get(task.pk) if created else None
        if escalation is not None:
            detail["escalation_deadline"] = escalation.deadline.isoformat()
            detail["escalation_id"] = escalation.pk
        results.append(
            ActionResult(Outcome.DONE if created else Outcome.UPDATED, request.title, detail)
        )
    return results


def _validate_escalate(params: dict[str, Any]) -> list[str]:
    return _Check(params, set(), {"to", "title", "message"}).recipients("to").problems


def _describe_escalate(context: ActionContext, params: dict[str, Any]) -> str:
    lead = resolve(params.get("to", "cs_lead"), context.account, context.run.people)
    return _("escalate to %(user)s now") % {"user": _user_label(lead)}


@register_action("escalate", validate=_validate_escalate, describe=_describe_escalate)
def escalate(context: ActionContext, params: dict[str, Any]) -> ActionResult:
    """Escalate at once: the lead is notified and gets a review task due the next business day."""
    to = params.get("to", "cs_lead")
    lead = resolve(to, context.account, context.run.people)
    title, body = _message(context, params)
    title = _("Escalated: %(title)s") % {"title": title}
    escalation = actions.escalate_now(
        account=context.account,
        alert=context.alert,
        to=to,
        lead_id=lead,
        reason=context.rule.name,
        title=title,
        body=body,
        lead_task_due_on=context.run.calendar.add_business_days(context.run.as_of, 1),
        as_of=context.run.as_of,
        now=context.run.now,
    )
    if escalation.lead_task is not None:
        context.tasks.append(escalation.lead_task)
    return ActionResult(Outcome.DONE, title, {"escalation_id": escalation.pk, "lead": lead})


# --- account properties ------------------------------------------------------------------------

_CHOICES = {"lifecycle_stage": LifecycleStage.values, "touch_tier": TouchTier.values}


def _validate_property(params: dict[str, Any]) -> list[str]:
    check = _Check(params, {"field", "value"}, set()).text("field")
    name = params.get("field")
    if isinstance(name, str) and not name.startswith("custom:"):
        if name not in actions.SETTABLE_ACCOUNT_FIELDS:
            check.problems.append(f"'field' must be custom:NAME or one of {_CHOICES}")
        elif params.get("value") not in _CHOICES[name]:
            check.problems.append(f"'value' must be one of {_CHOICES[name]}")
    return check.problems


def _describe_property(context: ActionContext, params: dict[str, Any]) -> str:
    return _("set %(field)s to %(value)s") % {
        "field": params["field"],
        "value": context.render(str(params["value"])),
    }


@register_batch_action("update_property", validate=_validate_property, describe=_describe_property)
def update_property(
    contexts: Sequence[ActionContext], params: dict[str, Any]
) -> list[ActionResult]:
    """Set an account field (lifecycle stage, touch tier) or a custom property (``custom:X``)."""
    values = [
        context.render(params["value"]) if isinstance(params["value"], str) else params["value"]
        for context in contexts
    ]
    changed = actions.set_account_properties(
        [
            (context.account.pk, params["field"], value)
            for context, value in zip(contexts, values, strict=True)
        ]
    )
    return [
        ActionResult(
            Outcome.DONE if did_change else Outcome.SKIPPED,
            f"{params['field']} = {value}",
            {"field": params["field"], "value": value},
        )
        for value, did_change in zip(values, changed, strict=True)
    ]


# --- deals -------------------------------------------------------------------------------------


def _validate_deal(params: dict[str, Any]) -> list[str]:
    check = _Check(
        params, {"pipeline", "stage", "owner", "title"}, {"close_in_days", "one_open_per_pipeline"}
    )
    return check.recipients("owner").text("title").whole("close_in_days", 0).problems


def _describe_deal(context: ActionContext, params: dict[str, Any]) -> str:
    owner = resolve(params["owner"], context.account, context.run.people)
    return _("open a %(pipeline)s deal “%(title)s” for %(user)s") % {
        "pipeline": params["pipeline"],
        "title": context.render(params["title"]),
        "user": _user_label(owner),
    }


def _current_mrr(account_ids: set[int], as_of: date) -> dict[int, Decimal]:
    """Each account's MRR of the latest month up to the month of ``as_of``."""
    latest: dict[int, Decimal] = {}
    rows = (
        CustomerMrr.objects.filter(account_id__in=account_ids, month__lte=as_of.replace(day=1))
        .order_by("account_id", "-month")
        .values_list("account_id", "mrr")
    )
    for account_id, mrr in rows:
        latest.setdefault(account_id, mrr)
    return latest


@register_batch_action("create_deal", validate=_validate_deal, describe=_describe_deal)
def create_deal(contexts: Sequence[ActionContext], params: dict[str, Any]) -> list[ActionResult]:
    """Open a deal: a renewal deal once per term (when the match carries a ``renewal_on``),
    an upsell deal unless the account already has an open deal in that pipeline."""
    if not contexts:
        return []
    as_of = contexts[0].run.as_of
    terms = [_term_end(context) for context in contexts]
    one_open = params.get("one_open_per_pipeline", True)
    open_deals: dict[int, int] = {}
    if one_open:
        open_deals = dict(
            Deal.objects.filter(
                account_id__in={
                    c.account.pk for c, t in zip(contexts, terms, strict=True) if not t
                },
                pipeline__key=params["pipeline"],
                status=DealStatus.OPEN,
            )
            .order_by("-pk")
            .values_list("account_id", "pk")
        )
    mrr = _current_mrr({c.account.pk for c, t in zip(contexts, terms, strict=True) if t}, as_of)
    requests: list[actions.DealRequest] = []
    asked: list[int] = []
    # A second match of the batch for an account whose deal the first one opens: skipped,
    # pointing at that deal (index of the first match's request).
    opened_by: dict[int, int] = {}
    same_as: dict[int, int] = {}
    results: list[ActionResult | None] = []
    for index, (context, term_end) in enumerate(zip(contexts, terms, strict=True)):
        account_id = context.account.pk
        if term_end is None and one_open and account_id in open_deals:
            results.append(
                ActionResult(
                    Outcome.SKIPPED,
                    _("an open deal exists already"),
                    {"deal_id": open_deals[account_id]},
                )
            )
            continue
        results.append(None)
        if term_end is None and one_open and account_id in opened_by:
            same_as[index] = opened_by[account_id]
            continue
        if term_end is None and one_open:
            opened_by[account_id] = len(requests)
        asked.append(index)
        requests.append(
            actions.DealRequest(
                account=context.account,
                owner_id=resolve(params["owner"], context.account, context.run.people),
                title=context.render(params["title"]),
                amount_mrr=mrr.get(context.account.pk, Decimal(0)) if term_end else Decimal(0),
                currency=settings.KIZUNA_CURRENCY,
                created_on=as_of,
                close_date=term_end or as_of + timedelta(days=params.get("close_in_days", 60)),
                renewal_of_term_end=term_end,
                details={
                    "playbook_rule": context.rule.key,
                    "signal": context.match.signal,
                    "occurrence": context.match.occurrence,
                },
            )
        )
    opened = actions.open_deals(
        pipeline_key=params["pipeline"],
        stage_key=params["stage"],
        requests=requests,
        now=contexts[0].run.now,
    )
    for index, (deal, created) in zip(asked, opened, strict=True):
        results[index] = ActionResult(
            Outcome.DONE if created else Outcome.SKIPPED, deal.title, {"deal_id": deal.pk}
        )
    for index, first in same_as.items():
        deal = opened[first][0]
        results[index] = ActionResult(
            Outcome.SKIPPED, _("an open deal exists already"), {"deal_id": deal.pk}
        )
    return [result for result in results if result is not None]


def _term_end(context: ActionContext) -> date | None:
    renewal_on = context.match.detail.get("renewal_on")
    return datetime.fromisoformat(renewal_on).date() if renewal_on else None


# --- summary -----------------------------------------------------------------------------------


def _validate_summary(params: dict[str, Any]) -> list[str]:
    return _Check(params, set(), set()).problems


def _describe_summary(context: ActionContext, params: dict[str, Any]) -> str:
    return _("attach the usage, ticket, NPS and health summary")


@register_batch_action("attach_summary", validate=_validate_summary, describe=_describe_summary)
def attach_summary(contexts: Sequence[ActionContext], params: dict[str, Any]) -> list[ActionResult]:
    """Usage trend, recent tickets, NPS and health components, on the alert and its tasks."""
    if not contexts:
        return []
    summaries = account_summaries({c.account.pk for c in contexts}, contexts[0].run.as_of)
    counts = actions.attach_summaries(
        [(context.tasks, context.alert, summaries[context.account.pk]) for context in contexts]
    )
    return [ActionResult(Outcome.DONE, _("summary attached"), {"tasks": n}) for n in counts]
