"""Server time per page on the current store: repeated requests, p50 and p95 in milliseconds.

Run against a store with data (e.g. after `make demo`):
    KIZUNA_DATA_DIR=var .venv/bin/python bench/bench_pages.py [--repeat 20] [--user demo]
        [--page /accounts/?sort=name ...]
Requests go through Django's full request handling in-process (middleware, views, templates,
queries), which is the server's share of a page's time. Wall-clock time depends on what else
the machine runs, so the load average is printed with the figures, and so is the process's
own CPU time per request (p50), which does not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

DASHBOARD_TARGET_MS = 300
ACCOUNT_TARGET_MS = 150


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def percentile_95(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--user", default="demo", help="whose pages: their role decides the accounts they see"
    )
    parser.add_argument(
        "--page",
        action="append",
        default=[],
        metavar="PATH",
        help="measure this path (repeatable; a dashboard target applies) instead of every page",
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kizuna.core.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from kizuna.billing.models import RevenueKpi
    from kizuna.crm.access import role_of, visible_accounts
    from kizuna.crm.models import Account
    from kizuna.health.models import HealthScore

    user = get_user_model().objects.filter(username=args.user).first()
    if user is None:
        print(f"skipped: no user {args.user} (run `make demo` first)")
        return 0
    # The account page of the first account in the user's book, with revenue if one has it.
    book = visible_accounts(user).order_by("pk")
    account = book.filter(mrr_months__isnull=False).first() or book.first()
    if account is None:
        print("skipped: no accounts in the user's book (run `make demo` first)")
        return 0
    for name, present in (
        ("revenue", RevenueKpi.objects.exists()),
        ("health", HealthScore.objects.exists()),
    ):
        if not present:
            print(f"note: no {name} results in this store; pages that show them are empty")
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(user)
    pages = [(path, DASHBOARD_TARGET_MS) for path in args.page] or [
        ("/", DASHBOARD_TARGET_MS),
        ("/executive/", DASHBOARD_TARGET_MS),
        ("/executive/report/", DASHBOARD_TARGET_MS),
        ("/sales/", DASHBOARD_TARGET_MS),
        ("/cs/", DASHBOARD_TARGET_MS),
        ("/contracts/", DASHBOARD_TARGET_MS),
        ("/accounts/", DASHBOARD_TARGET_MS),
        (f"/accounts/{account.pk}/", ACCOUNT_TARGET_MS),
    ]
    print(f"accounts in store: {Account.objects.count():,}; {args.repeat} requests per page")
    print(f"user: {user.get_username()} ({role_of(user)}), {book.count():,} accounts in their book")
    print(f"load average before: {load_average()}")
    width = max(22, *(len(page) + 2 for page, _ in pages))
    print(f"{'page':<{width}}{'p50 ms':>9}{'p95 ms':>9}{'cpu p50':>9}{'KB':>7}{'p95/target':>12}")
    for page, target in pages:
        client.get(page)  # warm caches and connections
        timings, cpu = [], []
        size = 0
        for _ in range(args.repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(page)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            if response.status_code != 200:
                print(f"{page}: HTTP {response.status_code}")
                return 1
            size = len(response.content)
        p95 = percentile_95(timings)
        print(
            f"{page:<{width}}{statistics.median(timings):>9.0f}{p95:>9.0f}"
            f"{statistics.median(cpu):>9.0f}{size / 1024:>7.0f}{p95 / target:>12.2f}"
        )
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
