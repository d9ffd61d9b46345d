"""A small demo company in the store, for the recompute and CLI tests."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from prediction_support import AS_OF


@pytest.fixture
def demo_store() -> None:
    call_command(
        "demo-data",
        "--accounts=120",
        "--months=24",
        "--seed=7",
        "--usage-days=400",
        f"--as-of={AS_OF.isoformat()}",
        verbosity=0,
    )
