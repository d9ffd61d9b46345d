"""The pipelines deals are imported into: the shipped defaults, created in the store if missing,
and the stored pipelines seen as :class:`~kizuna.pipeline.defaults.PipelineDef` so the deal
checks of :mod:`kizuna.sources.csv_deals` apply to what a team has configured."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from kizuna.pipeline.defaults import (
    DEFAULT_PIPELINES,
    Motion,
    PipelineDef,
    StageDef,
    StageKind,
)
from kizuna.pipeline.models import Pipeline, PipelineKind, Stage

KIND_OF_MOTION: dict[Motion, str] = {
    Motion.NEW: PipelineKind.NEW_BUSINESS,
    Motion.EXPANSION: PipelineKind.UPSELL,
    Motion.RENEWAL: PipelineKind.RENEWAL,
    Motion.SERVICES: PipelineKind.SERVICES,
}
MOTION_OF_KIND = {kind: motion for motion, kind in KIND_OF_MOTION.items()}


@transaction.atomic
def ensure_default_pipelines(
    pipelines: Mapping[str, PipelineDef] = DEFAULT_PIPELINES,
) -> list[Pipeline]:
    """Create each default pipeline (with its stages) that the store does not have yet.

    A pipeline that exists is left exactly as the team configured it. Returns those created.
    """
    created: list[Pipeline] = []
    existing = set(Pipeline.objects.values_list("key", flat=True))
    for order, definition in enumerate(pipelines.values()):
        if definition.key in existing:
            continue
        pipeline = Pipeline.objects.create(
            key=definition.key,
            name=str(definition.name),
            kind=KIND_OF_MOTION[definition.motion],
            order=order,
        )
        Stage.objects.bulk_create(
            Stage(
                pipeline=pipeline,
                key=stage.key,
                name=str(stage.name),
                order=position,
                probability=stage.probability,
                outcome=str(stage.kind),
                required_fields=list(stage.required_fields),
                days_before_renewal=stage.days_before_renewal,
            )
            for position, stage in enumerate(definition.stages, start=1)
        )
        created.append(pipeline)
    return created


def stored_pipelines() -> dict[str, PipelineDef]:
    """Every pipeline of the store, with its stages in order, keyed by pipeline key."""
    stages: dict[int, list[StageDef]] = {}
    for stage in Stage.objects.order_by("pipeline_id", "order", "pk"):
        stages.setdefault(stage.pipeline_id, []).append(
            StageDef(
                key=stage.key,
                name=stage.name,  # type: ignore[arg-type]  # plain text where defaults are lazy
                probability=stage.probability,
                kind=StageKind(stage.outcome),
                required_fields=tuple(stage.required_fields or ()),
                days_before_renewal=stage.days_before_renewal,
            )
        )
    return {
        pipeline.key: PipelineDef(
            key=pipeline.key,
            name=pipeline.name,  # type: ignore[arg-type]
            motion=MOTION_OF_KIND.get(pipeline.kind, Motion.NEW),
            stages=tuple(stages.get(pipeline.pk, ())),
        )
        for pipeline in Pipeline.objects.order_by("order", "pk")
    }
