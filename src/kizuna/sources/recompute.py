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

RECOMPUTES: dict[str, Recompute] = {}


def register(subject: str) -> Callable[[Recompute], Recompute]:
    def add(function: Recompute) -> Recompute:
        RECOMPUTES[subject] = function
        return function

    return add


def is_fresh(subject: str, as_of: date) -> bool:
    """A subject is fresh when it already ran successfully today for the same as-of date."""
    last = ComputeRun.objects.filter(subject=subject, status=RunStatus.DONE).first()
    return (
        last is not None
        and last.as_of == as_of
        and last.finished_at is not None
        and timezone.localdate(last.finished_at) == timezone.localdate()
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
    run.message = f"{time.perf_counter() - started:.1f} s"
    run.finished_at = timezone.now()
    run.save()
    return run


@register("revenue")
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


@register("forecast")
def _forecast(as_of: date) -> int:
    from kizuna.sources.store_deals import recompute_forecast

    return recompute_forecast(as_of)


@register("signals")
def _signals(as_of: date) -> int:
    """Signals detected and playbook rules applied: alerts, tasks, escalations (as of)."""
    from kizuna.playbooks.runner import run_playbooks

    return run_playbooks(as_of).counts["alerts"]
