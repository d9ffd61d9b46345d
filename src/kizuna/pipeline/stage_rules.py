"""Required fields per stage: the one rule the board, the API and the importers all apply.

A stage lists the deal fields that must be filled before a deal may enter it (a lost reason
on Lost, BANT at SQL, …). Only the target stage's own list is checked: fields of earlier
stages were checked when the deal entered them, and a team that wants a field kept filled
later lists it again on the later stage.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

from django.utils.translation import gettext, ngettext

from kizuna.pipeline.defaults import DEAL_FIELDS


class StageWithRequirements(Protocol):
    """Anything that names a stage and lists its required fields (a default or a stored stage)."""

    @property
    def key(self) -> str: ...

    @property
    def name(self) -> Any: ...

    @property
    def required_fields(self) -> Sequence[str]: ...


def is_filled(value: object) -> bool:
    """A field counts as filled unless it is missing, blank text or an empty collection.

    Zero and ``False`` are real answers (a free plan's MRR is 0), so they count as filled.
    """
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, Collection):
        return len(value) > 0
    return True


def missing_required_fields(
    stage: StageWithRequirements, deal_values: Mapping[str, object]
) -> list[str]:
    """Keys of the fields ``stage`` requires that ``deal_values`` leaves empty, in stage order."""
    return [key for key in stage.required_fields if not is_filled(deal_values.get(key))]


def field_label(key: str) -> str:
    """The translated label of a deal field; fields a team added are shown by their key."""
    field = DEAL_FIELDS.get(key)
    return str(field.label) if field is not None else key


class StageMoveRefused(Exception):
    """A deal may not enter ``stage`` until ``missing`` (field keys) are filled."""

    def __init__(self, stage: StageWithRequirements, missing: Sequence[str]):
        self.stage_key = stage.key
        self.stage_name = str(stage.name)
        self.missing = list(missing)
        labels = ", ".join(field_label(key) for key in self.missing)
        message = ngettext(
            "Cannot move the deal to “%(stage)s”: fill in %(fields)s first.",
            "Cannot move the deal to “%(stage)s”: fill in these fields first: %(fields)s.",
            len(self.missing),
        ) % {"stage": self.stage_name, "fields": labels}
        super().__init__(message)


def check_stage_move(stage: StageWithRequirements, deal_values: Mapping[str, object]) -> None:
    """Raise :class:`StageMoveRefused` when the deal lacks a field ``stage`` requires."""
    missing = missing_required_fields(stage, deal_values)
    if missing:
        raise StageMoveRefused(stage, missing)


def describe_missing(stage_key: str, missing: Sequence[str]) -> str:
    """One-line import message, e.g. ``stage 'lost' requires lost_reason`` (keys, as in CSV)."""
    return gettext("stage '%(stage)s' requires %(fields)s") % {
        "stage": stage_key,
        "fields": ", ".join(missing),
    }
