"""Rules as data: a typed spec, its validation, and the TOML file format.

```toml
[[rule]]
key = "usage-drop"
name = "Usage drop"
trigger_kind = "signal"
trigger = { signal = "usage_drop" }
conditions = { touch_tier = ["high", "low"] }
daily_cap_per_owner = 10

[[rule.actions]]
type = "create_task"
assignee = "cs_owner"
title = "Follow up on the usage drop at {account}"
kind = "usage_follow_up"
due_business_days = 3
escalate_after_business_days = 5
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import tomli_w

from kizuna.playbooks.action_types import validate_actions
from kizuna.playbooks.conditions import validate_conditions
from kizuna.playbooks.models import Rule
from kizuna.playbooks.recipients import is_known_recipient
from kizuna.playbooks.triggers import TRIGGERS, validate_trigger


class RuleError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RuleSpec:
    key: str
    name: str
    trigger_kind: str
    trigger: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    description: str = ""
    enabled: bool = True
    priority: int = 100
    owner_role: str = "cs_owner"
    max_enrolments: int | None = None
    enrolment_window_days: int = 30
    daily_cap_per_owner: int | None = None

    def problems(self) -> list[str]:
        found: list[str] = []
        if not self.key or not self.key.replace("-", "").replace("_", "").isalnum():
            found.append("'key' must be letters, digits, - and _")
        if not self.name.strip():
            found.append("'name' is empty")
        found += validate_trigger(self.trigger_kind, self.trigger)
        found += validate_conditions(self.conditions)
        found += validate_actions(self.actions)
        if not is_known_recipient(self.owner_role):
            found.append(f"unknown owner_role {self.owner_role!r}")
        for name in ("max_enrolments", "daily_cap_per_owner"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                found.append(f"{name!r} must be a whole number ≥ 1")
        return [f"rule {self.key!r}: {problem}" for problem in found]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RuleSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RuleError([f"rule {data.get('key')!r}: unknown field(s) {', '.join(unknown)}"])
        missing = [name for name in ("key", "name", "trigger_kind") if name not in data]
        if missing:
            raise RuleError([f"rule {data.get('key')!r}: missing {', '.join(missing)}"])
        return cls(**dict(data))

    @classmethod
    def from_model(cls, rule: Rule) -> RuleSpec:
        return cls(
            key=rule.key,
            name=rule.name,
            trigger_kind=rule.trigger_kind,
            trigger=dict(rule.trigger),
            conditions=dict(rule.conditions),
            actions=list(rule.actions),
            description=rule.description,
            enabled=rule.enabled,
            priority=rule.priority,
            owner_role=rule.owner_role,
            max_enrolments=rule.max_enrolments,
            enrolment_window_days=rule.enrolment_window_days,
            daily_cap_per_owner=rule.daily_cap_per_owner,
        )

    def model_values(self) -> dict[str, Any]:
        values = asdict(self)
        values.pop("key")
        return values


def validate_specs(specs: Iterable[RuleSpec]) -> None:
    problems: list[str] = []
    seen: set[str] = set()
    for spec in specs:
        if spec.key in seen:
            problems.append(f"rule {spec.key!r}: appears twice")
        seen.add(spec.key)
        problems += spec.problems()
    if problems:
        raise RuleError(problems)


def loads_rules(text: str) -> list[RuleSpec]:
    """Rules from TOML text; every problem of every rule is reported together."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RuleError([f"not valid TOML: {error}"]) from None
    unknown = sorted(set(data) - {"rule"})
    if unknown:
        raise RuleError([f"unknown top-level key(s): {', '.join(unknown)}"])
    items = data.get("rule", [])
    if not isinstance(items, list):
        raise RuleError(["'rule' must be an array of tables ([[rule]])"])
    specs: list[RuleSpec] = []
    problems: list[str] = []
    for item in items:
        try:
            specs.append(RuleSpec.from_mapping(item))
        except RuleError as error:
            problems += error.problems
    if problems:
        raise RuleError(problems)
    validate_specs(specs)
    return specs


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def dumps_rules(specs: Iterable[RuleSpec]) -> str:
    return tomli_w.dumps({"rule": [_drop_none(asdict(spec)) for spec in specs]})


TRIGGER_KINDS = tuple(TRIGGERS)
