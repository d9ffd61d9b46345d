"""State changes on customers, each explicit and inside a transaction.

Views, the API and the CLI call these; they do not write CRM models themselves. The records
written here are themselves the account's timeline events (an activity, a task); saved
segments are a user's own configuration and have no timeline.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from kizuna.crm.models import Account, Activity, ActivityType, Contact, Segment, Task, TaskStatus
from kizuna.crm.segments import definition_problems


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


# The name column's length (crm.Segment.name).
SEGMENT_NAME_MAX_LENGTH = 100


@transaction.atomic
def save_segment(
    *, owner: AbstractBaseUser, name: str, definition: dict[str, Any], shared: bool = False
) -> Segment:
    """Save ``definition`` as a segment named ``name``: personal to ``owner``, or shared with
    everyone. A personal name is unique per owner, a shared name among shared segments."""
    name = name.strip()
    if not name:
        raise ActionError(_("A segment needs a name."))
    if len(name) > SEGMENT_NAME_MAX_LENGTH:
        raise ActionError(
            _("A segment name has at most %(count)d characters.")
            % {"count": SEGMENT_NAME_MAX_LENGTH}
        )
    problems = definition_problems(definition)
    if problems:
        raise ActionError(" ".join(problems))
    if Segment.objects.filter(owner_id=owner.pk, name=name).exists():
        raise ActionError(_("You already have a segment named %(name)s.") % {"name": name})
    if shared and Segment.objects.filter(shared=True, name=name).exists():
        raise ActionError(_("A shared segment named %(name)s exists.") % {"name": name})
    return Segment.objects.create(
        owner_id=owner.pk, name=name, definition=definition, shared=shared
    )


@transaction.atomic
def delete_segment(segment: Segment) -> None:
    """Delete a saved segment; playbook rules that name it then match no account."""
    segment.delete()
