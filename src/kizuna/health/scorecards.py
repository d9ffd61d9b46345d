"""Scorecards as TOML: load, validate and dump, with errors that name the offending field.

The shipped presets live in ``presets/`` (``A`` = seed 000's 100-point card, ``B`` = seed 001's
weighted card, ``simple`` = usage + NPS). The same structure is stored as JSON in the
``Scorecard`` model, so this module also converts to and from plain dictionaries.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import tomli_w

from kizuna.engine.health import AGGREGATIONS, Band, Component, Guardrail, Scorecard, StatusBand
from kizuna.engine.health_measures import MEASURES

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
PRESETS: dict[str, str] = {"A": "preset_a.toml", "B": "preset_b.toml", "simple": "simple.toml"}
DEFAULT_PRESET = "B"
"""The default scorecard of a new store: preset B weighs usage highest, which fits the daily
usage data the store holds."""


class ScorecardError(ValueError):
    """A scorecard definition is invalid; the message names the field (``components[2].bands``)."""


def load_preset(name: str) -> Scorecard:
    try:
        filename = PRESETS[name]
    except KeyError:
        known = ", ".join(PRESETS)
        raise ScorecardError(f"unknown preset {name!r}; choose one of {known}") from None
    return load_scorecard(PRESETS_DIR / filename)


def load_scorecard(path: Path) -> Scorecard:
    """A preset name (``A``, ``B``, ``simple``) or a TOML file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ScorecardError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise ScorecardError(f"{path}: cannot read: {error.strerror}") from None
    try:
        return scorecard_from_dict(data)
    except ScorecardError as error:
        raise ScorecardError(f"{path}: {error}") from None


def resolve_scorecard(name_or_path: str) -> Scorecard:
    if name_or_path in PRESETS:
        return load_preset(name_or_path)
    return load_scorecard(Path(name_or_path))


def dumps_scorecard(scorecard: Scorecard) -> str:
    return tomli_w.dumps(scorecard_to_dict(scorecard))


def scorecard_to_dict(scorecard: Scorecard) -> dict[str, Any]:
    """Plain data in the TOML layout, without ``None`` values (TOML has no null)."""
    data: dict[str, Any] = _drop_none(asdict(scorecard))
    for component in data["components"]:
        for band in component["bands"]:
            if "minimum" in band:
                band["min"] = band.pop("minimum")
    return data


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_drop_none(item) for item in value]
    return value


# --- validation -------------------------------------------------------------------------

_SCORECARD_KEYS = {
    "name",
    "method",
    "components",
    "statuses",
    "min_coverage",
    "onboarding_grace_days",
    "guardrails",
    "description",
    "touch_tier",
}


def scorecard_from_dict(data: Mapping[str, Any]) -> Scorecard:
    reader = _Fields(data, "", _SCORECARD_KEYS)
    method = reader.text("method")
    if method not in AGGREGATIONS:
        raise ScorecardError(f"method: must be one of {', '.join(AGGREGATIONS)}, got {method!r}")
    components = tuple(
        _component(item, f"components[{index}]", method)
        for index, item in enumerate(reader.tables("components"))
    )
    if not components:
        raise ScorecardError("components: at least one component is needed")
    names = [component.name for component in components]
    for name in names:
        if names.count(name) > 1:
            raise ScorecardError(f"components: the name {name!r} is used twice")
    statuses = tuple(
        _status(item, f"statuses[{index}]") for index, item in enumerate(reader.tables("statuses"))
    )
    if not statuses:
        raise ScorecardError("statuses: at least one status band is needed")
    minimums = [status.min_score for status in statuses]
    if minimums != sorted(minimums, reverse=True) or len(set(minimums)) != len(minimums):
        raise ScorecardError("statuses: list bands from the highest min_score down, no repeats")
    guardrails = tuple(
        _guardrail(item, f"guardrails[{index}]", names, [s.name for s in statuses])
        for index, item in enumerate(reader.tables("guardrails", required=False))
    )
    min_coverage = reader.number("min_coverage", default=0.5)
    if not 0 <= min_coverage <= 1:
        raise ScorecardError("min_coverage: must be between 0 and 1")
    grace = reader.number("onboarding_grace_days", default=0)
    if grace < 0 or grace != int(grace):
        raise ScorecardError("onboarding_grace_days: must be a whole number ≥ 0")
    return Scorecard(
        name=reader.text("name"),
        method=method,  # type: ignore[arg-type]
        components=components,
        statuses=statuses,
        min_coverage=min_coverage,
        onboarding_grace_days=int(grace),
        guardrails=guardrails,
        description=reader.text("description", default=""),
        touch_tier=reader.optional_text("touch_tier"),
    )


def _component(data: Any, where: str, method: str) -> Component:
    reader = _Fields(
        data,
        where,
        {"name", "measure", "weight", "bands", "params", "missing_points", "max_age_days", "label"},
    )
    measure_name = reader.text("measure")
    measure = MEASURES.get(measure_name)
    if measure is None:
        known = ", ".join(sorted(MEASURES))
        raise ScorecardError(f"{where}.measure: unknown measure {measure_name!r}; known: {known}")
    params = reader.table("params")
    unknown = sorted(set(params) - set(measure.params))
    if unknown:
        raise ScorecardError(f"{where}.params: {measure_name} has no parameter {unknown[0]!r}")
    bands = tuple(
        _band(item, f"{where}.bands[{index}]", measure.kind)
        for index, item in enumerate(reader.tables("bands"))
    )
    _check_bands(bands, f"{where}.bands", measure.categories)
    weight = reader.number("weight")
    if weight <= 0:
        raise ScorecardError(f"{where}.weight: must be > 0")
    max_points = max(band.points for band in bands)
    if method == "points" and weight != max_points:
        raise ScorecardError(
            f"{where}.weight: with method 'points' the weight is the top band's points "
            f"({max_points:g}), got {weight:g}"
        )
    max_age = reader.optional_number("max_age_days")
    return Component(
        name=reader.text("name"),
        measure=measure_name,
        weight=weight,
        bands=bands,
        params=params,
        missing_points=reader.optional_number("missing_points"),
        max_age_days=None if max_age is None else int(max_age),
        label=reader.text("label", default=""),
    )


def _band(data: Any, where: str, kind: str) -> Band:
    reader = _Fields(data, where, {"points", "min", "category", "label"})
    if kind == "category":
        if "min" in reader.data:
            raise ScorecardError(f"{where}.min: this measure gives categories; use 'category'")
        category = reader.text("category")
        minimum = None
    else:
        if "category" in reader.data:
            raise ScorecardError(f"{where}.category: this measure gives numbers; use 'min'")
        category = None
        minimum = reader.optional_number("min")
    points = reader.number("points")
    if points < 0:
        raise ScorecardError(f"{where}.points: must be ≥ 0")
    return Band(points=points, minimum=minimum, category=category, label=reader.text("label", ""))


def _check_bands(bands: tuple[Band, ...], where: str, categories: tuple[str, ...]) -> None:
    if not bands:
        raise ScorecardError(f"{where}: at least one band is needed")
    if categories:
        for index, band in enumerate(bands):
            if band.category not in categories:
                allowed = ", ".join(categories)
                raise ScorecardError(
                    f"{where}[{index}].category: must be one of {allowed}, got {band.category!r}"
                )
        return
    for index, band in enumerate(bands[:-1]):
        if band.minimum is None:
            raise ScorecardError(f"{where}[{index}].min: only the last band may omit 'min'")
        following = bands[index + 1].minimum
        if following is not None and following >= band.minimum:
            raise ScorecardError(
                f"{where}[{index + 1}].min: list bands from the highest 'min' down"
            )


def _status(data: Any, where: str) -> StatusBand:
    reader = _Fields(data, where, {"name", "min_score", "color", "action", "label"})
    return StatusBand(
        name=reader.text("name"),
        min_score=reader.number("min_score"),
        color=reader.text("color"),
        action=reader.text("action"),
        label=reader.text("label", default=""),
    )


def _guardrail(data: Any, where: str, components: list[str], statuses: list[str]) -> Guardrail:
    reader = _Fields(data, where, {"component", "status_at_most", "categories", "points_at_most"})
    component = reader.text("component")
    if component not in components:
        raise ScorecardError(f"{where}.component: no component named {component!r}")
    status = reader.text("status_at_most")
    if status not in statuses:
        raise ScorecardError(f"{where}.status_at_most: no status named {status!r}")
    categories = data.get("categories", [])
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise ScorecardError(f"{where}.categories: must be a list of strings")
    points = reader.optional_number("points_at_most")
    if not categories and points is None:
        raise ScorecardError(f"{where}: give 'categories' or 'points_at_most'")
    return Guardrail(
        component=component,
        status_at_most=status,
        categories=tuple(categories),
        points_at_most=points,
    )


class _Fields:
    """Typed access to one TOML table; every error names ``where.field``."""

    def __init__(self, data: Any, where: str, allowed: set[str]):
        if not isinstance(data, Mapping):
            raise ScorecardError(f"{where or 'scorecard'}: must be a table")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ScorecardError(f"{self._path(where, unknown[0])}: unknown field")
        self.data = data
        self.where = where

    @staticmethod
    def _path(where: str, key: str) -> str:
        return f"{where}.{key}" if where else key

    def _get(self, key: str, required: bool) -> Any:
        if key not in self.data:
            if required:
                raise ScorecardError(f"{self._path(self.where, key)}: required")
            return None
        return self.data[key]

    def text(self, key: str, default: str | None = None) -> str:
        value = self._get(key, default is None)
        if value is None:
            return default or ""
        if not isinstance(value, str) or (default is None and not value.strip()):
            raise ScorecardError(f"{self._path(self.where, key)}: must be a non-empty string")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self._get(key, False)
        return None if value is None else self.text(key)

    def number(self, key: str, default: float | None = None) -> float:
        value = self._get(key, default is None)
        if value is None:
            return float(default)  # type: ignore[arg-type]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScorecardError(f"{self._path(self.where, key)}: must be a number")
        return float(value)

    def optional_number(self, key: str) -> float | None:
        return None if key not in self.data else self.number(key)

    def table(self, key: str) -> dict[str, Any]:
        value = self._get(key, False)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ScorecardError(f"{self._path(self.where, key)}: must be a table")
        return dict(value)

    def tables(self, key: str, required: bool = True) -> list[Any]:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ScorecardError(f"{self._path(self.where, key)}: must be a list of tables")
        return value
