"""Deals and their stage history, checked against the pipelines configured in the store.

A deal's row must carry every field its stage requires (the rule of
:mod:`kizuna.pipeline.stage_rules`, applied through :func:`kizuna.sources.csv_deals.check_deals`),
so an import can never move a deal into a stage it is not ready for.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext

from kizuna.crm.models import Account
from kizuna.ingest.context import Duplicates, ImportContext, aware, check_fits
from kizuna.ingest.map_crm import choice, rows
from kizuna.ingest.pipelines import ensure_default_pipelines, stored_pipelines
from kizuna.ingest.report import FileReport
from kizuna.ingest.source import SourceRows
from kizuna.ingest.upsert import BATCH_ROWS, Write, upsert
from kizuna.pipeline.defaults import DEAL_FIELDS
from kizuna.pipeline.models import Deal, DealStageChange, LostReason, Pipeline, Stage
from kizuna.sources.csv_deals import check_deals, check_history

# Stage fields that are columns of the deal itself; every other stage field lives in
# ``Deal.details`` (BANT, quote amount, approval status, …).
DEAL_ATTRIBUTES = (
    "source",
    "plan",
    "amount_mrr",
    "one_off_amount",
    "contract_months",
    "effective_date",
    "trial_start",
    "lost_reason",
    "churn_reason",
)


def _record_problems(file: FileReport, problems: list[str]) -> set[int]:
    lines: set[int] = set()
    for problem in problems:
        number, _, message = problem.removeprefix(f"{file.name}:").partition(": ")
        file.problem(int(number), message)
        lines.add(int(number))
    return lines


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def import_deals(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    ensure_default_pipelines()
    pipelines = stored_pipelines()
    bad = _record_problems(file, check_deals(source.values, source.lines, pipelines, file.name))
    stages = {
        (pipeline_key, stage_key): (stage_pk, pipeline_pk)
        for stage_pk, pipeline_pk, pipeline_key, stage_key in Stage.objects.values_list(
            "pk", "pipeline_id", "pipeline__key", "key"
        )
    }
    pipeline_names = dict(Pipeline.objects.values_list("key", "name"))
    account_names = dict(Account.objects.exclude(external_id="").values_list("pk", "name"))
    writes: list[Write] = []
    for line, row in rows(source):
        before = len(file.problems)
        account_id = ctx.account_id(file, line, row["customer_id"])
        lost_reason = choice(file, line, "lost_reason", row["lost_reason"], LostReason.values)
        if line in bad or len(file.problems) > before or account_id is None:
            continue
        stage_pk, pipeline_pk = stages[(row["pipeline"], row["stage"])]
        fields: dict[str, Any] = {
            name: row[name] for name in DEAL_ATTRIBUTES if name in row and row[name] is not None
        }
        fields.update(
            {
                "account_id": account_id,
                "pipeline_id": pipeline_pk,
                "stage_id": stage_pk,
                "status": row["status"],
                "currency": row["currency"],
                "owner_id": ctx.user_id(file, row["owner"]),
                "source": row["source"] or "",
                "product": row["product"] or "",
                "plan": row["plan"] or "",
                "created_on": row["created_on"],
                "close_date": row["close_date"],
                "closed_on": row["closed_on"],
                "lost_reason": lost_reason,
                "churn_reason": row["churn_reason"] or "",
                "details": {
                    key: _json_value(row[key])
                    for key in DEAL_FIELDS
                    if key not in DEAL_ATTRIBUTES and row.get(key) is not None
                },
            }
        )
        fields.setdefault("amount_mrr", Decimal(0))
        fields.setdefault("one_off_amount", Decimal(0))
        fields.setdefault("contract_months", None)
        fields.setdefault("effective_date", None)
        fields.setdefault("trial_start", None)
        check_fits(file, line, Deal, {"external_id": row["deal_id"]} | fields)
        if len(file.problems) > before:
            continue
        title = gettext("%(account)s: %(pipeline)s") % {
            "account": account_names.get(account_id, row["customer_id"]),
            "pipeline": pipeline_names[row["pipeline"]],
        }
        writes.append(Write(line, (row["deal_id"],), fields, on_create={"title": title[:200]}))
    upsert(Deal, ("external_id",), writes, file)


def import_deal_stage_history(ctx: ImportContext, file: FileReport, source: SourceRows) -> None:
    pipelines = stored_pipelines()
    deals: dict[str, tuple[str, str]] = {}
    deal_pks: dict[str, int] = {}
    for pk, external_id, pipeline_key, stage_key in (
        Deal.objects.exclude(external_id="")
        .order_by("-pk")
        .values_list("pk", "external_id", "pipeline__key", "stage__key")
    ):
        deals[external_id] = (pipeline_key, stage_key)
        deal_pks[external_id] = pk
    bad = _record_problems(
        file, check_history(source.values, source.lines, deals, pipelines, file.name)
    )
    stages = {
        (pipeline_key, stage_key): stage_pk
        for stage_pk, pipeline_key, stage_key in Stage.objects.values_list(
            "pk", "pipeline__key", "key"
        )
    }
    duplicates = Duplicates(file, gettext("stage entry"))
    writes: list[Write] = []
    for line, row in rows(source):
        entered_at = aware(row["entered_at"])
        key = (row["deal_id"], row["stage"], entered_at)
        if duplicates.repeated(line, key):
            continue
        if line in bad:
            continue
        changed_by = ctx.user_id(file, row["changed_by"])
        stage_pk = stages[(deals[row["deal_id"]][0], row["stage"])]
        writes.append(
            Write(
                line,
                (deal_pks[row["deal_id"]], stage_pk, entered_at),
                {"changed_by_id": changed_by},
                on_create={"from_stage_id": None},
            )
        )
    upsert(DealStageChange, ("deal_id", "to_stage_id", "changed_at"), writes, file)
    _link_previous_stages({write.key[0] for write in writes})


def _link_previous_stages(deal_pks: set[Any]) -> None:
    """Each stage change comes from the stage its deal entered just before."""
    ordered = sorted(deal_pks)
    for start in range(0, len(ordered), BATCH_ROWS):
        changed: list[DealStageChange] = []
        previous: dict[int, int | None] = {}
        batch = DealStageChange.objects.filter(
            deal_id__in=ordered[start : start + BATCH_ROWS]
        ).order_by("deal_id", "changed_at", "pk")
        for change in batch:
            from_stage = previous.get(change.deal_id)
            if change.from_stage_id != from_stage:
                change.from_stage_id = from_stage
                changed.append(change)
            previous[change.deal_id] = change.to_stage_id
        DealStageChange.objects.bulk_update(changed, ["from_stage_id"], batch_size=500)
