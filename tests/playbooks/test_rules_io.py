"""Rules as data: shipped defaults, TOML export and import, validation."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from kizuna.pipeline.models import Pipeline
from kizuna.playbooks.defaults import default_rules
from kizuna.playbooks.models import Rule
from kizuna.playbooks.rules import RuleError, dumps_rules, loads_rules


def test_every_shipped_rule_is_valid_and_round_trips_through_toml() -> None:
    specs = default_rules()
    assert len(specs) == 32
    assert loads_rules(dumps_rules(specs)) == specs


def test_invalid_rules_report_every_problem() -> None:
    text = """
[[rule]]
key = "bad"
name = "Bad"
trigger_kind = "signal"
trigger = { signal = "no_such_signal" }
conditions = { colour = ["red"], health = { max = 3 } }
actions = [{ type = "create_task", assignee = "cs_owner" }, { type = "fax" }]
"""
    with pytest.raises(RuleError) as caught:
        loads_rules(text)
    assert caught.value.problems == [
        "rule 'bad': trigger signal: unknown signal 'no_such_signal'",
        "rule 'bad': unknown condition 'colour'",
        "rule 'bad': condition 'health': must be a table with \"min\" and/or \"below\"",
        "rule 'bad': action 1 (create_task): missing 'kind'",
        "rule 'bad': action 1 (create_task): missing 'title'",
        "rule 'bad': action 2: unknown type 'fax'",
    ]


@pytest.mark.django_db
def test_install_defaults_is_idempotent_and_keeps_team_changes() -> None:
    out = StringIO()
    call_command("playbooks", "install-defaults", stdout=out)
    assert "32 added" in out.getvalue()
    assert set(Pipeline.objects.values_list("key", flat=True)) >= {"renewal", "upsell"}
    Rule.objects.filter(key="usage-drop").update(name="Our usage drop", enabled=False)
    call_command("playbooks", "install-defaults", stdout=StringIO())
    assert Rule.objects.count() == 32
    assert Rule.objects.get(key="usage-drop").name == "Our usage drop"


@pytest.mark.django_db
def test_export_then_import_into_an_empty_store(tmp_path: Path) -> None:
    call_command("playbooks", "install-defaults", stdout=StringIO())
    Rule.objects.filter(key="nps-drop").update(daily_cap_per_owner=4)
    file = tmp_path / "rules.toml"
    call_command("playbooks", "export", str(file), stdout=StringIO())
    exported = {r.key: (r.trigger, r.actions, r.daily_cap_per_owner) for r in Rule.objects.all()}
    Rule.objects.all().delete()

    out = StringIO()
    call_command("playbooks", "import", str(file), stdout=out)

    assert "32 added, 0 replaced, 0 kept" in out.getvalue()
    imported = {r.key: (r.trigger, r.actions, r.daily_cap_per_owner) for r in Rule.objects.all()}
    assert imported == exported
    assert Rule.objects.get(key="nps-drop").daily_cap_per_owner == 4


@pytest.mark.django_db
def test_import_rejects_a_bad_file_and_changes_nothing(tmp_path: Path) -> None:
    file = tmp_path / "rules.toml"
    file.write_text('[[rule]]\nkey = "x"\nname = "X"\ntrigger_kind = "moon_phase"\n')
    with pytest.raises(CommandError, match="unknown trigger 'moon_phase'"):
        call_command("playbooks", "import", str(file), stdout=StringIO())
    assert not Rule.objects.exists()
