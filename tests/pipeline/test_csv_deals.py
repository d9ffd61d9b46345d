from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from kizuna.sources.csv_deals import read_pipeline_files
from kizuna.sources.csv_reader import InputError

DEALS_HEADER = (
    "deal_id,customer_id,pipeline,stage,status,amount_mrr,currency,owner,source,"
    "created_on,close_date,closed_on,lost_reason,plan,contract_months\n"
)
WON = (
    "D1,C1,new_business,won,won,50000,JPY,alice,ads,2024-04-01,2024-05-01,2024-05-01,,Starter,12\n"
)
OPEN = "D2,C2,upsell,needs_confirmed,open,10000,JPY,bob,,2024-04-01,2024-06-01,,,,\n"


def write(folder: Path, **files: str) -> Path:
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def problems(folder: Path) -> list[str]:
    with translation.override("en"), pytest.raises(InputError) as error:
        read_pipeline_files(folder)
    return error.value.problems


def test_valid_deals_without_history_or_spend(tmp_path: Path) -> None:
    files = read_pipeline_files(write(tmp_path, deals=DEALS_HEADER + WON + OPEN))
    assert files.deals.num_rows == 2
    assert files.stage_history.num_rows == 0
    assert files.spend.num_rows == 0
    first = files.deals.to_pylist()[0]
    assert (first["amount_mrr"], first["one_off_amount"], first["trial_start"]) == (
        Decimal("50000"),
        Decimal("0"),
        None,
    )


def test_lost_deal_without_reason_is_reported_with_its_line(tmp_path: Path) -> None:
    lost = "D3,C3,new_business,lost,lost,1000,JPY,bob,ads,2024-04-01,2024-05-01,2024-05-02,,,\n"
    folder = write(tmp_path, deals=DEALS_HEADER + WON + OPEN + lost)
    assert problems(folder) == ["deals.csv:4: stage 'lost' requires lost_reason"]


def test_every_row_problem_is_reported_at_once(tmp_path: Path) -> None:
    rows = (
        "D1,C1,new_business,won,won,50000,JPY,alice,ads,2024-04-01,2024-05-01,2024-05-01,,,\n"
        "D2,C2,new_business,negotiating,open,1000,JPY,bob,,2024-04-01,2024-06-01,,,,\n"
        "D3,C3,upsell,proposal,won,1000,JPY,bob,,2024-04-01,2024-06-01,,,,\n"
        "D4,C4,renewal,churned,lost,1000,YEN,carol,,2024-04-01,2024-06-01,,,,\n"
        "D1,C5,partner,x,open,1000,JPY,bob,,2024-04-01,2024-06-01,,,,\n"
    )
    assert problems(write(tmp_path, deals=DEALS_HEADER + rows)) == [
        "deals.csv:2: stage 'won' requires plan, contract_months",
        "deals.csv:3: stage 'negotiating' is not in pipeline 'new_business'; its stages: "
        "lead, mql, sql, demo_trial, proposal, final_negotiation, won, lost",
        "deals.csv:4: status 'won' does not match stage 'proposal', which is open",
        "deals.csv:5: unknown currency 'YEN': use an ISO 4217 code such as JPY or USD",
        "deals.csv:5: 'closed_on' is empty for a closed deal",
        "deals.csv:5: stage 'churned' requires churn_reason",
        "deals.csv:6: deal_id 'D1' repeats line 2",
        "deals.csv:6: unknown pipeline 'partner'; known: new_business, upsell, renewal, services",
    ]


def test_cell_problems_come_from_the_shared_reader(tmp_path: Path) -> None:
    row = "D1,C1,new_business,won,done,-5,JPY,alice,ads,2024-04-31,2024-05-01,2024-05-01,,,\n"
    assert problems(write(tmp_path, deals=DEALS_HEADER + row)) == [
        "deals.csv:2: 'status' must be one of open, won, lost, got 'done'",
        "deals.csv:2: 'amount_mrr' must be ≥ 0, got -5",
        "deals.csv:2: 'created_on': bad date '2024-04-31'",
    ]


def test_missing_deals_file(tmp_path: Path) -> None:
    assert problems(tmp_path) == [f"deals.csv:1: file not found in {tmp_path}"]


def test_history_must_match_the_deals(tmp_path: Path) -> None:
    history = (
        "deal_id,stage,entered_at\n"
        "D1,lead,2024-04-01\n"
        "D1,proposal,2024-04-20\n"
        "D9,lead,2024-04-01\n"
        "D2,lead,2024-04-01\n"
        "D2,needs_confirmed,2024-04-02T09:00:00\n"
        "D2,opportunity_detected,2024-04-01T08:00:00\n"
    )
    folder = write(tmp_path, deals=DEALS_HEADER + WON + OPEN, deal_stage_history=history)
    assert problems(folder) == [
        "deal_stage_history.csv:4: deal 'D9' is not in deals.csv",
        "deal_stage_history.csv:5: stage 'lead' is not in pipeline 'upsell'; its stages: "
        "opportunity_detected, needs_confirmed, proposal, negotiation_approval, won, lost",
        "deal_stage_history.csv:3: the latest stage of deal 'D1' is 'proposal', "
        "but deals.csv has it in 'won'",
    ]


def test_spend_problems_are_reported_with_deal_problems(tmp_path: Path) -> None:
    lost = "D3,C3,new_business,lost,lost,1000,JPY,bob,ads,2024-04-01,2024-05-01,2024-05-02,,,\n"
    spend = "month,channel,amount,currency\n2024-04,ads,10,JPY\n2024-05,ads,10,YEN\n"
    folder = write(tmp_path, deals=DEALS_HEADER + lost, spend=spend)
    assert problems(folder) == [
        "deals.csv:2: stage 'lost' requires lost_reason",
        "spend.csv:3: unknown currency 'YEN': use an ISO 4217 code such as JPY or USD",
    ]


def test_bad_spend_amount(tmp_path: Path) -> None:
    spend = "month,channel,amount,currency\n2024-04,ads,abc,JPY\n"
    folder = write(tmp_path, deals=DEALS_HEADER + WON, spend=spend)
    assert problems(folder) == ["spend.csv:2: 'amount': not a number: 'abc'"]


def test_missing_required_column(tmp_path: Path) -> None:
    header = DEALS_HEADER.replace("owner,", "")
    row = WON.replace("alice,", "")
    assert problems(write(tmp_path, deals=header + row)) == ["deals.csv:1: missing column 'owner'"]
