"""Accounts, contacts and tasks, each limited to the accounts the caller may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from ninja import Query, Router

from kizuna.api.convert import account_out, contact_out, task_out
from kizuna.api.errors import ERRORS, ApiError, not_found
from kizuna.api.pagination import PageIn, PageOut, paginated
from kizuna.api.schemas import AccountOut, ContactOut, Id, TaskIn, TaskOut, Text
from kizuna.crm.access import visible_accounts
from kizuna.crm.actions import ActionError, create_task
from kizuna.crm.models import (
    Account,
    AccountStatus,
    Contact,
    ContactRole,
    ContactStatus,
    Task,
    TaskStatus,
)

router = Router(tags=["customers"])


def visible_account(request: HttpRequest, account_id: int) -> Account:
    """The account, if the caller may see it; otherwise 404 (its existence is not revealed)."""
    account = visible_accounts(request.user).filter(pk=account_id).first()
    if account is None:
        raise not_found()
    return account


@router.get("/accounts", response={200: PageOut[AccountOut], **ERRORS})
def list_accounts(
    request: HttpRequest,
    page: Query[PageIn],
    q: Query[Text | None] = None,
    status: Query[AccountStatus | None] = None,
    owner: Query[Text | None] = None,
    cs_owner: Query[Text | None] = None,
    external_id: Query[Text | None] = None,
) -> dict[str, Any]:
    """Accounts you may see, by name; filter by name (``q``), status, owners or external id."""
    accounts = visible_accounts(request.user).select_related("owner", "cs_owner")
    if q:
        accounts = accounts.filter(name__icontains=q)
    if status:
        accounts = accounts.filter(status=status)
    if owner:
        accounts = accounts.filter(owner__username=owner)
    if cs_owner:
        accounts = accounts.filter(cs_owner__username=cs_owner)
    if external_id:
        accounts = accounts.filter(external_id=external_id)
    return paginated(accounts.order_by("name", "pk"), page, account_out)


@router.get("/accounts/{account_id}", response={200: AccountOut, **ERRORS})
def get_account(request: HttpRequest, account_id: Id) -> AccountOut:
    account = visible_account(request, account_id)
    return account_out(account)


@router.get("/contacts", response={200: PageOut[ContactOut], **ERRORS})
def list_contacts(
    request: HttpRequest,
    page: Query[PageIn],
    account_id: Query[Id | None] = None,
    status: Query[ContactStatus | None] = None,
    role: Query[ContactRole | None] = None,
) -> dict[str, Any]:
    contacts = Contact.objects.filter(account__in=visible_accounts(request.user))
    if account_id:
        contacts = contacts.filter(account_id=account_id)
    if status:
        contacts = contacts.filter(status=status)
    if role:
        contacts = contacts.filter(role=role)
    return paginated(contacts.order_by("pk"), page, contact_out)


@router.get("/contacts/{contact_id}", response={200: ContactOut, **ERRORS})
def get_contact(request: HttpRequest, contact_id: Id) -> ContactOut:
    contact = Contact.objects.filter(
        pk=contact_id, account__in=visible_accounts(request.user)
    ).first()
    if contact is None:
        raise not_found()
    return contact_out(contact)


def _visible_tasks(request: HttpRequest) -> QuerySet[Task]:
    return Task.objects.filter(
        Q(account__in=visible_accounts(request.user)) | Q(assignee_id=request.user.pk)
    ).select_related("assignee")


@router.get("/tasks", response={200: PageOut[TaskOut], **ERRORS})
def list_tasks(
    request: HttpRequest,
    page: Query[PageIn],
    account_id: Query[Id | None] = None,
    status: Query[TaskStatus | None] = None,
    mine: Query[bool] = False,
) -> dict[str, Any]:
    """Tasks on accounts you may see, and tasks assigned to you (``mine`` = only those)."""
    tasks = _visible_tasks(request)
    if account_id:
        tasks = tasks.filter(account_id=account_id)
    if status:
        tasks = tasks.filter(status=status)
    if mine:
        tasks = tasks.filter(assignee_id=request.user.pk)
    return paginated(tasks.order_by("due_on", "pk"), page, task_out)


@router.get("/tasks/{task_id}", response={200: TaskOut, **ERRORS})
def get_task(request: HttpRequest, task_id: Id) -> TaskOut:
    task = _visible_tasks(request).filter(pk=task_id).first()
    if task is None:
        raise not_found()
    return task_out(task)


@router.post("/tasks", response={201: TaskOut, **ERRORS})
def post_task(request: HttpRequest, payload: TaskIn) -> tuple[int, TaskOut]:
    """Open a task on an account you may see, assigned to you."""
    account = visible_account(request, payload.account_id)
    try:
        task = create_task(
            account=account,
            title=payload.title,
            assignee=request.user,  # type: ignore[arg-type]
            due_on=payload.due_on,
            description=payload.description,
        )
    except ActionError as error:
        raise ApiError(422, "invalid_task", str(error)) from None
    task = Task.objects.select_related("assignee").get(pk=task.pk)
    return 201, task_out(task)
