"""Saved segments: which accounts a definition selects (exactly, on every edge), how a bad
definition is refused, who may save, share, see and delete one."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from crm.segment_accounts import DEFINITION, MEMBERS, make_segment_accounts
from kizuna.crm import actions
from kizuna.crm.access import (
    may_delete_segment,
    may_edit_account,
    may_save_segments,
    visible_segments,
)
from kizuna.crm.models import Account, Profile, Role, Segment, Team
from kizuna.crm.segments import definition_problems, describe, segment_filter

pytestmark = pytest.mark.django_db


def _user(name: str, role: str | None, team: Team | None = None) -> User:
    user = User.objects.create_user(name, is_superuser=role is None)
    if role is not None:
        Profile.objects.create(user=user, role=role, team=team)
    return user


@pytest.fixture
def people() -> dict[str, User]:
    east, west = Team.objects.create(name="East"), Team.objects.create(name="West")
    return {
        "admin": _user("admin", None),
        "executive": _user("erika", Role.EXECUTIVE),
        "sales": _user("sato", Role.SALES),
        "manager": _user("mori", Role.CS_MANAGER, east),
        "other_manager": _user("nishi", Role.CS_MANAGER, west),
        "csm": _user("aiko", Role.CSM, east),
        "other_csm": _user("ben", Role.CSM, west),
    }


def _names(definition: dict[str, Any]) -> list[str]:
    return sorted(Account.objects.filter(segment_filter(definition)).values_list("name", flat=True))


def test_definition_selects_exactly_its_members(people: dict[str, User]) -> None:
    make_segment_accounts(people["csm"], people["other_csm"])
    assert _names(DEFINITION) == MEMBERS


def test_each_criterion_on_its_own(people: dict[str, User]) -> None:
    make_segment_accounts(people["csm"], people["other_csm"])
    assert _names({"employees": {"below": 100}}) == []
    assert _names({"employees": {"min": 1000}}) == ["Too big"]
    assert _names({"days_since_last_use": {"below": 30}}) == ["Too recent"]
    assert _names({"mrr": {"below": "100000"}}) == ["Too small"]
    assert _names({"health_status": ["caution"]}) == ["Caution"]
    assert _names({"industry": ["Retail"]}) == ["Retail"]
    assert _names({"owner": ["ben"]}) == ["Edges"]
    assert len(_names({"owner": ["aiko"]})) == 10


@pytest.mark.parametrize(
    ("definition", "problems"),
    [
        ({}, ["A segment needs at least one criterion."]),
        ([], ["A segment needs at least one criterion."]),
        ({"colour": ["red"]}, ["Unknown criterion colour."]),
        ({"plan": "Pro"}, ["Plan: must be a non-empty list of texts"]),
        ({"plan": []}, ["Plan: must be a non-empty list of texts"]),
        ({"mrr": {"max": 5}}, ['Contracted MRR: must be an object with "min" and/or "below"']),
        ({"mrr": {"min": "lots"}}, ["Contracted MRR: min must be a number"]),
        ({"employees": {"min": True}}, ["Employees: min must be a number"]),
        ({"employees": {"min": "NaN"}}, ["Employees: min must be a number"]),
        ({"employees": {"min": 10, "below": 10}}, ['Employees: "min" must be less than "below"']),
    ],
)
def test_bad_definitions_name_the_criterion(definition: Any, problems: list[str]) -> None:
    assert definition_problems(definition) == problems


def test_the_model_refuses_a_bad_definition(people: dict[str, User]) -> None:
    segment = Segment(name="Bad", owner=people["csm"], definition={"plan": []})
    with pytest.raises(ValidationError) as refused:
        segment.full_clean()
    assert refused.value.message_dict == {"definition": ["Plan: must be a non-empty list of texts"]}


def test_describe_reads_a_definition_in_criteria_order() -> None:
    assert describe(DEFINITION) == (
        "Industry: Manufacturing · Employees: ≥ 100 < 1000 · Health band: risk, critical"
        " · Days since last use: ≥ 30 · Contracted MRR: ≥ 100000 < 500000"
    )
    # PostgreSQL's jsonb does not keep key order; the reading does not depend on it.
    assert (
        describe({"health_status": ["risk"], "plan": ["Pro"]}, {"health_status": {"risk": "Risk"}})
        == "Plan: Pro · Health band: Risk"
    )


def test_save_and_delete_a_segment(people: dict[str, User]) -> None:
    segment = actions.save_segment(
        owner=people["manager"], name="  At-risk makers ", definition=DEFINITION, shared=True
    )
    stored = Segment.objects.get()
    assert (stored.pk, stored.name, stored.owner, stored.shared, stored.definition) == (
        segment.pk,
        "At-risk makers",
        people["manager"],
        True,
        DEFINITION,
    )
    actions.delete_segment(stored)
    assert Segment.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "definition", "shared", "message"),
    [
        ("", DEFINITION, False, "A segment needs a name."),
        ("x" * 101, DEFINITION, False, "A segment name has at most 100 characters."),
        ("New", {"plan": []}, False, "Plan: must be a non-empty list of texts"),
        ("Mine", DEFINITION, False, "You already have a segment named Mine."),
        ("Team view", DEFINITION, True, "A shared segment named Team view exists."),
    ],
)
def test_refused_saves_store_nothing(
    people: dict[str, User], name: str, definition: Any, shared: bool, message: str
) -> None:
    actions.save_segment(owner=people["csm"], name="Mine", definition={"plan": ["Pro"]})
    actions.save_segment(
        owner=people["manager"], name="Team view", definition={"plan": ["Pro"]}, shared=True
    )
    with pytest.raises(actions.ActionError) as refused:
        actions.save_segment(owner=people["csm"], name=name, definition=definition, shared=shared)
    assert str(refused.value) == message
    assert Segment.objects.count() == 2


def test_two_people_may_each_have_a_personal_segment_of_one_name(
    people: dict[str, User],
) -> None:
    for person in ("csm", "other_csm"):
        actions.save_segment(owner=people[person], name="Mine", definition={"plan": ["Pro"]})
    assert Segment.objects.filter(name="Mine").count() == 2


def test_who_sees_and_deletes_which_segment(people: dict[str, User]) -> None:
    mine = actions.save_segment(owner=people["csm"], name="Mine", definition={"plan": ["A"]})
    theirs = actions.save_segment(owner=people["other_csm"], name="Ben's", definition=DEFINITION)
    shared = actions.save_segment(
        owner=people["manager"], name="Team", definition=DEFINITION, shared=True
    )
    assert list(visible_segments(people["csm"])) == [mine, shared]
    assert list(visible_segments(people["other_csm"])) == [theirs, shared]
    assert may_delete_segment(people["csm"], mine)
    assert not may_delete_segment(people["csm"], shared)
    assert may_delete_segment(people["manager"], shared)
    assert may_delete_segment(people["admin"], shared)
    assert not may_delete_segment(people["executive"], shared)


@pytest.mark.parametrize(
    ("role", "personal", "shared"),
    [
        (Role.ADMIN, True, True),
        (Role.CS_MANAGER, True, True),
        (Role.CSM, True, False),
        (Role.SALES, True, False),
        (Role.EXECUTIVE, True, False),
        (None, False, False),
    ],
)
def test_who_may_save_and_share(role: str | None, personal: bool, shared: bool) -> None:
    assert may_save_segments(role, shared=False) is personal
    assert may_save_segments(role, shared=True) is shared


@pytest.mark.parametrize(
    ("person", "allowed"),
    [
        ("admin", True),
        ("csm", True),
        ("manager", True),
        ("other_manager", False),
        ("other_csm", False),
        ("sales", False),
        ("executive", False),
    ],
)
def test_who_may_edit_an_account(people: dict[str, User], person: str, allowed: bool) -> None:
    account = make_segment_accounts(people["csm"], people["other_csm"])["Inside"]
    account.owner = people["sales"]
    assert may_edit_account(people[person], account) is allowed
