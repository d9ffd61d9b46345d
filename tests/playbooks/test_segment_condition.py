"""The ``segment`` rule condition: a rule fires only for the members of the named shared
segments, exactly as the account list selects them (the same hand-made accounts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pytest
from playbook_store import at, in_english, make_people  # noqa: F401

from crm.segment_accounts import AS_OF, DEFINITION, MEMBERS, make_segment_accounts
from kizuna.crm import actions
from kizuna.crm.models import Account, Segment
from kizuna.playbooks.conditions import apply_conditions, validate_conditions
from kizuna.playbooks.models import Alert, Rule
from kizuna.playbooks.rules import loads_rules
from kizuna.playbooks.runner import run_playbooks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # The default hasher is slow on purpose; each test makes five users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def accounts() -> dict[str, Account]:
    people = make_people()
    made = make_segment_accounts(people.aiko, people.ben)
    actions.save_segment(
        owner=people.lead, name="At-risk makers", definition=DEFINITION, shared=True
    )
    actions.save_segment(
        owner=people.lead, name="Retail", definition={"industry": ["Retail"]}, shared=True
    )
    actions.save_segment(owner=people.aiko, name="Aiko's", definition={"industry": ["Retail"]})
    return made


def _selected(accounts: dict[str, Account], conditions: dict[str, Any]) -> list[str]:
    names = {str(account.pk): name for name, account in accounts.items()}
    table = ibis.memtable(
        {
            "customer_id": list(names),
            "employees": [account.employees for account in accounts.values()],
        },
        schema={"customer_id": "string", "employees": "int64"},
    )
    chosen = ibis.duckdb.connect().to_pyarrow(apply_conditions(table, conditions))
    return sorted(names[pk] for pk in chosen.column("customer_id").to_pylist())


def test_condition_selects_exactly_the_segment(accounts: dict[str, Account]) -> None:
    assert _selected(accounts, {"segment": ["At-risk makers"]}) == MEMBERS


def test_several_segments_match_any_of_them(accounts: dict[str, Account]) -> None:
    assert _selected(accounts, {"segment": ["At-risk makers", "Retail"]}) == [
        "Edges",
        "Inside",
        "Retail",
    ]


def test_segment_and_other_conditions_all_hold(accounts: dict[str, Account]) -> None:
    conditions = {"segment": ["At-risk makers"], "employees": {"min": 101}}
    assert validate_conditions(conditions) == []
    assert _selected(accounts, conditions) == ["Inside"]


def test_a_segment_deleted_since_matches_nothing(accounts: dict[str, Account]) -> None:
    actions.delete_segment(Segment.objects.get(name="At-risk makers"))
    assert _selected(accounts, {"segment": ["At-risk makers"]}) == []


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        (["Nowhere"], ["condition 'segment': no shared segment named 'Nowhere'"]),
        (["Aiko's"], ["condition 'segment': no shared segment named \"Aiko's\""]),
        ("At-risk makers", ["condition 'segment': must be a non-empty list of strings"]),
        ([], ["condition 'segment': must be a non-empty list of strings"]),
    ],
)
def test_rules_name_existing_shared_segments(
    accounts: dict[str, Account], value: Any, problems: list[str]
) -> None:
    assert validate_conditions({"segment": value}) == problems


def test_a_run_alerts_only_the_segment_members(accounts: dict[str, Account]) -> None:
    Rule.objects.create(
        key="segment-welcome",
        name="At-risk makers check-in",
        trigger_kind="contract_start_date",
        trigger={"days_after": 0},
        conditions={"segment": ["At-risk makers"]},
        actions=[],
    )
    run_playbooks(AS_OF, now=at(AS_OF))
    alerted = Alert.objects.order_by("account__name").values_list(
        "account__name", "owner__username"
    )
    assert list(alerted) == [("Edges", "ben"), ("Inside", "aiko")]


def test_the_documented_rule_is_valid(accounts: dict[str, Account]) -> None:
    text = (Path(__file__).parents[2] / "docs" / "segments.md").read_text()
    example = text[text.index("```toml\n") + len("```toml\n") :]
    (spec,) = loads_rules(example[: example.index("```")])
    assert spec.conditions == {"segment": ["At-risk makers"], "touch_tier": ["high"]}
    assert spec.problems() == []
