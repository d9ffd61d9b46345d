"""Daily usage, features and their use, support tickets and NPS answers."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from kizuna.ingest.context import MAX_POSITIVE_INT, Duplicates, ImportContext, aware, check_fits
from kizuna.ingest.map_crm import rows
from kizuna.ingest.report import FileReport
from kizuna.ingest.source import SourceRows
from kizuna.ingest.upsert import Write, upsert
from kizuna.usage.models import (
    Feature,
    FeatureUsage,
    NpsResponse,
    SuccessGoal,
    Ticket,
    UsageDaily,
)

USAGE_MEASURES = (
    "logins",
    "active_users",
    "active_users_30d",
    "seats_in_use",
    "api_calls",
    "departments_active",
    "pricing_page_views",
    "competitor_page_views",
    "new_feature_page_views",
)


def import_usage_daily(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, gettext("usage row"))
    accounts = ctx.accounts()
    measures = [name for name in USAGE_MEASURES if name in source.values]
    columns = [source.values[name] for name in measures]
    customer_ids = source.values["customer_id"]
    dates = source.values["date"]
    writes: list[Write] = []
    # The hot loop of a million-row file: plain lookups, no per-row model introspection.
    for index, line in enumerate(source.lines):
        customer_id = customer_ids[index]
        day = dates[index]
        if duplicates.repeated(line, (customer_id, day)):
            continue
        account_id = accounts.get(customer_id)
        if account_id is None:
            ctx.account_id(file, line, customer_id)
            continue
        values = [column[index] for column in columns]
        if any(value is not None and value > MAX_POSITIVE_INT for value in values):
            check_fits(file, line, UsageDaily, dict(zip(measures, values, strict=True)))
            continue
        writes.append(Write(line, (account_id, day), dict(zip(measures, values, strict=True))))
    upsert(
        UsageDaily,
        ("account_id", "date"),
        writes,
        file,
        progress=_write_progress(ctx, file.name),
        want_pks=False,
    )


def _write_progress(ctx: ImportContext, name: str) -> Any:
    if ctx.progress is None:
        return None
    progress = ctx.progress
    return lambda done, total: progress(name, "write", done, total)


def import_features(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, "feature")
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        if duplicates.repeated(line, row["feature"]):
            continue
        fields = {
            "name": row["name"] or row["feature"],
            "core": row["core"],
            "enterprise": row["enterprise"],
            "released_on": row["released_on"],
        }
        check_fits(file, line, Feature, {"key": row["feature"]} | fields)
        if len(file.problems) == before:
            writes.append(Write(line, (row["feature"],), fields))
    upsert(Feature, ("key",), writes, file)


def import_feature_usage(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, gettext("feature usage row"))
    features = dict(Feature.objects.values_list("key", "pk"))
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        key = (row["customer_id"], row["date"], row["feature"])
        if duplicates.repeated(line, key):
            continue
        account_id = ctx.account_id(file, line, row["customer_id"])
        feature_id = features.get(row["feature"])
        if feature_id is None:
            file.problem(line, gettext("unknown feature '%(key)s'") % {"key": row["feature"]})
        check_fits(file, line, FeatureUsage, {"uses": row["uses"]})
        if len(file.problems) == before:
            writes.append(Write(line, (account_id, row["date"], feature_id), {"uses": row["uses"]}))
    upsert(
        FeatureUsage,
        ("account_id", "date", "feature_id"),
        writes,
        file,
        progress=_write_progress(ctx, file.name),
        want_pks=False,
    )


def import_tickets(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, "ticket_id")
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        if duplicates.repeated(line, row["ticket_id"]):
            continue
        opened_at = aware(row["opened_at"])
        resolved_at = aware(row["resolved_at"])
        if opened_at and resolved_at and resolved_at < opened_at:
            file.problem(line, gettext("'resolved_at' is before 'opened_at'"))
        fields = {
            "account_id": ctx.account_id(file, line, row["customer_id"]),
            "opened_at": opened_at,
            "resolved_at": resolved_at,
            "type": row["type"],
            "severity": row["severity"],
        }
        check_fits(file, line, Ticket, {"external_id": row["ticket_id"]})
        if len(file.problems) == before:
            writes.append(Write(line, (row["ticket_id"],), fields))
    upsert(Ticket, ("external_id",), writes, file)


def import_nps(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, "response_id")
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        if duplicates.repeated(line, row["response_id"]):
            continue
        if row["score"] > 10:
            message = gettext("'score' must be between 0 and 10, got %(score)s")
            file.problem(line, message % {"score": row["score"]})
        fields = {
            "account_id": ctx.account_id(file, line, row["customer_id"]),
            "contact_id": ctx.contact_id(file, line, row["contact_id"]),
            "responded_on": row["responded_on"],
            "score": row["score"],
            "comment": row["comment"] or "",
        }
        check_fits(file, line, NpsResponse, {"external_id": row["response_id"]})
        if len(file.problems) == before:
            writes.append(Write(line, (row["response_id"],), fields))
    upsert(NpsResponse, ("external_id",), writes, file)


def import_success_goals(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    duplicates = Duplicates(file, "goal_id")
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        if duplicates.repeated(line, row["goal_id"]):
            continue
        if row["set_on"] and row["achieved_on"] and row["achieved_on"] < row["set_on"]:
            file.problem(line, gettext("'achieved_on' is before 'set_on'"))
        fields = {
            "account_id": ctx.account_id(file, line, row["customer_id"]),
            "goal": row["goal"],
            "target": row["target"] or "",
            "set_on": row["set_on"],
            "achieved_on": row["achieved_on"],
        }
        check_fits(
            file,
            line,
            SuccessGoal,
            {"external_id": row["goal_id"], "goal": row["goal"], "target": fields["target"]},
        )
        if len(file.problems) == before:
            writes.append(Write(line, (row["goal_id"],), fields))
    upsert(SuccessGoal, ("external_id",), writes, file)
