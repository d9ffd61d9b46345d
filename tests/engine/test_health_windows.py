"""Trailing totals from daily rows reduced to runs: presence in a window, the latest value and
windowed sums, by hand, over a history (change days) and over a few dates (a date join)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from kizuna.engine.health_inputs import HealthInputs, as_of_grid
from kizuna.engine.health_windows import (
    FEW_DATES,
    Trailing,
    latest_value,
    presence,
    run_events,
    trailing_values,
)

DAY = date(2024, 1, 1)


def _day(number: int) -> date:
    return DAY + timedelta(days=number - 1)


def _usage() -> ibis.Table:
    # Rows on days 1, 2, 3, 6 (no value) and 7; the value changes on day 3.
    return ibis.memtable(
        pa.table(
            {
                "customer_id": ["c"] * 5,
                "date": pa.array([_day(n) for n in (1, 2, 3, 6, 7)], pa.date32()),
                "v": pa.array([5, 5, 7, None, 7], pa.int64()),
                "logins": pa.array([1, 0, 2, 4, 0], pa.int64()),
            }
        )
    )


def _totals(days: list[int]) -> dict[int, dict[str, Any]]:
    inputs = HealthInputs.from_tables(
        {"accounts": pa.table({"customer_id": ["c"], "customer_since": [DAY]})}
    )
    grid = as_of_grid(inputs, [_day(n) for n in days])
    usage = _usage()
    value, seen = latest_value("v", 3)
    tables = run_events(usage, {"v": [3]}, [3], grid.last)
    logins = usage.select("customer_id", "date", logins=usage.logins)
    table = trailing_values(
        grid,
        [*tables, logins],
        {
            "present": presence(3),
            "v": value,
            "v_seen": seen,
            "logins": Trailing("logins", 3),
            "logins_before": Trailing("logins", 2, shift_days=2),
        },
    )
    rows = ibis.duckdb.connect().to_pyarrow(table).to_pylist()
    return {(row["as_of"] - DAY).days + 1: row for row in rows}


# Day → (a row in the 3 days up to it, latest v within them, logins in them, logins in the two
# days ending two days earlier).
EXPECTED = {
    1: (True, 5.0, 1.0, 0.0),
    2: (True, 5.0, 1.0, 0.0),
    3: (True, 7.0, 3.0, 1.0),
    4: (True, 7.0, 2.0, 1.0),
    5: (True, 7.0, 2.0, 2.0),
    6: (True, None, 4.0, 2.0),
    7: (True, 7.0, 4.0, 0.0),
    8: (True, 7.0, 4.0, 4.0),
    9: (True, 7.0, 0.0, 4.0),
    10: (False, None, 0.0, 0.0),
}


# Ten dates take the change-day pass, three the date join.
@pytest.mark.parametrize("days", [list(range(1, 11)), [4, 6, 10]])
def test_trailing_totals_from_runs(days: list[int]) -> None:
    assert (len(days) > FEW_DATES) == (len(days) == 10)
    totals = _totals(days)
    for day in days:
        row = totals[day]
        present, latest, logins, before = EXPECTED[day]
        assert (row["present"] > 0.5) == present, day
        assert (row["v"] if row["v_seen"] > 0.5 else None) == latest, day
        assert row["logins"] == logins, day
        assert row["logins_before"] == before, day


def test_a_running_max_cannot_have_a_window() -> None:
    with pytest.raises(ValueError, match="days=None"):
        _totals_with(Trailing("v", 3, how="max"))


def _totals_with(spec: Trailing) -> None:
    inputs = HealthInputs.from_tables(
        {"accounts": pa.table({"customer_id": ["c"], "customer_since": [DAY]})}
    )
    grid = as_of_grid(inputs, [_day(n) for n in range(1, 11)])
    usage = _usage().select("customer_id", "date", "v")
    trailing_values(grid, [usage], {"x": spec})
