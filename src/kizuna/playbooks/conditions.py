"""Rule conditions: filters on the account a trigger fired for, compiled to Ibis predicates.

A rule's ``conditions`` is a JSON object; each key is a registered condition and its value the
parameter, e.g. ``{"touch_tier": ["high"], "health": {"below": 60}, "mrr": {"min": "100000"}}``.
All conditions must hold. They are evaluated set-based, over all triggered accounts at once, on
the table of account attributes (:data:`ATTRIBUTE_SCHEMA`). An account without a health score
or MRR does not match a condition on it. The ``segment`` condition selects the members of saved
shared segments (``crm.Segment``), read from the store when the rule runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import ibis
import ibis.expr.types as ir

from kizuna.crm.models import Account, Segment
from kizuna.crm.segments import any_of

ATTRIBUTE_SCHEMA = ibis.schema(
    {
        "customer_id": "string",
        "status": "string",
        "touch_tier": "string",
        "lifecycle_stage": "string",
        "plan": "string",
        "industry": "string",
        "country": "string",
        "employees": "int64",
        "cs_owner": "string",
        "sales_owner": "string",
        "mrr": "float64",
        "health": "float64",
        "health_status": "string",
        "contract_start": "date",
    }
)
"""One row per account; ``customer_id`` is the account's primary key as text."""

Predicate = Callable[[ir.Table, Any], ir.BooleanValue]
Validate = Callable[[Any], list[str]]


@dataclass(frozen=True)
class Condition:
    name: str
    validate: Validate
    predicate: Predicate


CONDITIONS: dict[str, Condition] = {}


def register_condition(name: str, validate: Validate) -> Callable[[Predicate], Predicate]:
    def add(function: Predicate) -> Predicate:
        CONDITIONS[name] = Condition(name, validate, function)
        return function

    return add


def _text_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return ["must be a non-empty list of strings"]
    return []


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _range(value: Any) -> list[str]:
    """``{"min": x}`` (at least), ``{"below": y}`` (strictly less), or both."""
    if not isinstance(value, dict) or not value or set(value) - {"min", "below"}:
        return ['must be a table with "min" and/or "below"']
    bad = [key for key, number in value.items() if _number(number) is None]
    return [f"{key!r} must be a number" for key in bad]


def _in_range(column: ir.NumericValue, value: Mapping[str, Any]) -> ir.BooleanValue:
    test: ir.BooleanValue = column.notnull()
    if "min" in value:
        test = test & (column >= float(Decimal(str(value["min"]))))
    if "below" in value:
        test = test & (column < float(Decimal(str(value["below"]))))
    return test


def _membership(column: str) -> Predicate:
    def predicate(table: ir.Table, value: Any) -> ir.BooleanValue:
        return table[column].isin(list(value))

    return predicate


for _name in (
    "touch_tier",
    "lifecycle_stage",
    "plan",
    "industry",
    "country",
    "cs_owner",
    "sales_owner",
    "health_status",
    "status",
):
    register_condition(_name, _text_list)(_membership(_name))


@register_condition("health", _range)
def _health(table: ir.Table, value: Any) -> ir.BooleanValue:
    """Latest health score on or before the run's day, 0–100."""
    return _in_range(table.health, value)


@register_condition("mrr", _range)
def _mrr(table: ir.Table, value: Any) -> ir.BooleanValue:
    """MRR in the reporting currency."""
    return _in_range(table.mrr, value)


@register_condition("employees", _range)
def _employees(table: ir.Table, value: Any) -> ir.BooleanValue:
    return _in_range(table.employees, value)


@register_condition("level", _text_list)
def _level(table: ir.Table, value: Any) -> ir.BooleanValue:
    """The level of the signal that triggered the rule."""
    return table.level.isin(list(value))


def _shared_segment_names(value: Any) -> list[str]:
    problems = _text_list(value)
    if problems:
        return problems
    found = set(Segment.objects.filter(shared=True, name__in=value).values_list("name", flat=True))
    return [f"no shared segment named {name!r}" for name in value if name not in found]


@register_condition("segment", _shared_segment_names)
def _segment(table: ir.Table, value: Any) -> ir.BooleanValue:
    """Members of any of the named shared segments, by their definitions over the store as it
    is when the rule runs (``kizuna.crm.segments``); a segment deleted since matches nothing."""
    definitions = Segment.objects.filter(shared=True, name__in=list(value)).values_list(
        "definition", flat=True
    )
    members = Account.objects.filter(any_of(definitions)).values_list("pk", flat=True)
    ids = ibis.memtable(
        {"customer_id": [str(pk) for pk in members.iterator(chunk_size=20000)]},
        schema={"customer_id": "string"},
    )
    return table.customer_id.isin(ids.customer_id)


def validate_conditions(conditions: Any) -> list[str]:
    if not isinstance(conditions, dict):
        return ["conditions must be a table"]
    problems: list[str] = []
    for name, value in conditions.items():
        condition = CONDITIONS.get(name)
        if condition is None:
            problems.append(f"unknown condition {name!r}")
            continue
        problems.extend(f"condition {name!r}: {problem}" for problem in condition.validate(value))
    return problems


def apply_conditions(table: ir.Table, conditions: Mapping[str, Any]) -> ir.Table:
    """Rows of ``table`` (candidates joined with attributes) meeting every condition."""
    predicates = [CONDITIONS[name].predicate(table, value) for name, value in conditions.items()]
    return table.filter(*predicates) if predicates else table
