"""Signal detection: every registered detector over all customers as of a date (SPEC S1–S16).

The default churn signals live in :mod:`kizuna.engine.signals_churn`, the expansion triggers in
:mod:`kizuna.engine.signals_expansion`; both register into
:data:`~kizuna.engine.signals_common.SIGNAL_DETECTORS`, which is also where other detectors
are added. Detectors whose inputs are missing are skipped, so a team with only contracts and
tickets still gets the signals those support.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend

# Imported for their registrations.
from kizuna.engine import signals_churn, signals_expansion
from kizuna.engine.signals_common import (
    SIGNAL_DETECTORS,
    SIGNAL_SCHEMA,
    SignalDetector,
    SignalInputs,
    SignalSettings,
    customer_universe,
    empty_signals,
    register_signal,
)

__all__ = [
    "SIGNAL_DETECTORS",
    "SIGNAL_SCHEMA",
    "SignalDetector",
    "SignalInputs",
    "SignalSettings",
    "applicable_detectors",
    "detect_signals",
    "register_signal",
    "signal_table",
    "signals_churn",
    "signals_expansion",
]

# Output order: stable so that CLI output and exports diff cleanly between runs.
SIGNAL_ORDER = ("customer_id", "signal", "occurrence")


def applicable_detectors(
    inputs: SignalInputs, names: Iterable[str] | None = None
) -> list[SignalDetector]:
    """The detectors to run: the named ones (all by default) whose inputs are all present."""
    chosen = list(SIGNAL_DETECTORS) if names is None else list(names)
    unknown = [name for name in chosen if name not in SIGNAL_DETECTORS]
    if unknown:
        raise ValueError(f"unknown signals: {', '.join(unknown)}")
    detectors = (SIGNAL_DETECTORS[name] for name in chosen)
    return [d for d in detectors if all(inputs.has(need) for need in d.requires)]


def signal_table(
    inputs: SignalInputs,
    as_of: date,
    settings: SignalSettings | None = None,
    names: Iterable[str] | None = None,
) -> ir.Table:
    """All signals as of ``as_of`` as one Ibis table of :data:`SIGNAL_SCHEMA` (unexecuted).

    When subscriptions are known, only customers with a subscription in service on ``as_of``
    are reported: a customer who has left is the churn record's subject, not a signal's.
    """
    settings = settings or SignalSettings()
    parts = [
        detector.detect(inputs, as_of, settings) for detector in applicable_detectors(inputs, names)
    ]
    if not parts:
        return empty_signals()
    table = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
    if inputs.subscriptions is not None:
        customers = customer_universe(inputs, as_of)
        assert customers is not None
        table = table.semi_join(customers, "customer_id")
    return table.order_by(*SIGNAL_ORDER)


def detect_signals(
    inputs: SignalInputs,
    as_of: date,
    settings: SignalSettings | None = None,
    names: Iterable[str] | None = None,
    backend: BaseBackend | None = None,
) -> pa.Table:
    """Execute :func:`signal_table` (on ``backend``, else Ibis' default) and return Arrow rows."""
    table = signal_table(inputs, as_of, settings, names)
    return backend.to_pyarrow(table) if backend is not None else table.to_pyarrow()
