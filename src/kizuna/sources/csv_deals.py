"""Readers for the pipeline CSV files: ``deals.csv``, ``deal_stage_history.csv``, ``spend.csv``.

Besides the per-cell checks of :mod:`kizuna.sources.csv_reader`, deals are checked against the
pipelines they name: the stage exists in the pipeline, the status agrees with the stage, a
closed deal has its close date, and the deal carries every field its stage requires (the same
rule the board and the API apply, :func:`kizuna.pipeline.stage_rules.missing_required_fields`).
Stage-specific fields (BANT, quote amount, churn reason, …) are optional columns named after
the field keys of :data:`kizuna.pipeline.defaults.DEAL_FIELDS`.

The tables returned have the columns and types :mod:`kizuna.engine.pipeline` reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.utils.translation import gettext

from kizuna.core.money import UnknownCurrency, check_currency
from kizuna.pipeline.defaults import DEAL_FIELDS, DEFAULT_PIPELINES, PipelineDef, StageKind
from kizuna.pipeline.stage_rules import describe_missing, missing_required_fields
from kizuna.sources.csv_reader import Column, InputError, decode, parse_rows, to_arrow

# spend.csv is a revenue input (CAC) first; its column specification lives with that reader.
from kizuna.sources.csv_revenue import SPEND as SPEND_FILE
from kizuna.sources.csv_revenue import SPEND_COLUMNS

DEALS_FILE = "deals.csv"
HISTORY_FILE = "deal_stage_history.csv"

DEAL_STATUSES = ("open", "won", "lost")
# The churn reasons of SPEC C8, as in churns.csv.
CHURN_REASONS = ("cost", "missing_features", "support", "business_change", "other")

_BASE_DEAL_COLUMNS: tuple[Column, ...] = (
    Column("deal_id"),
    Column("customer_id"),
    Column("pipeline"),
    Column("stage"),
    Column("status", choices=DEAL_STATUSES),
    Column("amount_mrr", "decimal", min_value=0),
    Column("one_off_amount", "decimal", required=False, default=0, min_value=0),
    Column("currency"),
    Column("owner"),
    Column("source", required=False, nullable=True),
    Column("created_on", "date"),
    Column("close_date", "date"),
    Column("closed_on", "date", required=False, nullable=True),
    Column("lost_reason", required=False, nullable=True),
    Column("churn_reason", required=False, nullable=True, choices=CHURN_REASONS),
    Column("product", required=False, nullable=True),
    Column("plan", required=False, nullable=True),
)


def _stage_field_columns() -> tuple[Column, ...]:
    """One optional column per stage field that is not already a base column."""
    base = {column.name for column in _BASE_DEAL_COLUMNS}
    return tuple(
        Column(field.key, field.kind, required=False, nullable=True)
        for field in DEAL_FIELDS.values()
        if field.key not in base
    )


DEALS_COLUMNS: tuple[Column, ...] = _BASE_DEAL_COLUMNS + _stage_field_columns()

HISTORY_COLUMNS: tuple[Column, ...] = (
    Column("deal_id"),
    Column("stage"),
    Column("entered_at", "datetime"),
    Column("changed_by", required=False, nullable=True),
)


@dataclass(frozen=True)
class PipelineFiles:
    """The pipeline inputs of one CSV folder, validated, as Arrow tables."""

    deals: pa.Table
    stage_history: pa.Table
    spend: pa.Table


def _rows(values: dict[str, list[Any]], count: int) -> list[dict[str, Any]]:
    return [{name: column[index] for name, column in values.items()} for index in range(count)]


def _parse(
    folder: Path, name: str, columns: Sequence[Column], problems: list[str]
) -> tuple[dict[str, list[Any]], list[int]] | None:
    path = folder / name
    try:
        return parse_rows(name, decode(path.read_bytes()), columns)
    except InputError as error:
        problems.extend(error.problems)
        return None


def _empty(columns: Sequence[Column]) -> tuple[dict[str, list[Any]], list[int]]:
    return {column.name: [] for column in columns}, []


def check_deals(
    values: dict[str, list[Any]],
    lines: Sequence[int],
    pipelines: Mapping[str, PipelineDef],
    name: str = DEALS_FILE,
) -> list[str]:
    """Row checks that need the pipelines; normalises ``stage`` and ``currency`` in place."""
    problems: list[str] = []
    first_line: dict[str, int] = {}
    for index, row in enumerate(_rows(values, len(lines))):
        line = lines[index]
        where = f"{name}:{line}"
        deal_id = row["deal_id"]
        if deal_id in first_line:
            problems.append(
                f"{where}: "
                + gettext("deal_id '%(deal)s' repeats line %(line)s")
                % {"deal": deal_id, "line": first_line[deal_id]}
            )
        else:
            first_line[deal_id] = line
        try:
            values["currency"][index] = check_currency(row["currency"])
        except UnknownCurrency as error:
            problems.append(f"{where}: {error}")
        pipeline = pipelines.get(row["pipeline"])
        if pipeline is None:
            problems.append(
                f"{where}: "
                + gettext("unknown pipeline '%(pipeline)s'; known: %(known)s")
                % {"pipeline": row["pipeline"], "known": ", ".join(pipelines)}
            )
            continue
        stage_key = row["stage"].lower()
        values["stage"][index] = stage_key
        try:
            stage = pipeline.stage(stage_key)
        except KeyError:
            problems.append(
                f"{where}: "
                + gettext(
                    "stage '%(stage)s' is not in pipeline '%(pipeline)s'; its stages: %(stages)s"
                )
                % {
                    "stage": row["stage"],
                    "pipeline": pipeline.key,
                    "stages": ", ".join(pipeline.stage_keys()),
                }
            )
            continue
        if row["status"] != stage.kind:
            problems.append(
                f"{where}: "
                + gettext("status '%(status)s' does not match stage '%(stage)s', which is %(kind)s")
                % {"status": row["status"], "stage": stage.key, "kind": stage.kind}
            )
        if stage.kind != StageKind.OPEN and row["closed_on"] is None:
            problems.append(f"{where}: " + gettext("'closed_on' is empty for a closed deal"))
        missing = missing_required_fields(stage, row)
        if missing:
            problems.append(f"{where}: {describe_missing(stage.key, missing)}")
    return problems


def check_history(
    values: dict[str, list[Any]],
    lines: Sequence[int],
    deals: Mapping[str, tuple[str, str]],
    pipelines: Mapping[str, PipelineDef],
    name: str = HISTORY_FILE,
) -> list[str]:
    """History rows must name known deals and stages of their pipeline; the latest entry of a
    deal must be the stage ``deals.csv`` has it in (``deals`` maps id → (pipeline, stage)).
    """
    problems: list[str] = []
    latest: dict[str, tuple[Any, int, str]] = {}
    for index, row in enumerate(_rows(values, len(lines))):
        where = f"{name}:{lines[index]}"
        deal = deals.get(row["deal_id"])
        if deal is None:
            problems.append(
                f"{where}: "
                + gettext("deal '%(deal)s' is not in %(file)s")
                % {"deal": row["deal_id"], "file": DEALS_FILE}
            )
            continue
        pipeline = pipelines.get(deal[0])
        if pipeline is None:
            continue  # already reported on the deal's own line
        stage_key = row["stage"].lower()
        values["stage"][index] = stage_key
        if stage_key not in pipeline.stage_keys():
            problems.append(
                f"{where}: "
                + gettext(
                    "stage '%(stage)s' is not in pipeline '%(pipeline)s'; its stages: %(stages)s"
                )
                % {
                    "stage": row["stage"],
                    "pipeline": pipeline.key,
                    "stages": ", ".join(pipeline.stage_keys()),
                }
            )
            continue
        previous = latest.get(row["deal_id"])
        if previous is None or row["entered_at"] >= previous[0]:
            latest[row["deal_id"]] = (row["entered_at"], lines[index], stage_key)
    for deal_id, (_, line, stage_key) in latest.items():
        current = deals[deal_id][1]
        if stage_key != current:
            problems.append(
                f"{name}:{line}: "
                + gettext(
                    "the latest stage of deal '%(deal)s' is '%(stage)s', "
                    "but %(file)s has it in '%(current)s'"
                )
                % {"deal": deal_id, "stage": stage_key, "file": DEALS_FILE, "current": current}
            )
    return problems


def check_spend(
    values: dict[str, list[Any]], lines: Sequence[int], name: str = SPEND_FILE
) -> list[str]:
    problems: list[str] = []
    for index, code in enumerate(values["currency"]):
        try:
            values["currency"][index] = check_currency(code)
        except UnknownCurrency as error:
            problems.append(f"{name}:{lines[index]}: {error}")
    return problems


def read_pipeline_files(
    folder: Path, pipelines: Mapping[str, PipelineDef] = DEFAULT_PIPELINES
) -> PipelineFiles:
    """Read and validate the pipeline files of ``folder``; every problem of every file at once.

    ``deals.csv`` is required; without ``deal_stage_history.csv`` each deal is known only in
    its current stage, and without ``spend.csv`` CAC stays empty.
    """
    problems: list[str] = []
    if not (folder / DEALS_FILE).is_file():
        raise InputError(
            [f"{DEALS_FILE}:1: " + gettext("file not found in %(folder)s") % {"folder": folder}]
        )
    deals = _parse(folder, DEALS_FILE, DEALS_COLUMNS, problems)
    if deals is not None:
        problems.extend(check_deals(*deals, pipelines))
    history: tuple[dict[str, list[Any]], list[int]] | None = _empty(HISTORY_COLUMNS)
    if (folder / HISTORY_FILE).is_file():
        history = _parse(folder, HISTORY_FILE, HISTORY_COLUMNS, problems)
    if deals is not None and history is not None:
        values = deals[0]
        known = {
            deal_id: (pipeline, stage)
            for deal_id, pipeline, stage in zip(
                values["deal_id"], values["pipeline"], values["stage"], strict=True
            )
        }
        problems.extend(check_history(*history, known, pipelines))
    spend: tuple[dict[str, list[Any]], list[int]] | None = _empty(SPEND_COLUMNS)
    if (folder / SPEND_FILE).is_file():
        spend = _parse(folder, SPEND_FILE, SPEND_COLUMNS, problems)
        if spend is not None:
            problems.extend(check_spend(*spend))
    if problems or deals is None or history is None or spend is None:
        raise InputError(problems)
    return PipelineFiles(
        deals=to_arrow(deals[0], DEALS_COLUMNS),
        stage_history=to_arrow(history[0], HISTORY_COLUMNS),
        spend=to_arrow(spend[0], SPEND_COLUMNS),
    )
