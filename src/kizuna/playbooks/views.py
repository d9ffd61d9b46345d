"""Playbook pages: my work, the risk list, escalations, the rules, a churn post-mortem.

Every page shows only accounts the user may see (:func:`~kizuna.crm.access.visible_accounts`);
changes go through :mod:`kizuna.playbooks.actions`.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kizuna.crm.access import role_of, visible_accounts
from kizuna.crm.models import ChurnRecord, Role, Task, TaskStatus
from kizuna.engine.signals import SIGNAL_DETECTORS
from kizuna.playbooks import actions
from kizuna.playbooks.backtest import churn_post_mortem
from kizuna.playbooks.labels import level_label, signal_label
from kizuna.playbooks.models import (
    ActionLog,
    Alert,
    AlertStatus,
    Escalation,
    EscalationStatus,
    Notification,
    Outcome,
    Rule,
)

# Executives see everything but change nothing.
READ_ONLY_ROLES = frozenset({Role.EXECUTIVE})
LEADS = frozenset({Role.ADMIN, Role.EXECUTIVE, Role.CS_MANAGER})
RISK_SIGNALS = frozenset(
    [name for name, d in SIGNAL_DETECTORS.items() if d.kind == "churn"]
    + ["health_band_entered", "score_crossed"]
)
PAGE_ROWS = 200


class AlertStatusForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[
            (AlertStatus.SNOOZED, gettext_lazy("Snooze")),
            (AlertStatus.DISMISSED, gettext_lazy("Dismiss")),
            (AlertStatus.HANDLED, gettext_lazy("Mark handled")),
        ],
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500, required=False)
    until = forms.DateField(
        label=gettext_lazy("Snooze until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        status = data.get("status")
        if status in (AlertStatus.SNOOZED, AlertStatus.DISMISSED) and not data.get("reason"):
            raise forms.ValidationError(_("Snoozing or dismissing needs a reason."))
        if status == AlertStatus.SNOOZED and not data.get("until"):
            raise forms.ValidationError(_("Say until when to snooze."))
        return data


def _alert_row(alert: Alert) -> dict[str, Any]:
    return {
        "alert": alert,
        "signal": signal_label(alert.signal),
        "level": level_label(alert.level) if alert.level else "",
        "detail": {k: v for k, v in alert.detail.items() if k != "summary"},
    }


def _response_status(alert: Alert, today: Any) -> str:
    tasks = list(alert.tasks.all())
    escalated = any(
        getattr(task, "escalation", None) is not None
        and task.escalation.status == EscalationStatus.ESCALATED
        for task in tasks
    ) or any(e.status == EscalationStatus.ESCALATED for e in alert.escalations.all())
    if alert.status == AlertStatus.HANDLED:
        return _("handled")
    if alert.status == AlertStatus.DISMISSED:
        return _("dismissed")
    if alert.status == AlertStatus.SNOOZED:
        return _("snoozed")
    if escalated:
        return _("escalated")
    if not tasks:
        return _("no task")
    open_tasks = [t for t in tasks if t.status == TaskStatus.OPEN]
    if not open_tasks:
        return _("tasks done")
    if any(t.due_on is not None and t.due_on < today for t in open_tasks):
        return _("overdue")
    return _("in progress")


@login_required
def my_work(request: HttpRequest) -> HttpResponse:
    """My open tasks, my alerts and my notifications."""
    accounts = visible_accounts(request.user)
    tasks = (
        Task.objects.filter(
            assignee_id=request.user.pk, status=TaskStatus.OPEN, account__in=accounts
        )
        .select_related("account")
        .order_by("due_on", "pk")[:PAGE_ROWS]
    )
    alerts = (
        Alert.objects.filter(
            owner_id=request.user.pk,
            status__in=[AlertStatus.OPEN, AlertStatus.SNOOZED],
            account__in=accounts,
        )
        .select_related("account", "rule")
        .order_by("-created_at")[:PAGE_ROWS]
    )
    notifications = (
        Notification.objects.filter(user=request.user.pk, read_at__isnull=True)
        .select_related("alert__account")
        .order_by("-created_at")[:PAGE_ROWS]
    )
    return render(
        request,
        "playbooks/my_work.html",
        {
            "tasks": tasks,
            "alerts": [_alert_row(alert) for alert in alerts],
            "notifications": notifications,
            "today": timezone.localdate(),
            "status_form": AlertStatusForm(),
            "can_act": role_of(request.user) not in READ_ONLY_ROLES,
        },
    )


@login_required
def risk_list(request: HttpRequest) -> HttpResponse:
    """Accounts with open churn-risk alerts, and how each is being answered."""
    accounts = visible_accounts(request.user).exclude(status="churned")
    alerts = (
        Alert.objects.filter(
            account__in=accounts,
            signal__in=RISK_SIGNALS,
            status__in=[AlertStatus.OPEN, AlertStatus.SNOOZED],
        )
        .select_related("account", "owner", "rule")
        .prefetch_related(
            Prefetch("tasks", queryset=Task.objects.select_related("escalation")),
            "escalations",
        )
        .order_by("account__name", "-created_at")[: PAGE_ROWS * 5]
    )
    today = timezone.localdate()
    by_account: dict[int, dict[str, Any]] = {}
    for alert in alerts:
        entry = by_account.setdefault(
            alert.account_id, {"account": alert.account, "alerts": [], "levels": Counter()}
        )
        entry["alerts"].append({**_alert_row(alert), "response": _response_status(alert, today)})
        entry["levels"][alert.level] += 1
    rows = sorted(
        by_account.values(),
        key=lambda e: (-e["levels"].get("high", 0), -len(e["alerts"]), e["account"].name),
    )
    return render(request, "playbooks/risk_list.html", {"rows": rows[:PAGE_ROWS]})


@login_required
def escalations(request: HttpRequest) -> HttpResponse:
    """Escalations: mine, or (for leads and managers) every one on accounts I can see."""
    role = role_of(request.user)
    items = Escalation.objects.filter(account__in=visible_accounts(request.user))
    if role not in LEADS:
        items = items.filter(escalated_to_id=request.user.pk)
    items = items.select_related(
        "account", "task__assignee", "lead_task", "escalated_to", "alert__rule"
    )
    escalated = items.filter(status=EscalationStatus.ESCALATED).order_by("-escalated_at")
    pending = items.filter(status=EscalationStatus.PENDING).order_by("deadline")
    return render(
        request,
        "playbooks/escalations.html",
        {
            "escalated": escalated[:PAGE_ROWS],
            "pending": pending[:PAGE_ROWS],
            "today": timezone.localdate(),
        },
    )


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    """Every rule with how often it fired and how many tasks it made."""
    since = timezone.localdate() - timedelta(days=30)
    visible = visible_accounts(request.user)
    rules = Rule.objects.annotate(
        fired=Count("alerts", filter=Q(alerts__account__in=visible), distinct=True),
        fired_30d=Count(
            "alerts",
            filter=Q(alerts__account__in=visible, alerts__as_of__gte=since),
            distinct=True,
        ),
    ).order_by("priority", "key")
    tasks = dict(
        ActionLog.objects.filter(action="create_task", outcome=Outcome.DONE, account__in=visible)
        .values_list("rule_id")
        .annotate(n=Count("pk"))
        .values_list("rule_id", "n")
    )
    rows = [{"rule": rule, "tasks": tasks.get(rule.pk, 0)} for rule in rules]
    return render(request, "playbooks/rules.html", {"rows": rows})


@login_required
@require_POST
def alert_status(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk, account__in=visible_accounts(request.user))
    if role_of(request.user) in READ_ONLY_ROLES:
        raise PermissionDenied
    form = AlertStatusForm(request.POST)
    if not form.is_valid():
        errors = " ".join(str(error) for error in form.non_field_errors())
        messages.error(request, errors or _("Check the form."))
        return redirect("playbooks:my_work")
    data = form.cleaned_data
    user = request.user
    assert user.is_authenticated
    if data["status"] == AlertStatus.SNOOZED:
        actions.snooze_alert(alert, until=data["until"], reason=data["reason"], user=user)
    elif data["status"] == AlertStatus.DISMISSED:
        actions.dismiss_alert(alert, reason=data["reason"], user=user)
    else:
        actions.handle_alert(alert, user=user, reason=data["reason"])
    messages.success(request, _("Alert updated."))
    return redirect("playbooks:my_work")


@login_required
@require_POST
def read_notifications(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert user.is_authenticated
    actions.mark_notifications_read(user)
    return redirect("playbooks:my_work")


@login_required
def churn_review(request: HttpRequest, pk: int) -> HttpResponse:
    """The post-mortem of a churned account (SPEC C8)."""
    churn = get_object_or_404(
        ChurnRecord.objects.select_related("account").order_by("-churned_on"),
        pk=pk,
        account__in=visible_accounts(request.user),
    )
    replay = request.GET.get("replay") == "1"
    review = churn_post_mortem(churn, replay=replay)
    return render(
        request,
        "playbooks/churn_review.html",
        {
            "review": review,
            "replay": replay,
            "signals": [(first, last, signal_label(s)) for first, last, s in review.signals],
            "alerts": [{"facts": a, "signal": signal_label(a.signal)} for a in review.alerts],
        },
    )
