"""The pipelines Kizuna ships with (SPEC P1–P4), as data.

These are *defaults*: a team edits stages, probabilities and required fields in the store, and
the forecast reads whatever the store (or a CSV folder) holds. Nothing in the engine or in the
stage rules knows these numbers; they only live here.

Probabilities and stage fields of the new-business and upsell pipelines follow the SaaS CRM
design the product was specified from. That design gives the renewal pipeline timings but no
probabilities, and gives the services pipeline no stages at all; the values for those two are
Kizuna's own starting points (see ``docs/pipelines.md``) and are meant to be calibrated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Literal

import pyarrow as pa
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class StageKind(StrEnum):
    """Where a stage leaves a deal: still being worked, closed won, or closed lost."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Motion(StrEnum):
    """What kind of revenue a pipeline's won deals bring; the forecast groups by it."""

    NEW = "new"
    EXPANSION = "expansion"
    RENEWAL = "renewal"
    SERVICES = "services"


FieldKind = Literal["str", "int", "decimal", "date"]


@dataclass(frozen=True)
class DealField:
    """A deal field a stage can require; ``key`` is the deal attribute and CSV column name."""

    key: str
    label: Promise
    kind: FieldKind = "str"
    """How the CSV reader parses the column (a :mod:`kizuna.sources.csv_reader` kind)."""


@dataclass(frozen=True)
class StageDef:
    key: str
    name: str | Promise
    probability: Decimal
    """Win probability a deal in this stage carries in the weighted forecast (0–1)."""
    kind: StageKind = StageKind.OPEN
    required_fields: tuple[str, ...] = ()
    """Deal fields that must be filled before a deal may enter this stage."""
    is_trial: bool = False
    """Entering this stage starts a trial (trial → paid conversion counts from it)."""
    days_before_renewal: int | None = None
    """Renewal pipelines: a deal enters this stage this many days before the term ends."""


@dataclass(frozen=True)
class PipelineDef:
    key: str
    name: str | Promise
    motion: Motion
    stages: tuple[StageDef, ...]

    def stage(self, key: str) -> StageDef:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def stage_keys(self) -> tuple[str, ...]:
        return tuple(stage.key for stage in self.stages)


# Every field any default stage requires, so forms, the API and the CSV reader agree on names.
DEAL_FIELDS: dict[str, DealField] = {
    field.key: field
    for field in (
        DealField("source", _("Lead source")),
        DealField("first_contact_on", _("First contact date"), "date"),
        DealField("lead_score", _("Lead score"), "int"),
        DealField("bant_budget", _("Budget (BANT)")),
        DealField("bant_authority", _("Authority (BANT)")),
        DealField("bant_need", _("Need (BANT)")),
        DealField("bant_timeline", _("Timeline (BANT)")),
        DealField("trial_start", _("Trial start date"), "date"),
        DealField("proposed_plan", _("Proposed plan")),
        DealField("quote_amount", _("Quote amount"), "decimal"),
        DealField("decision_maker", _("Decision maker")),
        DealField("approval_status", _("Approval status")),
        DealField("plan", _("Plan")),
        DealField("amount_mrr", _("MRR"), "decimal"),
        DealField("one_off_amount", _("One-off amount"), "decimal"),
        DealField("contract_months", _("Contract term (months)"), "int"),
        DealField("effective_date", _("Effective date"), "date"),
        DealField("lost_reason", _("Lost reason")),
        DealField("churn_reason", _("Churn reason")),
    )
}

_BANT = ("bant_budget", "bant_authority", "bant_need", "bant_timeline")

NEW_BUSINESS = PipelineDef(
    key="new_business",
    name=_("New business"),
    motion=Motion.NEW,
    stages=(
        StageDef(
            "lead", _("Lead"), Decimal("0.05"), required_fields=("source", "first_contact_on")
        ),
        StageDef("mql", _("MQL"), Decimal("0.10"), required_fields=("lead_score",)),
        StageDef("sql", _("SQL"), Decimal("0.20"), required_fields=_BANT),
        StageDef(
            "demo_trial",
            _("Demo / trial"),
            Decimal("0.35"),
            required_fields=("trial_start",),
            is_trial=True,
        ),
        StageDef(
            "proposal",
            _("Proposal / quote"),
            Decimal("0.55"),
            required_fields=("proposed_plan", "quote_amount"),
        ),
        StageDef(
            "final_negotiation",
            _("Final negotiation"),
            Decimal("0.75"),
            required_fields=("decision_maker", "approval_status"),
        ),
        StageDef(
            "won",
            _("Won"),
            Decimal("1"),
            StageKind.WON,
            required_fields=("plan", "amount_mrr", "contract_months"),
        ),
        StageDef("lost", _("Lost"), Decimal("0"), StageKind.LOST, required_fields=("lost_reason",)),
    ),
)

UPSELL = PipelineDef(
    key="upsell",
    name=_("Upsell / cross-sell"),
    motion=Motion.EXPANSION,
    stages=(
        StageDef("opportunity_detected", _("Opportunity detected"), Decimal("0.10")),
        StageDef("needs_confirmed", _("Needs confirmed"), Decimal("0.25")),
        # On an upsell deal ``amount_mrr`` is the MRR added on top of the current contract.
        StageDef("proposal", _("Proposal"), Decimal("0.50"), required_fields=("amount_mrr",)),
        StageDef(
            "negotiation_approval",
            _("Negotiation / approval"),
            Decimal("0.75"),
            required_fields=("approval_status",),
        ),
        StageDef(
            "won",
            _("Won"),
            Decimal("1"),
            StageKind.WON,
            required_fields=("amount_mrr", "effective_date"),
        ),
        StageDef("lost", _("Lost"), Decimal("0"), StageKind.LOST, required_fields=("lost_reason",)),
    ),
)

# Renewal probabilities start high because a renewal is lost only by churn; 80/85/90 % is a
# starting point consistent with the 90 % GRR target, to be calibrated on the team's history.
RENEWAL = PipelineDef(
    key="renewal",
    name=_("Renewal"),
    motion=Motion.RENEWAL,
    stages=(
        StageDef("renewal_prep", _("Renewal prep"), Decimal("0.80"), days_before_renewal=90),
        StageDef(
            "renewal_proposal",
            _("Renewal proposal"),
            Decimal("0.85"),
            required_fields=("amount_mrr",),
            days_before_renewal=60,
        ),
        StageDef("negotiation", _("Negotiation"), Decimal("0.90"), days_before_renewal=30),
        StageDef(
            "renewed",
            _("Renewed"),
            Decimal("1"),
            StageKind.WON,
            required_fields=("plan", "amount_mrr", "contract_months"),
            days_before_renewal=0,
        ),
        StageDef(
            "churned", _("Churned"), Decimal("0"), StageKind.LOST, required_fields=("churn_reason",)
        ),
    ),
)

SERVICES = PipelineDef(
    key="services",
    name=_("Professional services"),
    motion=Motion.SERVICES,
    stages=(
        StageDef("scoping", _("Scoping"), Decimal("0.20")),
        StageDef("proposal", _("Proposal"), Decimal("0.50"), required_fields=("one_off_amount",)),
        StageDef(
            "negotiation",
            _("Negotiation"),
            Decimal("0.75"),
            required_fields=("decision_maker", "approval_status"),
        ),
        StageDef(
            "won",
            _("Won"),
            Decimal("1"),
            StageKind.WON,
            required_fields=("one_off_amount", "effective_date"),
        ),
        StageDef("lost", _("Lost"), Decimal("0"), StageKind.LOST, required_fields=("lost_reason",)),
    ),
)

DEFAULT_PIPELINES: dict[str, PipelineDef] = {
    pipeline.key: pipeline for pipeline in (NEW_BUSINESS, UPSELL, RENEWAL, SERVICES)
}

# Probabilities are fractions with four decimal places (e.g. 0.0525 = 5.25 %).
PROBABILITY_TYPE = pa.decimal128(5, 4)

STAGES_SCHEMA = pa.schema(
    [
        ("pipeline", pa.string()),
        ("motion", pa.string()),
        ("stage", pa.string()),
        ("position", pa.int64()),
        ("probability", PROBABILITY_TYPE),
        ("kind", pa.string()),
        ("is_trial", pa.bool_()),
    ]
)


def stages_table(pipelines: Iterable[PipelineDef]) -> pa.Table:
    """The stage table the forecast engine reads (one row per pipeline stage, in order)."""
    rows = [
        {
            "pipeline": pipeline.key,
            "motion": str(pipeline.motion),
            "stage": stage.key,
            "position": position,
            "probability": stage.probability,
            "kind": str(stage.kind),
            "is_trial": stage.is_trial,
        }
        for pipeline in pipelines
        for position, stage in enumerate(pipeline.stages, start=1)
    ]
    return pa.Table.from_pylist(rows, schema=STAGES_SCHEMA)


def required_field_keys(pipelines: Mapping[str, PipelineDef]) -> tuple[str, ...]:
    """Every field some stage of ``pipelines`` requires, in first-seen order."""
    seen: dict[str, None] = {}
    for pipeline in pipelines.values():
        for stage in pipeline.stages:
            seen.update(dict.fromkeys(stage.required_fields))
    return tuple(seen)
