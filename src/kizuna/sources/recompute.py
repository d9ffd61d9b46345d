"""Recomputes over the store, by subject, each logged as a :class:`ComputeRun`.

Subjects register here (a registry, so health scores and playbooks add theirs the same way)
and run in registration order: later subjects read what earlier ones wrote.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

from django.utils import timezone

from kizuna.sources.models import ComputeRun, RunStatus

Recompute = Callable[[date], int]
"""Takes the as-of date, returns the number of result rows written."""

SettingsKey = Callable[[], str]
"""A digest of the settings a subject's results depend on."""

RECOMPUTES: dict[str, Recompute] = {}
SETTINGS_KEYS: dict[str, SettingsKey] = {}


def register(
    subject: str, settings_key: SettingsKey | None = None
) -> Callable[[Recompute], Recompute]:
    def add(function: Recompute) -> Recompute:
        RECOMPUTES[subject] = function
        if settings_key is not None:
            SETTINGS_KEYS[subject] = settings_key
        return function

    return add


def _settings_note(subject: str) -> str:
    """Recorded at the end of a run's message, so that a later change of the settings makes
    the results stale."""
    key = SETTINGS_KEYS.get(subject)
    return "" if key is None else f" (settings {key()})"


def is_fresh(subject: str, as_of: date) -> bool:
    """A subject is fresh when it already ran successfully today for the same as-of date and,
    for a subject whose results depend on settings, under the same settings."""
    last = ComputeRun.objects.filter(subject=subject, status=RunStatus.DONE).first()
    return (
        last is not None
        and last.as_of == as_of
        and last.finished_at is not None
        and timezone.localdate(last.finished_at) == timezone.localdate()
        and last.message.endswith(_settings_note(subject))
    )


def run_subject(subject: str, as_of: date) -> ComputeRun:
    run = ComputeRun.objects.create(
        subject=subject, started_at=timezone.now(), status=RunStatus.RUNNING, as_of=as_of
    )
    started = time.perf_counter()
    try:
        rows = RECOMPUTES[subject](as_of)
    except Exception as error:
        run.status = RunStatus.FAILED
        run.message = f"{type(error).__name__}: {error}"
        run.finished_at = timezone.now()
        run.save()
        raise
    run.status = RunStatus.DONE
    run.rows_written = rows
    run.message = f"{time.perf_counter() - started:.1f} s{_settings_note(subject)}"
    run.finished_at = timezone.now()
    run.save()
    return run


def _revenue_rules_key() -> str:
    from django.conf import settings

    return f"revenue rules {settings.KIZUNA_REVENUE_RULES.fingerprint}"


@register("revenue", settings_key=_revenue_rules_key)
def _revenue(as_of: date) -> int:
    from kizuna.sources.store_revenue import recompute_revenue

    outcome = recompute_revenue()
    return outcome.customer_rows + outcome.product_rows + outcome.months


@register("health")
def _health(as_of: date) -> int:
    """Segments and health scores of the as-of day plus the days missing since the last run
    (after revenue, whose MRR the segments read; before signals, whose playbooks read scores)."""
    from kizuna.sources.store_health import recompute_health

    outcome = recompute_health(as_of)
    return outcome.scores + outcome.segments


@register("churn")
def _churn(as_of: date) -> int:
    """Churn model trained as of the day and its predictions (reads the same inputs as health)."""
    from kizuna.prediction.store import recompute_churn

    return recompute_churn(as_of).predictions


@register("cs-summary")
def _cs_summary(as_of: date) -> int:
    """Health bands per day, NPS per month and pre-churn scores for the CS dashboard, per
    owner pair (reads all the scores health wrote, whatever the as-of day)."""
    from kizuna.sources.store_cs_summary import recompute_cs_summary

    return recompute_cs_summary().rows


@register("forecast")
def _forecast(as_of: date) -> int:
    from kizuna.sources.store_deals import recompute_forecast

    return recompute_forecast(as_of)


@register("signals")
def _signals(as_of: date) -> int:
    """Signals detected and playbook rules applied: alerts, tasks, escalations (as of)."""
    from kizuna.playbooks.runner import run_playbooks

    return run_playbooks(as_of).counts["alerts"]
