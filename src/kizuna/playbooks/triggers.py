"""Rule triggers: what starts a rule, as set-based Ibis queries over all accounts.

Every trigger returns candidate rows shaped like signals (:data:`SIGNAL_SCHEMA`:
``customer_id, signal, level, occurrence, occurred_on, detail``), so that one path matches
conditions, applies caps and raises alerts whatever started the rule. ``occurrence`` makes the
alert unique: a renewal step is keyed by the term end and the step, a band change by its day,
a churn by its date, a stage change by the deal and stage.

The tables a trigger reads come from an :class:`Evaluation`, which loads each one (from the
store, or from tables a caller gives) only when a trigger asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend

from kizuna.engine.backends import connect
from kizuna.engine.signals import SIGNAL_DETECTORS
from kizuna.engine.signals_common import (
    SignalSettings,
    json_object,
    shift_date,
    signal_rows,
    upcoming_renewals,
)
from kizuna.playbooks.phases import PhaseClock

HEALTH_SCHEMA = ibis.schema(
    {"customer_id": "string", "date": "date", "score": "float64", "status": "string"}
)
"""Daily health scores, one row per account and day."""

CHURN_SCHEMA = ibis.schema({"customer_id": "string", "churned_on": "date", "reason": "string"})

STAGE_CHANGE_SCHEMA = ibis.schema(
    {
        "customer_id": "string",
        "deal_id": "int64",
        "deal": "string",
        "pipeline": "string",
        "from_stage": "string",
        "to_stage": "string",
        "changed_on": "date",
    }
)


Loader = Callable[[], pa.Table | None]


@dataclass
class Evaluation:
    """The run's day and its input tables, each loaded on first use into one backend.

    Loading into the backend (rather than querying in-memory tables anew each time) lets the
    rules' queries share the tables: every rule reads the same signals and account attributes.
    """

    as_of: date
    settings: SignalSettings
    loaders: dict[str, Loader]
    backend: BaseBackend = field(default_factory=lambda: connect("duckdb"))
    clock: PhaseClock | None = None
    """Times the loading of the tables as the run's ``inputs`` phase, when given."""
    _loaded: dict[str, ir.Table | None] = field(default_factory=dict)

    def table(self, name: str) -> ir.Table | None:
        if name not in self._loaded:
            with self.clock.phase("inputs") if self.clock is not None else nullcontext():
                loader = self.loaders.get(name)
                data = loader() if loader is not None else None
                self._loaded[name] = (
                    self.backend.create_table(f"playbook_{name}", data, temp=True, overwrite=True)
                    if data is not None and data.num_rows
                    else None
                )
        return self._loaded[name]

    def execute(self, table: ir.Table) -> pa.Table:
        return self.backend.to_pyarrow(table)


Candidates = Callable[[Evaluation, dict[str, Any]], ir.Table | None]
Validate = Callable[[dict[str, Any]], list[str]]


@dataclass(frozen=True)
class Trigger:
    kind: str
    validate: Validate
    candidates: Candidates
    signals: Callable[[dict[str, Any]], tuple[str, ...]] = lambda params: ()
    """Signal detectors the trigger needs (only those are run)."""


TRIGGERS: dict[str, Trigger] = {}


def register_trigger(
    kind: str,
    validate: Validate,
    signals: Callable[[dict[str, Any]], tuple[str, ...]] | None = None,
) -> Callable[[Candidates], Candidates]:
    def add(function: Candidates) -> Candidates:
        TRIGGERS[kind] = Trigger(kind, validate, function, signals or (lambda params: ()))
        return function

    return add


def validate_trigger(kind: str, params: Any) -> list[str]:
    trigger = TRIGGERS.get(kind)
    if trigger is None:
        return [f"unknown trigger {kind!r}"]
    if not isinstance(params, dict):
        return ["trigger parameters must be a table"]
    return [f"trigger {kind}: {problem}" for problem in trigger.validate(params)]


def _allowed(params: dict[str, Any], required: set[str], optional: set[str]) -> list[str]:
    problems = [f"missing {name!r}" for name in sorted(required - set(params))]
    problems += [
        f"unknown parameter {name!r}" for name in sorted(set(params) - required - optional)
    ]
    return problems


def _int(params: dict[str, Any], name: str, problems: list[str], minimum: int = 0) -> None:
    value = params.get(name)
    if value is not None and (not isinstance(value, int) or value < minimum):
        problems.append(f"{name!r} must be a whole number ≥ {minimum}")


# --- signal ------------------------------------------------------------------------------------


def _signal_names(params: dict[str, Any]) -> tuple[str, ...]:
    names = params.get("signals") or [params.get("signal")]
    return tuple(name for name in names if isinstance(name, str))


def _validate_signal(params: dict[str, Any]) -> list[str]:
    problems = _allowed(params, set(), {"signal", "signals", "levels"})
    names = _signal_names(params)
    if not names:
        problems.append("name a 'signal' or a list of 'signals'")
    problems += [f"unknown signal {name!r}" for name in names if name not in SIGNAL_DETECTORS]
    levels = params.get("levels")
    if levels is not None and (
        not isinstance(levels, list) or not set(levels) <= {"low", "medium", "high"}
    ):
        problems.append("'levels' must be a list of low, medium, high")
    return problems


@register_trigger("signal", _validate_signal, _signal_names)
def signal_candidates(evaluation: Evaluation, params: dict[str, Any]) -> ir.Table | None:
    """Detected signals of the named kinds (and levels, when given)."""
    signals = evaluation.table("signals")
    if signals is None:
        return None
    hits = signals.filter(signals.signal.isin(list(_signal_names(params))))
    if params.get("levels"):
        hits = hits.filter(hits.level.isin(list(params["levels"])))
    return hits


# --- health ------------------------------------------------------------------------------------


def _validate_band(params: dict[str, Any]) -> list[str]:
    problems = _allowed(params, {"band"}, {"lookback_days"})
    _int(params, "lookback_days", problems, 1)
    if not isinstance(params.get("band"), str):
        problems.append("'band' must be a health status such as critical")
    return problems


def _health_changes(evaluation: Evaluation, lookback_days: int) -> ir.Table | None:
    health = evaluation.table("health")
    if health is None:
        return None
    history = ibis.window(group_by=health.customer_id, order_by=health.date)
    health = health.filter(health.date <= evaluation.as_of).mutate(
        previous_score=health.score.lag().over(history),
        previous_status=health.status.lag().over(history),
    )
    since = evaluation.as_of - timedelta(days=lookback_days)
    return health.filter(health.date > since, health.previous_status.notnull())


def _band_rows(changes: ir.Table, signal: str, band: str) -> ir.Table:
    return signal_rows(
        changes,
        signal=signal,
        level=ibis.literal(""),
        occurrence=ibis.literal(f"{band}:").concat(changes.date.cast("string")),
        occurred_on=changes.date,
        detail=json_object(
            band=band,
            score=changes.score,
            status=changes.status,
            previous_score=changes.previous_score,
            previous_status=changes.previous_status,
        ),
    )


@register_trigger("health_band_entered", _validate_band)
def band_entered(evaluation: Evaluation, params: dict[str, Any]) -> ir.Table | None:
    """The daily health status changed into ``band`` in the last ``lookback_days`` (7) days."""
    changes = _health_changes(evaluation, params.get("lookback_days", 7))
    if changes is None:
        return None
    band = params["band"]
    hits = changes.filter(changes.status == band, changes.previous_status != band)
    return _band_rows(hits, "health_band_entered", band)


@register_trigger("health_band_left", _validate_band)
def band_left(evaluation: Evaluation, params: dict[str, Any]) -> ir.Table | None:
    """The daily health status changed out of ``band`` in the last ``lookback_days`` days."""
    changes = _health_changes(evaluation, params.get("lookback_days", 7))
    if changes is None:
        return None
    band = params["band"]
    hits = changes.filter(changes.previous_status == band, changes.status != band)
    return _band_rows(hits, "health_band_left", band)


def _validate_crossing(params: dict[str, Any]) -> list[str]:
    problems = _allowed(params, {"threshold", "direction"}, {"lookback_days"})
    _int(params, "lookback_days", problems, 1)
    if not isinstance(params.get("threshold"), int | float):
        problems.append("'threshold' must be a number")
    if params.get("direction") not in ("below", "above"):
        problems.append("'direction' must be below or above")
    return problems


@register_trigger("score_crossed", _validate_crossing)
def score_crossed(evaluation: Evaluation, params: dict[str, Any]) -> ir.Table | None:
    """The health score went from ≥ threshold to below it (``below``), or the other way."""
    changes = _health_changes(evaluation, params.get("lookback_days", 7))
    if changes is None:
        return None
    threshold = float(params["threshold"])
    if params["direction"] == "below":
        hits = changes.filter(changes.previous_score >= threshold, changes.score < threshold)
    else:
        hits = changes.filter(changes.previous_score < threshold, changes.score >= threshold)
    return signal_rows(
        hits,
        signal="score_crossed",
        level=ibis.literal(""),
        occurrence=ibis.literal(f"{params['direction']}:{threshold:g}:").concat(
            hits.date.cast("string")
        ),
        occurred_on=hits.date,
        detail=json_object(
            threshold=threshold, score=hits.score, previous_score=hits.previous_score
        ),
    )


# --- dates -------------------------------------------------------------------------------------


def _validate_renewal(params: dict[str, Any]) -> list[str]:
    problems = _allowed(params, {"days_before"}, {"until_days_before"})
    _int(params, "days_before", problems, 1)
    _int(params, "until_days_before", problems, 0)
    if not problems and params.get("until_days_before", 0) >= params["days_before"]:
        problems.append("'until_days_before' must be less than 'days_before'")
    return problems


@register_trigger("renewal_date", _validate_renewal)
def renewal_date(evaluation: Evaluation, params: dict[str, Any]) -> ir.Table | None:
    """A contract term ends in ``days_before`` days or fewer (but more than ``until_…``).

    Renewal dates as for the ``renewal_due`` signal (term end, or the anniversary of a yearly
    contract). Keyed by the term end and the step, so each step fires once per term even when
    a daily run is missed.
    """
    subscriptions = evaluation.table("subscriptions")
    if subscriptions is None:
        return None
    renewals = upcoming_renewals(subscriptions, evaluation.as_of, evaluation.settings)
    days, until = params["days_before"], params.get("until_days_before", 0)
    hits = renewals.filter(renewals.days_left <= days, renewals.days_left > until)
    return signal_rows(
        hits,
        signal="renewal_date",
        level=ibis.literal(""),
        occurrence=hits.renewal_on.cast("string").concat(f":{days}d"),
        occurred_on=shift_date(hits.renewal_on, -days),
        detail=json_object(renewal_on=hits.renewal_on, days_left=hits.days_left, step=days),
    )


def _validate_contract_start(params: dict[str, Any]) -> list[str]:
    problems = _allowed(params, {"days_after"}, {"window_days"})
    _int(params, "days_after", problems, 0)
    _int(params, "window_days", problems, 1)
    return problems


@register_trigger("contract_start_date", _validate_contract_start)
def contract_start_date(evaluation: Evaluation, params: dict[str, Any]) -> ir.Table | None:
    """``days_after`` days since the contract started (within ``window_days``, 7)."""
    accounts = evaluation.table("accounts")
    if accounts is None:
        return None
    days, window = params["days_after"], params.get("window_days", 7)
    accounts = accounts.filter(accounts.contract_start.notnull())
    due = shift_date(accounts.contract_start, days)
    accounts = accounts.mutate(due_on=due)
    as_of = ibis.literal(evaluation.as_of)
    hits = accounts.filter(
        accounts.due_on <= as_of, accounts.due_on > as_of - ibis.interval(days=window)
    )
    return signal_rows(
        hits,
        signal="contract_start_date",
        level=ibis.literal(""),
        occurrence=hits.contract_start.cast("string").concat(f":{days}d"),
        occurred_on=hits.due_on,
        detail=json_object(contract_start=hits.contract_start, days_after=days),
    )


def _validate_churn(params: dict[str, Any]) -> list[str]:
    problems = _allowed(params, {"months_after_min", "months_after_max"}, {"reasons"})
    _int(params, "months_after_min", problems, 0)
    _int(params, "months_after_max", problems, 0)
    reasons = params.get("reasons")
    if reasons is not None and (not isinstance(reasons, list) or not reasons):
        problems.append("'reasons' must be a non-empty list")
    return problems


@register_trigger("churn_date", _validate_churn)
def churn_date(evaluation: Evaluation, params: dict[str, Any]) -> ir.Table | None:
    """A churned account between ``months_after_min`` and ``…_max`` months after its churn.

    Only accounts still churned, and only churns of the given ``reasons`` when listed (win-back
    chosen by churn reason, SPEC C9). Keyed by the churn date.
    """
    churns, accounts = evaluation.table("churns"), evaluation.table("accounts")
    if churns is None or accounts is None:
        return None
    still_churned = accounts.filter(accounts.status == "churned").select("customer_id")
    churns = churns.semi_join(still_churned, "customer_id")
    if params.get("reasons"):
        churns = churns.filter(churns.reason.isin(list(params["reasons"])))
    churns = churns.mutate(
        opens_on=shift_date(churns.churned_on, params["months_after_min"], "M"),
        closes_on=shift_date(churns.churned_on, params["months_after_max"], "M"),
    )
    as_of = ibis.literal(evaluation.as_of)
    hits = churns.filter(churns.opens_on <= as_of, churns.closes_on >= as_of)
    return signal_rows(
        hits,
        signal="churn_date",
        level=ibis.literal(""),
        occurrence=hits.churned_on.cast("string"),
        occurred_on=hits.opens_on,
        detail=json_object(churned_on=hits.churned_on, reason=hits.reason),
    )


# --- events ------------------------------------------------------------------------------------


def _validate_stage(params: dict[str, Any]) -> list[str]:
    problems = _allowed(params, {"pipeline", "to_stage"}, {"lookback_days"})
    _int(params, "lookback_days", problems, 1)
    return problems


@register_trigger("deal_stage_changed", _validate_stage)
def deal_stage_changed(evaluation: Evaluation, params: dict[str, Any]) -> ir.Table | None:
    """A deal of ``pipeline`` moved into ``to_stage`` in the last ``lookback_days`` (7) days."""
    changes = evaluation.table("stage_changes")
    if changes is None:
        return None
    since = evaluation.as_of - timedelta(days=params.get("lookback_days", 7))
    hits = changes.filter(
        changes.pipeline == params["pipeline"],
        changes.to_stage == params["to_stage"],
        changes.changed_on > since,
        changes.changed_on <= evaluation.as_of,
    )
    return signal_rows(
        hits,
        signal="deal_stage_changed",
        level=ibis.literal(""),
        occurrence=hits.deal_id.cast("string").concat(":", hits.to_stage),
        occurred_on=hits.changed_on,
        detail=json_object(
            deal_id=hits.deal_id,
            deal=hits.deal,
            pipeline=hits.pipeline,
            from_stage=hits.from_stage,
            to_stage=hits.to_stage,
        ),
    )
