"""Health scores: scorecards (typed), scoring over all accounts at once, status, trend, changes.

Scale: 0–100, **100 = healthiest**. A scorecard is a list of components, each a registered
measure (:mod:`kizuna.engine.health_measures`) with scoring bands and a weight, combined by an
aggregation method:

* ``points`` (preset A): each component's bands give points up to its weight; the score is the
  sum of points, renormalised to 100 over the components that have data.
* ``weighted`` (preset B): each component scores 0–100; the score is Σ weight × score ÷ Σ weight
  over the components that have data.

Missing components (no data, or data older than ``max_age_days``) are left out and the rest
renormalised, unless the component has a ``missing_points`` default. Below ``min_coverage`` (the
share of weight with data) there is no score. Accounts younger than ``onboarding_grace_days``
get the status ``onboarding``. Guardrails cap the status when a component is in a given state.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from kizuna.engine.health_inputs import AsOfGrid, HealthInputs, as_of_grid
from kizuna.engine.health_measures import MEASURES
from kizuna.engine.health_shared_pass import TrailingForm, shared_pass

Method = Literal["points", "weighted"]

# Statuses that are not score bands: no score for lack of data, and the onboarding grace.
NO_SCORE_STATUS = "insufficient_data"
ONBOARDING_STATUS = "onboarding"


@dataclass(frozen=True)
class Band:
    """One scoring band: a numeric range with an inclusive lower bound (``minimum``; ``None``
    for the open-ended bottom band), or a category; ``points`` when the measure falls in it."""

    points: float
    minimum: float | None = None
    category: str | None = None
    label: str = ""


@dataclass(frozen=True)
class Component:
    name: str
    measure: str
    weight: float
    bands: tuple[Band, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    missing_points: float | None = None
    """Points given when the measure is missing; ``None`` = leave out and renormalise."""
    max_age_days: int | None = None
    """Inputs older than this many days (``observed_on`` before T − age) count as missing."""
    label: str = ""

    @property
    def max_points(self) -> float:
        return max(band.points for band in self.bands)

    @property
    def is_categorical(self) -> bool:
        return any(band.category is not None for band in self.bands)


@dataclass(frozen=True)
class StatusBand:
    """A status by score (inclusive ``min_score``) with its colour and recommended action."""

    name: str
    min_score: float
    color: str
    action: str
    label: str = ""


@dataclass(frozen=True)
class Guardrail:
    """Caps the status at ``status_at_most`` when ``component`` is in one of ``categories`` or
    scores at most ``points_at_most`` points (e.g. critical support → at most ``risk``)."""

    component: str
    status_at_most: str
    categories: tuple[str, ...] = ()
    points_at_most: float | None = None


@dataclass(frozen=True)
class Scorecard:
    name: str
    method: Method
    components: tuple[Component, ...]
    statuses: tuple[StatusBand, ...]
    min_coverage: float = 0.5
    onboarding_grace_days: int = 0
    guardrails: tuple[Guardrail, ...] = ()
    description: str = ""
    touch_tier: str | None = None

    def component(self, name: str) -> Component:
        for component in self.components:
            if component.name == name:
                return component
        raise KeyError(name)

    def status_for(self, score: float | None) -> str:
        if score is None:
            return NO_SCORE_STATUS
        for band in sorted(self.statuses, key=lambda band: -band.min_score):
            if score >= band.min_score:
                return band.name
        return self.statuses[-1].name


@dataclass(frozen=True)
class Aggregation:
    """How a component's points enter the score: its weight and the points that mean "full"."""

    weight: Any
    scale: Any


AGGREGATIONS: dict[str, Aggregation] = {
    # Points: a component weighs its maximum points, so with full data the score is the plain
    # sum of points; with a component missing the sum is scaled back to 100.
    "points": Aggregation(
        weight=lambda component: component.max_points, scale=lambda component: component.max_points
    ),
    # Weighted: components score 0–100 and weigh their configured weight.
    "weighted": Aggregation(weight=lambda component: component.weight, scale=lambda _: 100.0),
}


def effective_weight(scorecard: Scorecard, component: Component) -> float:
    return float(AGGREGATIONS[scorecard.method].weight(component))


def component_scale(scorecard: Scorecard, component: Component) -> float:
    return float(AGGREGATIONS[scorecard.method].scale(component))


# --- pure scoring (one value at a time; the Ibis version below mirrors it) -----------------


def band_points(component: Component, value: float | str | None) -> float | None:
    """Points for one measure value; ``None`` when the value is missing or fits no band."""
    if value is None:
        return None
    if component.is_categorical:
        for band in component.bands:
            if band.category == value:
                return band.points
        return None
    number = float(value)  # type: ignore[arg-type]
    if math.isnan(number):
        return None
    for band in component.bands:
        if band.minimum is None or number >= band.minimum:
            return band.points
    return None


# --- set-based scoring -----------------------------------------------------------------


def measure_key(component: Component) -> str:
    """Components using the same measure with the same parameters share one computation."""
    params = ",".join(f"{key}={component.params[key]!r}" for key in sorted(component.params))
    return f"{component.measure}({params})"


def measure_values(inputs: HealthInputs, grid: AsOfGrid, scorecard: Scorecard) -> ir.Table:
    """The grid with ``<component>__value`` and ``<component>__observed`` for every component.

    Measures with a trailing form are computed together in one pass over the grid
    (:func:`~kizuna.engine.health_shared_pass.shared_pass`); the others are joined to it."""
    forms: dict[str, TrailingForm] = {}
    tables: dict[str, ir.Table | None] = {}
    for component in scorecard.components:
        measure = MEASURES[component.measure]
        key = measure_key(component)
        if key in forms or key in tables:
            continue
        if measure.available(inputs) and measure.form is not None:
            form = measure.trailing_form(inputs, grid, component.params)
            if form is not None:
                forms[key] = form
                continue
        available = measure.available(inputs) and measure.compute is not None
        tables[key] = measure.run(inputs, grid, component.params) if available else None
    names = {key: f"m{index}" for index, key in enumerate(forms)}
    table = grid.table
    if forms:
        table = shared_pass(grid, {names[key]: form for key, form in forms.items()})
    for key, result in tables.items():
        if result is None:
            continue
        names[key] = f"m{len(names)}"
        renamed = result.select(
            "customer_id",
            "as_of",
            **{
                f"{names[key]}__value": result.value,
                f"{names[key]}__observed": result.observed_on,
            },
        )
        table = table.left_join(renamed, ["customer_id", "as_of"]).drop(
            "customer_id_right", "as_of_right"
        )
    columns: dict[str, ir.Value] = {}
    for component in scorecard.components:
        key = measure_key(component)
        value_type = "string" if MEASURES[component.measure].kind == "category" else "float64"
        value, observed = f"{component.name}__value", f"{component.name}__observed"
        if key in names:
            columns[value] = table[f"{names[key]}__value"].cast(value_type)
            columns[observed] = table[f"{names[key]}__observed"].cast("date")
        else:
            columns[value], columns[observed] = ibis.null(value_type), ibis.null("date")
    return table.select(*grid.table.columns, **columns)


def _points_expression(component: Component, value: ir.Value) -> ir.Value:
    if component.is_categorical:
        branches = [(value == band.category, band.points) for band in component.bands]
    else:
        branches = [
            (value >= band.minimum if band.minimum is not None else value.notnull(), band.points)
            for band in component.bands
        ]
    return ibis.cases(*branches, else_=ibis.null("float64")).cast("float64")


def score_table(values: ir.Table, scorecard: Scorecard) -> ir.Table:
    """Score every row of :func:`measure_values`: per component ``__points`` and ``__missing``,
    then ``coverage``, ``score`` (rounded to one decimal; null below ``min_coverage``) and
    ``status``."""
    total_weight = sum(effective_weight(scorecard, c) for c in scorecard.components)
    columns: dict[str, ir.Value] = {}
    for component in scorecard.components:
        value = values[f"{component.name}__value"]
        observed = values[f"{component.name}__observed"]
        fresh: ir.BooleanValue = ibis.literal(True)
        if component.max_age_days is not None:
            fresh = observed.isnull() | (
                values.as_of.delta(observed, unit="day") <= component.max_age_days
            )
        measured = _points_expression(component, value)
        has_data = measured.notnull() & fresh
        points = ibis.ifelse(has_data, measured, ibis.null("float64"))
        if component.missing_points is not None:
            points = points.fill_null(component.missing_points)
        columns[f"{component.name}__points"] = points
        columns[f"{component.name}__missing"] = ~has_data
    # The sums read the points columns, so each component's bands are evaluated once per row.
    scored = values.mutate(**columns)
    numerator: ir.NumericValue = ibis.literal(0.0)
    denominator: ir.NumericValue = ibis.literal(0.0)
    covered: ir.NumericValue = ibis.literal(0.0)
    for component in scorecard.components:
        points = scored[f"{component.name}__points"]
        weight = effective_weight(scorecard, component)
        scale = component_scale(scorecard, component)
        numerator = numerator + points.fill_null(0.0) * (weight / scale)
        denominator = denominator + ibis.ifelse(points.notnull(), weight, 0.0)
        covered = covered + ibis.ifelse(~scored[f"{component.name}__missing"], weight, 0.0)
    coverage = (covered / total_weight).round(4)
    raw = ibis.ifelse(denominator > 0, 100.0 * numerator / denominator, ibis.null("float64"))
    score = ibis.ifelse(coverage >= scorecard.min_coverage, raw.round(1), ibis.null("float64"))
    scored = scored.mutate(coverage=coverage, score=score)
    return scored.mutate(status=_status_expression(scored, scorecard))


def _status_expression(scored: ir.Table, scorecard: Scorecard) -> ir.Value:
    ranked = sorted(scorecard.statuses, key=lambda band: -band.min_score)
    by_score = ibis.cases(
        *[(scored.score >= band.min_score, band.name) for band in ranked[:-1]],
        else_=ranked[-1].name,
    )
    status = by_score
    rank = {band.name: index for index, band in enumerate(ranked)}
    for guardrail in scorecard.guardrails:
        component = scorecard.component(guardrail.component)
        cap = rank[guardrail.status_at_most]
        triggered: ir.BooleanValue = ibis.literal(False)
        if guardrail.categories:
            triggered = triggered | scored[f"{component.name}__value"].isin(
                list(guardrail.categories)
            ).fill_null(False)
        if guardrail.points_at_most is not None:
            triggered = triggered | (
                scored[f"{component.name}__points"] <= guardrail.points_at_most
            ).fill_null(False)
        better = ibis.cases(*[(status == band.name, True) for band in ranked[:cap]], else_=False)
        status = ibis.ifelse(triggered & better, guardrail.status_at_most, status)
    in_grace = scored.customer_since.notnull() & (
        scored.as_of.delta(scored.customer_since, unit="day") < scorecard.onboarding_grace_days
    )
    return ibis.cases(
        (in_grace, ONBOARDING_STATUS),
        (scored.score.isnull(), NO_SCORE_STATUS),
        else_=status,
    )


def score_history(inputs: HealthInputs, scorecard: Scorecard, dates: Sequence[date]) -> ir.Table:
    """Scores of every account on every date in ``dates``, as one expression (one row per
    account and date; see :func:`score_table` for the columns)."""
    grid = as_of_grid(inputs, dates)
    return score_table(measure_values(inputs, grid, scorecard), scorecard)


def date_batches(dates: Sequence[date], batch_size: int) -> list[list[date]]:
    """Sorted dates cut into runs of at most ``batch_size``, for a history recompute whose
    memory must stay bounded: each batch is one :func:`score_history` query, and a batch of
    consecutive days shares its input windows, so batches of weeks or months cost little more
    than one query over the whole year."""
    ordered = sorted(set(dates))
    return [ordered[start : start + batch_size] for start in range(0, len(ordered), batch_size)]


# --- results for people ----------------------------------------------------------------


@dataclass(frozen=True)
class ComponentResult:
    name: str
    measure: str
    value: float | str | None
    points: float | None
    weight: float
    missing: bool


@dataclass(frozen=True)
class Change:
    """Movement vs an earlier date: the score delta and each component's points delta."""

    days: int
    score_delta: float | None
    component_deltas: dict[str, float]

    @property
    def direction(self) -> str:
        if self.score_delta is None or self.score_delta == 0:
            return "flat"
        return "up" if self.score_delta > 0 else "down"


@dataclass(frozen=True)
class AccountHealth:
    customer_id: str
    as_of: date
    score: float | None
    status: str
    coverage: float
    components: tuple[ComponentResult, ...]
    changes: tuple[Change, ...] = ()

    @property
    def missing(self) -> list[str]:
        return [component.name for component in self.components if component.missing]


TREND_DAYS = (7, 30)
"""Trend compares with the score this many days earlier (H4)."""


def score_accounts(
    inputs: HealthInputs,
    scorecard: Scorecard,
    as_of: date,
    backend: Any,
    trend_days: Sequence[int] = TREND_DAYS,
) -> list[AccountHealth]:
    """Scores on ``as_of`` with trend and component deltas vs ``trend_days`` earlier, computed
    in one batched query over all accounts."""
    dates = [as_of, *(as_of - timedelta(days=days) for days in trend_days)]
    rows = backend.to_pyarrow(score_history(inputs, scorecard, dates)).to_pylist()
    by_key = {(row["customer_id"], row["as_of"]): row for row in rows}
    results = []
    for row in sorted((r for r in rows if r["as_of"] == as_of), key=lambda r: r["customer_id"]):
        changes = []
        for days in trend_days:
            earlier = by_key.get((row["customer_id"], as_of - timedelta(days=days)))
            if earlier is not None:
                changes.append(compare(scorecard, row, earlier, days))
        results.append(account_health(scorecard, row, tuple(changes)))
    return results


def account_health(
    scorecard: Scorecard, row: Mapping[str, Any], changes: tuple[Change, ...] = ()
) -> AccountHealth:
    components = tuple(
        ComponentResult(
            name=component.name,
            measure=component.measure,
            value=_plain(row[f"{component.name}__value"]),
            points=row[f"{component.name}__points"],
            weight=effective_weight(scorecard, component),
            missing=bool(row[f"{component.name}__missing"]),
        )
        for component in scorecard.components
    )
    return AccountHealth(
        customer_id=row["customer_id"],
        as_of=row["as_of"],
        score=row["score"],
        status=row["status"],
        coverage=row["coverage"],
        components=components,
        changes=changes,
    )


def compare(
    scorecard: Scorecard, now: Mapping[str, Any], earlier: Mapping[str, Any], days: int
) -> Change:
    """Why the score moved: the score delta and every component whose points changed."""
    deltas = {}
    for component in scorecard.components:
        before = earlier[f"{component.name}__points"]
        after = now[f"{component.name}__points"]
        if before != after:
            deltas[component.name] = round((after or 0.0) - (before or 0.0), 4)
    score_delta = (
        None
        if now["score"] is None or earlier["score"] is None
        else round(now["score"] - earlier["score"], 1)
    )
    return Change(days=days, score_delta=score_delta, component_deltas=deltas)


def _plain(value: Any) -> float | str | None:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value  # type: ignore[no-any-return]
