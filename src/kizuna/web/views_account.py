"""Account 360 (SPEC D5) and the actions taken from it: log an activity, create a task,
override the health score and clear the override."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kizuna.crm import actions
from kizuna.crm.access import may_edit_account, role_of, visible_accounts
from kizuna.crm.models import Account, ActivityType, Role, TaskStatus
from kizuna.health import actions as health_actions
from kizuna.prediction.display import churn_risk
from kizuna.web import account_page
from kizuna.web.exports import export_response, wants_export
from kizuna.web.tables import Column, Table

# Executives see every account but change none (issue 7: "executives see everything read-only").
READ_ONLY_ROLES = frozenset({Role.EXECUTIVE})


class ActivityForm(forms.Form):
    type = forms.ChoiceField(label=gettext_lazy("Type"), choices=ActivityType.choices)
    occurred_at = forms.DateTimeField(
        label=gettext_lazy("When"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    contact = forms.TypedChoiceField(
        label=gettext_lazy("Contact"), required=False, coerce=int, empty_value=None
    )
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200, required=False)
    body = forms.CharField(label=gettext_lazy("Notes"), widget=forms.Textarea, required=False)

    def __init__(self, account: Account, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["contact"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—")] + [
            (str(contact.pk), contact.name) for contact in account.contacts.order_by("name")
        ]


class TaskForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    due_on = forms.DateField(
        label=gettext_lazy("Due on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    assignee = forms.TypedChoiceField(label=gettext_lazy("Assignee"), coerce=int)
    description = forms.CharField(
        label=gettext_lazy("Description"), widget=forms.Textarea, required=False
    )

    def __init__(self, account: Account, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = {
            person.pk: person for person in (account.owner, account.cs_owner) if person is not None
        }
        field = self.fields["assignee"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (str(person.pk), person.get_full_name() or person.get_username())
            for person in sorted(people.values(), key=lambda person: person.get_username())
        ]


class OverrideForm(forms.Form):
    score = forms.DecimalField(
        label=gettext_lazy("Score"),
        min_value=Decimal(0),
        max_value=health_actions.MAX_SCORE,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"step": "0.1"}),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea)
    expires_on = forms.DateField(
        label=gettext_lazy("Until"),
        help_text=gettext_lazy("From this day the computed score shows again."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_expires_on(self) -> date:
        expires_on: date = self.cleaned_data["expires_on"]
        if expires_on <= timezone.localdate():
            raise forms.ValidationError(_("The expiry date must be after today."))
        return expires_on


def _visible_account(request: HttpRequest, pk: int) -> Account:
    accounts = visible_accounts(request.user).select_related("owner", "cs_owner")
    return get_object_or_404(accounts, pk=pk)


def _can_act(request: HttpRequest) -> bool:
    return role_of(request.user) not in READ_ONLY_ROLES


def _tables(context: dict[str, Any]) -> list[Table]:
    people = Table(
        key="contacts",
        title=_("Contacts"),
        columns=[
            Column("name", _("Name")),
            Column("title", _("Job title")),
            Column("role", _("Role")),
            Column("status", _("Status")),
            Column("email", _("E-mail")),
        ],
        rows=[
            {
                "name": contact.name,
                "title": contact.title,
                "role": contact.get_role_display(),
                "status": contact.get_status_display(),
                "email": contact.email,
            }
            for contact in context["contacts"]
        ],
        empty=_("No contacts."),
    )
    deals = Table(
        key="deals",
        title=_("Deals"),
        columns=[
            Column("title", _("Deal")),
            Column("pipeline", _("Pipeline")),
            Column("stage", _("Stage")),
            Column("status", _("Status")),
            Column("amount_mrr", _("MRR amount"), "money"),
            Column("close_date", _("Close date"), "date"),
            Column("owner", _("Owner")),
        ],
        rows=[
            {
                "title": deal.title,
                "pipeline": deal.pipeline.name,
                "stage": deal.stage.name,
                "status": deal.get_status_display(),
                "amount_mrr": deal.amount_mrr,
                "close_date": deal.closed_on or deal.close_date,
                "owner": deal.owner.get_username() if deal.owner else "",
            }
            for deal in context["deals"]
        ],
        empty=_("No deals."),
    )
    tasks = Table(
        key="tasks",
        title=_("Tasks"),
        columns=[
            Column("title", _("Task")),
            Column("status", _("Status")),
            Column("due_on", _("Due on"), "date"),
            Column("assignee", _("Assignee")),
        ],
        rows=[
            {
                "title": task.title,
                "status": task.get_status_display(),
                "due_on": task.due_on,
                "assignee": task.assignee.get_username() if task.assignee else "",
            }
            for task in context["tasks"]
        ],
        empty=_("No tasks."),
    )
    return [people, deals, tasks]


@login_required
def account(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_account(request, pk)
    today = timezone.localdate()
    context: dict[str, Any] = {
        "account": item,
        "contacts": list(item.contacts.order_by("status", "name")),
        "activities": list(
            item.activities.select_related("author").order_by("-occurred_at")[
                : account_page.TIMELINE_PER_KIND
            ]
        ),
        "deals": list(
            item.deals.select_related("pipeline", "stage", "owner").order_by("-created_on")
        ),
        "tasks": list(
            item.tasks.select_related("assignee").order_by("status", "due_on", "-created_at")[
                : account_page.TIMELINE_PER_KIND
            ]
        ),
    }
    context["alerts"] = account_page.alerts(item)
    revenue = account_page.revenue(item)
    health = account_page.health(item, today)
    people, deals, tasks = _tables(context)
    tables = [revenue.movements, revenue.products, revenue.items, people, deals, tasks]
    tables.append(context["alerts"])
    if revenue.chart and revenue.chart.table:
        tables.append(revenue.chart.table)
    if health is not None:
        tables += [health.components, health.changes]
    if wants_export(request):
        return export_response(request, tables, f"account-{item.pk}")
    role = role_of(request.user)
    can_act = role not in READ_ONLY_ROLES
    can_override = may_edit_account(request.user, item, role)
    context.update(
        {
            "revenue": revenue,
            "health": health,
            "churn": churn_risk(item),
            "contacts_table": people,
            "deals_table": deals,
            "tasks_table": tasks,
            "timeline": account_page.timeline(item, context),
            "can_act": can_act,
            "open_tasks": sum(1 for task in context["tasks"] if task.status == TaskStatus.OPEN),
            "activity_form": ActivityForm(
                item, initial={"occurred_at": timezone.localtime().replace(second=0)}
            )
            if can_act
            else None,
            "task_form": TaskForm(item, initial={"assignee": request.user.pk}) if can_act else None,
            "can_override": can_override,
            "override_form": OverrideForm() if can_override else None,
        }
    )
    return render(request, "kizuna/account.html", context)


@login_required
@require_POST
def log_activity(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_account(request, pk)
    if not _can_act(request):
        raise PermissionDenied
    form = ActivityForm(item, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        actions.log_activity(
            account=item,
            author=request.user if request.user.is_authenticated else None,
            type=data["type"],
            occurred_at=data["occurred_at"],
            subject=data["subject"],
            body=data["body"],
            contact=item.contacts.filter(pk=data["contact"]).first() if data["contact"] else None,
        )
        messages.success(request, _("Activity logged."))
    else:
        messages.error(request, _("The activity was not saved: %(errors)s") % _errors(form))
    return redirect("account", pk=item.pk)


@login_required
@require_POST
def create_task(request: HttpRequest, pk: int) -> HttpResponse:
    item = _visible_account(request, pk)
    if not _can_act(request):
        raise PermissionDenied
    form = TaskForm(item, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        actions.create_task(
            account=item,
            title=data["title"],
            assignee=get_user_model().objects.filter(pk=data["assignee"]).first(),
            due_on=data["due_on"],
            description=data["description"],
        )
        messages.success(request, _("Task created."))
    else:
        messages.error(request, _("The task was not saved: %(errors)s") % _errors(form))
    return redirect("account", pk=item.pk)


def _editable_account(request: HttpRequest, pk: int) -> tuple[Account, AbstractBaseUser]:
    """The account and the signed-in user who may edit it; 404 if hidden, 403 if read-only."""
    item = _visible_account(request, pk)
    user = request.user
    if not user.is_authenticated or not may_edit_account(user, item):
        raise PermissionDenied
    return item, user


@login_required
@require_POST
def override_health(request: HttpRequest, pk: int) -> HttpResponse:
    item, user = _editable_account(request, pk)
    form = OverrideForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        health_actions.override_score(
            item, data["score"], data["reason"], user, expires_on=data["expires_on"]
        )
        messages.success(request, _("Health score overridden."))
    else:
        messages.error(request, _("The override was not saved: %(errors)s") % _errors(form))
    return redirect("account", pk=item.pk)


@login_required
@require_POST
def clear_health_override(request: HttpRequest, pk: int) -> HttpResponse:
    item, _user = _editable_account(request, pk)
    if health_actions.clear_override(item):
        messages.success(request, _("Override cleared: the computed score shows again."))
    return redirect("account", pk=item.pk)


def _errors(form: forms.Form) -> dict[str, str]:
    return {
        "errors": "; ".join(
            f"{form.fields[name].label if name in form.fields else name}: "
            + " ".join(str(error) for error in errors)
            for name, errors in form.errors.items()
        )
    }
