"""Test set-up shared by the whole suite.

The store tests run on SQLite by default. With ``KIZUNA_TEST_STORE=postgres`` (``make test``
runs that pass too) they run on a throwaway PostgreSQL cluster that the tests start
themselves; where the server binaries are missing that pass is skipped with a message.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser_support import CHROMIUM, CHROMIUM_ARGS
from postgres_cluster import PostgresCluster, missing_binaries

STORE = os.environ.get("KIZUNA_TEST_STORE", "sqlite")
# Messages of commands and functions run by the tests are asserted in English; pages still
# negotiate their language per request (tests that check Japanese ask for it).
os.environ["KIZUNA_LANGUAGE"] = "en"


@pytest.fixture(autouse=True)
def english_messages() -> Iterator[None]:
    from django.utils import translation

    with translation.override("en"):
        yield


def pytest_report_header(config: pytest.Config) -> str:
    if STORE == "postgres":
        missing = missing_binaries()
        if missing:
            return f"store: PostgreSQL requested, but {', '.join(missing)} not found (skipped)"
        return "store: PostgreSQL (throwaway cluster started by the tests)"
    return "store: SQLite"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    missing = missing_binaries()
    if missing:
        pytest.skip(f"PostgreSQL server binaries not found on PATH: {', '.join(missing)}")
    cluster = PostgresCluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """URL of an empty database (for engine tests that run Ibis on PostgreSQL)."""
    return postgres_cluster.create_database("kizuna_engine")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request: pytest.FixtureRequest) -> None:
    if STORE != "postgres":
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    from django.conf import settings
    from django.db import connections

    database: dict[str, Any] = settings.DATABASES["default"]
    # Changed in place: Django's connection handler holds this very dict.
    database.update(
        {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "kizuna",
            "USER": "postgres",
            "PASSWORD": "",
            "HOST": "127.0.0.1",
            "PORT": str(cluster.port),
            "CONN_MAX_AGE": 0,
            "OPTIONS": {},
        }
    )
    database["TEST"]["NAME"] = "test_kizuna"
    # A connection opened before this point still speaks SQLite: drop it.
    connections["default"].close()
    del connections["default"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium (Playwright); the test is skipped where there is none."""
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip(f"Chromium not found at {CHROMIUM}: browser tests need Debian's chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    # Playwright's sync API keeps an event loop in this thread; the test database set-up runs
    # in the same thread, synchronously, which Django allows only when told so.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
