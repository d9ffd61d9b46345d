"""Server time per page on the current store: repeated requests, p50 and p95 in milliseconds.

Run against a store with data (e.g. after `make demo`):
    KIZUNA_DATA_DIR=var .venv/bin/python bench/bench_pages.py [--repeat 20] [--user demo]
Requests go through Django's full request handling in-process (middleware, views, templates,
queries), which is the server's share of a page's time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--user", default="demo")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kizuna.core.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from kizuna.crm.models import Account

    user = get_user_model().objects.filter(username=args.user).first()
    account = Account.objects.filter(mrr_months__isnull=False).order_by("pk").first()
    if user is None or account is None:
        print("skipped: no demo user or no account with revenue results (run `make demo` first)")
        return 0
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(user)
    pages = [
        "/",
        "/executive/",
        "/sales/",
        "/cs/",
        "/contracts/",
        "/accounts/",
        f"/accounts/{account.pk}/",
    ]
    print(f"accounts in store: {Account.objects.count():,}; {args.repeat} requests per page")
    print(f"{'page':<22}{'p50 ms':>10}{'p95 ms':>10}")
    for page in pages:
        client.get(page)  # warm caches and connections
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(page)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                print(f"{page}: HTTP {response.status_code}")
                return 1
        timings.sort()
        p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
        print(f"{page:<22}{statistics.median(timings):>10.0f}{p95:>10.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
