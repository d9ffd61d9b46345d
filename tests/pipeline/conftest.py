"""Fixtures of the pipeline tests; the helpers live in ``pipeline_people``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation
from pipeline_people import people

__all__ = ["people"]


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages and the stage names the defaults are installed with, in English."""
    with translation.override("en"):
        yield
