"""What an action sees: the run (day, calendar, people), the rule, the account and the match."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kizuna.core.calendar import BusinessCalendar, parse_annual_closure
from kizuna.crm.models import Account, Task
from kizuna.playbooks.labels import level_label, signal_label
from kizuna.playbooks.models import Alert, PlaybookSettings, Rule, RunLog
from kizuna.playbooks.recipients import People


@dataclass(frozen=True)
class Match:
    """One candidate row that met its rule's conditions."""

    account_id: int
    signal: str
    level: str
    occurrence: str
    occurred_on: date
    detail: dict[str, Any]
    mrr: float | None = None


@dataclass
class RunState:
    as_of: date
    now: datetime
    dry_run: bool
    calendar: BusinessCalendar
    people: People
    settings: PlaybookSettings
    log: RunLog | None = None


@dataclass
class ActionContext:
    run: RunState
    rule: Rule
    account: Account
    match: Match
    alert: Alert | None
    """None in a dry run: nothing is written."""
    tasks: list[Task] = field(default_factory=list)
    """Tasks opened or updated by the earlier actions for the same alert."""

    def variables(self) -> dict[str, Any]:
        return {
            "account": self.account.name,
            "rule": self.rule.name,
            "signal": signal_label(self.match.signal),
            "level": level_label(self.match.level),
            "occurrence": self.match.occurrence,
            "occurred_on": self.match.occurred_on.isoformat(),
            "as_of": self.run.as_of.isoformat(),
            "detail": self.match.detail,
        }

    def render(self, template: str) -> str:
        return render_text(template, self.variables())


class _LenientFormatter(string.Formatter):
    """Unknown placeholders are left as they are, so a typo in a rule never breaks a run."""

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, str) and key not in kwargs:
            return "{" + key + "}"
        return super().get_value(key, args, kwargs)

    def get_field(self, field_name: str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        try:
            return super().get_field(field_name, args, kwargs)
        except (KeyError, IndexError, AttributeError, TypeError):
            return "{" + field_name + "}", field_name


def render_text(template: str, variables: Mapping[str, Any]) -> str:
    """``{account}``, ``{signal}``, ``{detail[drop_percent]}`` … filled in."""
    try:
        return _LenientFormatter().vformat(template, (), dict(variables))
    except (ValueError, IndexError):
        return template


def calendar_from_settings(settings: PlaybookSettings) -> BusinessCalendar:
    return BusinessCalendar(
        country=settings.calendar_country or "JP",
        subdivision=settings.calendar_subdivision or None,
        annual_closures=tuple(parse_annual_closure(text) for text in settings.annual_closures),
        closed_days=frozenset(date.fromisoformat(text) for text in settings.closed_days),
        open_days=frozenset(date.fromisoformat(text) for text in settings.open_days),
    )


def current_settings() -> PlaybookSettings:
    """The stored settings row, or the defaults (Japanese calendar, year-end closure)."""
    stored = PlaybookSettings.objects.order_by("pk").first()
    return stored if stored is not None else PlaybookSettings()
