"""State changes on customers, each explicit and inside a transaction.

Views, the API and the CLI call these; they do not write CRM models themselves. The records
written here are themselves the account's timeline events (an activity, a task).
"""

from __future__ import annotations

from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from kizuna.crm.models import Account, Activity, ActivityType, Contact, Task, TaskStatus


class ActionError(ValueError):
    """An action was asked to do something that does not make sense; the message says what."""


@transaction.atomic
def log_activity(
    *,
    account: Account,
    author: AbstractBaseUser | None,
    type: str,
    occurred_at: datetime,
    subject: str = "",
    body: str = "",
    contact: Contact | None = None,
) -> Activity:
    """Record an e-mail, meeting, call or note with an account."""
    if type not in ActivityType.values:
        raise ActionError(f"unknown activity type {type!r}")
    if contact is not None and contact.account_id != account.pk:
        raise ActionError("the contact belongs to another account")
    return Activity.objects.create(
        account=account,
        author_id=author.pk if author else None,
        type=type,
        occurred_at=occurred_at,
        subject=subject,
        body=body,
        contact=contact,
    )


@transaction.atomic
def create_task(
    *,
    account: Account,
    title: str,
    assignee: AbstractBaseUser | None,
    due_on: date | None = None,
    description: str = "",
    kind: str = "",
) -> Task:
    """Open a task on an account for a person, optionally with a due date."""
    if not title.strip():
        raise ActionError("a task needs a title")
    return Task.objects.create(
        account=account,
        title=title.strip(),
        assignee_id=assignee.pk if assignee else None,
        due_on=due_on,
        description=description,
        kind=kind,
        status=TaskStatus.OPEN,
    )
