"""The playbook run stores every signal it detected for its day, and replaces them on a re-run."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from playbook_store import at, in_english, make_account, make_people, usage_drop  # noqa: F401

from kizuna.playbooks.models import DetectedSignal, RunLog
from kizuna.playbooks.runner import run_playbooks
from kizuna.playbooks.signal_store import latest_stored_day, store_signals

AS_OF = date(2024, 7, 12)

# 10 active users a day in the previous 30 days, 6 in the last 30: a 40 % drop, level high.
DROP_DETAIL = {
    "drop_percent": 40.0,
    "active_users": 6.0,
    "previous_active_users": 10.0,
    "seats": None,
    "rate": 6.0,
    "previous_rate": 10.0,
}


def _stored() -> list[tuple[object, ...]]:
    return list(
        DetectedSignal.objects.values_list(
            "as_of", "account__name", "signal", "kind", "level", "occurrence", "occurred_on"
        )
    )


@pytest.mark.django_db
def test_a_run_stores_its_signals_rule_or_no_rule_and_a_rerun_replaces_them() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    make_account("Birch", people.ben)
    usage_drop(acme, AS_OF)

    first = run_playbooks(AS_OF, now=at(AS_OF))

    assert _stored() == [
        (AS_OF, "Acme", "usage_drop", "churn", "high", "2024-07", AS_OF),
    ]
    row = DetectedSignal.objects.get()
    assert (row.detail, row.run_id) == (DROP_DETAIL, first.run_id)
    assert (first.counts["alerts"], first.counts["signals_stored"]) == (0, 1)
    assert first.run_id is not None
    assert RunLog.objects.get(pk=first.run_id).counts["signals_stored"] == 1

    again = run_playbooks(AS_OF, now=at(AS_OF, 10))

    assert _stored() == [
        (AS_OF, "Acme", "usage_drop", "churn", "high", "2024-07", AS_OF),
    ]
    assert DetectedSignal.objects.get().run_id == again.run_id != first.run_id


@pytest.mark.django_db
def test_a_dry_run_stores_nothing_and_each_day_keeps_its_own_rows() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    usage_drop(acme, AS_OF)

    run_playbooks(AS_OF, dry_run=True, now=at(AS_OF))
    assert (DetectedSignal.objects.count(), latest_stored_day()) == (0, None)

    run_playbooks(AS_OF, now=at(AS_OF))
    # Two years on, nothing is used any more and nothing dropped in the last 30 days.
    later = date(2026, 7, 13)
    run_playbooks(later, now=at(later))

    assert _stored() == [
        (AS_OF, "Acme", "usage_drop", "churn", "high", "2024-07", AS_OF),
    ]
    assert latest_stored_day() == later


@pytest.mark.django_db
def test_rows_of_customers_without_an_account_are_left_out() -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    detected = pa.Table.from_pylist(
        [
            {
                "customer_id": str(customer),
                "signal": "usage_drop",
                "level": "medium",
                "occurrence": "2024-07",
                "occurred_on": AS_OF,
                "detail": '{"drop_percent": 25.0}',
            }
            for customer in (acme.pk, acme.pk + 1000)
        ]
    )

    assert store_signals(AS_OF, detected, run=None) == 1
    assert _stored() == [(AS_OF, "Acme", "usage_drop", "churn", "medium", "2024-07", AS_OF)]
    assert DetectedSignal.objects.get().detail == {"drop_percent": 25.0}


@pytest.mark.django_db
def test_stored_values_are_those_detected_with_empty_level_and_detail_as_the_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    people = make_people()
    acme = make_account("Acme", people.aiko)
    birch = make_account("Birch", people.ben)
    # Batches of 2 rows, so the 3 rows take two statements.
    monkeypatch.setattr("kizuna.playbooks.signal_store.SIGNAL_BATCH", 2)
    detected = pa.Table.from_pylist(
        [
            {
                "customer_id": str(birch.pk),
                "signal": "api_surge",
                "level": None,
                "occurrence": "2024-07",
                "occurred_on": date(2024, 7, 1),
                "detail": None,
            },
            {
                "customer_id": str(acme.pk),
                "signal": "usage_drop",
                "level": "high",
                "occurrence": "2024-07",
                "occurred_on": AS_OF,
                "detail": '{"drop_percent":40.0,"seats":null,"since":"2024-06-12"}',
            },
            {
                "customer_id": str(acme.pk),
                "signal": "nps_drop",
                "level": "medium",
                "occurrence": "2024-07-10",
                "occurred_on": date(2024, 7, 10),
                "detail": "",
            },
        ],
        schema=pa.schema(
            {
                "customer_id": pa.string(),
                "signal": pa.string(),
                "level": pa.string(),
                "occurrence": pa.string(),
                "occurred_on": pa.date32(),
                "detail": pa.string(),
            }
        ),
    )
    run = RunLog.objects.create(as_of=AS_OF, started_at=at(AS_OF))

    assert store_signals(AS_OF, detected, run) == 3

    rows = DetectedSignal.objects.order_by("account__name", "signal").values_list(
        "account__name", "signal", "kind", "level", "occurred_on", "detail", "run_id"
    )
    assert list(rows) == [
        (
            "Acme",
            "nps_drop",
            "churn",
            "medium",
            date(2024, 7, 10),
            {},
            run.pk,
        ),
        (
            "Acme",
            "usage_drop",
            "churn",
            "high",
            AS_OF,
            {"drop_percent": 40.0, "seats": None, "since": "2024-06-12"},
            run.pk,
        ),
        ("Birch", "api_surge", "expansion", "", date(2024, 7, 1), {}, run.pk),
    ]
