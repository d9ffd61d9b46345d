"""Benchmark: evaluate every default playbook rule for 100,000 accounts, then write the alerts.

The engine inputs are the synthetic data of ``bench_signals.py`` (120 days of daily usage for
every account, subscriptions, tickets, NPS, activities, contacts), held in memory as Arrow.
The store is a scratch SQLite database with the 100,000 accounts, 20 CS teams of 10 CSMs and
the default rules, so that conditions, caps and the writes of the matched subset are real;
it is removed at the end.

Printed: every phase of the run, wall and CPU seconds, adding up to the end-to-end time —
detection, loading the other inputs into the engine, matching of all default rules, the daily
caps, alerts and actions written for the matched subset in bulk, storing the day's detected
signals, escalations and e-mail delivery (the target is ≤ 30 s for all of it) — then an
idempotent re-run.

    .venv/bin/python bench/bench_playbooks.py [--accounts 100000] [--days 120]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from kizuna.playbooks.runner import RunReport

TARGET_SECONDS = 30.0
TEAMS = 20
CSMS_PER_TEAM = 10


def _store_ids(table: pa.Table) -> pa.Table:
    """``c0000041`` → ``"42"``: the synthetic ids as the account keys of the scratch store."""
    if "customer_id" not in table.column_names:
        return table
    numbers = pc.cast(pc.utf8_slice_codeunits(table.column("customer_id"), 1), pa.int64())
    ids = pc.cast(pc.add(numbers, 1), pa.string())
    return table.set_column(table.column_names.index("customer_id"), "customer_id", ids)


PHASES = {
    "prepare": "settings, people, rules, run log",
    "signal_inputs": "signal inputs read from the store",
    "detect": "detection of every signal (one engine query)",
    "inputs": "other inputs loaded into the engine (accounts, health, ...)",
    "match": "matching of all rules (one query per rule)",
    "caps": "caps (already raised, re-enrolment, daily per owner)",
    "act": "store writes: alerts and actions with their log",
    "store_signals": "storing the day's detected signals",
    "follow_up": "escalations, deliveries and follow-up",
    "finish": "run log closed",
    "other": "between phases",
}


def _load() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "?"


def _print_phases(report: RunReport, notes: dict[str, str]) -> None:
    """Every phase of the run, wall and CPU seconds, adding up to the end-to-end time."""
    print(f"{'phase':<62}{'wall s':>8}{'CPU s':>8}")
    for name, label in PHASES.items():
        if name not in report.timings:
            continue
        note = f" ({notes[name]})" if name in notes else ""
        print(f"{label:<62}{report.timings[name]:>8.1f}{report.cpu_timings[name]:>8.1f}{note}")
    print(
        f"{'end to end':<62}{report.timings['total']:>8.1f}"
        f"{report.cpu_timings['total']:>8.1f} (load average {_load()})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="kizuna-bench-playbooks-")
    try:
        _run(args.accounts, args.days, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(accounts: int, days: int, scratch: str) -> None:
    os.environ["KIZUNA_DATA_DIR"] = scratch
    os.environ.pop("KIZUNA_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "kizuna.core.settings"
    sys.path.insert(0, str(Path(__file__).parent))
    import django

    django.setup()
    from django.conf import settings

    # Count e-mails rather than print 5,000 of them.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from bench_signals import AS_OF, build_inputs
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone

    from kizuna.crm.models import Account, AccountStatus, Profile, Role, Task, Team, TouchTier
    from kizuna.engine.signals_common import SignalInputs
    from kizuna.playbooks.defaults import install_defaults
    from kizuna.playbooks.models import Alert, Rule
    from kizuna.playbooks.runner import run_playbooks

    started = time.perf_counter()
    tables = {name: _store_ids(table) for name, table in build_inputs(accounts, days).items()}
    call_command("migrate", verbosity=0)
    csms: list[User] = []
    for team_number in range(TEAMS):
        team = Team.objects.create(name=f"CS {team_number}")
        lead = User.objects.create(username=f"lead{team_number}")
        Profile.objects.create(user=lead, role=Role.CS_MANAGER, team=team)
        team.lead = lead
        team.save()
        for n in range(CSMS_PER_TEAM):
            csm = User.objects.create(username=f"csm{team_number}-{n}", email=f"csm{n}@example.com")
            Profile.objects.create(user=csm, role=Role.CSM, team=team)
            csms.append(csm)
    created = timezone.make_aware(datetime(2022, 1, 1))
    tiers = [TouchTier.HIGH, TouchTier.LOW, TouchTier.TECH]
    Account.objects.bulk_create(
        (
            Account(
                name=f"Account {n:06d}",
                cs_owner=csms[n % len(csms)],
                status=AccountStatus.CUSTOMER,
                touch_tier=tiers[n % 3],
                created_at=created,
            )
            for n in range(accounts)
        ),
        batch_size=5000,
    )
    install_defaults()
    print(
        f"setup: {accounts:,} accounts, {tables['usage_daily'].num_rows:,} usage rows, "
        f"{Rule.objects.filter(enabled=True).count()} default rules, {len(csms)} CSMs; "
        f"{time.perf_counter() - started:.1f} s"
    )
    inputs = SignalInputs.from_arrow(tables)
    print(f"load average before the run {_load()}")

    loaders = {"subscriptions": lambda: tables["subscriptions"]}
    first = run_playbooks(AS_OF, signal_inputs=inputs, loaders=loaders)
    counts = first.counts
    notes = {
        "detect": f"{counts['signals']:,} signals",
        "match": f"{counts['matches']:,} matches",
        "caps": f"{counts['capped']:,} held back by the daily caps",
        "act": f"{counts['alerts']:,} alerts, {counts['actions']:,} actions, "
        f"{first.timings.get('act', 0.0) / max(counts['alerts'], 1) * 1000:.1f} ms per alert",
        "store_signals": f"{counts['signals_stored']:,} rows",
        "follow_up": f"{counts['delivered']:,} e-mails sent",
    }
    _print_phases(first, notes)
    total = first.timings["total"]
    verdict = "within" if total <= TARGET_SECONDS else "OVER"
    print(f"end to end: {total:.1f} s ({verdict} the {TARGET_SECONDS:.0f} s target)")
    again = run_playbooks(AS_OF, signal_inputs=inputs, loaders=loaders)
    print(
        f"re-run: {again.counts['alerts']} new alerts, {again.counts['already']:,} already raised"
    )
    _print_phases(again, {})
    print(f"store now: {Alert.objects.count():,} alerts, {Task.objects.count():,} tasks")


if __name__ == "__main__":
    main()
