from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from kizuna.pipeline.defaults import DEFAULT_PIPELINES
from kizuna.pipeline.stage_rules import (
    StageMoveRefused,
    check_stage_move,
    describe_missing,
    missing_required_fields,
)

NEW_BUSINESS = DEFAULT_PIPELINES["new_business"]


def test_lost_without_a_reason_is_missing_the_reason() -> None:
    assert missing_required_fields(NEW_BUSINESS.stage("lost"), {"lost_reason": ""}) == [
        "lost_reason"
    ]


def test_won_lists_every_missing_field_in_stage_order() -> None:
    won = NEW_BUSINESS.stage("won")
    assert missing_required_fields(won, {"amount_mrr": Decimal("50000")}) == [
        "plan",
        "contract_months",
    ]


def test_nothing_is_missing_when_every_field_is_filled() -> None:
    sql = NEW_BUSINESS.stage("sql")
    values = {
        "bant_budget": "approved",
        "bant_authority": "CFO",
        "bant_need": "reporting",
        "bant_timeline": "Q3",
    }
    assert missing_required_fields(sql, values) == []


@pytest.mark.parametrize(
    ("value", "missing"),
    [
        (None, ["trial_start"]),
        ("", ["trial_start"]),
        ("   ", ["trial_start"]),
        ([], ["trial_start"]),
        (date(2024, 5, 1), []),
        ("2024-05-01", []),
    ],
)
def test_blank_values_count_as_missing(value: object, missing: list[str]) -> None:
    stage = NEW_BUSINESS.stage("demo_trial")
    assert missing_required_fields(stage, {"trial_start": value}) == missing


@pytest.mark.parametrize("value", [Decimal("0"), 0, False])
def test_zero_and_false_are_real_answers(value: object) -> None:
    stage = DEFAULT_PIPELINES["upsell"].stage("proposal")
    assert missing_required_fields(stage, {"amount_mrr": value}) == []


def test_stages_without_requirements_accept_any_deal() -> None:
    stage = DEFAULT_PIPELINES["renewal"].stage("renewal_prep")
    assert missing_required_fields(stage, {}) == []


def test_refused_move_names_the_missing_field() -> None:
    with translation.override("en"), pytest.raises(StageMoveRefused) as refused:
        check_stage_move(NEW_BUSINESS.stage("lost"), {})
    assert refused.value.missing == ["lost_reason"]
    assert refused.value.stage_key == "lost"
    assert str(refused.value) == "Cannot move the deal to “Lost”: fill in Lost reason first."


def test_refused_move_names_every_missing_field() -> None:
    with translation.override("en"), pytest.raises(StageMoveRefused) as refused:
        check_stage_move(NEW_BUSINESS.stage("won"), {"plan": "Starter"})
    assert str(refused.value) == (
        "Cannot move the deal to “Won”: fill in these fields first: MRR, Contract term (months)."
    )


def test_renewal_churn_requires_the_churn_reason() -> None:
    with translation.override("en"), pytest.raises(StageMoveRefused) as refused:
        check_stage_move(DEFAULT_PIPELINES["renewal"].stage("churned"), {"lost_reason": "x"})
    assert refused.value.missing == ["churn_reason"]


def test_allowed_move_raises_nothing() -> None:
    check_stage_move(NEW_BUSINESS.stage("lost"), {"lost_reason": "price"})


def test_import_message_uses_field_keys() -> None:
    with translation.override("en"):
        assert describe_missing("lost", ["lost_reason"]) == "stage 'lost' requires lost_reason"
