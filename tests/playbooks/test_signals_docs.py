"""docs/playbooks.md documents every signal and every setting with its real default."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from kizuna.core.calendar import BusinessCalendar
from kizuna.engine.signals import SIGNAL_DETECTORS, SignalSettings

DOCS = (Path(__file__).parents[2] / "docs" / "playbooks.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SIGNAL_DETECTORS))
def test_every_signal_is_documented(name: str) -> None:
    assert f"| `{name}` | {SIGNAL_DETECTORS[name].spec} |" in DOCS
    assert f"- **`{name}`** —" in DOCS


@pytest.mark.parametrize("setting", [field.name for field in fields(SignalSettings)])
def test_every_setting_is_documented_with_its_default(setting: str) -> None:
    default = getattr(SignalSettings(), setting)
    shown = repr(default) if isinstance(default, tuple) else str(default)
    if isinstance(default, BusinessCalendar):
        shown = f"{default.country} "
    row = next((line for line in DOCS.splitlines() if line.startswith(f"| `{setting}` |")), None)
    assert row is not None, f"{setting} is missing from the settings table"
    assert shown.replace("'", '"') in row.replace("`", "")
