"""Customers, contacts, activities and churn records from their CSV files into the store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext

from kizuna.crm.models import (
    Account,
    AccountStatus,
    Activity,
    ChurnRecord,
    Contact,
    LifecycleStage,
    TouchTier,
)
from kizuna.ingest.context import Duplicates, ImportContext, aware, check_fits
from kizuna.ingest.report import FileReport
from kizuna.ingest.source import SourceRows
from kizuna.ingest.upsert import Write, upsert


def rows(source: SourceRows) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, line in enumerate(source.lines):
        yield line, source.row(index)


def choice(file: FileReport, line: int, column: str, value: str | None, allowed: list[str]) -> str:
    """An optional choice cell: empty means none; anything else must be one of ``allowed``."""
    if value is None:
        return ""
    normalised = value.lower()
    if normalised not in allowed:
        file.problem(
            line,
            gettext("'%(column)s' must be one of %(allowed)s, got '%(value)s'")
            % {"column": column, "allowed": ", ".join(allowed), "value": value},
        )
    return normalised


def import_customers(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, "customer_id")
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        if duplicates.repeated(line, row["customer_id"]):
            continue
        country = (row["country"] or "").upper()
        if country and not (len(country) == 2 and country.isalpha()):
            file.problem(
                line,
                gettext("'country' must be a two-letter country code, got '%(value)s'")
                % {"value": row["country"]},
            )
            country = ""
        fields: dict[str, Any] = {
            "name": row["name"] or row["customer_id"],
            "country": country,
            "industry": row["industry"] or "",
            "channel": row["channel"] or "",
            "employees": row["employees"],
            "owner_id": ctx.user_id(file, row["owner"]),
        }
        if row["created_at"] is not None:
            fields["created_at"] = aware(row["created_at"])
        if "cs_owner" in source.present:
            fields["cs_owner_id"] = ctx.user_id(file, row["cs_owner"])
        if "touch_tier" in source.present:
            fields["touch_tier"] = choice(
                file, line, "touch_tier", row["touch_tier"], TouchTier.values
            )
        if "lifecycle_stage" in source.present:
            fields["lifecycle_stage"] = choice(
                file, line, "lifecycle_stage", row["lifecycle_stage"], LifecycleStage.values
            )
        check_fits(file, line, Account, {"external_id": row["customer_id"]} | fields)
        if len(file.problems) == before:
            writes.append(Write(line, (row["customer_id"],), fields))
    upsert(
        Account,
        ("external_id",),
        writes,
        file,
        defaults={"status": AccountStatus.CUSTOMER, "created_at": timezone.now()},
    )
    ctx.forget()


def import_contacts(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, "contact_id")
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        if duplicates.repeated(line, row["contact_id"]):
            continue
        account_id = ctx.account_id(file, line, row["customer_id"])
        email = row["email"] or ""
        if email:
            try:
                validate_email(email)
            except ValidationError:
                message = gettext("'email' is not an e-mail address: '%(value)s'")
                file.problem(line, message % {"value": email})
        fields = {
            "account_id": account_id,
            "name": row["name"],
            "email": email,
            "role": row["role"],
            "status": row["status"],
            "status_changed_on": row["status_changed_on"],
        }
        check_fits(file, line, Contact, {"external_id": row["contact_id"]} | fields)
        if len(file.problems) == before:
            writes.append(Write(line, (row["contact_id"],), fields))
    upsert(Contact, ("external_id",), writes, file)
    ctx.forget()


def import_activities(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, "activity_id")
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        if duplicates.repeated(line, row["activity_id"]):
            continue
        fields = {
            "account_id": ctx.account_id(file, line, row["customer_id"]),
            "contact_id": ctx.contact_id(file, line, row["contact_id"]),
            "type": row["type"],
            "occurred_at": aware(row["occurred_at"]),
            "subject": row["subject"] or "",
        }
        check_fits(file, line, Activity, {"external_id": row["activity_id"]} | fields)
        if len(file.problems) == before:
            writes.append(Write(line, (row["activity_id"],), fields))
    upsert(Activity, ("external_id",), writes, file)


def import_churns(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, gettext("churn"))
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        key = (row["customer_id"], row["churned_on"])
        if duplicates.repeated(line, key):
            continue
        account_id = ctx.account_id(file, line, row["customer_id"])
        fields = {"reason": row["reason"], "detail": row["detail"] or ""}
        if len(file.problems) == before:
            writes.append(Write(line, (account_id, row["churned_on"]), fields))
    upsert(ChurnRecord, ("account_id", "churned_on"), writes, file)
