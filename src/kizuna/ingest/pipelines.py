"""The pipelines deals are imported into: the shipped defaults, created in the store if missing,
and the stored pipelines seen as :class:`~kizuna.pipeline.defaults.PipelineDef` so the deal
checks of :mod:`kizuna.sources.csv_deals` apply to what a team has configured."""

from __future__ import annotations

from collections.abc import Mapping

from kizuna.pipeline.actions import KIND_OF_MOTION, install_default_pipelines
from kizuna.pipeline.defaults import (
    DEFAULT_PIPELINES,
    Motion,
    PipelineDef,
    StageDef,
    StageKind,
)
from kizuna.pipeline.models import Pipeline, Stage

MOTION_OF_KIND = {kind: motion for motion, kind in KIND_OF_MOTION.items()}


def ensure_default_pipelines(
    pipelines: Mapping[str, PipelineDef] = DEFAULT_PIPELINES,
) -> list[Pipeline]:
    """Create each default pipeline the store does not have yet; returns those created.

    The one installer is :func:`kizuna.pipeline.actions.install_default_pipelines`; this name
    stays for the importers and the playbook defaults that call it.
    """
    return install_default_pipelines(pipelines)


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
                is_trial=stage.is_trial,
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
