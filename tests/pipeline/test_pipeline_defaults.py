from decimal import Decimal

import pytest

from kizuna.pipeline.defaults import DEFAULT_PIPELINES, Motion, StageKind, stages_table


def stage_rows(pipeline_key: str) -> list[tuple[str, Decimal, str, tuple[str, ...]]]:
    pipeline = DEFAULT_PIPELINES[pipeline_key]
    return [
        (stage.key, stage.probability, str(stage.kind), stage.required_fields)
        for stage in pipeline.stages
    ]


def test_four_default_pipelines_with_their_motion() -> None:
    assert {key: pipeline.motion for key, pipeline in DEFAULT_PIPELINES.items()} == {
        "new_business": Motion.NEW,
        "upsell": Motion.EXPANSION,
        "renewal": Motion.RENEWAL,
        "services": Motion.SERVICES,
    }


def test_new_business_stages_probabilities_and_required_fields() -> None:
    assert stage_rows("new_business") == [
        ("lead", Decimal("0.05"), "open", ("source", "first_contact_on")),
        ("mql", Decimal("0.10"), "open", ("lead_score",)),
        (
            "sql",
            Decimal("0.20"),
            "open",
            ("bant_budget", "bant_authority", "bant_need", "bant_timeline"),
        ),
        ("demo_trial", Decimal("0.35"), "open", ("trial_start",)),
        ("proposal", Decimal("0.55"), "open", ("proposed_plan", "quote_amount")),
        ("final_negotiation", Decimal("0.75"), "open", ("decision_maker", "approval_status")),
        ("won", Decimal("1"), "won", ("plan", "amount_mrr", "contract_months")),
        ("lost", Decimal("0"), "lost", ("lost_reason",)),
    ]


def test_upsell_stages_probabilities_and_required_fields() -> None:
    assert stage_rows("upsell") == [
        ("opportunity_detected", Decimal("0.10"), "open", ()),
        ("needs_confirmed", Decimal("0.25"), "open", ()),
        ("proposal", Decimal("0.50"), "open", ("amount_mrr",)),
        ("negotiation_approval", Decimal("0.75"), "open", ("approval_status",)),
        ("won", Decimal("1"), "won", ("amount_mrr", "effective_date")),
        ("lost", Decimal("0"), "lost", ("lost_reason",)),
    ]


def test_renewal_stages_follow_the_90_60_30_day_timeline() -> None:
    renewal = DEFAULT_PIPELINES["renewal"]
    assert stage_rows("renewal") == [
        ("renewal_prep", Decimal("0.80"), "open", ()),
        ("renewal_proposal", Decimal("0.85"), "open", ("amount_mrr",)),
        ("negotiation", Decimal("0.90"), "open", ()),
        ("renewed", Decimal("1"), "won", ("plan", "amount_mrr", "contract_months")),
        ("churned", Decimal("0"), "lost", ("churn_reason",)),
    ]
    assert [stage.days_before_renewal for stage in renewal.stages] == [90, 60, 30, 0, None]


def test_services_stages_probabilities_and_required_fields() -> None:
    assert stage_rows("services") == [
        ("scoping", Decimal("0.20"), "open", ()),
        ("proposal", Decimal("0.50"), "open", ("one_off_amount",)),
        ("negotiation", Decimal("0.75"), "open", ("decision_maker", "approval_status")),
        ("won", Decimal("1"), "won", ("one_off_amount", "effective_date")),
        ("lost", Decimal("0"), "lost", ("lost_reason",)),
    ]


@pytest.mark.parametrize("pipeline", sorted(DEFAULT_PIPELINES))
def test_every_pipeline_has_one_won_and_one_lost_stage_and_rising_probabilities(
    pipeline: str,
) -> None:
    stages = DEFAULT_PIPELINES[pipeline].stages
    kinds = [stage.kind for stage in stages]
    assert kinds.count(StageKind.WON) == 1
    assert kinds.count(StageKind.LOST) == 1
    open_probabilities = [stage.probability for stage in stages if stage.kind == StageKind.OPEN]
    assert open_probabilities == sorted(open_probabilities)


def test_only_the_new_business_demo_stage_starts_a_trial() -> None:
    trial_stages = [
        (pipeline.key, stage.key)
        for pipeline in DEFAULT_PIPELINES.values()
        for stage in pipeline.stages
        if stage.is_trial
    ]
    assert trial_stages == [("new_business", "demo_trial")]


def test_stages_table_numbers_stages_in_order() -> None:
    table = stages_table([DEFAULT_PIPELINES["upsell"]])
    assert table.to_pylist() == [
        {
            "pipeline": "upsell",
            "motion": "expansion",
            "stage": "opportunity_detected",
            "position": 1,
            "probability": Decimal("0.1000"),
            "kind": "open",
            "is_trial": False,
        },
        {
            "pipeline": "upsell",
            "motion": "expansion",
            "stage": "needs_confirmed",
            "position": 2,
            "probability": Decimal("0.2500"),
            "kind": "open",
            "is_trial": False,
        },
        {
            "pipeline": "upsell",
            "motion": "expansion",
            "stage": "proposal",
            "position": 3,
            "probability": Decimal("0.5000"),
            "kind": "open",
            "is_trial": False,
        },
        {
            "pipeline": "upsell",
            "motion": "expansion",
            "stage": "negotiation_approval",
            "position": 4,
            "probability": Decimal("0.7500"),
            "kind": "open",
            "is_trial": False,
        },
        {
            "pipeline": "upsell",
            "motion": "expansion",
            "stage": "won",
            "position": 5,
            "probability": Decimal("1.0000"),
            "kind": "won",
            "is_trial": False,
        },
        {
            "pipeline": "upsell",
            "motion": "expansion",
            "stage": "lost",
            "position": 6,
            "probability": Decimal("0.0000"),
            "kind": "lost",
            "is_trial": False,
        },
    ]
