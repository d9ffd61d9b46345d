"""What every file's importer shares: the report, lookups of referenced records, row checks."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext

from kizuna.core.money import UnknownCurrency, check_currency
from kizuna.crm.models import Account, Contact
from kizuna.ingest.report import FileReport, ImportReport
from kizuna.ingest.source import Progress

# PositiveIntegerField holds 32-bit values on every database Django supports.
MAX_POSITIVE_INT = 2_147_483_647


@dataclass
class ImportContext:
    report: ImportReport
    progress: Progress | None = None
    _accounts: dict[str, int] | None = None
    _contacts: dict[str, int] | None = None
    _users: dict[str, int] = field(default_factory=dict)

    # --- accounts and contacts by their external id

    def accounts(self) -> dict[str, int]:
        if self._accounts is None:
            self._accounts = _by_external_id(Account)
        return self._accounts

    def contacts(self) -> dict[str, int]:
        if self._contacts is None:
            self._contacts = _by_external_id(Contact)
        return self._contacts

    def forget(self) -> None:
        """Drop cached lookups after a file that creates the records they hold."""
        self._accounts = None
        self._contacts = None

    def account_id(self, file: FileReport, line: int, customer_id: str) -> int | None:
        pk = self.accounts().get(customer_id)
        if pk is None:
            file.problem(line, gettext("unknown customer_id '%(id)s'") % {"id": customer_id})
        return pk

    def contact_id(self, file: FileReport, line: int, contact_id: str | None) -> int | None:
        if contact_id is None:
            return None
        pk = self.contacts().get(contact_id)
        if pk is None:
            file.problem(line, gettext("unknown contact_id '%(id)s'") % {"id": contact_id})
        return pk

    def user_id(self, file: FileReport, username: str | None) -> int | None:
        """The user with this username, created (without a password) if there is none yet.

        Owners in a CRM export are people, not records the file defines; each user created
        this way is listed in the report so an administrator can give them a role and a login.
        """
        if username is None:
            return None
        if username in self._users:
            return self._users[username]
        user_model = get_user_model()
        user = user_model._default_manager.filter(username=username).first()
        if user is None:
            if len(username) > 150:
                return None
            user = user_model(username=username)
            user.set_unusable_password()
            user.save()
            file.notes.append(gettext("created user '%(user)s'") % {"user": username})
        self._users[username] = user.pk
        return int(user.pk)


def _by_external_id(model: type[models.Model]) -> dict[str, int]:
    found: dict[str, int] = {}
    rows = (
        model._default_manager.exclude(external_id="")
        .order_by("-pk")
        .values_list("external_id", "pk")
    )
    for external_id, pk in rows:
        found[external_id] = pk  # descending pk: the oldest record wins
    return found


def aware(moment: datetime | None) -> datetime | None:
    """A CSV date-time without an offset is in the company's time zone."""
    if moment is None or timezone.is_aware(moment):
        return moment
    return timezone.make_aware(moment)


def currency(file: FileReport, line: int, code: str) -> str | None:
    try:
        return check_currency(code)
    except UnknownCurrency:
        file.problem(
            line,
            gettext("unknown currency '%(code)s': use an ISO 4217 code such as JPY or USD")
            % {"code": code},
        )
        return None


class Duplicates:
    """Reports a key seen twice in one file; a second row would silently win otherwise."""

    def __init__(self, file: FileReport, label: str):
        self.file = file
        self.label = label
        self.first_line: dict[Hashable, int] = {}

    def repeated(self, line: int, key: Hashable) -> bool:
        first = self.first_line.setdefault(key, line)
        if first == line:
            return False
        shown = ", ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        self.file.problem(
            line,
            gettext("duplicate %(label)s '%(value)s', first on line %(first)d")
            % {"label": self.label, "value": shown, "first": first},
        )
        return True


def check_fits(
    file: FileReport, line: int, model: type[models.Model], values: dict[str, Any]
) -> bool:
    """Check text lengths, decimal digits and integer ranges against the model's columns.

    A value the database would truncate, round or refuse is reported instead of being bent.
    """
    ok = True
    fields = fields_by_attname(model)
    for name, value in values.items():
        if value is None:
            continue
        model_field = fields[name]
        message = _misfit(model_field, value)
        if message is not None:
            file.problem(line, f"'{name}' {message}")
            ok = False
    return ok


@cache
def fields_by_attname(model: type[models.Model]) -> dict[str, Any]:
    return {model_field.attname: model_field for model_field in model._meta.concrete_fields}


def _misfit(model_field: Any, value: Any) -> str | None:
    if (
        isinstance(model_field, models.CharField)
        and isinstance(value, str)
        and model_field.max_length is not None
        and len(value) > model_field.max_length
    ):
        return gettext("is longer than %(max)d characters") % {"max": model_field.max_length}
    if isinstance(model_field, models.DecimalField) and isinstance(value, Decimal):
        _sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        places = max(-exponent, 0)
        whole = max(len(digits) + exponent, 0)
        if places > model_field.decimal_places:
            return gettext("has more than %(places)d decimal places") % {
                "places": model_field.decimal_places
            }
        if whole > model_field.max_digits - model_field.decimal_places:
            return gettext("is too large")
    if isinstance(model_field, models.PositiveIntegerField | models.PositiveSmallIntegerField):
        limit = (
            32_767
            if isinstance(model_field, models.PositiveSmallIntegerField)
            else (MAX_POSITIVE_INT)
        )
        if isinstance(value, int) and not 0 <= value <= limit:
            return gettext("must be between 0 and %(max)d") % {"max": limit}
    return None
