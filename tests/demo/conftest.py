"""A small demo company, generated once per test session and shared by the demo tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from demo_support import SMALL_DEMO

from kizuna.demo.generate import generate
from kizuna.demo.tables import DemoTables


@pytest.fixture(scope="session")
def small_demo() -> DemoTables:
    return generate(SMALL_DEMO)
